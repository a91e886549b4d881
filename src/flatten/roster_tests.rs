//! Flattening tests of the roster: advisors, member groups, tags, member
//! notes, members' advisor, boards and keyed field values, a
//! MULTIPLE_SELECT field and the MEMBER_* actions, built from the API
//! reference's examples (tests/fixtures/reference/current, repairs and
//! constructed examples listed in its README).

use serde_json::Value;

use super::test_support::{current as fixture, rows};
use super::*;
use crate::rows::Row;
use crate::schema::tables::{
    advisors, member_boards, member_field_choices, member_field_values, member_groups,
    member_notes, members, people, tag_target_objects, tags,
};
use crate::schema::{Col, AS_OF_ID, EXTRA};

fn flat_items(resource: Resource, items: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    for item in items.as_array().unwrap() {
        flatten(resource, item, 1_000, &mut out);
    }
    out
}

fn text(r: &Row, col: Col) -> Option<String> {
    r.get(col).as_str().map(str::to_owned)
}

fn no_extra(ops: &[Op]) {
    for r in ops.iter().filter_map(|op| match op {
        Op::Upsert(r) => Some(r),
        _ => None,
    }) {
        let t = SCHEMA.table(r.table);
        if t.has_col(EXTRA) {
            assert!(r.vals[t.col(EXTRA)].is_null(), "{}: {:?}", t.name, r.vals);
        }
    }
}

#[test]
fn advisors_are_listed_with_their_names_and_last_visit() {
    let ops = flat_items(Resource::Advisors, &fixture("advisors_list")["data"]);
    let rows = rows(&ops, advisors::TABLE);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        text(rows[0], advisors::FULL_NAME).as_deref(),
        Some("Alice Advisor")
    );
    assert_eq!(rows[1].get(advisors::LAST_SEEN_AT), &Val::Ts(1_689_792_002));
    assert!(rows.iter().all(|r| r.mode == Mode::Full));
    no_extra(&ops);
    let one = flat_items(Resource::Advisors, &Value::Array(vec![fixture("advisor")]));
    assert_eq!(
        text(
            super::roster_tests::rows(&one, advisors::TABLE)[0],
            advisors::EMAIL
        )
        .as_deref(),
        Some("alice@huntr.co")
    );
}

#[test]
fn a_member_keeps_its_new_fields_once() {
    let ops = flat_items(Resource::Members, &Value::Array(vec![fixture("member")]));
    let m = rows(&ops, members::TABLE)[0];
    assert_eq!(m.get(members::LAST_SEEN_AT), &Val::Ts(1_526_984_421));
    assert_eq!(
        text(m, members::ADVISOR_ID).as_deref(),
        Some("64befb78b1ad13706cad0745")
    );
    // memberFieldValuesKeyedById repeats memberFieldValues: one row, no _extra.
    let values = rows(&ops, member_field_values::TABLE);
    assert_eq!(values.len(), 1);
    assert_eq!(
        text(values[0], member_field_values::VALUE).as_deref(),
        Some("Montreal")
    );
    no_extra(&ops);
    let boards = rows(&ops, member_boards::TABLE);
    assert_eq!(boards.len(), 1);
    assert_eq!(
        text(boards[0], member_boards::BOARD_ID).as_deref(),
        Some("5a6e4c3c7e42789e6e65c987")
    );
    assert_eq!(boards[0].get(member_boards::POSITION), &Val::Int(0));
    // The advisor: a snapshot in advisors and in people, never authoritative.
    let a = rows(&ops, advisors::TABLE);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].mode, Mode::Partial);
    assert_eq!(
        text(a[0], advisors::FULL_NAME).as_deref(),
        Some("Alice Advisor")
    );
    assert!(rows(&ops, people::TABLE)
        .iter()
        .any(|p| text(p, people::ID).as_deref() == Some("64befb78b1ad13706cad0745")));
}

#[test]
fn a_member_with_only_keyed_values_keeps_them() {
    let mut m = fixture("member");
    m.as_object_mut().unwrap().remove("memberFieldValues");
    let ops = flat_items(Resource::Members, &Value::Array(vec![m]));
    let values = rows(&ops, member_field_values::TABLE);
    assert_eq!(values.len(), 1);
    assert_eq!(
        text(values[0], member_field_values::FIELD_ID).as_deref(),
        Some("5b3f908c99c94b6177d55a28")
    );
    no_extra(&ops);
}

#[test]
fn listed_and_retrieved_members_have_no_unknown_fields() {
    let ops = flat_items(Resource::Members, &fixture("members_list")["data"]);
    assert_eq!(rows(&ops, members::TABLE).len(), 3);
    assert_eq!(rows(&ops, member_boards::TABLE).len(), 3);
    let without_advisor = rows(&ops, members::TABLE)[1];
    assert!(without_advisor.get(members::ADVISOR_ID).is_null());
    no_extra(&ops);
    let one = flat_items(
        Resource::Members,
        &Value::Array(vec![fixture("member_retrieve")]),
    );
    assert_eq!(
        text(rows(&one, members::TABLE)[0], members::ADVISOR_ID).as_deref(),
        Some("64befb78b1ad13706cad0745")
    );
    assert!(rows(&one, member_boards::TABLE).is_empty());
    no_extra(&one);
}

#[test]
fn member_groups_are_rows_of_their_table() {
    let ops = flat_items(
        Resource::MemberGroups,
        &fixture("member_groups_list")["data"],
    );
    let g = rows(&ops, member_groups::TABLE);
    assert_eq!(g.len(), 2);
    assert_eq!(
        text(g[0], member_groups::DESCRIPTION).as_deref(),
        Some("2024 Candidate Cohort")
    );
    assert_eq!(g[1].get(member_groups::CREATED_AT), &Val::Ts(1_614_221_646));
    no_extra(&ops);
    let one = flat_items(
        Resource::MemberGroups,
        &Value::Array(vec![fixture("member_group")]),
    );
    assert_eq!(rows(&one, member_groups::TABLE).len(), 1);
}

#[test]
fn tags_come_as_a_bare_array_with_their_target_objects() {
    let list = fixture("tags_list");
    assert!(list.is_array(), "the reference lists tags without `data`");
    let ops = flat_items(Resource::Tags, &list);
    let t = rows(&ops, tags::TABLE);
    assert_eq!(t.len(), 2);
    assert_eq!(text(t[0], tags::NAME).as_deref(), Some("🔥 Hot Jobs"));
    assert_eq!(text(t[1], tags::COLOR).as_deref(), Some("#A0A0FF"));
    let targets = rows(&ops, tag_target_objects::TABLE);
    assert_eq!(targets.len(), 2);
    assert_eq!(
        text(targets[0], tag_target_objects::TARGET_OBJECT).as_deref(),
        Some("JOB_POST")
    );
    no_extra(&ops);
    let one = flat_items(Resource::Tags, &Value::Array(vec![fixture("tag")]));
    assert_eq!(rows(&one, tags::TABLE).len(), 1);
}

#[test]
fn member_notes_name_their_member() {
    let ops = flat_items(Resource::MemberNotes, &fixture("member_notes_list")["data"]);
    let n = rows(&ops, member_notes::TABLE);
    assert_eq!(n.len(), 3);
    assert_eq!(
        text(n[0], member_notes::MEMBER_ID).as_deref(),
        Some("5ebcba7d91ec9047d83f158f")
    );
    assert_eq!(
        text(n[1], member_notes::HTML_TEXT).as_deref(),
        Some("<p>Joe just finished his first interview</p>")
    );
    no_extra(&ops);
    for name in ["member_note", "member_note_created"] {
        let one = flat_items(Resource::MemberNotes, &Value::Array(vec![fixture(name)]));
        assert_eq!(rows(&one, member_notes::TABLE).len(), 1, "{name}");
        no_extra(&one);
    }
}

#[test]
fn a_multiple_select_field_keeps_its_choices() {
    let ops = flat_items(
        Resource::MemberFields,
        &fixture("member_fields_multiple_select")["data"],
    );
    let choices = rows(&ops, member_field_choices::TABLE);
    assert_eq!(choices.len(), 3);
    assert_eq!(
        text(choices[2], member_field_choices::CHOICE).as_deref(),
        Some("Frontend")
    );
}

fn action_ops(name: &str) -> Vec<Op> {
    flat_items(Resource::Actions, &Value::Array(vec![fixture(name)]))
}

#[test]
fn member_updated_is_a_dated_update_of_the_member() {
    let ops = action_ops("member_updated_action");
    let m = rows(&ops, members::TABLE);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].mode, Mode::Update);
    assert_eq!(m[0].as_of, 1_700_000_000);
    let as_of_id = SCHEMA.table(members::TABLE).col(AS_OF_ID);
    assert_eq!(
        m[0].vals[as_of_id],
        Val::Text("6553a1f0c1e2d3a4b5c6d7e1".into())
    );
    assert_eq!(
        text(m[0], members::ADVISOR_ID).as_deref(),
        Some("64befb78b1ad13706cad0745")
    );
    assert!(m[0].vals[SCHEMA.table(members::TABLE).col(EXTRA)].is_null());
    // The listing, not an action, replaces field values and boards.
    assert!(rows(&ops, member_field_values::TABLE).is_empty());
    assert!(rows(&ops, member_boards::TABLE).is_empty());
}

#[test]
fn member_deactivated_shows_the_member_inactive() {
    let ops = action_ops("member_deactivated_action");
    let m = rows(&ops, members::TABLE);
    assert_eq!(m[0].mode, Mode::Update);
    assert_eq!(m[0].get(members::IS_ACTIVE), &Val::Bool(false));
}

#[test]
fn member_deleted_marks_the_member_deleted() {
    let ops = action_ops("member_deleted_action");
    assert!(ops
        .iter()
        .any(|op| matches!(op, Op::Delete { table, id, at }
        if *table == members::TABLE && id == "5b0379b5712bb674fd0d561e" && *at == 1_700_000_200)));
    assert!(rows(&ops, members::TABLE).is_empty());
}

#[test]
fn member_created_still_leaves_the_member_partial() {
    let mut a = fixture("member_updated_action");
    a["actionType"] = "MEMBER_CREATED".into();
    let ops = flat_items(Resource::Actions, &Value::Array(vec![a]));
    assert!(rows(&ops, members::TABLE)
        .iter()
        .all(|r| r.mode == Mode::Partial));
}
