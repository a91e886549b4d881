//! What the flattening tests share: the reference's examples as values,
//! flattening one, and the rows of one table among the operations.

use serde_json::Value;

use super::flatten;
use crate::resources::Resource;
use crate::rows::{Op, Row};
use crate::schema::TableId;

/// `tests/fixtures/reference/<name>.json`.
pub fn reference(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/reference/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// An example of the current reference (`reference/current/<name>.json`).
pub fn current(name: &str) -> Value {
    reference(&format!("current/{name}"))
}

/// `v`, read from `resource`'s own endpoint at time 1,000.
pub fn flat(resource: Resource, v: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    flatten(resource, v, 1_000, &mut out);
    out
}

/// The rows written to `table`.
pub fn rows(ops: &[Op], table: TableId) -> Vec<&Row> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Upsert(r) if r.table == table => Some(r),
            _ => None,
        })
        .collect()
}
