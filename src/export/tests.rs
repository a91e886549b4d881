use serde_json::json;

use super::*;
use crate::flatten::flatten;
use crate::resources::Resource;

fn store_with_members(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    let mut ops = Vec::new();
    for (id, name) in [("m1", "Ada, \"the first\""), ("m2", "Grace\nHopper")] {
        let member = json!({"id": id, "givenName": name, "email": format!("{id}@x.org"),
            "createdAt": 1589934274, "isActive": id == "m1",
            "memberFieldValues": [{"fieldId": "f1", "value": ["a", "b"]}]});
        flatten(Resource::Members, &member, 100, &mut ops);
    }
    store.apply(&ops, 1, None).unwrap();
    store
}

#[test]
fn csv_files_quote_what_needs_it_and_spell_times_and_booleans() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_members(dir.path());
    let out = dir.path().join("csv");
    let done = export(&store, Format::Csv, &out).unwrap();
    assert!(done.tables.contains(&("members".into(), 2)));
    let text = std::fs::read_to_string(out.join("members.csv")).unwrap();
    let mut lines = text.split("\r\n");
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,given_name,family_name,email,created_at,is_active"));
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("m1,\"Ada, \"\"the first\"\"\",,m1@x.org,2020-05-20T00:24:34Z,true,"),
        "{first}"
    );
    assert!(text.contains("\"Grace\nHopper\""));
    let values = std::fs::read_to_string(out.join("member_field_values.csv")).unwrap();
    assert!(
        values.contains("m1,f1,\"[\"\"a\"\",\"\"b\"\"]\""),
        "{values}"
    );
    // Every table has its file, the empty ones a header only.
    assert!(out.join("jobs.csv").exists());
}

#[test]
fn a_workbook_has_a_sheet_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_members(dir.path());
    let path = dir.path().join("org.xlsx");
    let done = export(&store, Format::Xlsx, &path).unwrap();
    assert_eq!(done.tables.len(), SCHEMA.tables.len());
    assert!(done.skipped.is_empty());
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx file is a zip archive");
    assert!(!dir.path().join("org.xlsx.tmp").exists());
}

#[test]
fn stored_cells_are_typed_by_their_column() {
    assert_eq!(value(ColType::Bool, &Cell::Int(1)), Value::Bool(true));
    assert_eq!(
        value(ColType::Timestamp, &Cell::Text(b"1970-01-01T00:01:40Z")),
        Value::Time(100, "1970-01-01T00:01:40Z")
    );
    assert_eq!(value(ColType::Text, &Cell::Null), Value::Empty);
    assert_eq!(value(ColType::Float, &Cell::Real(1.5)), Value::Float(1.5));
}

#[test]
fn sheet_names_fit_excel_and_stay_distinct() {
    let names: std::collections::BTreeSet<String> = SCHEMA
        .tables
        .iter()
        .map(|t| xlsx::sheet_name(&t.name))
        .collect();
    assert_eq!(names.len(), SCHEMA.tables.len());
    assert!(names.iter().all(|n| n.len() <= 31));
    assert_eq!(
        xlsx::sheet_name("organization_invitation_field_values"),
        "org_invitation_field_values"
    );
}
