//! `push field-values`: sets members' field values, one `PUT` per value
//! that differs from the member's current one, so a rerun (or a file
//! exported from the last sync) sends nothing. Two rows may not give one
//! member's field two values, since the journal knows a value by member
//! and field.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::columns::{missing, Layout};
use super::values::{email, same_value, show};
use super::{
    FieldDef, InputError, InputTable, MemberState, Method, OrgSnapshot, Outcome, PlannedRow,
    Problem, SkipReason, Write,
};

const EMAIL: &str = "email";
const MEMBER_ID: &str = "member_id";
pub(super) const OWN: [&str; 2] = [EMAIL, MEMBER_ID];

/// (member id, field id) -> (line, value) of the first valid row giving it.
type Given = HashMap<(String, String), (usize, Value)>;

pub(super) fn plan(input: &InputTable, org: &OrgSnapshot) -> Result<Vec<PlannedRow>, InputError> {
    let layout = Layout::new(input, &OWN, Some(&org.fields))?;
    if !layout.has(EMAIL) && !layout.has(MEMBER_ID) {
        return Err(missing(
            input,
            EMAIL,
            "a field-values file names each member in an `email` or a `member_id` column",
        ));
    }
    let mut given = Given::new();
    let rows = input
        .rows
        .iter()
        .map(|(line, cells)| row(&layout, org, *line, cells, &mut given))
        .collect();
    Ok(rows)
}

fn row(
    layout: &Layout,
    org: &OrgSnapshot,
    line: usize,
    cells: &[String],
    given: &mut Given,
) -> PlannedRow {
    let mut problems = Vec::new();
    let member = match member(layout, org, cells) {
        Ok(member) => Some(member),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    let key = match member {
        Some(m) => format!("member:{}", m.id),
        None => format!("member:{}", who(layout, cells).to_lowercase()),
    };
    let values = layout.field_values(cells, &mut problems);
    let outcome = match member {
        Some(member) if problems.is_empty() => changes(member, line, values, given),
        _ => Outcome::Invalid(problems),
    };
    PlannedRow { line, key, outcome }
}

/// The cell that names the row's member: `member_id` when not empty.
fn who<'r>(layout: &Layout, cells: &'r [String]) -> &'r str {
    match layout.cell(cells, MEMBER_ID) {
        "" => layout.cell(cells, EMAIL),
        id => id,
    }
}

fn member<'o>(
    layout: &Layout,
    org: &'o OrgSnapshot,
    cells: &[String],
) -> Result<&'o MemberState, Problem> {
    let id = layout.cell(cells, MEMBER_ID);
    if !id.is_empty() {
        return org
            .members
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Problem::new(MEMBER_ID, id, format!("no member has the id `{id}`")));
    }
    let cell = layout.cell(cells, EMAIL);
    if cell.is_empty() {
        let (column, message) = match (layout.has(EMAIL), layout.has(MEMBER_ID)) {
            (true, true) => (EMAIL, "no member: both email and member_id are empty"),
            (true, false) => (EMAIL, "the email is empty"),
            (false, _) => (MEMBER_ID, "member_id is empty; every row needs one"),
        };
        return Err(Problem::new(column, "", message));
    }
    let lowered = email(cell).map_err(|message| Problem::new(EMAIL, cell, message))?;
    let found: Vec<&MemberState> = org
        .members
        .iter()
        .filter(|m| m.email.trim().to_lowercase() == lowered)
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Problem::new(
            EMAIL,
            cell,
            format!("no member has the email `{cell}`"),
        )),
        many => {
            let ids: Vec<&str> = many.iter().map(|m| m.id.as_str()).collect();
            let message = format!(
                "{} members have the email `{cell}`; use member_id ({})",
                many.len(),
                ids.join(", ")
            );
            Err(Problem::new(EMAIL, cell, message))
        }
    }
}

/// The writes for the values that differ from the member's, once each
/// across the file. A row whose values all are the member's already is
/// `Unchanged` even where an earlier row gives them too.
fn changes(
    member: &MemberState,
    line: usize,
    values: Vec<(&FieldDef, Value)>,
    given: &mut Given,
) -> Outcome {
    let mut problems = Vec::new();
    let mut repeated = None;
    for (field, value) in &values {
        let pair = (member.id.clone(), field.id.clone());
        match given.get(&pair) {
            Some((first, earlier)) if !same_value(field, Some(earlier), value) => {
                let message = format!(
                    "line {first} gives this member's `{}` another value, {}; keep one",
                    field.name,
                    show(Some(earlier))
                );
                problems.push(Problem::new(&field.name, &show(Some(value)), message));
            }
            Some((first, _)) => {
                repeated.get_or_insert(*first);
            }
            None => {}
        }
    }
    if !problems.is_empty() {
        return Outcome::Invalid(problems);
    }
    let mut writes = Vec::new();
    let mut unchanged = true;
    for (field, value) in values {
        let current = member.values.get(&field.id);
        let same = same_value(field, current, &value);
        unchanged &= same;
        let pair = (member.id.clone(), field.id.clone());
        if given.contains_key(&pair) {
            continue;
        }
        if !same {
            writes.push(write(member, field, current, &value));
        }
        given.insert(pair, (line, value));
    }
    match repeated {
        _ if !writes.is_empty() => Outcome::Send(writes),
        Some(first_line) if !unchanged => Outcome::Skip(SkipReason::RepeatedInFile { first_line }),
        _ => Outcome::Skip(SkipReason::Unchanged),
    }
}

fn write(member: &MemberState, field: &FieldDef, current: Option<&Value>, value: &Value) -> Write {
    Write {
        key: format!("value:{}/{}", member.id, field.id),
        method: Method::Put,
        path: format!("members/{}/member-fields/{}", member.id, field.id),
        body: json!({ "value": value }),
        summary: format!(
            "set {} of {} to {} (was {})",
            field.name,
            member.email,
            show(Some(value)),
            show(current)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{org, table};
    use super::super::{plan as plan_kind, PushKind};
    use super::*;

    fn rows(input: &InputTable) -> Vec<PlannedRow> {
        plan_kind(PushKind::FieldValues, input, &org())
            .unwrap()
            .rows
    }

    fn messages(outcome: &Outcome) -> Vec<&str> {
        match outcome {
            Outcome::Invalid(problems) => problems.iter().map(|p| p.message.as_str()).collect(),
            other => panic!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn values_the_member_has_are_not_sent() {
        let input = table(
            &[
                "email",
                "Location",
                "Program",
                "Graduation",
                "Age",
                "Nickname",
            ],
            &[
                &[
                    "ann@example.org",
                    "seattle",
                    "Web Design; iOS",
                    "2024-06-01",
                    "3",
                    "Annie",
                ],
                &["ANN@example.org", "", "", "1717200000", "3.0", ""],
                &["ann@example.org", "", "", "", "", ""],
            ],
        );
        let got = rows(&input);
        assert_eq!(got[0].key, "member:m-ann");
        for row in &got {
            assert_eq!(
                row.outcome,
                Outcome::Skip(SkipReason::Unchanged),
                "line {}",
                row.line
            );
        }
    }

    #[test]
    fn only_changed_values_are_written() {
        let input = table(
            &["email", "Location", "Program", "Nickname", "Age"],
            &[&["ann@example.org", "Seattle", "ios", "Ann", "4"]],
        );
        let Outcome::Send(writes) = &rows(&input)[0].outcome else {
            panic!()
        };
        assert_eq!(
            writes,
            &[
                Write {
                    key: "value:m-ann/f-prog".into(),
                    method: Method::Put,
                    path: "members/m-ann/member-fields/f-prog".into(),
                    body: json!({"value": "iOS"}),
                    summary:
                        "set Program of Ann@Example.org to \"iOS\" (was [\"iOS\",\"Web Design\"])"
                            .into(),
                },
                Write {
                    key: "value:m-ann/f-nick".into(),
                    method: Method::Put,
                    path: "members/m-ann/member-fields/f-nick".into(),
                    body: json!({"value": "Ann"}),
                    summary: "set Nickname of Ann@Example.org to \"Ann\" (was \"Annie\")".into(),
                },
                Write {
                    key: "value:m-ann/f-age".into(),
                    method: Method::Put,
                    path: "members/m-ann/member-fields/f-age".into(),
                    body: json!({"value": 4}),
                    summary: "set Age of Ann@Example.org to 4 (was 3.0)".into(),
                },
            ]
        );
    }

    #[test]
    fn a_missing_current_value_differs() {
        let input = table(&["member_id", "Location"], &[&["m-bob", "miami;Toronto"]]);
        let Outcome::Send(writes) = &rows(&input)[0].outcome else {
            panic!()
        };
        assert_eq!(writes[0].body, json!({"value": ["Miami", "Toronto"]}));
        assert!(
            writes[0].summary.ends_with("(was empty)"),
            "{}",
            writes[0].summary
        );
    }

    #[test]
    fn member_id_wins_over_email_when_present() {
        let input = table(
            &["email", "member_id", "Nickname"],
            &[
                &["ann@example.org", "m-bob", "B"],
                &["bob@example.org", "", "B"],
                &["", "", "B"],
                &["ann@example.org", "m-nobody", "B"],
            ],
        );
        let got = rows(&input);
        assert_eq!(
            (got[0].key.as_str(), got[1].key.as_str()),
            ("member:m-bob", "member:m-bob")
        );
        assert!(matches!(got[0].outcome, Outcome::Send(_)));
        assert_eq!(
            got[1].outcome,
            Outcome::Skip(SkipReason::RepeatedInFile { first_line: 2 })
        );
        assert_eq!(
            messages(&got[2].outcome),
            ["no member: both email and member_id are empty"]
        );
        assert_eq!(
            messages(&got[3].outcome),
            ["no member has the id `m-nobody`"]
        );
        assert_eq!(got[3].key, "member:m-nobody");
    }

    #[test]
    fn a_member_must_exist_once() {
        let input = table(
            &["email", "Nickname", "Colour"],
            &[
                &["dup@example.org", "D", ""],
                &["zed@example.org", "Z", "red"],
                &["zed", "", ""],
            ],
        );
        let got = rows(&input);
        assert_eq!(
            messages(&got[0].outcome),
            ["2 members have the email `dup@example.org`; use member_id (m-dup-1, m-dup-2)"]
        );
        assert_eq!(
            messages(&got[1].outcome),
            [
                "no member has the email `zed@example.org`",
                "no member field named `Colour`; the closest is `Program`"
            ]
        );
        assert_eq!(
            messages(&got[2].outcome),
            ["`zed` is not an email address (name@example.org)"]
        );
    }

    #[test]
    fn two_rows_may_not_give_one_value_two_values() {
        let input = table(
            &["member_id", "Nickname", "Age"],
            &[
                &["m-bob", "B", "oops"],
                &["m-bob", "B", ""],
                &["m-bob", "Bobby", "40"],
                &["m-bob", "", "40"],
            ],
        );
        let got = rows(&input);
        assert!(matches!(got[0].outcome, Outcome::Invalid(_)));
        assert!(
            matches!(got[1].outcome, Outcome::Send(_)),
            "the invalid row claimed nothing"
        );
        assert_eq!(
            messages(&got[2].outcome),
            ["line 3 gives this member's `Nickname` another value, \"B\"; keep one"]
        );
        assert!(
            matches!(got[3].outcome, Outcome::Send(_)),
            "the invalid row claimed nothing"
        );
    }

    #[test]
    fn rows_naming_members_by_id_alone_need_an_id() {
        let input = table(
            &["member_id", "Program"],
            &[
                &["m-bob", "iOS;Web Design"],
                &["m-bob", "web design; ios"],
                &["", "iOS"],
            ],
        );
        let got = rows(&input);
        assert!(matches!(got[0].outcome, Outcome::Send(_)));
        assert_eq!(
            got[1].outcome,
            Outcome::Skip(SkipReason::RepeatedInFile { first_line: 2 })
        );
        assert_eq!(
            messages(&got[2].outcome),
            ["member_id is empty; every row needs one"]
        );
    }

    #[test]
    fn a_file_must_name_members() {
        let err = plan_kind(PushKind::FieldValues, &table(&["Nickname"], &[]), &org()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file has no `email` column; a field-values file names each member in an \
             `email` or a `member_id` column: add a column named `email` (it has `Nickname`)"
        );
    }
}
