//! `push fields`: creates member fields, one `POST member-fields` per row.
//! The API cannot change a field once made, so a field that exists is
//! skipped, and said to differ when its type or choices are not the row's.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::columns::{missing, Layout};
use super::values::{has_choices, split_list, FIELD_TYPES};
use super::{
    field_key, FieldDef, InputError, InputTable, Method, OrgSnapshot, Outcome, PlannedRow, Problem,
    SkipReason, Write,
};

const NAME: &str = "name";
const FIELD_TYPE: &str = "field_type";
const CHOICES: &str = "choices";
pub(super) const OWN: [&str; 3] = [NAME, FIELD_TYPE, CHOICES];

/// A field as a row describes it.
struct NewField<'r> {
    name: &'r str,
    field_type: &'static str,
    choices: Vec<&'r str>,
}

pub(super) fn plan(input: &InputTable, org: &OrgSnapshot) -> Result<Vec<PlannedRow>, InputError> {
    let layout = Layout::new(input, &OWN, None)?;
    for column in [NAME, FIELD_TYPE] {
        if !layout.has(column) {
            return Err(missing(
                input,
                column,
                "a fields file has the columns name, field_type and choices",
            ));
        }
    }
    // Lowercased name -> line of the first valid row creating it.
    let mut claimed: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (line, cells) in &input.rows {
        let name = layout.cell(cells, NAME);
        let outcome = match new_field(&layout, cells) {
            Err(problems) => Outcome::Invalid(problems),
            Ok(field) => match existing(&org.fields, &field) {
                Some(reason) => Outcome::Skip(reason),
                None => match claimed.get(&name.to_lowercase()) {
                    Some(first_line) => Outcome::Skip(SkipReason::RepeatedInFile {
                        first_line: *first_line,
                    }),
                    None => {
                        claimed.insert(name.to_lowercase(), *line);
                        Outcome::Send(vec![write(&field)])
                    }
                },
            },
        };
        rows.push(PlannedRow {
            line: *line,
            key: field_key(name),
            outcome,
        });
    }
    Ok(rows)
}

/// The field a row describes, or every problem in it.
fn new_field<'r>(layout: &Layout, cells: &'r [String]) -> Result<NewField<'r>, Vec<Problem>> {
    let mut problems = Vec::new();
    // A fields file has no field columns: this only refuses other columns.
    layout.field_values(cells, &mut problems);
    let name = layout.cell(cells, NAME);
    if name.is_empty() {
        problems.push(Problem::new(
            NAME,
            name,
            "the name is empty; every field needs one",
        ));
    }
    let types = FIELD_TYPES.join(", ");
    let written = layout.cell(cells, FIELD_TYPE);
    let field_type = FIELD_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(written))
        .copied();
    match field_type {
        None if written.is_empty() => problems.push(Problem::new(
            FIELD_TYPE,
            written,
            format!("the field type is empty; use one of {types}"),
        )),
        None => problems.push(Problem::new(
            FIELD_TYPE,
            written,
            format!("`{written}` is not a field type; use one of {types}"),
        )),
        Some(_) => {}
    }
    let cell = layout.cell(cells, CHOICES);
    let choices = split_list(cell);
    choice_problems(field_type, cell, &choices, &mut problems);
    match field_type {
        Some(field_type) if problems.is_empty() => Ok(NewField {
            name,
            field_type,
            choices,
        }),
        _ => Err(problems),
    }
}

fn choice_problems(
    field_type: Option<&str>,
    cell: &str,
    choices: &[&str],
    problems: &mut Vec<Problem>,
) {
    match field_type {
        Some(t) if has_choices(t) && choices.is_empty() => problems.push(Problem::new(
            CHOICES,
            cell,
            format!("a {t} field needs choices, separated by `;`"),
        )),
        Some(t) if has_choices(t) => {}
        None => {}
        Some(other) if !cell.is_empty() => problems.push(Problem::new(
            CHOICES,
            cell,
            format!("a {other} field takes no choices; empty this cell or make it MULTIPLE_CHOICE"),
        )),
        Some(_) => {}
    }
    for (i, choice) in choices.iter().enumerate() {
        let lower = choice.to_lowercase();
        if choices[..i].iter().any(|c| c.to_lowercase() == lower) {
            problems.push(Problem::new(
                CHOICES,
                cell,
                format!("`{choice}` is listed twice"),
            ));
        }
    }
}

/// Why an existing field stops the row, if one does: same name exactly,
/// or ignoring case.
fn existing(fields: &[FieldDef], new: &NewField) -> Option<SkipReason> {
    let lower = new.name.to_lowercase();
    let old = fields
        .iter()
        .find(|f| f.name == new.name)
        .or_else(|| fields.iter().find(|f| f.name.to_lowercase() == lower))?;
    let mut differs = Vec::new();
    if old.name != new.name {
        differs.push(format!("is named `{}` in Huntr", old.name));
    }
    if !old.field_type.eq_ignore_ascii_case(new.field_type) {
        differs.push(format!(
            "is {} in Huntr, not {}",
            old.field_type, new.field_type
        ));
    } else if has_choices(new.field_type) {
        let huntr: BTreeSet<&str> = old.choices.iter().map(String::as_str).collect();
        let file: BTreeSet<&str> = new.choices.iter().copied().collect();
        let only = |a: &BTreeSet<&str>, b: &BTreeSet<&str>| {
            a.difference(b)
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if huntr != file {
            let (missing, extra) = (only(&file, &huntr), only(&huntr, &file));
            let mut choices = Vec::new();
            if !missing.is_empty() {
                choices.push(format!("lacks the choices {missing}"));
            }
            if !extra.is_empty() {
                choices.push(format!("has the choices {extra}, which the file does not"));
            }
            differs.push(format!("in Huntr {}", choices.join(" and ")));
        }
    }
    Some(match differs.is_empty() {
        true => SkipReason::FieldExists {
            field_id: old.id.clone(),
        },
        false => SkipReason::FieldDiffers {
            field_id: old.id.clone(),
            detail: differs.join(", and "),
        },
    })
}

fn write(field: &NewField) -> Write {
    let mut body = Map::new();
    body.insert("name".into(), json!(field.name));
    body.insert("fieldType".into(), json!(field.field_type));
    let mut summary = format!("create the {} field {}", field.field_type, field.name);
    if !field.choices.is_empty() {
        body.insert("choices".into(), json!(field.choices));
        summary.push_str(&format!(" ({})", field.choices.join(", ")));
    }
    Write {
        key: field_key(field.name),
        method: Method::Post,
        path: "member-fields".to_string(),
        body: Value::Object(body),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{org, problems, table};
    use super::super::{plan as plan_kind, PushKind};
    use super::*;

    const COLUMNS: [&str; 3] = ["name", "field_type", "choices"];

    fn outcomes(rows: &[&[&str]]) -> Vec<Outcome> {
        let plan = plan_kind(PushKind::Fields, &table(&COLUMNS, rows), &org()).unwrap();
        plan.rows.into_iter().map(|r| r.outcome).collect()
    }

    #[test]
    fn a_new_field_is_created() {
        let input = table(
            &COLUMNS,
            &[
                &[" Cohort ", "multiple_choice", "YVR-001; TRT-001"],
                &["Notes", "text", ""],
            ],
        );
        let plan = plan_kind(PushKind::Fields, &input, &org()).unwrap();
        assert_eq!(plan.rows[0].key, "field:Cohort");
        let Outcome::Send(writes) = &plan.rows[0].outcome else {
            panic!()
        };
        assert_eq!(
            writes,
            &[Write {
                key: "field:Cohort".into(),
                method: Method::Post,
                path: "member-fields".into(),
                body: json!({"name": "Cohort", "fieldType": "MULTIPLE_CHOICE", "choices": ["YVR-001", "TRT-001"]}),
                summary: "create the MULTIPLE_CHOICE field Cohort (YVR-001, TRT-001)".into(),
            }]
        );
        let Outcome::Send(writes) = &plan.rows[1].outcome else {
            panic!()
        };
        assert_eq!(
            writes[0].body,
            json!({"name": "Notes", "fieldType": "TEXT"})
        );
    }

    #[test]
    fn existing_fields_are_skipped_and_differences_told() {
        let got = outcomes(&[
            &["Program", "MULTIPLE_CHOICE", "iOS;Data Science;Web Design"],
            &["Nickname", "TEXT", ""],
            &["Nickname", "DATE", ""],
            &["Program", "MULTIPLE_CHOICE", "iOS;Web Design;Design"],
            &["age", "NUMBER", ""],
        ]);
        let exists = |id: &str| {
            Outcome::Skip(SkipReason::FieldExists {
                field_id: id.into(),
            })
        };
        let differs = |id: &str, detail: &str| {
            Outcome::Skip(SkipReason::FieldDiffers {
                field_id: id.into(),
                detail: detail.into(),
            })
        };
        assert_eq!(got[0], exists("f-prog"));
        assert_eq!(got[1], exists("f-nick"));
        assert_eq!(got[2], differs("f-nick", "is TEXT in Huntr, not DATE"));
        assert_eq!(
            got[3],
            differs(
                "f-prog",
                "in Huntr lacks the choices `Design` and has the choices `Data Science`, which the file does not"
            )
        );
        assert_eq!(got[4], differs("f-age", "is named `Age` in Huntr"));
    }

    #[test]
    fn a_name_repeated_in_the_file_is_planned_once() {
        let got = outcomes(&[
            &["Cohort", "bogus", ""],
            &["Cohort", "TEXT", ""],
            &["cohort", "NUMBER", ""],
        ]);
        assert!(matches!(got[0], Outcome::Invalid(_)));
        assert!(matches!(got[1], Outcome::Send(_)));
        assert_eq!(
            got[2],
            Outcome::Skip(SkipReason::RepeatedInFile { first_line: 3 })
        );
    }

    #[test]
    fn each_row_problem_is_told() {
        let got = outcomes(&[
            &[" ", "", ""],
            &["Cohort", "MULTIPLE_CHOICE", " ; "],
            &["Notes", "TEXT", "a;b"],
            &["Tags", "MULTIPLE_CHOICE", "a;b;A"],
        ]);
        let types = "MULTIPLE_CHOICE, MULTIPLE_SELECT, TEXT, NUMBER, DATE";
        assert_eq!(
            problems(&got[0]),
            [
                ("name", "the name is empty; every field needs one"),
                (
                    "field_type",
                    format!("the field type is empty; use one of {types}").as_str()
                ),
            ]
        );
        assert_eq!(
            problems(&got[1]),
            [(
                "choices",
                "a MULTIPLE_CHOICE field needs choices, separated by `;`"
            )]
        );
        assert_eq!(
            problems(&got[2]),
            [(
                "choices",
                "a TEXT field takes no choices; empty this cell or make it MULTIPLE_CHOICE"
            )]
        );
        assert_eq!(problems(&got[3]), [("choices", "`A` is listed twice")]);
        let got = outcomes(&[&["Cohort", "LIST", ""]]);
        assert_eq!(
            problems(&got[0]),
            [(
                "field_type",
                format!("`LIST` is not a field type; use one of {types}").as_str()
            )]
        );
    }

    #[test]
    fn other_columns_are_refused_where_they_have_values() {
        let input = table(
            &["name", "field_type", "choice"],
            &[&["Notes", "TEXT", ""], &["Cohort", "MULTIPLE_CHOICE", "a"]],
        );
        let plan = plan_kind(PushKind::Fields, &input, &org()).unwrap();
        assert!(matches!(plan.rows[0].outcome, Outcome::Send(_)));
        assert_eq!(
            problems(&plan.rows[1].outcome),
            [
                (
                    "choice",
                    "unknown column `choice`; the closest is `choices` (the columns are name, field_type, choices)"
                ),
                ("choices", "a MULTIPLE_CHOICE field needs choices, separated by `;`"),
            ]
        );
    }

    #[test]
    fn a_file_without_name_or_type_is_refused() {
        let err = plan_kind(PushKind::Fields, &table(&["name"], &[]), &org()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file has no `field_type` column; a fields file has the columns name, field_type \
             and choices: add a column named `field_type` (it has `name`)"
        );
    }
}
