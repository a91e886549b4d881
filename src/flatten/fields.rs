//! The generic half of flattening: an API object becomes a row of a table
//! by the schema's `from` paths alone, and whatever the schema has no
//! column for is kept in `_extra`. No resource is special here; the code
//! for nested objects and arrays lives in `records` and `actions`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use super::{convert, Mode, Row, Val};
use crate::json::{Node, Obj};
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
pub fn record(table: TableId, obj: &Obj, mode: Mode, as_of: i64) -> Row {
    let mut row = Row::new(table, mode, as_of);
    let t = SCHEMA.table(table);
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
    unknown_fields(t, obj, &mut extra);
    if !extra.is_empty() {
        row.vals[t.col(EXTRA)] = Val::Text(crate::json::object_text(&extra));
    }
    row
}

/// Adds to `extra` the fields of `obj` that `t` has no column for.
fn unknown_fields<'a, 'j>(
    t: &Table,
    obj: &'a Obj<'j>,
    extra: &mut Vec<(Cow<'a, str>, &'a Node<'j>)>,
) {
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
}
