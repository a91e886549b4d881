//! Flattening goals and the GOAL_*, DOCUMENT_* and ORGANIZATION_EMPLOYER_*
//! actions, from the current reference's examples
//! (tests/fixtures/reference/current).

use serde_json::{json, Value};

use super::super::flatten;
use super::super::test_support::{current, flat, reference as fixture, rows};
use crate::resources::Resource;
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{
    action_jobs, actions, documents, employer_partnerships, employer_requests, employers,
    goal_conditions, goal_enrollments, goal_intervals, goal_progress_activities,
    goal_progress_contacts, goal_progress_jobs, goal_progresses, goal_recurrence_values, goals,
    people,
};
use crate::schema::{Col, EXTRA, SCHEMA};

fn text(r: &Row, col: Col) -> Option<String> {
    match r.get(col) {
        Val::Text(s) => Some(s.to_string()),
        Val::Null => None,
        other => Some(format!("{other:?}")),
    }
}

fn extra(r: &Row) -> &Val {
    &r.vals[SCHEMA.table(r.table).col(EXTRA)]
}

/// The reference's action example turned into an action of `action_type`
/// carrying `fields` instead of its job.
fn action(action_type: &str, fields: Value) -> Value {
    let mut a = fixture("action");
    let obj = a.as_object_mut().unwrap();
    for k in ["job", "jobId", "employer", "toList"] {
        obj.remove(k);
    }
    obj.insert("actionType".into(), json!(action_type));
    for (k, v) in fields.as_object().unwrap() {
        obj.insert(k.clone(), v.clone());
    }
    a
}

#[test]
fn the_goal_resource_flattens_without_loss() {
    let ops = flat(Resource::Goals, &current("goal"));
    let g = rows(&ops, goals::TABLE);
    assert_eq!(g.len(), 1);
    let g = g[0];
    assert_eq!(g.mode, Mode::Full);
    assert_eq!(
        text(g, goals::ID).as_deref(),
        Some("61bf6eef5fda60b9fb7f3978")
    );
    assert_eq!(text(g, goals::STATUS).as_deref(), Some("ACTIVE"));
    assert_eq!(text(g, goals::SCHEDULE_TYPE).as_deref(), Some("RECURRING"));
    assert_eq!(
        text(g, goals::OBJECTIVE_ENTITY).as_deref(),
        Some("Activity")
    );
    assert_eq!(*g.get(goals::OBJECTIVE_NUMERIC_TARGET), Val::Int(5));
    assert_eq!(*g.get(goals::ENROLLMENT_START_DATE), Val::Ts(1639935727));
    assert_eq!(
        text(g, goals::OWNER_MEMBER_ID).as_deref(),
        Some("5e6a7bbdc56bc6669e3da86c")
    );
    assert_eq!(*extra(g), Val::Null, "every documented field has a home");
    let conds = rows(&ops, goal_conditions::TABLE);
    assert_eq!(conds.len(), 2);
    assert_eq!(
        text(conds[0], goal_conditions::OPERATOR).as_deref(),
        Some("IS_IN")
    );
    assert_eq!(
        text(conds[0], goal_conditions::CONDITION_KEY).as_deref(),
        Some("_activityCategory")
    );
    assert_eq!(
        text(conds[0], goal_conditions::VALUE).as_deref(),
        Some(r#"["5e448f3bf2b856c29af11281"]"#)
    );
    assert_eq!(
        text(conds[1], goal_conditions::VALUE).as_deref(),
        Some("true")
    );
    assert_eq!(*conds[1].get(goal_conditions::POSITION), Val::Int(1));
    assert_eq!(rows(&ops, people::TABLE).len(), 1, "the owner");
}

#[test]
fn listed_goals_carry_recurrence_and_intervals() {
    let list = current("goals_list");
    let mut ops = Vec::new();
    for g in list["data"].as_array().unwrap() {
        flatten(Resource::Goals, g, 1_000, &mut ops);
    }
    let g = rows(&ops, goals::TABLE);
    assert_eq!(g.len(), 2);
    for row in &g {
        assert_eq!(*extra(row), Val::Null);
    }
    assert_eq!(*g[0].get(goals::RECURRENCE_FREQUENCY), Val::Int(2));
    assert_eq!(*g[0].get(goals::RECURRENCE_COUNT), Val::Int(12));
    assert_eq!(
        text(g[0], goals::RECURRENCE_START).as_deref(),
        Some("2023-03-27T00:00:00.000Z")
    );
    assert_eq!(
        text(g[0], goals::RECURRENCE_TIMEZONE).as_deref(),
        Some("America/Los_Angeles")
    );
    assert_eq!(
        text(g[0], goals::FIRST_GOAL_INTERVAL_ID).as_deref(),
        Some("642711541eaf29393e1b2354")
    );
    assert_eq!(
        text(g[0], goals::CURRENT_GOAL_INTERVAL_ID).as_deref(),
        Some("642711541eaf29393e1b2355")
    );
    // The by* arrays of the examples are empty: no rows.
    assert!(rows(&ops, goal_recurrence_values::TABLE).is_empty());
    let intervals = rows(&ops, goal_intervals::TABLE);
    assert_eq!(intervals.len(), 4, "first and current of each goal");
    assert!(intervals.iter().all(|r| r.mode == Mode::Partial));
    let current_one = intervals[1];
    assert_eq!(
        text(current_one, goal_intervals::PREVIOUS_INTERVAL_ID).as_deref(),
        Some("642711541daf29393e1b2354")
    );
    assert_eq!(
        *current_one.get(goal_intervals::INTERVAL_INDEX),
        Val::Int(2)
    );
    assert_eq!(
        *current_one.get(goal_intervals::START_AT),
        Val::Ts(1680505200)
    );
    assert_eq!(
        *current_one.get(goal_intervals::END_AT),
        Val::Ts(1681110000)
    );
    // Retrieving a goal gives the same rows as listing it.
    let one = flat(Resource::Goals, &current("goal_retrieve"));
    assert_eq!(rows(&one, goals::TABLE)[0], g[0]);
}

#[test]
fn recurrence_arrays_and_triggers_become_child_rows() {
    let mut g = current("goal");
    g["goalRecurrence"] = json!({"byWeekDay": [0, 2], "frequency": 2});
    g["enrollmentTriggers"] = json!(["JOB_CREATED"]);
    let ops = flat(Resource::Goals, &g);
    let rec = rows(&ops, goal_recurrence_values::TABLE);
    assert_eq!(rec.len(), 2);
    assert_eq!(
        text(rec[1], goal_recurrence_values::RULE).as_deref(),
        Some("byWeekDay")
    );
    assert_eq!(
        text(rec[1], goal_recurrence_values::VALUE).as_deref(),
        Some("2")
    );
    let trig = rows(&ops, crate::schema::tables::goal_enrollment_triggers::TABLE);
    assert_eq!(trig.len(), 1);
}

#[test]
fn goal_actions_carry_goals_partially_and_enrollments_as_dated_snapshots() {
    for t in ["GOAL_CREATED", "GOAL_UPDATED"] {
        let a = action(t, json!({"goal": current("goal"), "update": {"name": "x"}}));
        let ops = flat(Resource::Actions, &a);
        let act = rows(&ops, actions::TABLE)[0];
        assert_eq!(
            text(act, actions::GOAL_ID).as_deref(),
            Some("61bf6eef5fda60b9fb7f3978")
        );
        assert_eq!(*extra(act), Val::Null, "{t}");
        let g = rows(&ops, goals::TABLE);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].mode, Mode::Partial, "/goals is the authority");
        assert!(rows(&ops, goal_conditions::TABLE).is_empty());
    }
    for t in ["GOAL_ENROLLMENT_CREATED", "GOAL_ENROLLMENT_CONCLUDED"] {
        let a = action(
            t,
            json!({"goal": current("goal"), "goalEnrollment": current("goal_enrollment_create")}),
        );
        let ops = flat(Resource::Actions, &a);
        let act = rows(&ops, actions::TABLE)[0];
        assert_eq!(
            text(act, actions::GOAL_ENROLLMENT_ID).as_deref(),
            Some("642da8d2aad714656f293a14")
        );
        let e = rows(&ops, goal_enrollments::TABLE);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].mode, e[0].as_of), (Mode::Full, 1588634675), "{t}");
        assert_eq!(
            text(e[0], goal_enrollments::STATUS).as_deref(),
            Some("ACTIVE")
        );
        assert_eq!(
            text(e[0], goal_enrollments::GOAL_ID).as_deref(),
            Some("642711341daf29393e1b2351")
        );
        assert_eq!(
            text(e[0], goal_enrollments::OWNER_MEMBER_ID).as_deref(),
            Some("64090fa941a8885a417d0c99")
        );
        assert_eq!(
            text(e[0], goal_enrollments::STARTING_GOAL_INTERVAL_ID).as_deref(),
            Some("642711541eaf29393e1b2354")
        );
        assert_eq!(*extra(e[0]), Val::Null);
        let intervals = rows(&ops, goal_intervals::TABLE);
        assert!(intervals
            .iter()
            .any(|i| text(i, goal_intervals::ID).as_deref() == Some("642711541eaf29393e1b2354")));
    }
    // The resource example (no starting interval) flattens too.
    let a = action(
        "GOAL_ENROLLMENT_CREATED",
        json!({"goal": current("goal"), "goalEnrollment": current("goal_enrollment")}),
    );
    let ops = flat(Resource::Actions, &a);
    let e = rows(&ops, goal_enrollments::TABLE)[0];
    assert_eq!(text(e, goal_enrollments::STARTING_GOAL_INTERVAL_ID), None);
    assert_eq!(*extra(e), Val::Null);
}

#[test]
fn goal_progress_actions_carry_progresses_and_their_objectives() {
    for t in [
        "GOAL_PROGRESS_UPDATED",
        "GOAL_PROGRESS_COMPLETED",
        "GOAL_PROGRESS_INCOMPLETE",
        "GOAL_PROGRESS_IN_PROGRESS",
        "GOAL_PROGRESS_UNENROLLED",
    ] {
        let a = action(
            t,
            json!({"goal": current("goal"), "goalEnrollment": current("goal_enrollment"),
                   "goalProgress": current("goal_progress"), "update": {"status": "x"}}),
        );
        let ops = flat(Resource::Actions, &a);
        let act = rows(&ops, actions::TABLE)[0];
        assert_eq!(*extra(act), Val::Null, "{t}");
        assert_eq!(
            text(act, actions::GOAL_PROGRESS_ID).as_deref(),
            Some("61bf669a887ee3b7bff62fe3")
        );
        assert_eq!(
            text(act, actions::GOAL_ENROLLMENT_ID).as_deref(),
            Some("61bf669a887ee3b7bff62fe1")
        );
        let p = rows(&ops, goal_progresses::TABLE);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].mode, p[0].as_of), (Mode::Full, 1588634675));
        assert_eq!(*extra(p[0]), Val::Null);
        assert_eq!(
            text(p[0], goal_progresses::STATUS).as_deref(),
            Some("IN_PROGRESS")
        );
        assert_eq!(
            *p[0].get(goal_progresses::OBJECTIVE_NUMERIC_COUNT),
            Val::Int(2)
        );
        assert_eq!(*p[0].get(goal_progresses::START_AT), Val::Ts(1639890000));
        assert_eq!(
            text(p[0], goal_progresses::GOAL_ENROLLMENT_ID).as_deref(),
            Some("61bf669a887ee3b7bff62fe1")
        );
        let jobs = rows(&ops, goal_progress_jobs::TABLE);
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            text(jobs[1], goal_progress_jobs::JOB_ID).as_deref(),
            Some("61bf66db0ab6e63cef0997b5")
        );
        assert!(rows(&ops, goal_progress_activities::TABLE).is_empty());
        assert!(rows(&ops, goal_progress_contacts::TABLE).is_empty());
        assert_eq!(rows(&ops, goal_enrollments::TABLE).len(), 1);
    }
}

#[test]
fn document_actions_write_and_delete_documents() {
    for t in ["DOCUMENT_CREATED", "DOCUMENT_UPDATED"] {
        let job = fixture("action")["job"].clone();
        let a = action(t, json!({"document": current("document"), "jobs": [job]}));
        let ops = flat(Resource::Actions, &a);
        let act = rows(&ops, actions::TABLE)[0];
        assert_eq!(*extra(act), Val::Null);
        assert_eq!(
            text(act, actions::DOCUMENT_ID).as_deref(),
            Some("622bc9862a2ee4f9779277eb")
        );
        let d = rows(&ops, documents::TABLE);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].mode, d[0].as_of), (Mode::Full, 1588634675));
        assert_eq!(*extra(d[0]), Val::Null);
        assert_eq!(
            text(d[0], documents::DOCUMENT_CATEGORY_NAME).as_deref(),
            Some("Resume")
        );
        assert_eq!(text(d[0], documents::EXTENSION).as_deref(), Some("pdf"));
        assert_eq!(rows(&ops, action_jobs::TABLE).len(), 1, "{t}");
    }
    let a = action(
        "DOCUMENT_DELETED",
        json!({"documentId": "622bc9862a2ee4f9779277eb"}),
    );
    let ops = flat(Resource::Actions, &a);
    assert!(ops.iter().any(|op| matches!(op,
        Op::Delete { table, id, at } if *table == documents::TABLE
            && id == "622bc9862a2ee4f9779277eb" && *at == 1588634675)));
    assert!(rows(&ops, documents::TABLE).is_empty());
    let act = rows(&ops, actions::TABLE)[0];
    assert_eq!(
        text(act, actions::DOCUMENT_ID).as_deref(),
        Some("622bc9862a2ee4f9779277eb")
    );
}

#[test]
fn employer_portal_actions_write_requests_and_partnerships() {
    let employer = fixture("action")["employer"].clone();
    let a = action(
        "ORGANIZATION_EMPLOYER_REQUEST_CREATED",
        json!({"organizationEmployerRequest": current("employer_request")}),
    );
    let ops = flat(Resource::Actions, &a);
    let r = rows(&ops, employer_requests::TABLE);
    assert_eq!(r.len(), 1);
    assert_eq!(
        text(r[0], employer_requests::EMPLOYER_ID),
        None,
        "not linked yet"
    );
    let utm: Value =
        serde_json::from_str(&text(r[0], employer_requests::UTM_TAGS).unwrap()).unwrap();
    assert_eq!(
        utm,
        json!({"utm_source": "facebook", "utm_medium": "social", "utm_campaign": "fb-2023"})
    );
    assert_eq!(
        *r[0].get(employer_requests::DECIDED_AT),
        Val::Ts(1686180501)
    );
    assert_eq!(*extra(r[0]), Val::Null);
    for t in [
        "ORGANIZATION_EMPLOYER_REQUEST_VERIFIED",
        "ORGANIZATION_EMPLOYER_REQUEST_APPROVED",
        "ORGANIZATION_EMPLOYER_REQUEST_DECLINED",
    ] {
        let a = action(
            t,
            json!({"organizationEmployerRequest": current("employer_request"), "employer": employer}),
        );
        let ops = flat(Resource::Actions, &a);
        let act = rows(&ops, actions::TABLE)[0];
        assert_eq!(*extra(act), Val::Null);
        assert_eq!(
            text(act, actions::EMPLOYER_REQUEST_ID).as_deref(),
            Some("648111fee7093f3013aeaefd")
        );
        let r = rows(&ops, employer_requests::TABLE);
        assert_eq!((r[0].mode, r[0].as_of), (Mode::Full, 1588634675));
        assert_eq!(
            text(r[0], employer_requests::EMPLOYER_ID).as_deref(),
            Some("5a016b5221bce9aa2bd70296"),
            "{t}: the action's employer"
        );
        assert_eq!(
            text(r[0], employer_requests::APPROVAL_STATUS).as_deref(),
            Some("APPROVED")
        );
    }
}

#[test]
fn partnership_actions_write_partnerships() {
    let employer = fixture("action")["employer"].clone();
    let a = action(
        "ORGANIZATION_EMPLOYER_PARTNERSHIP_CREATED",
        json!({"organizationEmployerPartnership": current("employer_partnership"), "employer": employer}),
    );
    let ops = flat(Resource::Actions, &a);
    let act = rows(&ops, actions::TABLE)[0];
    assert_eq!(
        text(act, actions::EMPLOYER_PARTNERSHIP_ID).as_deref(),
        Some("647fc0f471dbf904d034305e")
    );
    let p = rows(&ops, employer_partnerships::TABLE);
    assert_eq!(p.len(), 1);
    assert_eq!(*extra(p[0]), Val::Null);
    assert_eq!(
        text(p[0], employer_partnerships::EMPLOYER_ID).as_deref(),
        Some("5eb4719153a6366028ad14e6"),
        "the partnership's own employerId wins"
    );
    assert_eq!(
        *p[0].get(employer_partnerships::EMPLOYER_CAN_POST_JOBS),
        Val::Bool(true)
    );
    assert_eq!(
        rows(&ops, employers::TABLE).len(),
        1,
        "the employer snapshot"
    );
}
