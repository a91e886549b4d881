//! Job posts (the organization's job portal) and candidates (its talent
//! portal): newer resources with arrays of their own. A job post's
//! locations, tags and member groups become child rows; its employer and
//! members are partial snapshots, as a job's are. A candidate is listed
//! lean and read in full one by one, so the two land in two tables; its
//! action metrics come from a third endpoint.

use super::records::{employer_snapshots, person};
use super::{convert, nested, record, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{
    candidate_action_metrics, candidate_profiles, candidate_skills, candidates, employers,
    job_post_locations, job_post_member_groups, job_post_tags, job_posts,
};
use crate::schema::ColType;

/// A job post from `/job-posts` (Full), a JOB_POST_UPDATED action (Update)
/// or embedded in a job, activity or action (Partial). Children are
/// written only with a full record (they replace the stored ones).
pub(super) fn job_post(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) -> Option<Row> {
    let id = str_of(obj, "id")?;
    let mut row = record(job_posts::TABLE, obj, mode, as_of);
    if row.get(job_posts::EMPLOYER_ID).is_null() {
        if let Some(e) = nested(obj, "employer").and_then(|e| str_of(e, "id")) {
            row.set(job_posts::EMPLOYER_ID, text(e));
        }
    }
    if mode == Mode::Full {
        job_post_children(obj, &id, out);
    }
    person(obj, "creatorMember", out);
    person(obj, "ownerMember", out);
    employer_snapshots(obj, out);
    Some(row)
}

/// [`job_post`] pushed as it is.
pub(super) fn push_job_post(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    let mut rest = Vec::new();
    if let Some(row) = job_post(obj, mode, as_of, &mut out.to(&mut rest)) {
        out.push(Op::Upsert(row));
    }
    out.extend(rest);
}

fn job_post_children(obj: &Obj, id: &str, out: &mut Out) {
    // `location` is the deprecated copy of the first of `locations`.
    let locations: Vec<&Obj> = match obj.get("locations") {
        Some(Node::Arr(items)) => items.iter().filter_map(Node::as_object).collect(),
        _ => nested(obj, "location").into_iter().collect(),
    };
    for (i, l) in locations.into_iter().enumerate() {
        let mut row = record(job_post_locations::TABLE, l, Mode::Full, 0);
        row.set(job_post_locations::JOB_POST_ID, text(id))
            .set(job_post_locations::POSITION, Val::Int(i as i64));
        out.push(Op::Upsert(row));
    }
    if let Some(Node::Arr(tags)) = obj.get("tags") {
        for (i, t) in tags.iter().filter_map(Node::as_object).enumerate() {
            let mut row = record(job_post_tags::TABLE, t, Mode::Full, 0);
            row.set(job_post_tags::JOB_POST_ID, text(id))
                .set(job_post_tags::POSITION, Val::Int(i as i64));
            out.push(Op::Upsert(row));
        }
    }
    if let Some(Node::Arr(groups)) = obj.get("visibleMemberGroupIds") {
        let ids = groups.iter().filter_map(|g| match g {
            Node::Str(s) => Some(s.to_string()),
            _ => None,
        });
        for (i, g) in ids.enumerate() {
            let mut row = Row::new(job_post_member_groups::TABLE, Mode::Full, 0);
            row.set(job_post_member_groups::JOB_POST_ID, text(id))
                .set(job_post_member_groups::POSITION, Val::Int(i as i64))
                .set(job_post_member_groups::MEMBER_GROUP_ID, text(g));
            out.push(Op::Upsert(row));
        }
    }
}

/// A candidate as `/candidates` lists it (Full) or as an action carries it
/// (Partial).
pub(super) fn candidate(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    if str_of(obj, "id").is_some() {
        out.push(Op::Upsert(record(candidates::TABLE, obj, mode, as_of)));
    }
}

/// A candidate's full profile from `/candidates/<id>`, with its skills.
pub fn candidate_profile(value: &serde_json::Value, as_of: i64, out: &mut Vec<Op>) {
    let node = Node::from_value(value);
    let Some(obj) = node.as_object() else { return };
    let Some(id) = str_of(obj, "id") else { return };
    let start = out.len();
    out.push(Op::Upsert(record(
        candidate_profiles::TABLE,
        obj,
        Mode::Full,
        as_of,
    )));
    if let Some(Node::Arr(skills)) = obj.get("skillNames") {
        for (i, s) in skills.iter().enumerate() {
            let skill = convert::convert(ColType::Text, s).unwrap_or(Val::Null);
            let mut row = Row::new(candidate_skills::TABLE, Mode::Full, 0);
            row.set(candidate_skills::CANDIDATE_ID, text(&id))
                .set(candidate_skills::POSITION, Val::Int(i as i64))
                .set(candidate_skills::SKILL_NAME, skill);
            out.push(Op::Upsert(row));
        }
    }
    super::hash_children(&mut out[start..]);
}

/// `/candidates/<id>/action-metrics`: one row per action type, keyed by the
/// type; the employers that took the action are partial employer rows.
pub fn candidate_metrics(candidate_id: &str, value: &serde_json::Value, out: &mut Vec<Op>) {
    let node = Node::from_value(value);
    let Some(obj) = node.as_object() else { return };
    for (action_type, metrics) in obj.iter() {
        let Some(m) = metrics.as_object() else {
            continue;
        };
        let mut row = record(candidate_action_metrics::TABLE, m, Mode::Full, 0);
        row.set(candidate_action_metrics::CANDIDATE_ID, text(candidate_id))
            .set(candidate_action_metrics::ACTION_TYPE, text(action_type));
        out.push(Op::Upsert(row));
        if let Some(Node::Arr(emps)) = m.get("employers") {
            for e in emps.iter().filter_map(Node::as_object) {
                if str_of(e, "id").is_some() {
                    out.push(Op::Upsert(record(employers::TABLE, e, Mode::Partial, 0)));
                }
            }
        }
    }
}
