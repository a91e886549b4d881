//! The sandbox's HTTP face: the Org API as documented (Bearer auth, `limit`
//! validation, newest-first `next` cursors, filters, the documented error
//! JSON), plus what a test needs from a hostile world: a token bucket
//! answering 429 with `Retry-After`, added latency, injected faults, and
//! control endpoints under `/_sandbox/`.
//!
//! This module holds what the handlers share, the routes and the server;
//! `gate.rs` is the middleware every API request goes through, `paging.rs`
//! and `listing.rs` answer the API's reads (`portal.rs` those of the job
//! and talent portals, `roster.rs` those of the roster), `writes.rs` its
//! writes (with their own faults, `write_faults.rs`), `control.rs` the
//! `/_sandbox/` endpoints (`missing.rs` the one that makes an endpoint
//! not served).

mod control;
mod gate;
mod listing;
mod missing;
mod paging;
mod portal;
mod roster;
mod write_faults;
mod writes;

#[cfg(test)]
mod field_write_tests;
#[cfg(test)]
mod listing_tests;
#[cfg(test)]
mod missing_tests;
#[cfg(test)]
mod roster_tests;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod write_fault_tests;
#[cfg(test)]
mod write_tests;

pub use write_faults::KINDS as WRITE_FAULT_KINDS;
pub use writes::WriteLog;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::org::Org;

/// Everything the handlers share.
pub struct Shared {
    pub org: RwLock<Org>,
    pub token: String,
    pub limiter: Option<DefaultDirectRateLimiter>,
    pub latency: Duration,
    /// Probability (0..1) that a read (GET) meets an injected fault.
    pub faults: Mutex<f64>,
    /// Probability (0..1) that a write (POST, PUT) meets a write fault.
    pub write_faults: Mutex<f64>,
    /// What the API's writes did, for tests.
    pub writes: Mutex<WriteLog>,
    /// An endpoint (e.g. "activities") that answers 503 to every request.
    pub outage: Mutex<Option<String>>,
    /// Endpoints (e.g. "notes/members") this organization's API does not
    /// serve, with the status they answer (404, 403): `/_sandbox/missing`.
    pub missing: Mutex<BTreeMap<String, u16>>,
    /// Where `/_sandbox/advance` delivers the day's actions, and the secret.
    pub webhook: Mutex<Option<(String, Vec<u8>)>>,
    /// Actions delivered so far (a prefix of `org.actions`).
    pub delivered: Mutex<usize>,
    pub requests: AtomicU64,
    /// 429s of the token bucket (not injected ones).
    pub throttled: AtomicU64,
    pub faulted: AtomicU64,
    pub by_endpoint: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    pub fn new(
        org: Org,
        token: String,
        rps: Option<f64>,
        latency: Duration,
        faults: f64,
        write_faults: f64,
    ) -> Shared {
        let limiter = rps.map(|r| {
            let period = Duration::from_secs_f64(1.0 / r.max(0.001));
            let burst = NonZeroU32::new((r.ceil() as u32).max(1)).expect("max(1)");
            RateLimiter::direct(
                Quota::with_period(period)
                    .expect("positive")
                    .allow_burst(burst),
            )
        });
        Shared {
            org: RwLock::new(org),
            token,
            limiter,
            latency,
            faults: Mutex::new(faults),
            write_faults: Mutex::new(write_faults),
            writes: Mutex::new(WriteLog::default()),
            outage: Mutex::new(None),
            missing: Mutex::new(BTreeMap::new()),
            webhook: Mutex::new(None),
            delivered: Mutex::new(0),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
            by_endpoint: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn org(&self) -> std::sync::RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|e| e.into_inner())
    }
}

type St = State<Arc<Shared>>;
/// A request's query parameters.
type Params = Query<HashMap<String, String>>;

/// An error answer in the documented format.
pub fn api_error(status: StatusCode, message: &str, param: Option<(&str, &str, &str)>) -> Response {
    let mut detail = json!({"message": message, "status": status.as_u16()});
    if let Some((p, v, loc)) = param {
        detail["param"] = json!(p);
        detail["value"] = json!(v);
        detail["location"] = json!(loc);
    }
    (
        status,
        Json(json!({"message": message, "error": detail, "errors": [detail]})),
    )
        .into_response()
}

pub fn router(shared: Arc<Shared>) -> Router {
    let org = Router::new()
        .route("/members", get(listing::members))
        .route("/members/{id}", get(listing::member))
        .route(
            "/members/{id}/member-fields/{field}",
            put(writes::put_field_value),
        )
        .route("/advisors", get(listing::advisors))
        .route(
            "/member-fields",
            get(listing::member_fields).post(writes::create_field),
        )
        .route("/board-templates", get(listing::board_templates))
        .route(
            "/organization-invitations",
            get(listing::invitations).post(writes::create_invitation),
        )
        .route("/employers", get(listing::employers))
        .route("/jobs", get(listing::jobs))
        .route("/jobs/{id}", get(listing::job))
        .route("/activities", get(listing::activities))
        .route("/activity-categories", get(listing::categories))
        .route("/actions", get(listing::actions))
        .route("/events", get(listing::events))
        // Goals.
        .route("/goals", get(crate::goals_json::list))
        .route("/goals/{id}", get(crate::goals_json::one))
        // Job and talent portals.
        .route("/job-posts", get(portal::job_posts))
        .route("/job-posts/{id}", get(portal::job_post))
        .route("/candidates", get(portal::candidates))
        .route("/candidates/{id}", get(portal::candidate))
        .route(
            "/candidates/{id}/action-metrics",
            get(portal::candidate_metrics),
        )
        .route("/member-groups", get(roster::member_groups))
        .route("/tags", get(roster::tags))
        .route("/notes/members", get(roster::member_notes))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "Not Found", None) })
        .layer(middleware::from_fn_with_state(shared.clone(), gate::gate));
    let control = Router::new()
        .route("/advance", post(control::advance))
        .route("/busy", post(control::busy))
        .route("/stats", get(control::stats))
        .route("/faults", post(control::set_faults))
        .route("/write_faults", post(control::set_write_faults))
        .route("/writes", get(control::writes))
        .route("/outage", post(control::set_outage))
        .route("/missing", post(missing::set_missing))
        .route("/drift", post(control::set_drift))
        .route("/quirks", post(control::set_quirks));
    Router::new()
        .nest("/org", org)
        .nest("/_sandbox", control)
        .with_state(shared)
}

/// Binds and serves until `shutdown` resolves.
pub async fn serve(
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(shared);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("sandbox server stopped: {e}");
        }
    });
    Ok((local, handle))
}
