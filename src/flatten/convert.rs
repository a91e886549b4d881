//! Conversion of one JSON value into a typed cell, tolerant of drift.
//!
//! The API is loosely typed (`lat`/`lng` arrive as strings, member field
//! values as strings, numbers or arrays) and may change types without
//! notice. A value is stored in its column whenever it converts without
//! loss; otherwise the caller keeps it in `_extra` and warns once.

use crate::json::Node as J;
use crate::rows::Val;
use crate::schema::ColType;

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
    fn lossy_conversions_are_refused() {
        assert_eq!(convert(ColType::Int, &json!(1.5)), Err(Lossy));
        assert_eq!(convert(ColType::Bool, &json!("yes")), Err(Lossy));
        assert_eq!(convert(ColType::Text, &json!({"a": 1})), Err(Lossy));
        assert_eq!(convert(ColType::Timestamp, &json!("soon")), Err(Lossy));
        assert_eq!(convert(ColType::Float, &json!("NaN")), Err(Lossy));
    }
}
