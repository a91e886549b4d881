//! `push invitations`: one `POST organization-invitations` per row, unless
//! the person is already a member, already invited, or invited by an
//! earlier row. The API refuses a second pending invitation, so skipping
//! those here keeps a rerun quiet.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::columns::{missing, Layout};
use super::values::email;
use super::{
    invitation_key, Advisor, InputError, InputTable, Method, OrgSnapshot, Outcome, PlannedRow,
    Problem, SkipReason, Template, Write,
};

const EMAIL: &str = "email";
const BOARD_NAME: &str = "board_name";
const BOARD_TEMPLATE: &str = "board_template";
const ADVISOR_EMAIL: &str = "advisor_email";
pub(super) const OWN: [&str; 4] = [EMAIL, BOARD_NAME, BOARD_TEMPLATE, ADVISOR_EMAIL];

pub(super) fn plan(input: &InputTable, org: &OrgSnapshot) -> Result<Vec<PlannedRow>, InputError> {
    let layout = Layout::new(input, &OWN, Some(&org.fields))?;
    if !layout.has(EMAIL) {
        return Err(missing(
            input,
            EMAIL,
            "an invitations file names who to invite",
        ));
    }
    // Lowercased email -> line of the first valid row inviting it.
    let mut claimed: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (line, cells) in &input.rows {
        let lowered = layout.cell(cells, EMAIL).to_lowercase();
        let outcome = match invitation(&layout, org, cells) {
            Err(problems) => Outcome::Invalid(problems),
            Ok(write) => match skip(org, &lowered, *line, &mut claimed) {
                Some(reason) => Outcome::Skip(reason),
                None => Outcome::Send(vec![write]),
            },
        };
        rows.push(PlannedRow {
            line: *line,
            key: invitation_key(&lowered),
            outcome,
        });
    }
    Ok(rows)
}

/// Why a valid invitation is not sent, if it is not; claims the email for
/// `line` otherwise.
fn skip(
    org: &OrgSnapshot,
    lowered: &str,
    line: usize,
    claimed: &mut HashMap<String, usize>,
) -> Option<SkipReason> {
    if let Some(member) = org.members.iter().find(|m| same_email(&m.email, lowered)) {
        return Some(SkipReason::AlreadyMember {
            member_id: member.id.clone(),
        });
    }
    if let Some(pending) = org.pending.iter().find(|p| same_email(&p.email, lowered)) {
        return Some(SkipReason::AlreadyInvited {
            invitation_id: pending.id.clone(),
        });
    }
    if let Some(first_line) = claimed.get(lowered) {
        return Some(SkipReason::RepeatedInFile {
            first_line: *first_line,
        });
    }
    claimed.insert(lowered.to_string(), line);
    None
}

fn same_email(known: &str, lowered: &str) -> bool {
    known.trim().to_lowercase() == lowered
}

/// The request a row makes, or every problem in it.
fn invitation(layout: &Layout, org: &OrgSnapshot, cells: &[String]) -> Result<Write, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut body = Map::new();
    let to = layout.cell(cells, EMAIL);
    match email(to) {
        Ok(_) => {
            body.insert("email".into(), json!(to));
        }
        Err(message) => problems.push(Problem::new(EMAIL, to, message)),
    }
    let board_name = layout.cell(cells, BOARD_NAME);
    if !board_name.is_empty() {
        body.insert("boardName".into(), json!(board_name));
    }
    let template = layout.cell(cells, BOARD_TEMPLATE);
    if !template.is_empty() {
        match board_template(&org.templates, template) {
            Ok(t) => {
                body.insert("boardTemplateId".into(), json!(t.id));
            }
            Err(message) => problems.push(Problem::new(BOARD_TEMPLATE, template, message)),
        }
    }
    let advisor_email = layout.cell(cells, ADVISOR_EMAIL);
    if !advisor_email.is_empty() {
        match advisor(org.advisors.as_deref(), advisor_email) {
            // The advisor's email as Huntr spells it.
            Ok(a) => {
                body.insert("advisorEmail".into(), json!(a.email));
            }
            Err(message) => problems.push(Problem::new(ADVISOR_EMAIL, advisor_email, message)),
        }
    }
    let values = layout.field_values(cells, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut summary = format!("invite {to}");
    if !values.is_empty() {
        let names: Vec<&str> = values.iter().map(|(f, _)| f.name.as_str()).collect();
        summary.push_str(&format!(" with {}", names.join(", ")));
        let values: Vec<Value> = values
            .iter()
            .map(|(field, value)| json!({"fieldId": field.id, "value": value}))
            .collect();
        body.insert("memberFieldValues".into(), Value::Array(values));
    }
    Ok(Write {
        key: invitation_key(to),
        method: Method::Post,
        path: "organization-invitations".to_string(),
        body: Value::Object(body),
        summary,
    })
}

/// A template by id, else by its name ignoring case (one only).
fn board_template<'a>(templates: &'a [Template], cell: &str) -> Result<&'a Template, String> {
    if let Some(template) = templates.iter().find(|t| t.id == cell) {
        return Ok(template);
    }
    let lower = cell.to_lowercase();
    let named: Vec<&Template> = templates
        .iter()
        .filter(|t| t.name.trim().to_lowercase() == lower)
        .collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => {
            let names: Vec<String> = templates.iter().map(|t| format!("`{}`", t.name)).collect();
            let known = if names.is_empty() {
                "the organization has none".to_string()
            } else {
                format!("the templates are {}", names.join(", "))
            };
            Err(format!("no board template named `{cell}`; {known}"))
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|t| t.id.as_str()).collect();
            Err(format!(
                "{} board templates are named `{cell}`; use the id ({})",
                many.len(),
                ids.join(", ")
            ))
        }
    }
}

fn advisor<'a>(advisors: Option<&'a [Advisor]>, cell: &str) -> Result<&'a Advisor, String> {
    let lowered = email(cell)?;
    let Some(advisors) = advisors else {
        return Err("cannot check advisors: the API did not list them".to_string());
    };
    advisors
        .iter()
        .find(|a| same_email(&a.email, &lowered))
        .ok_or_else(|| format!("no advisor of the organization has the email `{cell}`"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture::{org, problems, table};
    use super::super::{plan as plan_kind, PushKind};
    use super::*;

    fn outcomes(input: &InputTable, org: &OrgSnapshot) -> Vec<Outcome> {
        let plan = plan_kind(PushKind::Invitations, input, org).unwrap();
        plan.rows.into_iter().map(|r| r.outcome).collect()
    }

    #[test]
    fn a_full_row_makes_one_invitation() {
        let input = table(
            &[
                "email",
                "board_name",
                "board_template",
                "advisor_email",
                "Location",
                "Graduation",
                "Nickname",
            ],
            &[&[
                " New@Example.org ",
                "Fall",
                "tech JOBS",
                "advisor@example.org",
                "seattle;Miami",
                "2025-01-15",
                "Nu",
            ]],
        );
        let plan = plan_kind(PushKind::Invitations, &input, &org()).unwrap();
        assert_eq!(plan.rows[0].key, "invitation:new@example.org");
        let Outcome::Send(writes) = &plan.rows[0].outcome else {
            panic!("{:?}", plan.rows[0])
        };
        assert_eq!(
            writes,
            &[Write {
                key: "invitation:new@example.org".into(),
                method: Method::Post,
                path: "organization-invitations".into(),
                body: json!({
                    "email": "New@Example.org",
                    "boardName": "Fall",
                    "boardTemplateId": "t-tech",
                    "advisorEmail": "Advisor@Example.org",
                    "memberFieldValues": [
                        {"fieldId": "f-loc", "value": ["Seattle", "Miami"]},
                        {"fieldId": "f-grad", "value": 1736899200},
                        {"fieldId": "f-nick", "value": "Nu"},
                    ],
                }),
                summary: "invite New@Example.org with Location, Graduation, Nickname".into(),
            }]
        );
    }

    #[test]
    fn absent_and_empty_cells_leave_keys_out() {
        let input = table(
            &["email", "board_name", "Location"],
            &[&["new@example.org", " ", ""]],
        );
        let Outcome::Send(writes) = &outcomes(&input, &org())[0] else {
            panic!()
        };
        assert_eq!(writes[0].body, json!({"email": "new@example.org"}));
        let input = table(
            &["email", "board_template"],
            &[&["new@example.org", "t-fall-2"]],
        );
        let Outcome::Send(writes) = &outcomes(&input, &org())[0] else {
            panic!()
        };
        assert_eq!(
            writes[0].body,
            json!({"email": "new@example.org", "boardTemplateId": "t-fall-2"})
        );
    }

    #[test]
    fn members_invited_people_and_repeats_are_skipped() {
        let input = table(
            &["email", "Age"],
            &[
                &["BOB@example.org", ""],
                &["ann@example.org", ""],
                &["carol@EXAMPLE.org ", ""],
                &["new@example.org", "old"],
                &["New@example.org", "30"],
                &["new@example.org", ""],
            ],
        );
        let got = outcomes(&input, &org());
        let skip = |reason| Outcome::Skip(reason);
        assert_eq!(
            got[0],
            skip(SkipReason::AlreadyMember {
                member_id: "m-bob".into()
            })
        );
        assert_eq!(
            got[1],
            skip(SkipReason::AlreadyMember {
                member_id: "m-ann".into()
            })
        );
        assert_eq!(
            got[2],
            skip(SkipReason::AlreadyInvited {
                invitation_id: "i-carol".into()
            })
        );
        assert!(
            matches!(got[3], Outcome::Invalid(_)),
            "an invalid row claims nothing"
        );
        assert!(matches!(got[4], Outcome::Send(_)));
        assert_eq!(got[5], skip(SkipReason::RepeatedInFile { first_line: 6 }));
    }

    #[test]
    fn every_problem_of_a_row_is_listed() {
        let input = table(
            &[
                "email",
                "board_template",
                "advisor_email",
                "Locaton",
                "Age",
                "Graduation",
            ],
            &[&[
                "not-an-email",
                "Fall 2020",
                "nobody@example.org",
                "Seattle",
                "old",
                "June",
            ]],
        );
        let got = outcomes(&input, &org());
        assert_eq!(
            problems(&got[0]),
            [
                ("email", "`not-an-email` is not an email address (name@example.org)"),
                ("board_template", "2 board templates are named `Fall 2020`; use the id (t-fall-1, t-fall-2)"),
                ("advisor_email", "no advisor of the organization has the email `nobody@example.org`"),
                ("Locaton", "no member field named `Locaton`; the closest is `Location`"),
                ("Age", "`old` is not a number (`Age` is a NUMBER field)"),
                (
                    "Graduation",
                    "`June` is not a date: `Graduation` takes YYYY-MM-DD (midnight UTC) or Unix seconds"
                ),
            ]
        );
    }

    #[test]
    fn unknown_templates_and_unlisted_advisors_are_invalid() {
        let mut org = org();
        org.advisors = None;
        let input = table(
            &["email", "board_template", "advisor_email", "Program"],
            &[&["", "Sales", "advisor@example.org", "Cooking"]],
        );
        assert_eq!(
            problems(&outcomes(&input, &org)[0]),
            [
                ("email", "the email is empty"),
                (
                    "board_template",
                    "no board template named `Sales`; the templates are `Tech Jobs`, `Fall 2020`, `fall 2020`"
                ),
                ("advisor_email", "cannot check advisors: the API did not list them"),
                (
                    "Program",
                    "`Cooking` is not a choice of `Program`; its choices include `Web Design`, `iOS`, `Data Science`"
                ),
            ]
        );
    }

    #[test]
    fn an_unknown_column_only_matters_where_it_has_values() {
        let input = table(
            &["email", "Bord_name"],
            &[&["a@example.org", ""], &["b@example.org", "x"]],
        );
        let got = outcomes(&input, &org());
        assert!(matches!(got[0], Outcome::Send(_)));
        assert_eq!(
            problems(&got[1]),
            [(
                "Bord_name",
                "no member field named `Bord_name`; the closest is `board_name`"
            )]
        );
    }

    #[test]
    fn a_file_without_an_email_column_is_refused() {
        let err = plan_kind(
            PushKind::Invitations,
            &table(&["who", "Location"], &[]),
            &org(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file has no `email` column; an invitations file names who to invite: \
             add a column named `email` (it has `who`, `Location`)"
        );
    }
}
