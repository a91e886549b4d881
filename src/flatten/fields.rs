//! The generic half of flattening: an API object becomes a row of a table
//! by the schema's `from` paths alone, and whatever the schema has no
//! column for is kept in `_extra`. No resource is special here; the code
//! for nested objects and arrays lives in `records` and `actions`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use foldhash::fast::FixedState;

use super::convert;
use crate::json::{Node, Obj};
use crate::rows::{Mode, Row, Val};
use crate::schema::{Source, Table, TableId, EXTRA, SCHEMA};

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

/// How the fields of one table's API objects map to its columns, worked
/// out once from the schema, so a row is built in one pass over the
/// object's fields (a hash lookup each) instead of a search of the object
/// for every column's path and a scan of the columns for every field of a
/// nested object.
struct Plan {
    /// By an object's top-level key: the key's number (below
    /// [`MAX_KEYS`]) and the columns read from it, each with the rest of
    /// its path (empty: the value itself).
    by_key: HashMap<&'static str, (usize, Columns), FixedState>,
    /// For a known key whose value may be a flattened object: the
    /// sub-fields some column covers (the others go to `_extra`); absent
    /// when a column or code takes the whole object.
    covered: HashMap<&'static str, HashSet<&'static str, FixedState>, FixedState>,
}

/// Columns, each with the rest of its path.
type Columns = Vec<(usize, &'static [String])>;

/// Keys of an object a [`Plan`] may read (tables have far fewer columns).
const MAX_KEYS: usize = 256;

static PLANS: LazyLock<Vec<Plan>> = LazyLock::new(|| SCHEMA.tables.iter().map(Plan::of).collect());

impl Plan {
    fn of(t: &'static Table) -> Plan {
        let mut by_key: HashMap<_, (usize, Columns), FixedState> = HashMap::default();
        let mut covered: HashMap<_, HashSet<_, FixedState>, FixedState> = HashMap::default();
        let mut whole: HashSet<&str, FixedState> = t.consumes.iter().map(String::as_str).collect();
        for (i, col) in t.columns.iter().enumerate() {
            let Source::Path(path) = &col.source else {
                continue;
            };
            let next = by_key.len();
            let entry = by_key.entry(path[0].as_str()).or_insert((next, Vec::new()));
            entry.1.push((i, &path[1..]));
            match path.as_slice() {
                [k] => {
                    whole.insert(k.as_str());
                }
                [k, sub] => {
                    covered.entry(k.as_str()).or_default().insert(sub.as_str());
                }
                _ => {}
            }
        }
        for k in by_key.keys() {
            covered.entry(k).or_default();
        }
        covered.retain(|k, _| !whole.contains(k));
        assert!(by_key.len() <= MAX_KEYS, "table {}: too many keys", t.name);
        Plan { by_key, covered }
    }
}

/// Follows the rest of a column's path from the value of its first key.
fn follow<'a, 'j>(v: &'a Node<'j>, rest: &[String]) -> Option<&'a Node<'j>> {
    rest.iter()
        .try_fold(v, |cur, seg| cur.as_object()?.get(seg))
}

/// Builds a row of `table` from an API object: every column with a source
/// path, plus (for full and update writes) `_extra` with whatever the schema
/// has no column for. Columns set by code are left NULL for the caller.
pub fn record(table: TableId, obj: &Obj, mode: Mode, as_of: i64) -> Row {
    let mut row = Row::new(table, mode, as_of);
    let t = SCHEMA.table(table);
    let plan = &PLANS[table];
    let mut extra: Vec<(Cow<str>, &Node)> = Vec::new();
    // Last field first: of a repeated key the last value counts, as
    // `Obj::get` has it, so an earlier copy of a key already read is
    // skipped.
    let mut read = [0u64; MAX_KEYS / 64];
    for (k, v) in obj.iter().rev() {
        let Some((slot, cols)) = plan.by_key.get(k) else {
            continue;
        };
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        if read[word] & bit != 0 {
            continue;
        }
        read[word] |= bit;
        for (i, rest) in cols {
            let Some(v) = follow(v, rest) else { continue };
            let col = &t.columns[*i];
            match convert::convert(col.ty, v) {
                Ok(val) => row.vals[*i] = val,
                Err(_) => {
                    let Source::Path(path) = &col.source else {
                        continue;
                    };
                    let field = path.join(".");
                    warn_type_drift(&t.name, &field, v);
                    extra.push((Cow::Owned(field), v));
                }
            }
        }
    }
    if mode == Mode::Partial {
        return row;
    }
    unknown_fields(t, plan, obj, &mut extra);
    if !extra.is_empty() {
        row.vals[t.col(EXTRA)] = Val::Text(crate::json::object_text(&extra).into());
    }
    row
}

/// Adds to `extra` the fields of `obj` that `t` has no column for.
fn unknown_fields<'a, 'j>(
    t: &Table,
    plan: &Plan,
    obj: &'a Obj<'j>,
    extra: &mut Vec<(Cow<'a, str>, &'a Node<'j>)>,
) {
    for (k, v) in obj.iter() {
        if !t.knows(k) {
            extra.push((Cow::Borrowed(k), v));
            continue;
        }
        // A flattened nested object (e.g. `location`) may still carry
        // sub-fields without a column; a column holding the whole object
        // (`update_json`) or code handling it (`consumes`) leaves nothing
        // over.
        let (Node::Obj(inner), Some(covered)) = (v, plan.covered.get(k)) else {
            continue;
        };
        for (sub, sv) in inner.iter() {
            if !covered.contains(sub) {
                extra.push((Cow::Owned(format!("{k}.{sub}")), sv));
            }
        }
    }
}
