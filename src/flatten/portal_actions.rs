//! The change capture of job post and candidate actions: which job
//! post or candidate an action names, and what JOB_POST_* and
//! BULK_JOB_POST_UPDATED do to `job_posts` under the rules of the other
//! action snapshots (`actions`): a created post is a partial row, an
//! update a dated change that loses to newer listings, a deletion a
//! tombstone. CANDIDATE_* actions carry a candidate snapshot; which
//! candidates are read again because of them is the sync's business.

use huntr_protocol::ActionType;

use super::portal::{candidate, job_post};
use super::{nested, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{action_job_posts, actions, job_posts};

/// Sets the action row's `job_post_id` (from `jobPostId`, else the
/// embedded post's id).
pub(super) fn link(obj: &Obj, row: &mut Row) {
    let id =
        str_of(obj, "jobPostId").or_else(|| nested(obj, "jobPost").and_then(|p| str_of(p, "id")));
    if let Some(id) = id {
        row.set(actions::JOB_POST_ID, text(id));
    }
}

/// What a job post or candidate action changes.
pub(super) fn capture(obj: &Obj, id: &str, action_type: &ActionType, date: i64, out: &mut Out) {
    bulk_ids(obj, id, out);
    if let Some(c) = nested(obj, "candidate") {
        candidate(c, Mode::Partial, 0, out);
    }
    match action_type {
        ActionType::JobPostCreated | ActionType::JobPostUpdated => {
            let Some(p) = nested(obj, "jobPost") else {
                return;
            };
            let update = *action_type == ActionType::JobPostUpdated;
            let mode = if update { Mode::Update } else { Mode::Partial };
            let mut rest = Vec::new();
            if let Some(mut row) = job_post(p, mode, date, &mut out.to(&mut rest)) {
                if update {
                    row.set(job_posts::AS_OF_ID, text(id));
                }
                out.push(Op::Upsert(row));
            }
        }
        ActionType::JobPostDeleted => {
            let post = str_of(obj, "jobPostId")
                .or_else(|| nested(obj, "jobPost").and_then(|p| str_of(p, "id")));
            if let Some(post) = post {
                out.push(Op::Delete {
                    table: job_posts::TABLE,
                    id: post,
                    at: date,
                });
            }
        }
        ActionType::BulkJobPostUpdated => bulk_update(obj, id, date, out),
        _ => {}
    }
}

fn ids_of(obj: &Obj) -> Vec<String> {
    match obj.get("jobPostIds") {
        Some(Node::Arr(items)) => items
            .iter()
            .filter_map(|i| match i {
                Node::Str(s) if !s.is_empty() => Some(s.to_string()),
                Node::Obj(o) => str_of(o, "id"),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `action_job_posts` rows for the `jobPostIds` an action names.
fn bulk_ids(obj: &Obj, action_id: &str, out: &mut Out) {
    for (i, post) in ids_of(obj).into_iter().enumerate() {
        let mut row = Row::new(action_job_posts::TABLE, Mode::Full, 0);
        row.set(action_job_posts::ACTION_ID, text(action_id))
            .set(action_job_posts::POSITION, Val::Int(i as i64))
            .set(action_job_posts::JOB_POST_ID, text(post));
        out.push(Op::Upsert(row));
    }
}

/// BULK_JOB_POST_UPDATED: the `update` entry, where it names job post
/// fields, is a dated change of every post in `jobPostIds`.
fn bulk_update(obj: &Obj, action_id: &str, date: i64, out: &mut Out) {
    let Some(update) = nested(obj, "update") else {
        return;
    };
    for post in ids_of(obj) {
        let mut row = super::record(job_posts::TABLE, update, Mode::Update, date);
        // The entry's own unknown fields are the action's (`update_json`).
        row.set(job_posts::EXTRA, Val::Null);
        let changes = row.vals.iter().any(|v| !v.is_null());
        if !changes {
            continue;
        }
        row.set(job_posts::ID, text(post))
            .set(job_posts::AS_OF_ID, text(action_id));
        out.push(Op::Upsert(row));
    }
}
