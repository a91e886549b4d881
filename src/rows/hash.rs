//! In-memory hashes of cells, keys and values, for recognising what was
//! seen before within one process (never stored: they may change between
//! versions). They share one seeded hash, so a hash made by one side is
//! comparable with the same thing hashed by the other.

use std::hash::BuildHasher;

use super::Val;

/// The seed of the in-memory hashes (any constant will do).
const SEED: u64 = 0x5eed_4a7e_0b5e_55ed;

fn state() -> foldhash::quality::FixedState {
    foldhash::quality::FixedState::with_seed(SEED)
}

/// A hash of a row's cells, for recognising identical rows within a run.
/// The cells are written, tagged and length-prefixed, into one buffer that
/// is hashed in a single call: hashing them one by one cost a call per cell
/// (most of them NULL), several times the work. A 64-bit collision between
/// two different rows of one key is vanishingly unlikely.
pub fn fingerprint(vals: &[Val]) -> u64 {
    thread_local! {
        /// The buffer's allocation, kept for the next call on this thread.
        /// It is cleared before each use, so no call sees what another
        /// left in it: a cache of memory, not state that changes a result.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        for v in vals {
            match v {
                Val::Null => buf.push(0),
                Val::Text(s) => {
                    buf.push(1);
                    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
                Val::Int(i) => {
                    buf.push(2);
                    buf.extend_from_slice(&i.to_le_bytes());
                }
                Val::Float(f) => {
                    buf.push(3);
                    buf.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                Val::Bool(b) => buf.extend_from_slice(&[4, *b as u8]),
                Val::Ts(t) => {
                    buf.push(5);
                    buf.extend_from_slice(&t.to_le_bytes());
                }
            }
        }
        state().hash_one(buf.as_slice())
    })
}

/// A hasher seeded as the other in-memory hashes, for values hashed
/// piecewise (such as a JSON object).
pub fn hasher() -> impl std::hash::Hasher {
    state().build_hasher()
}

/// A hash of one text (a row key).
pub fn hash_text(s: &str) -> u64 {
    state().hash_one(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_apart_rows_that_print_alike() {
        let t = |s: &str| Val::Text(s.into());
        let pairs = [
            (vec![t("ab"), t("c")], vec![t("a"), t("bc")]),
            (vec![Val::Null], vec![t("")]),
            (vec![Val::Int(5)], vec![Val::Ts(5)]),
            (vec![Val::Bool(false)], vec![Val::Int(0)]),
        ];
        for (a, b) in pairs {
            assert_ne!(fingerprint(&a), fingerprint(&b), "{a:?} vs {b:?}");
            assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        }
    }
}
