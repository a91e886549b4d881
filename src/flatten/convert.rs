//! Conversion of one JSON value into a typed cell, tolerant of drift.
//!
//! The API is loosely typed (`lat`/`lng` arrive as strings, member field
//! values as strings, numbers or arrays) and may change types without
//! notice. A value is stored in its column whenever it converts without
//! loss; otherwise the caller keeps it in `_extra` and warns once.

use crate::json::Node as J;

use crate::schema::ColType;

/// A typed cell of a row. Timestamps stay unix seconds until a loader
/// renders them in its own format. Text up to 24 bytes (every id the API
/// sends) is kept inline: a backfill builds millions of cells, and a heap
/// block for each was a fifth of the fetching thread's time.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Text(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(i64),
}

/// A cell's text.
pub type Text = compact_str::CompactString;

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

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
/// [`fingerprint`].
pub fn hash_vals(vals: &[Val]) -> u64 {
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

/// The seed of in-memory fingerprints (any constant will do).
const SEED: u64 = 0x5eed_4a7e_0b5e_55ed;

/// A hash of a row's cells, for recognising identical rows within a run
/// (never stored). The cells are written, tagged and length-prefixed, into
/// one reused buffer that is hashed in a single call: hashing them one by
/// one cost a call per cell (most of them NULL), several times the work.
/// A 64-bit collision between two different rows of one key is vanishingly
/// unlikely.
pub fn fingerprint(vals: &[Val]) -> u64 {
    use std::hash::BuildHasher;
    thread_local! {
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
        foldhash::quality::FixedState::with_seed(SEED).hash_one(buf.as_slice())
    })
}

/// A hasher seeded as the in-memory hashes above (for values hashed
/// piecewise, such as a JSON object).
pub fn hasher() -> impl std::hash::Hasher {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(SEED).build_hasher()
}

/// A hash of one text (a row key), in memory only.
pub fn hash_text(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(SEED).hash_one(s)
}

/// The value could not be stored in a column of this type without loss.
#[derive(Debug, PartialEq, Eq)]
pub struct Lossy;

fn int_of_f64(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

fn number_to_i64(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| n.as_f64().and_then(int_of_f64))
}

/// Converts `v` for a column of type `ty`.
pub fn convert(ty: ColType, v: &J<'_>) -> Result<Val, Lossy> {
    use ColType::*;
    Ok(match (ty, v) {
        (_, J::Null) => Val::Null,
        (Value, J::Str(s)) => Val::Text(s.as_ref().into()),
        (Value, other) => Val::Text(other.to_string().into()),
        (Text, J::Str(s)) => Val::Text(s.as_ref().into()),
        (Text, J::Num(n)) => Val::Text(n.to_string().into()),
        (Text, J::Bool(b)) => Val::Text(if *b { "true" } else { "false" }.into()),
        // An empty string says "no value" for every non-text type.
        (Timestamp | Bool | Int | Float, J::Str(s)) if s.trim().is_empty() => Val::Null,
        (Timestamp, J::Num(n)) => Val::Ts(number_to_i64(n).ok_or(Lossy)?),
        (Timestamp, J::Str(s)) => Val::Ts(parse_timestamp(s.trim()).ok_or(Lossy)?),
        (Bool, J::Bool(b)) => Val::Bool(*b),
        (Bool, J::Num(n)) => match number_to_i64(n) {
            Some(0) => Val::Bool(false),
            Some(1) => Val::Bool(true),
            _ => return Err(Lossy),
        },
        (Bool, J::Str(s)) => match s.trim() {
            "true" | "1" => Val::Bool(true),
            "false" | "0" => Val::Bool(false),
            _ => return Err(Lossy),
        },
        (Int, J::Num(n)) => Val::Int(number_to_i64(n).ok_or(Lossy)?),
        (Int, J::Str(s)) => Val::Int(s.trim().parse().map_err(|_| Lossy)?),
        (Float, J::Num(n)) => Val::Float(n.as_f64().ok_or(Lossy)?),
        (Float, J::Str(s)) => {
            let f: f64 = s.trim().parse().map_err(|_| Lossy)?;
            if !f.is_finite() {
                return Err(Lossy);
            }
            Val::Float(f)
        }
        _ => return Err(Lossy),
    })
}

/// Unix seconds from digits or an RFC 3339 date.
fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(ty: ColType, v: &serde_json::Value) -> Result<Val, Lossy> {
        super::convert(ty, &J::from_value(v))
    }

    #[test]
    fn lossless_conversions_are_kept() {
        assert_eq!(
            convert(ColType::Float, &json!("49.2668893")),
            Ok(Val::Float(49.2668893))
        );
        assert_eq!(convert(ColType::Float, &json!("")), Ok(Val::Null));
        assert_eq!(
            convert(ColType::Timestamp, &json!(1588634675)),
            Ok(Val::Ts(1588634675))
        );
        assert_eq!(
            convert(ColType::Timestamp, &json!("1588634675")),
            Ok(Val::Ts(1588634675))
        );
        assert_eq!(
            convert(ColType::Timestamp, &json!("2020-05-04T23:24:35Z")),
            Ok(Val::Ts(1588634675))
        );
        assert_eq!(
            convert(ColType::Timestamp, &json!(1588634675.0)),
            Ok(Val::Ts(1588634675))
        );
        assert_eq!(convert(ColType::Bool, &json!("true")), Ok(Val::Bool(true)));
        assert_eq!(convert(ColType::Bool, &json!(0)), Ok(Val::Bool(false)));
        assert_eq!(convert(ColType::Int, &json!("2001")), Ok(Val::Int(2001)));
        assert_eq!(
            convert(ColType::Text, &json!(42)),
            Ok(Val::Text("42".into()))
        );
        assert_eq!(
            convert(ColType::Value, &json!(["a", "b"])),
            Ok(Val::Text(r#"["a","b"]"#.into()))
        );
        assert_eq!(
            convert(ColType::Value, &json!(3)),
            Ok(Val::Text("3".into()))
        );
        assert_eq!(
            convert(ColType::Value, &json!("x")),
            Ok(Val::Text("x".into()))
        );
    }

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

    #[test]
    fn lossy_conversions_are_refused() {
        assert_eq!(convert(ColType::Int, &json!(1.5)), Err(Lossy));
        assert_eq!(convert(ColType::Bool, &json!("yes")), Err(Lossy));
        assert_eq!(convert(ColType::Text, &json!({"a": 1})), Err(Lossy));
        assert_eq!(convert(ColType::Timestamp, &json!("soon")), Err(Lossy));
        assert_eq!(convert(ColType::Float, &json!("NaN")), Err(Lossy));
    }
}
