//! Turns a cell into the JSON value a member field takes, per field type,
//! and tells whether a member's current value already is that value, so
//! only changes are sent. Also the small text checks every kind shares:
//! email syntax, `;`-separated lists, the closest name to a misspelt one.

use std::collections::BTreeSet;

use serde_json::Value;
use time::macros::format_description;

use super::dates::{looks_like_a_day, DateFormat};
use super::FieldDef;

pub(super) const MULTIPLE_CHOICE: &str = "MULTIPLE_CHOICE";
/// Several choices per member (the current reference).
pub(super) const MULTIPLE_SELECT: &str = "MULTIPLE_SELECT";
pub(super) const TEXT: &str = "TEXT";
pub(super) const NUMBER: &str = "NUMBER";
pub(super) const DATE: &str = "DATE";
/// Every field type the API knows.
pub(super) const FIELD_TYPES: [&str; 5] = [MULTIPLE_CHOICE, MULTIPLE_SELECT, TEXT, NUMBER, DATE];

/// Whether a field of this type has choices.
pub(super) fn has_choices(field_type: &str) -> bool {
    field_type == MULTIPLE_CHOICE || field_type == MULTIPLE_SELECT
}

/// How many choices a "not a choice" message lists.
const CHOICES_SHOWN: usize = 5;

/// The trimmed, lowercased email, or why it is not one. Pragmatic: one
/// `@`, something before it, a dot inside the domain, no spaces.
pub(super) fn email(cell: &str) -> Result<String, String> {
    let email = cell.trim();
    if email.is_empty() {
        return Err("the email is empty".to_string());
    }
    let bad = || {
        Err(format!(
            "`{email}` is not an email address (name@example.org)"
        ))
    };
    let Some((local, domain)) = email.split_once('@') else {
        return bad();
    };
    let dotted = domain.contains('.') && domain.split('.').all(|part| !part.is_empty());
    if local.is_empty() || domain.contains('@') || !dotted || email.contains(char::is_whitespace) {
        return bad();
    }
    Ok(email.to_lowercase())
}

/// The non-empty, trimmed items of a `;`-separated cell.
pub(super) fn split_list(cell: &str) -> Vec<&str> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The value `cell` gives `field`: None for an empty cell, Err with a
/// message for a cell the field cannot take.
#[cfg(test)]
pub(super) fn convert(field: &FieldDef, cell: &str) -> Result<Option<Value>, String> {
    convert_with(field, cell, None)
}

/// [`convert`], with text dates also read in the file's own order.
pub(super) fn convert_with(
    field: &FieldDef,
    cell: &str,
    dates: Option<&DateFormat>,
) -> Result<Option<Value>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    match field.field_type.as_str() {
        MULTIPLE_CHOICE => choices(field, cell),
        // Always an array: a member may hold several.
        MULTIPLE_SELECT => choices(field, cell).map(|v| {
            v.map(|v| match v {
                Value::String(one) => Value::Array(vec![Value::String(one)]),
                many => many,
            })
        }),
        TEXT => Ok(Some(Value::String(cell.to_string()))),
        NUMBER => number(cell).map(Some).ok_or_else(|| {
            format!(
                "`{cell}` is not a number (`{}` is a NUMBER field)",
                field.name
            )
        }),
        DATE => date_in(field, cell, dates).map(Some),
        other => Err(format!(
            "`{}` is a {other} field, which huntr-sync cannot write",
            field.name
        )),
    }
}

/// One choice: a JSON string; several: an array, each in the field's own
/// spelling.
fn choices(field: &FieldDef, cell: &str) -> Result<Option<Value>, String> {
    let mut picked: Vec<&str> = Vec::new();
    let mut wrong = Vec::new();
    for item in split_list(cell) {
        match choice(field, item) {
            Some(choice) if !picked.contains(&choice) => picked.push(choice),
            Some(_) => {}
            None => wrong.push(item),
        }
    }
    if let Some(first) = wrong.first() {
        let quoted: Vec<String> = wrong.iter().map(|w| format!("`{w}`")).collect();
        let is = if wrong.len() == 1 {
            "is not a choice"
        } else {
            "are not choices"
        };
        return Err(format!(
            "{} {is} of `{}`; its choices include {}",
            quoted.join(", "),
            field.name,
            closest_few(first, &field.choices)
        ));
    }
    Ok(match picked.as_slice() {
        [] => None,
        [one] => Some(Value::String(one.to_string())),
        many => Some(Value::Array(
            many.iter().map(|c| Value::String(c.to_string())).collect(),
        )),
    })
}

/// The field's spelling of `item`: exact first, else the one choice equal
/// to it ignoring case.
fn choice<'a>(field: &'a FieldDef, item: &str) -> Option<&'a str> {
    if let Some(exact) = field.choices.iter().find(|c| *c == item) {
        return Some(exact);
    }
    let lower = item.to_lowercase();
    let mut folded = field.choices.iter().filter(|c| c.to_lowercase() == lower);
    match (folded.next(), folded.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Up to `CHOICES_SHOWN` choices, those closest to `wrong` when there are
/// more.
fn closest_few(wrong: &str, choices: &[String]) -> String {
    if choices.is_empty() {
        return "none (the field has no choices)".to_string();
    }
    let mut shown: Vec<&String> = choices.iter().collect();
    if shown.len() > CHOICES_SHOWN {
        shown.sort_by_key(|c| levenshtein(wrong, c));
        shown.truncate(CHOICES_SHOWN);
    }
    let mut text = shown
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if choices.len() > CHOICES_SHOWN {
        text.push_str(&format!(" ({} more)", choices.len() - CHOICES_SHOWN));
    }
    text
}

/// A finite number: an integer when whole.
fn number(cell: &str) -> Option<Value> {
    let n: f64 = cell.parse().ok().filter(|n: &f64| n.is_finite())?;
    // Whole and exactly representable: an integer.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Some(Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(Value::Number)
    }
}

/// `YYYY-MM-DD` (midnight UTC) or Unix seconds, as Unix seconds.
fn date(cell: &str) -> Option<Value> {
    if let Ok(seconds) = cell.parse::<i64>() {
        return Some(Value::from(seconds));
    }
    let day = time::Date::parse(cell, format_description!("[year]-[month]-[day]")).ok()?;
    Some(Value::from(day.midnight().assume_utc().unix_timestamp()))
}

/// A date cell: [`date`], or a day in the file's order; the message
/// names `--date-format` when the cell looks like a day in another order.
fn date_in(field: &FieldDef, cell: &str, dates: Option<&DateFormat>) -> Result<Value, String> {
    if let Some(value) = date(cell) {
        return Ok(value);
    }
    if let Some(seconds) = dates.and_then(|d| d.unix_seconds(cell)) {
        return Ok(Value::from(seconds));
    }
    Err(match dates {
        Some(format) => format!(
            "`{cell}` is not a date: `{}` takes YYYY-MM-DD, Unix seconds or --date-format {}",
            field.name,
            format.as_str()
        ),
        None if looks_like_a_day(cell) => format!(
            "`{cell}` is not a YYYY-MM-DD date and its order of day and month is not known; \
             give it with --date-format (e.g. --date-format %m/%d/%Y for 05/31/2027, %d.%m.%Y for 31.05.2027)"
        ),
        None => format!(
            "`{cell}` is not a date: `{}` takes YYYY-MM-DD (midnight UTC) or Unix seconds",
            field.name
        ),
    })
}

/// Whether the member's `current` value already is `new` (a value from
/// `convert`): a string is a one-choice list, choices are a set, numbers
/// and dates compare as numbers whatever JSON type holds them.
pub(super) fn same_value(field: &FieldDef, current: Option<&Value>, new: &Value) -> bool {
    let Some(current) = current.filter(|c| !c.is_null()) else {
        return false;
    };
    match field.field_type.as_str() {
        NUMBER => as_number(current).is_some_and(|c| Some(c) == as_number(new)),
        DATE => as_seconds(current).is_some_and(|c| Some(c) == as_seconds(new)),
        _ => match (string_set(current), string_set(new)) {
            (Some(c), Some(n)) => c == n,
            _ => current == new,
        },
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => date(s.trim()).and_then(|v| v.as_i64()),
        _ => None,
    }
}

fn string_set(value: &Value) -> Option<BTreeSet<&str>> {
    match value {
        Value::String(s) => Some(BTreeSet::from([s.as_str()])),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// A value for a person: `"Seattle"`, `["iOS", "Web Design"]`, `17`.
pub(super) fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "empty".to_string(),
        Some(v) => v.to_string(),
    }
}

/// Edit distance between two names, ignoring case.
pub(super) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(ca != cb);
            current.push(replace.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The candidate closest to `name` (the first of equals).
pub(super) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates.into_iter().min_by_key(|c| levenshtein(name, c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(field_type: &str, choices: &[&str]) -> FieldDef {
        FieldDef {
            id: "f".into(),
            name: "Location".into(),
            field_type: field_type.into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_multiple_select_value_is_always_an_array() {
        let f = field(MULTIPLE_SELECT, &["AWS", "GCP"]);
        assert_eq!(
            convert(&f, "aws").unwrap(),
            Some(serde_json::json!(["AWS"]))
        );
        assert_eq!(
            convert(&f, "AWS; GCP").unwrap(),
            Some(serde_json::json!(["AWS", "GCP"]))
        );
        assert!(convert(&f, "Azure").is_err());
    }

    #[test]
    fn emails_are_checked_pragmatically_and_lowercased() {
        assert_eq!(
            email("  Ann.Lee+x@Example.ORG "),
            Ok("ann.lee+x@example.org".into())
        );
        assert_eq!(email(" "), Err("the email is empty".into()));
        for bad in [
            "ann",
            "@example.org",
            "ann@example",
            "ann@@example.org",
            "a@b@c.org",
            "ann lee@example.org",
            "ann@.org",
            "ann@example.",
        ] {
            assert_eq!(
                email(bad),
                Err(format!(
                    "`{bad}` is not an email address (name@example.org)"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn choices_are_matched_exactly_then_ignoring_case() {
        let location = field(
            MULTIPLE_CHOICE,
            &["Seattle", "New York", "new york", "Miami"],
        );
        assert_eq!(convert(&location, " seattle "), Ok(Some(json!("Seattle"))));
        assert_eq!(convert(&location, "new york"), Ok(Some(json!("new york"))));
        assert_eq!(
            convert(&location, "MIAMI; Seattle ;;miami"),
            Ok(Some(json!(["Miami", "Seattle"])))
        );
        assert_eq!(convert(&location, " ; "), Ok(None));
        let err = convert(&location, "NEW YORK").unwrap_err();
        assert!(
            err.starts_with("`NEW YORK` is not a choice of `Location`"),
            "{err}"
        );
    }

    #[test]
    fn a_multiple_select_value_is_always_a_list_of_choices() {
        let specialties = field(MULTIPLE_SELECT, &["AWS", "Security+"]);
        assert_eq!(convert(&specialties, "aws"), Ok(Some(json!(["AWS"]))));
        assert_eq!(
            convert(&specialties, "AWS; security+"),
            Ok(Some(json!(["AWS", "Security+"])))
        );
        assert!(convert(&specialties, "Cobol").is_err());
        assert!(same_value(
            &specialties,
            Some(&json!(["Security+", "AWS"])),
            &json!(["AWS", "Security+"])
        ));
    }

    #[test]
    fn a_wrong_choice_lists_at_most_five_the_closest_first() {
        let location = field(
            MULTIPLE_CHOICE,
            &[
                "Vancouver",
                "Seattle",
                "New York",
                "Montreal",
                "Miami",
                "Boston",
                "Toronto",
            ],
        );
        assert_eq!(
            convert(&location, "Bostn;Seattle;Nowhere"),
            Err(
                "`Bostn`, `Nowhere` are not choices of `Location`; its choices include \
                 `Boston`, `Miami`, `Toronto`, `Seattle`, `Montreal` (2 more)"
                    .into()
            )
        );
        let few = field(MULTIPLE_CHOICE, &["Seattle", "Miami"]);
        assert_eq!(
            convert(&few, "Bostn"),
            Err(
                "`Bostn` is not a choice of `Location`; its choices include `Seattle`, `Miami`"
                    .into()
            )
        );
    }

    #[test]
    fn numbers_are_finite_and_whole_ones_integers() {
        let age = FieldDef {
            name: "Age".into(),
            ..field(NUMBER, &[])
        };
        assert_eq!(convert(&age, " 3 "), Ok(Some(json!(3))));
        assert_eq!(convert(&age, "3.0"), Ok(Some(json!(3))));
        assert_eq!(convert(&age, "-2.5"), Ok(Some(json!(-2.5))));
        assert_eq!(convert(&age, "1e3"), Ok(Some(json!(1000))));
        for bad in ["abc", "inf", "NaN", "1,5"] {
            assert_eq!(
                convert(&age, bad),
                Err(format!("`{bad}` is not a number (`Age` is a NUMBER field)"))
            );
        }
    }

    #[test]
    fn dates_are_a_day_or_unix_seconds() {
        let graduation = FieldDef {
            name: "Graduation".into(),
            ..field(DATE, &[])
        };
        assert_eq!(
            convert(&graduation, "2024-06-01"),
            Ok(Some(json!(1717200000)))
        );
        assert_eq!(
            convert(&graduation, "1717200000"),
            Ok(Some(json!(1717200000)))
        );
        for bad in ["2024-13-01", "2024-06-01T10:00", "soon"] {
            assert_eq!(
                convert(&graduation, bad),
                Err(format!(
                    "`{bad}` is not a date: `Graduation` takes YYYY-MM-DD (midnight UTC) or Unix seconds"
                ))
            );
        }
    }

    #[test]
    fn dates_in_another_order_need_the_date_format() {
        let graduation = FieldDef {
            name: "Graduation".into(),
            ..field(DATE, &[])
        };
        let err = convert(&graduation, "05/06/2027").unwrap_err();
        assert!(
            err.starts_with("`05/06/2027` is not a YYYY-MM-DD date")
                && err.contains("--date-format"),
            "{err}"
        );
        let us = DateFormat::parse("%m/%d/%Y").unwrap();
        assert_eq!(
            convert_with(&graduation, "5/31/2027", Some(&us)),
            Ok(Some(json!(1811721600)))
        );
        assert_eq!(
            convert_with(&graduation, "2027-05-31", Some(&us)),
            Ok(Some(json!(1811721600)))
        );
        assert_eq!(
            convert_with(&graduation, "31/05/2027", Some(&us)),
            Err("`31/05/2027` is not a date: `Graduation` takes YYYY-MM-DD, Unix seconds or --date-format %m/%d/%Y".into())
        );
    }

    #[test]
    fn text_is_any_string_and_unknown_types_are_refused() {
        assert_eq!(
            convert(&field(TEXT, &[]), " Annie; A. "),
            Ok(Some(json!("Annie; A.")))
        );
        assert_eq!(convert(&field(TEXT, &[]), "  "), Ok(None));
        assert_eq!(
            convert(&field("RATING", &[]), "5"),
            Err("`Location` is a RATING field, which huntr-sync cannot write".into())
        );
    }

    #[test]
    fn current_values_compare_by_meaning() {
        let choice = field(MULTIPLE_CHOICE, &[]);
        assert!(same_value(
            &choice,
            Some(&json!(["Seattle"])),
            &json!("Seattle")
        ));
        assert!(same_value(
            &choice,
            Some(&json!("Seattle")),
            &json!(["Seattle"])
        ));
        assert!(same_value(
            &choice,
            Some(&json!(["iOS", "Web"])),
            &json!(["Web", "iOS"])
        ));
        assert!(!same_value(
            &choice,
            Some(&json!(["iOS"])),
            &json!(["Web", "iOS"])
        ));
        assert!(!same_value(&choice, None, &json!("Seattle")));
        assert!(!same_value(&choice, Some(&json!(null)), &json!("Seattle")));
        let number = field(NUMBER, &[]);
        assert!(same_value(&number, Some(&json!(3.0)), &json!(3)));
        assert!(same_value(&number, Some(&json!("3")), &json!(3)));
        assert!(!same_value(&number, Some(&json!(3.5)), &json!(3)));
        let date = field(DATE, &[]);
        assert!(same_value(
            &date,
            Some(&json!(1717200000)),
            &json!(1717200000)
        ));
        assert!(same_value(
            &date,
            Some(&json!("1717200000")),
            &json!(1717200000)
        ));
        assert!(!same_value(
            &date,
            Some(&json!(1717200001)),
            &json!(1717200000)
        ));
        let text = field(TEXT, &[]);
        assert!(same_value(&text, Some(&json!("Annie")), &json!("Annie")));
        assert!(!same_value(&text, Some(&json!("annie")), &json!("Annie")));
    }

    #[test]
    fn the_closest_name_ignores_case() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("LOCATION", "location"), 0);
        assert_eq!(
            closest("locaton", ["Program", "Location", "Nickname"]),
            Some("Location")
        );
        assert_eq!(closest("x", []), None);
    }

    #[test]
    fn lists_are_split_on_semicolons_and_trimmed() {
        assert_eq!(split_list(" a ; b;;c ;"), ["a", "b", "c"]);
        assert!(split_list(" ").is_empty());
    }
}
