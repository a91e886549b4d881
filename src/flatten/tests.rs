//! Flattening tests built from the JSON examples of the API reference
//! (tests/fixtures/reference), quirks included.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::test_support::{flat, reference as fixture, rows};
use super::*;
use crate::rows::Row;
use crate::schema::tables::{
    action_employers, action_jobs, actions, activities, board_template_lists, board_templates,
    contact_profiles, contacts, employers, events, job_interview_activities, jobs,
    member_field_values, members, notes, organization_invitation_field_values,
    organization_invitations, people,
};
use crate::schema::{Col, EXTRA};

fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/reference/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap()
}

fn flat_list(resource: Resource, name: &str) -> Vec<Op> {
    let mut out = Vec::new();
    for item in fixture(name)["data"].as_array().unwrap() {
        flatten(resource, item, 1_000, &mut out);
    }
    out
}

fn text(r: &Row, col: Col) -> Option<String> {
    match r.get(col) {
        Val::Text(s) => Some(s.to_string()),
        Val::Null => None,
        other => Some(format!("{other:?}")),
    }
}

/// The `_extra` cell of a row of any table.
fn extra_cell(r: &Row) -> &Val {
    &r.vals[SCHEMA.table(r.table).col(EXTRA)]
}

fn extra(r: &Row) -> Value {
    match extra_cell(r) {
        Val::Text(s) => serde_json::from_str(s).unwrap(),
        _ => Value::Null,
    }
}

#[test]
fn repeated_list_template_ids_are_kept_by_position() {
    let ops = flat_list(Resource::BoardTemplates, "board_templates_list");
    let lists = rows(&ops, board_template_lists::TABLE);
    let tech: Vec<_> = lists
        .iter()
        .filter(|r| {
            text(r, board_template_lists::BOARD_TEMPLATE_ID).as_deref()
                == Some("5a6e4a567e42789e6e65c986")
        })
        .collect();
    assert_eq!(tech.len(), 6);
    assert_eq!(
        text(tech[4], board_template_lists::NAME).as_deref(),
        Some("Offer")
    );
    assert_eq!(
        text(tech[5], board_template_lists::NAME).as_deref(),
        Some("Rejected")
    );
    assert_eq!(
        text(tech[4], board_template_lists::LIST_TEMPLATE_ID),
        text(tech[5], board_template_lists::LIST_TEMPLATE_ID)
    );
    assert_eq!(tech[5].get(board_template_lists::POSITION), &Val::Int(5));
    let templates = rows(&ops, board_templates::TABLE);
    assert_eq!(templates.len(), 2);
    assert_eq!(
        templates[1].get(board_templates::IS_DEFAULT),
        &Val::Bool(true)
    );
    assert_eq!(templates[0].mode, Mode::Full);
}

#[test]
fn job_resource_flattens_location_and_nested_objects() {
    let ops = flat(Resource::Jobs, &fixture("job"));
    let job = rows(&ops, jobs::TABLE)[0];
    assert_eq!(job.mode, Mode::Full);
    assert_eq!(job.get(jobs::LOCATION_LAT), &Val::Float(49.2668893));
    assert_eq!(job.get(jobs::LOCATION_LNG), &Val::Float(-123.1012246));
    assert_eq!(
        text(job, jobs::LOCATION_PLACE_ID).as_deref(),
        Some("ChIJG7btXnJxhlQR62EUZuSVsOE")
    );
    assert_eq!(text(job, jobs::LIST_NAME).as_deref(), Some("Applied"));
    assert_eq!(
        text(job, jobs::EMPLOYER_ID).as_deref(),
        Some("5a016b5221bce9aa2bd70296")
    );
    assert_eq!(
        text(job, jobs::CREATOR_MEMBER_ID).as_deref(),
        Some("5b2bbb5837fbc835bbe3218b")
    );
    assert_eq!(
        text(job, jobs::OFFER_ACCEPTED_ACTIVITY_ID).as_deref(),
        Some("5eb0cbbaacf21d6980c45d6a")
    );
    assert_eq!(job.get(jobs::CREATED_AT), &Val::Ts(1588634675));
    assert_eq!(
        job.get(jobs::EXTRA),
        &Val::Null,
        "every documented field has a column"
    );
    let interviews = rows(&ops, job_interview_activities::TABLE);
    assert_eq!(interviews.len(), 2);
    assert_eq!(
        text(interviews[1], job_interview_activities::ACTIVITY_ID).as_deref(),
        Some("5eb0cebdf9e9ac821876aab0")
    );
    // Embedded activities are partial snapshots tied to the job, once each.
    let acts = rows(&ops, activities::TABLE);
    assert_eq!(acts.len(), 6);
    assert!(acts.iter().all(|a| a.mode == Mode::Partial
        && text(a, activities::JOB_ID).as_deref() == Some("5eb0a4338899ba51bf96f645")));
    // The advisor who created the job is a person.
    let people = rows(&ops, people::TABLE);
    assert!(people
        .iter()
        .any(|p| text(p, people::GIVEN_NAME).as_deref() == Some("Advisor")));
    assert_eq!(rows(&ops, employers::TABLE)[0].mode, Mode::Partial);
}

#[test]
fn empty_locations_stay_empty() {
    let ops = flat_list(Resource::Jobs, "jobs_list");
    let second = rows(&ops, jobs::TABLE)[1];
    assert_eq!(
        text(second, jobs::TITLE).as_deref(),
        Some("Front end engineer")
    );
    assert!(
        second.get(jobs::LOCATION_ADDRESS).is_null() && second.get(jobs::LOCATION_LAT).is_null()
    );
    assert_eq!(second.get(jobs::EXTRA), &Val::Null);
    // `location: {"address": ""}` in an action's job snapshot.
    let ops = flat_list(Resource::Actions, "actions_list");
    let job = rows(&ops, jobs::TABLE)
        .into_iter()
        .find(|j| text(j, jobs::ID).as_deref() == Some("5d7980458a3fd22bfe291f38"))
        .unwrap();
    assert_eq!(job.mode, Mode::Partial);
    assert_eq!(text(job, jobs::LOCATION_ADDRESS).as_deref(), Some(""));
    assert!(job.get(jobs::LOCATION_LAT).is_null());
}

#[test]
fn member_field_values_of_every_type_are_text_as_given() {
    let mut member = fixture("member");
    member["memberFieldValues"] = json!([
        {"fieldId": "f-text", "value": "Montreal"},
        {"fieldId": "f-number", "value": 27},
        {"fieldId": "f-array", "value": ["Web Design", "iOS"]},
    ]);
    let ops = flat(Resource::Members, &member);
    let values = rows(&ops, member_field_values::TABLE);
    let got: Vec<_> = values
        .iter()
        .map(|r| {
            (
                text(r, member_field_values::FIELD_ID).unwrap(),
                text(r, member_field_values::VALUE).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("f-text".into(), "Montreal".into()),
            ("f-number".into(), "27".into()),
            ("f-array".into(), r#"["Web Design","iOS"]"#.into()),
        ]
    );
    assert!(values
        .iter()
        .all(|r| text(r, member_field_values::MEMBER_ID).as_deref()
            == Some("5b0379b5712bb674fd0d561e")));
    let m = rows(&ops, members::TABLE)[0];
    assert_eq!(m.get(members::IS_ACTIVE), &Val::Bool(true));
    assert_eq!(rows(&ops, people::TABLE).len(), 1);
}

#[test]
fn unknown_and_deprecated_fields_go_to_extra() {
    let mut job = fixture("job");
    job["applicationDate"] = json!(1527490800);
    job["member"] = json!({"id": "5a6bf0758f18344d6f76d118"});
    job["location"]["floor"] = json!(3);
    job["brandNewField"] = json!({"nested": [1, 2]});
    let ops = flat(Resource::Jobs, &job);
    let e = extra(rows(&ops, jobs::TABLE)[0]);
    assert_eq!(e["applicationDate"], json!(1527490800));
    assert_eq!(e["member"]["id"], json!("5a6bf0758f18344d6f76d118"));
    assert_eq!(e["location.floor"], json!(3));
    assert_eq!(e["brandNewField"], json!({"nested": [1, 2]}));
    // The deprecated board template field too.
    let mut bt = fixture("board_template");
    bt["listNames"] = json!(["wishlist", "applied"]);
    let ops = flat(Resource::BoardTemplates, &bt);
    assert_eq!(
        extra(rows(&ops, board_templates::TABLE)[0])["listNames"],
        json!(["wishlist", "applied"])
    );
}

#[test]
fn values_of_unexpected_types_are_kept_in_extra() {
    let mut emp = fixture("employer");
    emp["foundedYear"] = json!("circa 2005");
    emp["jobCount"] = json!("4");
    let ops = flat(Resource::Employers, &emp);
    let r = rows(&ops, employers::TABLE)[0];
    assert!(r.get(employers::FOUNDED_YEAR).is_null());
    assert_eq!(extra(r)["foundedYear"], json!("circa 2005"));
    // Lossless conversions stay in their column.
    assert_eq!(r.get(employers::JOB_COUNT), &Val::Int(4));
}

#[test]
fn invitations_carry_people_templates_and_field_values() {
    let ops = flat(Resource::OrganizationInvitations, &fixture("invitation"));
    let inv = rows(&ops, organization_invitations::TABLE)[0];
    assert_eq!(
        text(inv, organization_invitations::TO_USER_ID).as_deref(),
        Some("5e6a7c99c56bc6669e3da876")
    );
    assert_eq!(
        text(inv, organization_invitations::BOARD_TEMPLATE_ID).as_deref(),
        Some("5a6e4a567e42789e6e65c986")
    );
    assert_eq!(
        rows(&ops, organization_invitation_field_values::TABLE).len(),
        1
    );
    assert_eq!(
        text(rows(&ops, people::TABLE)[0], people::FAMILY_NAME).as_deref(),
        Some("Hackett")
    );
    let bt = rows(&ops, board_templates::TABLE)[0];
    assert_eq!(bt.mode, Mode::Partial);
    assert!(
        rows(&ops, board_template_lists::TABLE).is_empty(),
        "a snapshot does not replace stages"
    );
}

#[test]
fn actions_capture_changes() {
    let ops = flat_list(Resource::Actions, "actions_list");
    let actions = rows(&ops, actions::TABLE);
    assert_eq!(actions.len(), 3);
    let created = actions[0];
    assert_eq!(
        text(created, actions::ACTIVITY_ID).as_deref(),
        Some("5eb0abc13fac1580adcf5b19")
    );
    assert_eq!(
        text(created, actions::JOB_ID).as_deref(),
        Some("5eb0a4338899ba51bf96f645")
    );
    assert_eq!(
        text(created, actions::ACTIVITY_CATEGORY_ID).as_deref(),
        Some("5e448f3bf2b856c29af1128c")
    );
    let moved = actions[1];
    assert_eq!(
        text(moved, actions::FROM_LIST_NAME).as_deref(),
        Some("Wishlist")
    );
    assert_eq!(
        text(moved, actions::TO_LIST_NAME).as_deref(),
        Some("Applied")
    );
    assert!(ops.iter().any(|op| matches!(op, Op::RefreshJob { job_id, date } if job_id == "5eb0a4338899ba51bf96f645" && *date == 1588634685)));
    let notes = rows(&ops, notes::TABLE);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        text(notes[0], notes::TEXT).as_deref(),
        Some("Great Interview")
    );
    assert_eq!((notes[0].mode, notes[0].as_of), (Mode::Full, 1588466784));
    assert!(actions.iter().all(|a| a.get(actions::EXTRA).is_null()));
}

#[test]
fn deletions_updates_and_contacts_from_actions() {
    let base = fixture("action");
    let mut deleted = base.clone();
    deleted["actionType"] = json!("JOB_DELETED");
    let ops = flat(Resource::Actions, &deleted);
    assert!(ops.iter().any(|op| matches!(op, Op::Delete { id, at, .. } if id == "5eb0a4338899ba51bf96f645" && *at == 1588634675)));

    let mut updated = base.clone();
    updated["actionType"] = json!("ACTIVITY_UPDATED");
    updated["activity"] = json!({"id": "a1", "title": "Follow Up", "completed": true, "completedAt": 1588634700, "createdAt": 1588600000});
    updated["update"] = json!({"completed": true});
    let ops = flat(Resource::Actions, &updated);
    let act = rows(&ops, activities::TABLE)
        .into_iter()
        .find(|a| text(a, activities::ID).as_deref() == Some("a1"))
        .unwrap();
    assert_eq!((act.mode, act.as_of), (Mode::Whole, 1588634675));
    assert_eq!(
        text(act, activities::JOB_ID).as_deref(),
        Some("5eb0a4338899ba51bf96f645")
    );
    assert_eq!(
        text(rows(&ops, actions::TABLE)[0], actions::UPDATE_JSON).as_deref(),
        Some(r#"{"completed":true}"#)
    );

    let mut contact = base;
    contact["actionType"] = json!("CONTACT_CREATED");
    contact["contact"] = fixture("contact");
    contact["jobs"] = json!([{"id": "j1"}, {"id": "j2"}]);
    contact["employers"] = json!([{"id": "e1", "name": "Etsy"}]);
    let ops = flat(Resource::Actions, &contact);
    assert_eq!(rows(&ops, contact_profiles::TABLE).len(), 8);
    assert_eq!(
        text(rows(&ops, contacts::TABLE)[0], contacts::FIRST_NAME).as_deref(),
        Some("Pepe")
    );
    let jobs = rows(&ops, action_jobs::TABLE);
    assert_eq!(
        (
            text(jobs[1], action_jobs::JOB_ID).as_deref(),
            jobs[1].get(action_jobs::POSITION)
        ),
        (Some("j2"), &Val::Int(1))
    );
    assert_eq!(rows(&ops, action_employers::TABLE).len(), 1);
}

#[test]
fn events_and_their_deprecated_job_fields() {
    let ops = flat_list(Resource::Events, "events_list");
    let events = rows(&ops, events::TABLE);
    assert_eq!(events.len(), 2);
    assert_eq!(
        text(events[0], events::EVENT_TYPE).as_deref(),
        Some("JOB_OFFER_DATE_SET")
    );
    assert_eq!(events[0].get(events::DATE), &Val::Ts(1528095600));
    assert_eq!(
        text(events[0], events::MEMBER_ID).as_deref(),
        Some("5a6bf0758f18344d6f76d118")
    );
    let job = rows(&ops, jobs::TABLE)[0];
    assert_eq!(job.mode, Mode::Partial);
    assert_eq!(job.get(jobs::DEADLINE), &Val::Ts(1527404400));
}

#[test]
fn every_reference_list_flattens_without_loss() {
    for (r, name) in [
        (Resource::Members, "members_list"),
        (Resource::MemberFields, "member_fields_list"),
        (Resource::OrganizationInvitations, "invitations_list"),
        (Resource::Employers, "employers_list"),
        (Resource::Activities, "activities_list"),
        (Resource::ActivityCategories, "activity_categories_list"),
    ] {
        let ops = flat_list(r, name);
        let own = rows(&ops, r.table());
        assert_eq!(
            own.len(),
            fixture(name)["data"].as_array().unwrap().len(),
            "{name}"
        );
        for row in own {
            assert!(
                extra_cell(row).is_null(),
                "{name}: unexpected _extra {:?}",
                extra_cell(row)
            );
        }
    }
}

#[test]
fn identical_snapshots_in_a_batch_are_kept_once() {
    let ops = flat_list(Resource::Actions, "actions_list");
    let mut deduped = ops.clone();
    dedup_snapshots(&mut deduped);
    // The three actions share their owner and advisor snapshots.
    assert!(rows(&deduped, people::TABLE).len() < rows(&ops, people::TABLE).len());
    let unique: HashSet<String> = rows(&ops, people::TABLE)
        .iter()
        .map(|r| format!("{:?}", r.vals))
        .collect();
    assert_eq!(rows(&deduped, people::TABLE).len(), unique.len());
    // Full rows and change capture are never dropped.
    assert_eq!(rows(&deduped, actions::TABLE).len(), 3);
    assert_eq!(rows(&deduped, notes::TABLE).len(), 1);
    assert!(deduped.iter().any(|op| matches!(op, Op::RefreshJob { .. })));
}

/// Items parsed straight from a page's text (as a sync reads them) give
/// the same rows as the same items read through `serde_json::Value`.
#[test]
fn items_parsed_from_page_text_flatten_like_values() {
    for (r, name) in [
        (Resource::Members, "members_list"),
        (Resource::OrganizationInvitations, "invitations_list"),
        (Resource::Activities, "activities_list"),
        (Resource::Jobs, "jobs_list"),
        (Resource::Actions, "actions_list"),
        (Resource::Events, "events_list"),
    ] {
        let text = fixture_text(name);
        let page = crate::json::Node::parse(&text).unwrap();
        let mut from_text = Vec::new();
        for item in page.get("data").unwrap().as_array().unwrap() {
            flatten_node(r, item, 1_000, &mut from_text);
        }
        assert!(!from_text.is_empty(), "{name}");
        assert_eq!(from_text, flat_list(r, name), "{name}");
    }
}

#[test]
fn post_and_goal_actions_announce_a_change_of_their_listing() {
    let announced = |t: &str| -> Vec<Resource> {
        let a = json!({"id": "a1", "actionType": t, "date": 5, "createdAt": 5});
        flat(Resource::Actions, &a)
            .into_iter()
            .filter_map(|op| match op {
                Op::Announce(r) => Some(r),
                _ => None,
            })
            .collect()
    };
    for t in [
        "JOB_POST_CREATED",
        "JOB_POST_UPDATED",
        "JOB_POST_DELETED",
        "BULK_JOB_POST_UPDATED",
    ] {
        assert_eq!(announced(t), [Resource::JobPosts], "{t}");
    }
    for t in [
        "GOAL_CREATED",
        "GOAL_PROGRESS_IN_PROGRESS",
        "GOAL_SOMETHING_NEW",
    ] {
        assert_eq!(announced(t), [Resource::Goals], "{t}");
    }
    for t in ["JOB_MOVED", "MEMBER_UPDATED", "CANDIDATE_PROFILE_VIEWED"] {
        assert!(announced(t).is_empty(), "{t}");
    }
}

#[test]
fn a_page_skips_building_repeated_snapshots_and_ends_as_the_deduplicated_batch() {
    // Actions naming the same employer and people again and again, one
    // employer in another shape, and a job (not skipped: it has children).
    let action = |id: &str, employer: Value| {
        json!({"id": id, "actionType": "JOB_MOVED", "date": 1000, "createdAt": 1000,
            "ownerMember": {"id": "m1", "givenName": "Ada"},
            "creatorMember": {"id": "m2", "givenName": "Bo"},
            "employer": employer,
            "job": {"id": "j1", "title": "Analyst", "employer": {"id": "e1", "name": "Acme"}}})
    };
    let acme = json!({"id": "e1", "name": "Acme"});
    let items: Vec<Value> = vec![
        action("a1", acme.clone()),
        action("a2", acme.clone()),
        action("a3", json!({"id": "e1", "name": "Acme Inc"})),
        action("a4", acme),
    ];
    let text = serde_json::to_string(&items).unwrap();
    let nodes: Vec<crate::json::Node> = serde_json::from_str(&text).unwrap();
    let mut shown = 0;
    let page = flatten_page(Resource::Actions, &nodes, 2_000, |_| shown += 1);
    assert_eq!(shown, 4);
    let mut expected = Vec::new();
    for n in &nodes {
        flatten_node(Resource::Actions, n, 2_000, &mut expected);
    }
    assert!(
        rows(&expected, people::TABLE).len() > rows(&page, people::TABLE).len(),
        "outside a page, every copy is built"
    );
    dedup_snapshots(&mut expected);
    assert_eq!(page, expected);
    assert_eq!(rows(&page, people::TABLE).len(), 2);
    assert_eq!(rows(&page, employers::TABLE).len(), 2, "two shapes of e1");
    // The scope ended with the page.
    let mut again = Vec::new();
    flatten_node(Resource::Actions, &nodes[0], 2_000, &mut again);
    flatten_node(Resource::Actions, &nodes[1], 2_000, &mut again);
    assert_eq!(rows(&again, people::TABLE).len(), 4);
}
