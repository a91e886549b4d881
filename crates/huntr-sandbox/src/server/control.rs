//! The control endpoints under `/_sandbox/`: let simulated days pass
//! (delivering their actions to the webhook, if one is set) or a busy day,
//! read the request counters, set the fault probabilities (of reads and of
//! writes), an outage, drift, or the quirks of later days (late changes,
//! same-second pairs), and read what the API's writes did.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{Params, St};
use crate::busy::Busy;
use crate::webhooks::deliver;

pub(super) async fn advance(State(s): St, Query(q): Params) -> Response {
    let days: u32 = q
        .get("days")
        .and_then(|d| d.parse().ok())
        .unwrap_or(1)
        .clamp(1, 365);
    let (now, days_passed, total) = {
        let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
        let mut total: BTreeMap<&str, u32> = BTreeMap::new();
        for _ in 0..days {
            for (k, v) in org.advance_day() {
                *total.entry(k).or_default() += v;
            }
        }
        (org.now, org.days, total)
    };
    let hook = s.webhook.lock().map(|w| w.clone()).unwrap_or(None);
    let delivered = match hook {
        Some((url, secret)) => match deliver(&s, &url, &secret).await {
            Ok(n) => json!(n),
            Err(e) => json!(format!("delivery failed: {e}")),
        },
        None => Value::Null,
    };
    Json(json!({"now": now, "days": days_passed, "changes": total, "delivered": delivered}))
        .into_response()
}

/// `POST /_sandbox/busy?moves=N&unlisted_deletions=M`: one busy day (no
/// webhook delivery).
pub(super) async fn busy(State(s): St, Query(q): Params) -> Response {
    let n = |k: &str| q.get(k).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let busy = Busy {
        moves: n("moves"),
        unlisted_deletions: n("unlisted_deletions"),
    };
    let (now, done) = {
        let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
        let done = org.busy_day(busy);
        (org.now, done)
    };
    Json(json!({"now": now, "moved": done.moved, "deleted": done.deleted})).into_response()
}

pub(super) async fn stats(State(s): St) -> Response {
    let by = s.by_endpoint.lock().map(|m| m.clone()).unwrap_or_default();
    Json(json!({
        "requests": s.requests.load(Ordering::Relaxed),
        "throttled": s.throttled.load(Ordering::Relaxed),
        "faulted": s.faulted.load(Ordering::Relaxed),
        "by_endpoint": by,
    }))
    .into_response()
}

pub(super) async fn set_faults(State(s): St, Query(q): Params) -> Response {
    let p: f64 = q
        .get("p")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    *s.faults.lock().unwrap_or_else(|e| e.into_inner()) = p;
    Json(json!({ "faults": p })).into_response()
}

/// `POST /_sandbox/write_faults?p=P`: how often a write meets a fault.
pub(super) async fn set_write_faults(State(s): St, Query(q): Params) -> Response {
    let p: f64 = q
        .get("p")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|p| !p.is_nan())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    *s.write_faults.lock().unwrap_or_else(|e| e.into_inner()) = p;
    Json(json!({ "write_faults": p })).into_response()
}

/// `GET /_sandbox/writes`: the write log (see [`super::WriteLog`]).
pub(super) async fn writes(State(s): St) -> Response {
    let log = s.writes.lock().unwrap_or_else(|e| e.into_inner()).to_json();
    Json(log).into_response()
}

pub(super) async fn set_outage(State(s): St, Query(q): Params) -> Response {
    let endpoint = q.get("endpoint").filter(|e| !e.is_empty()).cloned();
    *s.outage.lock().unwrap_or_else(|e| e.into_inner()) = endpoint.clone();
    Json(json!({ "outage": endpoint })).into_response()
}

pub(super) async fn set_drift(State(s): St, Query(q): Params) -> Response {
    let on = q.get("on").map(|v| v == "true").unwrap_or(true);
    s.org.write().unwrap_or_else(|e| e.into_inner()).drift = on;
    Json(json!({ "drift": on })).into_response()
}

/// `?late_changes=N&same_second_pairs=M&reopened_activities=K`: any of
/// them, for the days to come; answers the values in force.
pub(super) async fn set_quirks(State(s): St, Query(q): Params) -> Response {
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let number = |k: &str| q.get(k).and_then(|v| v.parse::<u32>().ok());
    if let Some(n) = number("late_changes") {
        org.quirks.late_changes = n.min(10_000);
    }
    if let Some(n) = number("same_second_pairs") {
        org.quirks.same_second_pairs = n.min(10_000);
    }
    if let Some(n) = number("reopened_activities") {
        org.quirks.reopened_activities = n.min(10_000);
    }
    // Members deleted a day (MEMBER_DELETED, roster.rs).
    if let Some(n) = number("member_deletions") {
        org.roster.member_deletions = n.min(100);
    }
    let q = &org.quirks;
    let answer = json!({
        "late_changes": q.late_changes,
        "same_second_pairs": q.same_second_pairs,
        "reopened_activities": q.reopened_activities,
    });
    drop(org);
    Json(answer).into_response()
}
