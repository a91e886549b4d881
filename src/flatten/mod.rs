//! Turns the API's nested JSON into rows of the declared tables
//! ([`crate::rows`]).
//!
//! Column values come from the schema's `from` paths (generic, see
//! `fields`, with `convert` for each value); the nested objects and arrays
//! a resource carries are handled in code (`records` per resource,
//! `actions` for the change capture of an action): a nested object with an
//! id becomes a *partial* row of its own table, an array becomes child rows
//! with a `position`. Each produced [`Op`] says how it may merge (see
//! [`Mode`]), so the loader can apply the merge rules of SCHEMA.md without
//! knowing where a row came from.
//!
//! Tables and columns are named by the generated constants of
//! [`crate::schema::tables`], so a misspelt name does not compile.
//!
//! This file holds the entry points and the page's snapshot dedup;
//! `children` stamps parents with their children's hash.

mod actions;
mod children;
mod convert;
mod fields;
mod goals;
mod member_actions;
mod portal;
mod portal_actions;
mod records;
mod roster;

use std::collections::HashSet;

use serde_json::Value;

use crate::json::{Node, Obj};

pub use fields::record;
pub use portal::{candidate_metrics, candidate_profile};

use children::hash_children;

use crate::resources::Resource;
use crate::rows::{Mode, Op, Text, Val};
use crate::schema::tables::{
    activity_categories, advisors, employers, member_groups, member_notes,
};
use crate::schema::{TableId, SCHEMA};

fn str_of(obj: &Obj, key: &str) -> Option<String> {
    match obj.get(key)? {
        Node::Str(s) if !s.is_empty() => Some(s.to_string()),
        Node::Num(n) => Some(n.to_string()),
        _ => None,
    }
}

fn nested<'a, 'j>(obj: &'a Obj<'j>, key: &str) -> Option<&'a Obj<'j>> {
    obj.get(key).and_then(Node::as_object)
}

fn id_of(obj: &Obj, key: &str) -> Option<String> {
    nested(obj, key).and_then(|o| str_of(o, "id"))
}

fn text(s: impl Into<Text>) -> Val {
    Val::Text(s.into())
}

/// Flattens one object read from `resource`'s own endpoint at `as_of`.
pub fn flatten(resource: Resource, value: &Value, as_of: i64, out: &mut Vec<Op>) {
    flatten_node(resource, &Node::from_value(value), as_of, out)
}

/// [`flatten`] for an item parsed straight from a page.
pub fn flatten_node(resource: Resource, value: &Node, as_of: i64, out: &mut Vec<Op>) {
    let mut alone = PageScope::none();
    flatten_item(resource, value, as_of, &mut Out::new(out, &mut alone));
}

/// Flattens one item into `out`, then stamps its parents' `_children`.
fn flatten_item(resource: Resource, value: &Node, as_of: i64, out: &mut Out) {
    let Some(obj) = value.as_object() else {
        tracing::warn!("{resource}: skipped a list item that is not an object");
        return;
    };
    if str_of(obj, "id").is_none() {
        tracing::warn!("{resource}: skipped a record without an id");
        return;
    }
    let start = out.ops.len();
    match resource {
        Resource::Members => records::member(obj, Mode::Full, as_of, out),
        Resource::MemberFields => records::member_field(obj, as_of, out),
        Resource::BoardTemplates => records::board_template(obj, as_of, out),
        Resource::OrganizationInvitations => records::invitation(obj, Mode::Full, as_of, out),
        Resource::Employers => records::plain(employers::TABLE, obj, Mode::Full, as_of, out),
        Resource::ActivityCategories => {
            records::plain(activity_categories::TABLE, obj, Mode::Full, as_of, out)
        }
        Resource::Jobs => records::job(obj, Mode::Full, as_of, out),
        Resource::Activities => records::activity(obj, Mode::Full, as_of, out),
        Resource::Actions => actions::action(obj, as_of, out),
        Resource::JobPosts => portal::push_job_post(obj, Mode::Full, as_of, out),
        Resource::Candidates => portal::candidate(obj, Mode::Full, as_of, out),
        Resource::Events => records::event(obj, as_of, out),
        Resource::Goals => goals::goal(obj, Mode::Full, as_of, out),
        Resource::Advisors => records::plain(advisors::TABLE, obj, Mode::Full, as_of, out),
        Resource::MemberGroups => records::plain(member_groups::TABLE, obj, Mode::Full, as_of, out),
        Resource::Tags => roster::tag(obj, as_of, out),
        Resource::MemberNotes => records::plain(member_notes::TABLE, obj, Mode::Full, as_of, out),
    }
    hash_children(&mut out.ops[start..]);
}

/// Flattens a page's items (each shown to `seen` first) into one batch,
/// without repeated snapshots ([`dedup_snapshots`]). A nested object
/// identical to one already flattened on the page into a snapshot row of
/// a table without a parent is not even built ([`PageScope`]): its row
/// would be dropped (a page of actions names the same people and employers
/// hundreds of times, and building those rows to drop them was a tenth of
/// a backfill's CPU).
pub fn flatten_page(
    resource: Resource,
    items: &[Node],
    as_of: i64,
    mut seen: impl FnMut(&Node),
) -> Vec<Op> {
    let mut ops = Vec::with_capacity(items.len() * 4);
    let mut page = PageScope::page();
    for node in items {
        seen(node);
        flatten_item(resource, node, as_of, &mut Out::new(&mut ops, &mut page));
    }
    dedup_snapshots(&mut ops);
    ops
}

/// Where flattening writes: the operations made so far, and the scope of
/// the page they are made for, which the code that builds snapshot rows
/// consults.
pub(super) struct Out<'a> {
    ops: &'a mut Vec<Op>,
    page: &'a mut PageScope,
}

impl<'a> Out<'a> {
    fn new(ops: &'a mut Vec<Op>, page: &'a mut PageScope) -> Out<'a> {
        Out { ops, page }
    }
    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }
    fn extend(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.ops.extend(ops);
    }
    /// Writes into `ops` instead, within the same page.
    fn to<'b>(&'b mut self, ops: &'b mut Vec<Op>) -> Out<'b> {
        Out::new(ops, self.page)
    }
}

/// What flattening one page remembers: the snapshots of tables without a
/// parent flattened so far on it, by table and hash of the object. Outside
/// a page (a webhook's action, a record read on its own) it remembers
/// nothing, and every snapshot is built.
pub(super) struct PageScope {
    seen: Option<HashSet<(TableId, u64), foldhash::fast::FixedState>>,
}

impl PageScope {
    fn page() -> PageScope {
        PageScope {
            seen: Some(HashSet::default()),
        }
    }
    fn none() -> PageScope {
        PageScope { seen: None }
    }
    /// True when `obj` was already flattened in this scope as a snapshot
    /// of `table` (a table without a parent, whose rows no parent's
    /// children hash counts): the row it makes would be dropped by
    /// [`dedup_snapshots`]. Remembers it otherwise.
    fn repeated(&mut self, table: TableId, obj: &Obj) -> bool {
        let Some(set) = &mut self.seen else {
            return false;
        };
        if SCHEMA.table(table).parent.is_some() {
            return false;
        }
        let mut h = crate::rows::hash::hasher();
        obj.hash_into(&mut h);
        !set.insert((table, std::hash::Hasher::finish(&h)))
    }
}

/// Drops repeated identical snapshot rows from a batch: a page of actions
/// carries the same advisor, employer and category hundreds of times, and
/// only the first copy can change anything.
fn dedup_snapshots(ops: &mut Vec<Op>) {
    let mut seen = HashSet::with_hasher(foldhash::fast::FixedState::default());
    ops.retain_mut(|op| {
        let Op::Upsert(row) = op else { return true };
        if row.mode != Mode::Partial {
            return true;
        }
        seen.insert((row.table, row.cache_fingerprint()))
    });
}

#[cfg(test)]
mod portal_tests;
#[cfg(test)]
mod roster_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
