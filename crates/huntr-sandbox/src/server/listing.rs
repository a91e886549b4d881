//! The Org API's GET handlers: the paged lists with their filters, the
//! unpaged ones, and single members and jobs.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::paging::{oid_param, page, paging, Paging};
use super::{api_error, Params, St};
use crate::org::{Index, Ix, Oid};

macro_rules! paged {
    ($s:expr, $q:expr) => {
        match paging(&$q) {
            Ok(p) => p,
            Err(r) => return r,
        }
    };
}

pub(super) async fn members(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let active = match q.get("active").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(v) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Invalid value",
                Some(("active", v, "query")),
            )
        }
    };
    let email = q.get("email").cloned();
    let org = s.org();
    let keep = |ix: Ix| {
        let m = &org.people[ix as usize];
        active.is_none_or(|a| m.is_active == a)
            && email
                .as_ref()
                .is_none_or(|e| m.email.eq_ignore_ascii_case(e))
    };
    Json(page(&org.members_ix, &p, keep, |ix| org.member_json(ix))).into_response()
}

/// The organization's advisors, paged as members are.
pub(super) async fn advisors(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    let index: Index = org
        .advisors
        .iter()
        .map(|&a| (org.people[a as usize].id, a))
        .collect();
    Json(page(&index, &p, |_| true, |a| org.advisor_json(a))).into_response()
}

pub(super) async fn member(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    match Oid::parse(&id).and_then(|o| org.members_ix.get(&o)) {
        Some(ix) => Json(org.member_json(*ix)).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "Member not found",
            Some(("id", &id, "params")),
        ),
    }
}

pub(super) async fn job(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    match Oid::parse(&id).and_then(|o| org.jobs_ix.get(&o)) {
        Some(ix) => Json(org.job_json(*ix)).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "Job not found",
            Some(("id", &id, "params")),
        ),
    }
}

pub(super) async fn member_fields(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.fields.len() as Ix)
        .map(|f| org.field_json(f))
        .collect();
    Json(json!({ "data": data })).into_response()
}

pub(super) async fn board_templates(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.templates.len() as Ix)
        .map(|t| org.template_json(t, true))
        .collect();
    Json(json!({ "data": data })).into_response()
}

pub(super) async fn invitations(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = org
        .invitations_ix
        .values()
        .rev()
        .map(|i| org.invitation_json(*i))
        .collect();
    Json(json!({ "data": data })).into_response()
}

pub(super) async fn categories(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.categories.len() as Ix)
        .map(|c| org.category_json(c))
        .collect();
    Json(json!({ "data": data })).into_response()
}

pub(super) async fn employers(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    // `isPartner=true`: partners only; `false`: the others.
    let partners = match is_partner(&q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let org = s.org();
    Json(page(
        &org.employers_ix,
        &p,
        |e| partners.is_none_or(|want| org.employers[e as usize].is_partner == want),
        |e| org.employer_json(e, true),
    ))
    .into_response()
}

/// `isPartner`: None when absent; a 400 unless `true` or `false`.
#[allow(clippy::result_large_err)]
fn is_partner(q: &HashMap<String, String>) -> Result<Option<bool>, Response> {
    match q.get("isPartner").map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "Invalid value",
            Some(("isPartner", v, "query")),
        )),
    }
}

pub(super) async fn jobs(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    let owner = oid_param(&q, "owner_member_id");
    let creator = oid_param(&q, "creator_member_id");
    let keep = |ix: Ix| {
        let j = &org.jobs[ix as usize];
        owner.is_none_or(|o| o == Some(org.people[j.owner as usize].id))
            && creator.is_none_or(|c| c == Some(org.people[j.creator as usize].id))
    };
    Json(page(&org.jobs_ix, &p, keep, |j| org.job_json(j))).into_response()
}

pub(super) async fn activities(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    let owner = oid_param(&q, "owner_member_id");
    let creator = oid_param(&q, "creator_member_id");
    let job = oid_param(&q, "job_id");
    let category = oid_param(&q, "activity_category_id");
    let employer = oid_param(&q, "employer_id");
    let keep = |ix: Ix| {
        let a = &org.activities[ix as usize];
        let job_of = a.job.map(|j| &org.jobs[j as usize]);
        owner.is_none_or(|o| o == Some(org.people[a.owner as usize].id))
            && creator.is_none_or(|c| c == Some(org.people[a.creator as usize].id))
            && job.is_none_or(|j| j.is_some() && j == job_of.map(|x| x.id))
            && category.is_none_or(|c| c == Some(org.categories[a.category as usize].0))
            && employer.is_none_or(|e| {
                e.is_some() && e == job_of.map(|x| org.employers[x.employer as usize].id)
            })
    };
    Json(page(&org.activities_ix, &p, keep, |a| org.activity_json(a))).into_response()
}

pub(super) async fn actions(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    let action_type = q.get("action_type").cloned();
    let owner = oid_param(&q, "owner_member_id");
    let creator = oid_param(&q, "creator_member_id");
    let job = oid_param(&q, "job_id");
    let activity = oid_param(&q, "activity_id");
    let note = oid_param(&q, "note_id");
    let contact = oid_param(&q, "contact_id");
    let category = oid_param(&q, "activity_category_id");
    let employer = oid_param(&q, "employer_id");
    let keep = |ix: Ix| {
        let a = &org.actions[ix as usize];
        let job_of = a.job.map(|j| &org.jobs[j as usize]);
        let act = a.activity.map(|x| &org.activities[x as usize]);
        action_type.as_ref().is_none_or(|t| t == a.kind.as_str())
            && owner.is_none_or(|o| o == Some(org.people[a.owner as usize].id))
            && creator.is_none_or(|c| c == Some(org.people[a.creator as usize].id))
            && job.is_none_or(|j| j.is_some() && j == job_of.map(|x| x.id))
            && activity.is_none_or(|x| x.is_some() && x == act.map(|x| x.id))
            && note.is_none_or(|n| n.is_some() && n == a.note.map(|n| org.notes[n as usize].id))
            && contact
                .is_none_or(|c| c.is_some() && c == a.contact.map(|c| org.contacts[c as usize].id))
            && category.is_none_or(|c| {
                c.is_some() && c == act.map(|x| org.categories[x.category as usize].0)
            })
            && employer.is_none_or(|e| {
                e.is_some() && e == job_of.map(|x| org.employers[x.employer as usize].id)
            })
    };
    Json(page(&org.actions_ix, &p, keep, |a| {
        org.action_json(&org.actions[a as usize])
    }))
    .into_response()
}

pub(super) async fn events(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    let member = oid_param(&q, "member_id");
    let job = oid_param(&q, "job_id");
    let kind = q.get("event_type").cloned();
    let keep = |ix: Ix| {
        let e = &org.events[ix as usize];
        member.is_none_or(|m| m == Some(org.people[e.member as usize].id))
            && job.is_none_or(|j| j == Some(org.jobs[e.job as usize].id))
            && kind.as_ref().is_none_or(|k| k == e.kind)
    };
    // Events ignore created_* filters: the endpoint never had them.
    let p = Paging {
        after: None,
        before: None,
        ..p
    };
    Json(page(&org.events_ix, &p, keep, |e| org.event_json(e))).into_response()
}
