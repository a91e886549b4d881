//! Turns the API's nested JSON into rows of the declared tables.
//!
//! Column values come from the schema's `from` paths (generic); the nested
//! objects and arrays a resource carries are handled here in code: a nested
//! object with an id becomes a *partial* row of its own table, an array
//! becomes child rows with a `position`. Each produced [`Op`] says how it
//! may merge (see [`Mode`]), so the loader can apply the merge rules of
//! SCHEMA.md without knowing where a row came from.

pub mod convert;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use serde_json::Value;

use crate::json::{Node, Obj};

pub use convert::Val;

use crate::resources::Resource;
use crate::schema::{Source, TableId, CHILDREN, EXTRA, SCHEMA};

/// How a row merges with what the destination already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the resource's own endpoint (or the only carrier of the
    /// resource, e.g. a note in a NOTE_* action): overwrites every column,
    /// unless the stored row is newer (`_as_of`).
    Full,
    /// A nested snapshot: adds a missing row and fills NULL columns; never
    /// overwrites a value from the resource's own endpoint, never blanks.
    Partial,
    /// A dated change (an ACTIVITY_UPDATED snapshot): its non-NULL values
    /// win over data older than the change, and lose to newer listings.
    Update,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: TableId,
    pub mode: Mode,
    /// Unix time the data was valid at.
    pub as_of: i64,
    /// One cell per schema column, hidden ones included.
    pub vals: Vec<Val>,
}

impl Row {
    pub fn new(table: &str, mode: Mode, as_of: i64) -> Row {
        let id = SCHEMA.id(table);
        Row {
            table: id,
            mode,
            as_of,
            vals: vec![Val::Null; SCHEMA.table(id).columns.len()],
        }
    }
    pub fn set(&mut self, col: &str, v: Val) -> &mut Row {
        let i = SCHEMA.table(self.table).col(col);
        self.vals[i] = v;
        self
    }
    pub fn get(&self, col: &str) -> &Val {
        &self.vals[SCHEMA.table(self.table).col(col)]
    }
    pub fn table_name(&self) -> &'static str {
        &SCHEMA.table(self.table).name
    }
}

/// One unit of work for a loader.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Upsert(Row),
    /// Sets `deleted_at` (keeping the row; adding a tombstone if missing).
    Delete {
        table: TableId,
        id: String,
        at: i64,
    },
    /// A job changed after `date`: re-read it unless already read since.
    RefreshJob {
        job_id: String,
        date: i64,
    },
}

static WARNED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

/// Warns once per process about a field whose value did not fit its column.
fn warn_type_drift(table: &str, field: &str, value: &Node) {
    let key = format!("{table}.{field}");
    let first = WARNED.lock().map(|mut w| w.insert(key)).unwrap_or(false);
    if first {
        let kind = value.kind();
        tracing::warn!(
            "{table}: field `{field}` arrived as {kind} its column cannot hold without loss; \
             kept in `_extra` (further occurrences are not reported)"
        );
    }
}

fn get_path<'a, 'j>(obj: &'a Obj<'j>, path: &[String]) -> Option<&'a Node<'j>> {
    let (first, rest) = path.split_first()?;
    let mut cur = obj.get(first)?;
    for seg in rest {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Builds a row of `table` from an API object: every column with a source
/// path, plus (for full and update writes) `_extra` with whatever the schema
/// has no column for. Columns set by code are left NULL for the caller.
pub fn record(table: &str, obj: &Obj, mode: Mode, as_of: i64) -> Row {
    let mut row = Row::new(table, mode, as_of);
    let t = SCHEMA.table(row.table);
    let mut extra: Vec<(Cow<str>, &Node)> = Vec::new();
    for (i, col) in t.columns.iter().enumerate() {
        let Source::Path(path) = &col.source else {
            continue;
        };
        let Some(v) = get_path(obj, path) else {
            continue;
        };
        match convert::convert(col.ty, v) {
            Ok(val) => row.vals[i] = val,
            Err(_) => {
                let field = path.join(".");
                warn_type_drift(&t.name, &field, v);
                extra.push((Cow::Owned(field), v));
            }
        }
    }
    if mode == Mode::Partial {
        return row;
    }
    for (k, v) in obj.iter() {
        if t.knows(k) {
            // A flattened nested object (e.g. `location`) may still carry
            // sub-fields without a column.
            if let Node::Obj(inner) = v {
                // A column holding the whole object (`update_json`) or code
                // handling it (`consumes`) leaves nothing over.
                let whole = t
                    .columns
                    .iter()
                    .any(|c| matches!(&c.source, Source::Path(p) if p.len() == 1 && p[0] == k));
                if !whole && !t.consumes.iter().any(|c| c == k) {
                    for (sub, sv) in inner.iter() {
                        let covered = t.columns.iter().any(|c| {
                            matches!(&c.source, Source::Path(p) if p.len() == 2 && p[0] == k && p[1] == sub)
                        });
                        if !covered {
                            extra.push((Cow::Owned(format!("{k}.{sub}")), sv));
                        }
                    }
                }
            }
            continue;
        }
        extra.push((Cow::Borrowed(k), v));
    }
    if !extra.is_empty() {
        row.vals[t.col(EXTRA)] = Val::Text(crate::json::object_text(&extra));
    }
    row
}

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

fn text(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

/// Flattens one object read from `resource`'s own endpoint at `as_of`.
pub fn flatten(resource: Resource, value: &Value, as_of: i64, out: &mut Vec<Op>) {
    flatten_node(resource, &Node::from_value(value), as_of, out)
}

/// [`flatten`] for an item parsed straight from a page.
pub fn flatten_node(resource: Resource, value: &Node, as_of: i64, out: &mut Vec<Op>) {
    let Some(obj) = value.as_object() else {
        tracing::warn!("{resource}: skipped a list item that is not an object");
        return;
    };
    if str_of(obj, "id").is_none() {
        tracing::warn!("{resource}: skipped a record without an id");
        return;
    }
    let start = out.len();
    match resource {
        Resource::Members => member(obj, Mode::Full, as_of, out),
        Resource::MemberFields => member_field(obj, as_of, out),
        Resource::BoardTemplates => board_template(obj, as_of, out),
        Resource::OrganizationInvitations => invitation(obj, Mode::Full, as_of, out),
        Resource::Employers => plain("employers", obj, Mode::Full, as_of, out),
        Resource::ActivityCategories => plain("activity_categories", obj, Mode::Full, as_of, out),
        Resource::Jobs => job(obj, Mode::Full, as_of, out),
        Resource::Activities => activity(obj, Mode::Full, as_of, out),
        Resource::Actions => action(obj, as_of, out),
        Resource::Events => event(obj, as_of, out),
    }
    hash_children(&mut out[start..]);
}

/// Drops repeated identical snapshot rows from a batch: a page of actions
/// carries the same advisor, employer and category hundreds of times, and
/// only the first copy can change anything.
pub fn dedup_snapshots(ops: &mut Vec<Op>) {
    let mut seen = HashSet::with_hasher(foldhash::fast::FixedState::default());
    ops.retain(|op| {
        let Op::Upsert(row) = op else { return true };
        if row.mode != Mode::Partial {
            return true;
        }
        seen.insert((row.table, convert::fingerprint(&row.vals)))
    });
}

/// Stamps each full parent row with a hash of its child rows, so that a
/// change in a child (a member's field value) shows as a change of the
/// parent and the loader knows to replace the children.
fn hash_children(ops: &mut [Op]) {
    use std::hash::{Hash, Hasher};
    for i in 0..ops.len() {
        let Op::Upsert(parent) = &ops[i] else {
            continue;
        };
        let t = SCHEMA.table(parent.table);
        if parent.mode != Mode::Full || !t.has_col(CHILDREN) {
            continue;
        }
        let Val::Text(id) = &parent.vals[t.key_cols()[0]] else {
            continue;
        };
        let mut h = std::hash::DefaultHasher::new();
        for op in ops.iter() {
            let Op::Upsert(child) = op else { continue };
            let ct = SCHEMA.table(child.table);
            let Some((ptable, pcol)) = &ct.parent else {
                continue;
            };
            if *ptable == t.name && child.vals[ct.col(pcol)].as_str() == Some(id) {
                ct.name.hash(&mut h);
                convert::hash_vals(&child.vals).hash(&mut h);
            }
        }
        let hash = h.finish() as i64;
        if let Op::Upsert(parent) = &mut ops[i] {
            let col = t.col(CHILDREN);
            parent.vals[col] = Val::Int(hash);
        }
    }
}

fn plain(table: &str, obj: &Obj, mode: Mode, as_of: i64, out: &mut Vec<Op>) {
    if str_of(obj, "id").is_some() {
        out.push(Op::Upsert(record(table, obj, mode, as_of)));
    }
}

/// A person-shaped object, wherever it appears: a `people` row.
fn person(obj: &Obj, key: &str, out: &mut Vec<Op>) {
    if let Some(p) = nested(obj, key) {
        plain("people", p, Mode::Partial, 0, out);
    }
}

/// `[{fieldId, value}]` arrays of members and invitations.
fn field_values(
    table: &str,
    parent_col: &str,
    parent: &str,
    arr: Option<&Node>,
    out: &mut Vec<Op>,
) {
    let Some(Node::Arr(items)) = arr else {
        return;
    };
    for item in items.iter().filter_map(Node::as_object) {
        let mut row = record(table, item, Mode::Full, 0);
        if row.get("field_id").is_null() {
            continue;
        }
        row.set(parent_col, text(parent));
        out.push(Op::Upsert(row));
    }
}

fn member(obj: &Obj, mode: Mode, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record("members", obj, mode, as_of)));
    if mode == Mode::Full {
        field_values(
            "member_field_values",
            "member_id",
            &id,
            obj.get("memberFieldValues"),
            out,
        );
    }
    plain("people", obj, Mode::Partial, 0, out);
}

fn member_field(obj: &Obj, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record("member_fields", obj, Mode::Full, as_of)));
    if let Some(Node::Arr(choices)) = obj.get("choices") {
        for (i, c) in choices.iter().enumerate() {
            let mut row = Row::new("member_field_choices", Mode::Full, 0);
            let choice = convert::convert(crate::schema::ColType::Value, c).unwrap_or(Val::Null);
            row.set("field_id", text(&id))
                .set("position", Val::Int(i as i64))
                .set("choice", choice);
            out.push(Op::Upsert(row));
        }
    }
}

fn board_template(obj: &Obj, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        "board_templates",
        obj,
        Mode::Full,
        as_of,
    )));
    // Positions, not ids, key the stages: the API repeats list template ids.
    if let Some(Node::Arr(lists)) = obj.get("listTemplates") {
        for (i, l) in lists.iter().enumerate() {
            let Some(l) = l.as_object() else { continue };
            let mut row = record("board_template_lists", l, Mode::Full, 0);
            row.set("board_template_id", text(&id))
                .set("position", Val::Int(i as i64));
            out.push(Op::Upsert(row));
        }
    }
}

fn invitation(obj: &Obj, mode: Mode, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        "organization_invitations",
        obj,
        mode,
        as_of,
    )));
    if mode == Mode::Full {
        field_values(
            "organization_invitation_field_values",
            "invitation_id",
            &id,
            obj.get("memberFieldValues"),
            out,
        );
    }
    person(obj, "to", out);
    if let Some(bt) = nested(obj, "boardTemplate") {
        plain("board_templates", bt, Mode::Partial, 0, out);
    }
}

fn employer_snapshots(obj: &Obj, out: &mut Vec<Op>) {
    if let Some(e) = nested(obj, "employer") {
        plain("employers", e, Mode::Partial, 0, out);
    }
}

fn job(obj: &Obj, mode: Mode, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record("jobs", obj, mode, as_of)));
    if mode == Mode::Full {
        if let Some(Node::Arr(items)) = obj.get("interviewActivities") {
            for (i, a) in items.iter().enumerate() {
                let Some(a) = a.as_object() else { continue };
                let mut row = record("job_interview_activities", a, Mode::Full, 0);
                row.set("job_id", text(&id))
                    .set("position", Val::Int(i as i64));
                out.push(Op::Upsert(row));
            }
        }
    }
    person(obj, "ownerMember", out);
    person(obj, "creatorMember", out);
    employer_snapshots(obj, out);
    // Embedded activities are snapshots of rows /activities owns.
    let mut embedded: Vec<&Obj> = Vec::new();
    for key in ["activities", "interviewActivities"] {
        if let Some(Node::Arr(items)) = obj.get(key) {
            embedded.extend(items.iter().filter_map(Node::as_object));
        }
    }
    for key in [
        "applicationActivity",
        "offerActivity",
        "offerAcceptedActivity",
    ] {
        embedded.extend(nested(obj, key));
    }
    let mut seen = HashSet::new();
    for a in embedded {
        let Some(aid) = str_of(a, "id") else { continue };
        if seen.insert(aid) {
            let mut row = record("activities", a, Mode::Partial, 0);
            row.set("job_id", text(&id));
            out.push(Op::Upsert(row));
        }
    }
}

fn activity(obj: &Obj, mode: Mode, as_of: i64, out: &mut Vec<Op>) {
    if str_of(obj, "id").is_none() {
        return;
    }
    out.push(Op::Upsert(record("activities", obj, mode, as_of)));
    activity_context(obj, out);
}

/// The nested objects an activity or an action carries.
fn activity_context(obj: &Obj, out: &mut Vec<Op>) {
    person(obj, "ownerMember", out);
    person(obj, "creatorMember", out);
    if let Some(j) = nested(obj, "job") {
        job(j, Mode::Partial, 0, out);
    }
    employer_snapshots(obj, out);
    if let Some(c) = nested(obj, "activityCategory") {
        plain("activity_categories", c, Mode::Partial, 0, out);
    }
}

/// Flattens an action and the change capture it implies: the carried note,
/// contact or activity snapshot, deletions, and jobs to re-read.
fn action(obj: &Obj, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    let mut row = record("actions", obj, Mode::Full, as_of);
    let linked = |id_key: &str, obj_key: &str| str_of(obj, id_key).or_else(|| id_of(obj, obj_key));
    let job_id = linked("jobId", "job");
    let employer_id = linked("employerId", "employer");
    let activity_id = linked("activityId", "activity");
    let note_id = linked("noteId", "note");
    let contact_id = linked("contactId", "contact");
    for (col, v) in [
        ("job_id", &job_id),
        ("employer_id", &employer_id),
        ("activity_id", &activity_id),
        ("note_id", &note_id),
        ("contact_id", &contact_id),
    ] {
        if let Some(v) = v {
            row.set(col, text(v));
        }
    }
    let action_type = row.get("action_type").as_str().unwrap_or("").to_owned();
    let date = match (row.get("date"), row.get("created_at")) {
        (Val::Ts(d), _) | (Val::Null, Val::Ts(d)) => *d,
        _ => as_of,
    };
    out.push(Op::Upsert(row));
    for (key, table, col) in [
        ("jobs", "action_jobs", "job_id"),
        ("employers", "action_employers", "employer_id"),
    ] {
        if let Some(Node::Arr(items)) = obj.get(key) {
            for (i, item) in items.iter().enumerate() {
                let linked_id = match item {
                    Node::Obj(o) => str_of(o, "id"),
                    Node::Str(s) => Some(s.to_string()),
                    _ => None,
                };
                let Some(linked_id) = linked_id else { continue };
                let mut child = Row::new(table, Mode::Full, 0);
                child
                    .set("action_id", text(&id))
                    .set("position", Val::Int(i as i64))
                    .set(col, text(linked_id));
                out.push(Op::Upsert(child));
                if let (Node::Obj(o), "employers") = (item, key) {
                    plain("employers", o, Mode::Partial, 0, out);
                }
            }
        }
    }
    activity_context(obj, out);
    if let Some(m) = nested(obj, "member") {
        member(m, Mode::Partial, 0, out);
    }
    if let Some(inv) = nested(obj, "organizationInvitation") {
        invitation(inv, Mode::Partial, 0, out);
    }
    let delete = |table: &str, id: &Option<String>, out: &mut Vec<Op>| {
        if let Some(id) = id {
            out.push(Op::Delete {
                table: SCHEMA.id(table),
                id: id.clone(),
                at: date,
            });
        }
    };
    match action_type.as_str() {
        "JOB_DELETED" => delete("jobs", &job_id, out),
        "ACTIVITY_DELETED" => delete("activities", &activity_id, out),
        "NOTE_DELETED" => delete("notes", &note_id, out),
        "CONTACT_DELETED" => delete("contacts", &contact_id, out),
        "ACTIVITY_CREATED" | "ACTIVITY_UPDATED" => {
            if let Some(a) = nested(obj, "activity") {
                let mode = if action_type == "ACTIVITY_UPDATED" {
                    Mode::Update
                } else {
                    Mode::Partial
                };
                let mut snap = record("activities", a, mode, date);
                if snap.get("id").is_null() {
                    snap.set("id", activity_id.clone().map(text).unwrap_or(Val::Null));
                }
                for (col, v) in [("job_id", &job_id), ("employer_id", &employer_id)] {
                    if let (true, Some(v)) = (snap.get(col).is_null(), v) {
                        snap.set(col, text(v));
                    }
                }
                if let (true, Some(c)) = (
                    snap.get("activity_category_id").is_null(),
                    id_of(obj, "activityCategory"),
                ) {
                    snap.set("activity_category_id", text(c));
                }
                if !snap.get("id").is_null() {
                    out.push(Op::Upsert(snap));
                }
            }
        }
        "NOTE_CREATED" | "NOTE_UPDATED" => {
            if let Some(n) = nested(obj, "note") {
                plain("notes", n, Mode::Full, date, out);
            }
        }
        "CONTACT_CREATED" | "CONTACT_UPDATED" => {
            if let Some(c) = nested(obj, "contact") {
                contact(c, date, out);
            }
        }
        _ => {}
    }
    let refresh = matches!(action_type.as_str(), "JOB_MOVED" | "JOB_UPDATED")
        || action_type.starts_with("ACTIVITY_");
    if let (true, Some(job_id)) = (refresh, job_id) {
        out.push(Op::RefreshJob { job_id, date });
    }
}

fn contact(obj: &Obj, as_of: i64, out: &mut Vec<Op>) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record("contacts", obj, Mode::Full, as_of)));
    if let Some(profiles) = nested(obj, "profiles") {
        for (network, handle) in profiles.iter() {
            let handle =
                convert::convert(crate::schema::ColType::Value, handle).unwrap_or(Val::Null);
            let mut row = Row::new("contact_profiles", Mode::Full, 0);
            row.set("contact_id", text(&id))
                .set("network", text(network))
                .set("handle", handle);
            out.push(Op::Upsert(row));
        }
    }
}

fn event(obj: &Obj, as_of: i64, out: &mut Vec<Op>) {
    out.push(Op::Upsert(record("events", obj, Mode::Full, as_of)));
    person(obj, "member", out);
    if let Some(j) = nested(obj, "job") {
        job(j, Mode::Partial, 0, out);
    }
}

#[cfg(test)]
mod tests;
