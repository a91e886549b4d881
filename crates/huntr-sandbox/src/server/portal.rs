//! The GET handlers of the job and talent portals: `/job-posts`
//! (paged, no filter but the cursor), `/job-posts/<id>`, `/candidates`
//! (paged; `email` and `memberId` filters), `/candidates/<id>` and
//! `/candidates/<id>/action-metrics`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::paging::{page, paging};
use super::{api_error, Params, St};
use crate::org::Oid;

pub(super) async fn job_posts(State(s): St, Query(q): Params) -> Response {
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = s.org();
    let index = &org.portal.posts_ix;
    Json(page(
        index,
        &p,
        |_| true,
        |ix| org.job_post_json(ix as usize),
    ))
    .into_response()
}

pub(super) async fn job_post(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    match Oid::parse(&id).and_then(|o| org.portal.posts_ix.get(&o)) {
        Some(ix) => Json(org.job_post_json(*ix as usize)).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "Job post not found",
            Some(("id", &id, "params")),
        ),
    }
}

pub(super) async fn candidates(State(s): St, Query(q): Params) -> Response {
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (email, member) = (q.get("email").cloned(), q.get("memberId").cloned());
    let org = s.org();
    let keep = |ix: u32| {
        let c = &org.portal.candidates[ix as usize];
        let person = &org.people[c.member as usize];
        email
            .as_ref()
            .is_none_or(|e| person.email.eq_ignore_ascii_case(e))
            && member.as_ref().is_none_or(|m| *m == person.id.hex())
    };
    let index = &org.portal.candidates_ix;
    Json(page(index, &p, keep, |ix| {
        org.candidate_lean_json(ix as usize)
    }))
    .into_response()
}

fn candidate_ix(org: &crate::org::Org, id: &str) -> Option<usize> {
    Oid::parse(id)
        .and_then(|o| org.portal.candidates_ix.get(&o))
        .map(|ix| *ix as usize)
}

fn no_candidate(id: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "Candidate not found",
        Some(("id", id, "params")),
    )
}

pub(super) async fn candidate(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    match candidate_ix(&org, &id) {
        Some(c) => Json(org.candidate_json(c)).into_response(),
        None => no_candidate(&id),
    }
}

pub(super) async fn candidate_metrics(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    match candidate_ix(&org, &id) {
        Some(c) => Json(org.candidate_metrics_json(c)).into_response(),
        None => no_candidate(&id),
    }
}
