//! The `_children` column: a parent row's hash of its child rows, so that
//! a change in a child (a member's field value) shows as a change of the
//! parent and the loader knows to replace the children.

use crate::rows::{Mode, Op, Val};
use crate::schema::{CHILDREN, SCHEMA};

/// 64-bit FNV-1a: fast, and a collision between different rows or keys
/// is vanishingly unlikely.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn eat(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(PRIME);
        }
    }
}

/// A hash of a row's cells that is stored (in `_children`), so it must
/// never change between versions. For in-memory comparisons use the faster
/// [`crate::rows::hash::fingerprint`].
fn hash_vals(vals: &[Val]) -> u64 {
    let mut h = Fnv::new();
    for v in vals {
        match v {
            Val::Null => h.eat(&[0]),
            Val::Text(s) => {
                h.eat(&[1]);
                h.eat(&(s.len() as u64).to_le_bytes());
                h.eat(s.as_bytes());
            }
            Val::Int(i) => {
                h.eat(&[2]);
                h.eat(&i.to_le_bytes());
            }
            Val::Float(f) => {
                h.eat(&[3]);
                h.eat(&f.to_bits().to_le_bytes());
            }
            Val::Bool(b) => h.eat(&[4, *b as u8]),
            Val::Ts(t) => {
                h.eat(&[5]);
                h.eat(&t.to_le_bytes());
            }
        }
    }
    h.0
}

/// Stamps each full parent row among `ops` with a hash of its child rows
/// among them.
pub(super) fn hash_children(ops: &mut [Op]) {
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
                hash_vals(&child.vals).hash(&mut h);
            }
        }
        let hash = h.finish() as i64;
        if let Op::Upsert(parent) = &mut ops[i] {
            let col = t.col(CHILDREN);
            parent.vals[col] = Val::Int(hash);
        }
    }
}
