//! Flattening tests for job posts, candidates, action metrics and their
//! action types, from the current reference's examples
//! (tests/fixtures/reference/current; repairs listed in its README).

use serde_json::{json, Value};

use super::test_support::{current as fixture, flat, rows};
use super::*;
use crate::rows::Row;
use crate::schema::tables::{
    action_job_posts, actions, activities, candidate_action_metrics, candidate_profiles,
    candidate_skills, candidates, employers, job_post_locations, job_post_member_groups,
    job_post_tags, job_posts, jobs, people,
};
use crate::schema::Col;

fn s(r: &Row, col: Col) -> Option<&str> {
    r.get(col).as_str()
}

#[test]
fn job_post_resource_flattens_salary_status_and_children() {
    for name in ["job_post", "job_post_retrieve"] {
        let ops = flat(Resource::JobPosts, &fixture(name));
        let post = rows(&ops, job_posts::TABLE)[0];
        assert_eq!(post.mode, Mode::Full);
        assert_eq!(s(post, job_posts::ID), Some("601da7c59ca97b1604508a1c"));
        assert_eq!(s(post, job_posts::SALARY_ACTUAL), Some("90000"));
        assert_eq!(s(post, job_posts::SALARY_CURRENCY), Some("USD"));
        assert_eq!(s(post, job_posts::SALARY_INTERVAL), Some("ANNUAL"));
        assert_eq!(s(post, job_posts::STATUS), Some("Open"));
        assert_eq!(s(post, job_posts::JOB_TYPE), Some("FULL_TIME"));
        assert_eq!(post.get(job_posts::IS_REMOTE), &Val::Bool(false));
        assert_eq!(post.get(job_posts::POST_DATE), &Val::Ts(1612556211));
        assert_eq!(
            s(post, job_posts::EMPLOYER_ID),
            Some("5bbfe1c6ed9dc0f2dbb9fe76")
        );
        assert_eq!(
            s(post, job_posts::OWNER_MEMBER_ID),
            Some("5b2bbb5837fbc835bbe32154")
        );
        // Everything has a column or a child table: nothing left over.
        assert!(post.get(job_posts::EXTRA).is_null(), "{name}");
        let locs = rows(&ops, job_post_locations::TABLE);
        assert_eq!(locs.len(), 1);
        assert_eq!(
            locs[0].get(job_post_locations::LAT),
            &Val::Float(40.6781784)
        );
        assert_eq!(
            s(locs[0], job_post_locations::COUNTRY),
            Some("United States")
        );
        let tags = rows(&ops, job_post_tags::TABLE);
        assert_eq!(tags.len(), 1);
        assert_eq!(
            s(tags[0], job_post_tags::TAG_ID),
            Some("6375bf49678aa421b84e8743")
        );
        // The employer and the members resolve as partial snapshots.
        let emp = rows(&ops, employers::TABLE)[0];
        assert_eq!(
            (emp.mode, s(emp, employers::NAME)),
            (Mode::Partial, Some("Notion"))
        );
        assert_eq!(rows(&ops, people::TABLE).len(), 2);
        // A parent's hash of its children is set.
        assert!(!post.get(job_posts::CHILDREN).is_null());
    }
}

#[test]
fn job_post_list_items_and_member_groups() {
    let list = fixture("job_posts_list");
    let mut ops = Vec::new();
    for item in list["data"].as_array().unwrap() {
        flatten(Resource::JobPosts, item, 1_000, &mut ops);
    }
    let posts = rows(&ops, job_posts::TABLE);
    assert_eq!(posts.len(), 2);
    assert_eq!(s(posts[0], job_posts::STATUS), Some("Draft"));
    assert_eq!(s(posts[1], job_posts::VISIBILITY), Some("VISIBLE"));
    // The second one has no salary: NULL columns.
    assert!(posts[1].get(job_posts::SALARY_ACTUAL).is_null());
    assert_eq!(rows(&ops, job_post_tags::TABLE).len(), 1);
    assert!(rows(&ops, job_post_member_groups::TABLE).is_empty());
    // visibleMemberGroupIds of a HIDDEN post become rows by position.
    let mut hidden = list["data"][0].clone();
    hidden["visibility"] = json!("HIDDEN");
    hidden["visibleMemberGroupIds"] = json!(["g1", "g2"]);
    let ops = flat(Resource::JobPosts, &hidden);
    let groups = rows(&ops, job_post_member_groups::TABLE);
    assert_eq!(groups.len(), 2);
    assert_eq!(
        s(groups[1], job_post_member_groups::MEMBER_GROUP_ID),
        Some("g2")
    );
    assert_eq!(
        groups[1].get(job_post_member_groups::POSITION),
        &Val::Int(1)
    );
}

#[test]
fn job_post_on_jobs_and_activities_is_a_partial_snapshot() {
    let post = fixture("job_post");
    let job = json!({"id": "j1", "title": "Illustrator", "jobPost": post});
    let ops = flat(Resource::Jobs, &job);
    let j = rows(&ops, jobs::TABLE)[0];
    assert_eq!(s(j, jobs::JOB_POST_ID), Some("601da7c59ca97b1604508a1c"));
    assert!(j.get(jobs::EXTRA).is_null());
    let p = rows(&ops, job_posts::TABLE)[0];
    assert_eq!(p.mode, Mode::Partial);
    assert!(rows(&ops, job_post_locations::TABLE).is_empty());
    let activity = json!({"id": "a1", "title": "Apply", "jobPost": {"id": "p9", "title": "T"}});
    let ops = flat(Resource::Activities, &activity);
    let a = rows(&ops, activities::TABLE)[0];
    assert_eq!(s(a, activities::JOB_POST_ID), Some("p9"));
    assert_eq!(rows(&ops, job_posts::TABLE)[0].mode, Mode::Partial);
}

/// An action of `action_type` with the fields the reference's "Action
/// Types" table lists for it.
fn action(action_type: &str, extra: Value) -> Value {
    let mut a = json!({
        "id": format!("act-{action_type}"),
        "actionType": action_type,
        "date": 1_700_000_000,
        "createdAt": 1_700_000_000,
        "createdByWorkflow": false,
        "creatorMember": {"id": "5b2bbb5837fbc835bbe32154", "givenName": "Rennie"},
    });
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

#[test]
fn job_post_actions_capture_created_updated_deleted() {
    let post = fixture("job_post");
    let employer = post["employer"].clone();
    let created = action(
        "JOB_POST_CREATED",
        json!({"jobPost": post, "employer": employer}),
    );
    let ops = flat(Resource::Actions, &created);
    let a = rows(&ops, actions::TABLE)[0];
    assert_eq!(s(a, actions::JOB_POST_ID), Some("601da7c59ca97b1604508a1c"));
    assert!(a.get(actions::EXTRA).is_null());
    let posts = rows(&ops, job_posts::TABLE);
    assert!(posts.iter().all(|p| p.mode == Mode::Partial));

    let updated = action(
        "JOB_POST_UPDATED",
        json!({"jobPost": post, "employer": employer, "update": {"title": "Illustrator II"}}),
    );
    let ops = flat(Resource::Actions, &updated);
    let upd = rows(&ops, job_posts::TABLE)
        .into_iter()
        .find(|p| p.mode == Mode::Update)
        .unwrap();
    assert_eq!(upd.as_of, 1_700_000_000);
    assert_eq!(s(upd, job_posts::AS_OF_ID), Some("act-JOB_POST_UPDATED"));

    let deleted = action(
        "JOB_POST_DELETED",
        json!({"jobPostId": "601da7c59ca97b1604508a1c", "employer": employer}),
    );
    let ops = flat(Resource::Actions, &deleted);
    assert!(ops.iter().any(|op| matches!(op,
        Op::Delete { table, id, at } if *table == job_posts::TABLE
            && id == "601da7c59ca97b1604508a1c" && *at == 1_700_000_000)));
    assert_eq!(
        s(rows(&ops, actions::TABLE)[0], actions::JOB_POST_ID),
        Some("601da7c59ca97b1604508a1c")
    );
}

#[test]
fn bulk_job_post_update_names_every_post_and_dates_the_change() {
    let bulk = action(
        "BULK_JOB_POST_UPDATED",
        json!({"jobPostIds": ["p1", "p2"], "update": {"visibility": "HIDDEN", "isArchived": true}}),
    );
    let ops = flat(Resource::Actions, &bulk);
    let links = rows(&ops, action_job_posts::TABLE);
    assert_eq!(links.len(), 2);
    assert_eq!(s(links[1], action_job_posts::JOB_POST_ID), Some("p2"));
    let upd = rows(&ops, job_posts::TABLE);
    assert_eq!(upd.len(), 2);
    assert!(upd.iter().all(|r| r.mode == Mode::Update
        && s(r, job_posts::VISIBILITY) == Some("HIDDEN")
        && r.get(job_posts::EXTRA).is_null()));
    let a = rows(&ops, actions::TABLE)[0];
    assert!(s(a, actions::UPDATE_JSON).unwrap().contains("isArchived"));
    // An update naming no job post field changes no post.
    let other = action(
        "BULK_JOB_POST_UPDATED",
        json!({"jobPostIds": ["p1"], "update": {"x": 1}}),
    );
    assert!(rows(&flat(Resource::Actions, &other), job_posts::TABLE).is_empty());
}

#[test]
fn candidates_list_profile_and_metrics() {
    let list = fixture("candidates_list");
    let ops = flat(Resource::Candidates, &list["data"][0]);
    let c = rows(&ops, candidates::TABLE)[0];
    assert_eq!(c.mode, Mode::Full);
    assert_eq!(
        s(c, candidates::MEMBER_ID),
        Some("5e6a7bbdc56bc6669e3da86c")
    );
    assert_eq!(s(c, candidates::FIRST_NAME), Some("Graciela"));
    assert!(c.get(candidates::EXTRA).is_null());

    for name in ["candidate", "candidate_retrieve"] {
        let mut ops = Vec::new();
        candidate_profile(&fixture(name), 1_000, &mut ops);
        let p = rows(&ops, candidate_profiles::TABLE)[0];
        assert_eq!(
            s(p, candidate_profiles::HEADLINE),
            Some("Full Stack Developer")
        );
        assert_eq!(
            p.get(candidate_profiles::CURRENT_LOCATION_LAT),
            &Val::Float(37.7749)
        );
        assert_eq!(
            p.get(candidate_profiles::TOTAL_WORK_EXPERIENCE_YEARS),
            &Val::Float(5.0)
        );
        assert_eq!(
            p.get(candidate_profiles::WILLING_TO_RELOCATE),
            &Val::Bool(true)
        );
        assert_eq!(p.get(candidate_profiles::CREATED_AT), &Val::Ts(1526954421));
        // The arrays without a table of their own are kept in `_extra`.
        let extra: Value = serde_json::from_str(s(p, candidate_profiles::EXTRA).unwrap()).unwrap();
        assert_eq!(extra["workExperiences"][0]["jobTitle"], "Senior Developer");
        assert_eq!(extra["profiles"]["github"], "https://github.com/graciela");
        assert!(extra.get("skillNames").is_none());
        let skills = rows(&ops, candidate_skills::TABLE);
        assert_eq!(skills.len(), 3);
        assert_eq!(s(skills[2], candidate_skills::SKILL_NAME), Some("React"));
        assert!(!p.get(candidate_profiles::CHILDREN).is_null());
    }

    let mut ops = Vec::new();
    candidate_metrics(
        "5b0379b5712bb674fd0d561e",
        &fixture("candidate_action_metrics"),
        &mut ops,
    );
    let m = rows(&ops, candidate_action_metrics::TABLE);
    assert_eq!(m.len(), 1);
    assert_eq!(
        s(m[0], candidate_action_metrics::ACTION_TYPE),
        Some("CANDIDATE_PROFILE_VIEWED")
    );
    assert_eq!(m[0].get(candidate_action_metrics::COUNT), &Val::Int(6));
    assert_eq!(
        m[0].get(candidate_action_metrics::UNIQUE_EMPLOYERS),
        &Val::Int(3)
    );
    let extra: Value =
        serde_json::from_str(s(m[0], candidate_action_metrics::EXTRA).unwrap()).unwrap();
    assert_eq!(extra["employers"][1]["name"], "Duolingo");
    assert_eq!(rows(&ops, employers::TABLE).len(), 3);
}

#[test]
fn candidate_actions_carry_a_candidate_snapshot() {
    let cand = fixture("candidates_list")["data"][0].clone();
    let viewed = action(
        "CANDIDATE_PROFILE_VIEWED",
        json!({
            "candidate": cand,
            "employer": {"id": "642b2cc41d74bb7525269573", "name": "Buffer"},
            "creatorEmployerMember": {"id": "em1", "givenName": "Eve"},
        }),
    );
    let ops = flat(Resource::Actions, &viewed);
    let a = rows(&ops, actions::TABLE)[0];
    assert_eq!(
        s(a, actions::CANDIDATE_ID),
        Some("5b0379b5712bb674fd0d561e")
    );
    assert_eq!(s(a, actions::EMPLOYER_ID), Some("642b2cc41d74bb7525269573"));
    // The employer member has no column yet: kept in `_extra`.
    let extra: Value = serde_json::from_str(s(a, actions::EXTRA).unwrap()).unwrap();
    assert_eq!(extra["creatorEmployerMember"]["id"], "em1");
    let c = rows(&ops, candidates::TABLE)[0];
    assert_eq!(
        (c.mode, s(c, candidates::LAST_NAME)),
        (Mode::Partial, Some("Varela"))
    );

    let search = action(
        "CANDIDATE_SEARCH_RAN",
        json!({"employer": {"id": "e1"}, "filters": {"skills": ["React"]}}),
    );
    let ops = flat(Resource::Actions, &search);
    assert!(rows(&ops, candidates::TABLE).is_empty());
    assert_eq!(
        rows(&ops, actions::TABLE)[0].get(actions::ACTION_TYPE),
        &Val::Text("CANDIDATE_SEARCH_RAN".into())
    );
}
