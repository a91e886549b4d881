//! The sandbox's HTTP face: the Org API as documented (Bearer auth, `limit`
//! validation, newest-first `next` cursors, filters, the documented error
//! JSON), plus what a test needs from a hostile world: a token bucket
//! answering 429 with `Retry-After`, added latency, injected faults, and
//! control endpoints under `/_sandbox/`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use serde_json::{json, Value};

use crate::org::{Index, Ix, Oid, Org};

/// Everything the handlers share.
pub struct Shared {
    pub org: RwLock<Org>,
    pub token: String,
    pub limiter: Option<DefaultDirectRateLimiter>,
    pub latency: Duration,
    /// Probability (0..1) that a request meets an injected fault.
    pub faults: Mutex<f64>,
    /// An endpoint (e.g. "activities") that answers 503 to every request.
    pub outage: Mutex<Option<String>>,
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
            outage: Mutex::new(None),
            webhook: Mutex::new(None),
            delivered: Mutex::new(0),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
            by_endpoint: Mutex::new(BTreeMap::new()),
        }
    }

    fn org(&self) -> std::sync::RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|e| e.into_inner())
    }
}

type St = State<Arc<Shared>>;

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
        .route("/members", get(members))
        .route("/members/{id}", get(member))
        .route("/member-fields", get(member_fields))
        .route("/board-templates", get(board_templates))
        .route("/organization-invitations", get(invitations))
        .route("/employers", get(employers))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
        .route("/activities", get(activities))
        .route("/activity-categories", get(categories))
        .route("/actions", get(actions))
        .route("/events", get(events))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "Not Found", None) })
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    let control = Router::new()
        .route("/advance", post(advance))
        .route("/stats", get(stats))
        .route("/faults", post(set_faults))
        .route("/outage", post(set_outage))
        .route("/drift", post(set_drift));
    Router::new()
        .nest("/org", org)
        .nest("/_sandbox", control)
        .with_state(shared)
}

#[derive(Clone, Copy)]
enum Fault {
    Status429,
    Status500,
    Status503,
    Reset,
    Truncated,
    InvalidJson,
    Slow,
}

/// Counting, latency, auth, rate limit and faults, in that order.
async fn gate(State(s): St, req: Request, next: Next) -> Response {
    s.requests.fetch_add(1, Ordering::Relaxed);
    // Nested under /org, the path here is relative: "/jobs/<id>".
    let path = req
        .uri()
        .path()
        .trim_start_matches("/org")
        .trim_start_matches('/');
    let resource = path.split('/').next().unwrap_or("").to_owned();
    if let Ok(mut m) = s.by_endpoint.lock() {
        let key = if path.contains('/') {
            format!("{resource}/<id>")
        } else {
            resource.clone()
        };
        *m.entry(key).or_default() += 1;
    }
    let outage = s
        .outage
        .lock()
        .map(|o| o.as_deref() == Some(resource.as_str()))
        .unwrap_or(false);
    if !s.latency.is_zero() {
        tokio::time::sleep(s.latency).await;
    }
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(s.org().now.max(0) as u64));
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == s.token);
    let mut resp = if !authorized {
        api_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid or missing access token",
            None,
        )
    } else if let Some(wait) = s.limiter.as_ref().and_then(|l| l.check().err()) {
        s.throttled.fetch_add(1, Ordering::Relaxed);
        let secs = wait
            .wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
            .as_secs_f64()
            .ceil()
            .max(1.0);
        let mut r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", None);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs as u64));
        r
    } else if outage {
        let mut r = api_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
        r
    } else {
        let p = *s.faults.lock().unwrap_or_else(|e| e.into_inner());
        let fault = (p > 0.0 && rand::rng().random_bool(p.min(1.0))).then(|| {
            [
                Fault::Status429,
                Fault::Status500,
                Fault::Status503,
                Fault::Reset,
                Fault::Truncated,
                Fault::InvalidJson,
                Fault::Slow,
            ][rand::rng().random_range(0..7)]
        });
        if fault.is_some() {
            s.faulted.fetch_add(1, Ordering::Relaxed);
        }
        match fault {
            Some(Fault::Status429) => {
                let mut r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", None);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Some(Fault::Status500) => api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                None,
            ),
            Some(Fault::Status503) => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<html><body>503 Service Unavailable</body></html>",
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
                r
            }
            Some(Fault::Reset) => {
                let stream = futures_util::stream::once(async {
                    Err::<Bytes, std::io::Error>(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected reset",
                    ))
                });
                Response::new(Body::from_stream(stream))
            }
            Some(f @ (Fault::Truncated | Fault::InvalidJson)) => {
                let resp = next.run(req).await;
                let (parts, body) = resp.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let cut = bytes.slice(..bytes.len() / 2);
                if let Fault::InvalidJson = f {
                    Response::from_parts(parts, Body::from(cut))
                } else {
                    // Promise the full length, send half, then fail.
                    let stream = futures_util::stream::iter(vec![
                        Ok(cut),
                        Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "injected truncation",
                        )),
                    ]);
                    let mut r = Response::from_parts(parts, Body::from_stream(stream));
                    r.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                    r
                }
            }
            Some(Fault::Slow) => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                next.run(req).await
            }
            None => next.run(req).await,
        }
    };
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}

type Params = Query<HashMap<String, String>>;

/// Validated paging parameters.
struct Paging {
    limit: usize,
    next: Option<Oid>,
    after: Option<i64>,
    before: Option<i64>,
}

#[allow(clippy::result_large_err)]
fn paging(q: &HashMap<String, String>) -> Result<Paging, Response> {
    let limit = match q.get("limit") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => n as usize,
            _ => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "Limit must be an integer under 500",
                    Some(("limit", v, "query")),
                ))
            }
        },
    };
    let next = match q.get("next") {
        None => None,
        Some(v) => match Oid::parse(v) {
            Some(o) => Some(o),
            None => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid value",
                    Some(("next", v, "query")),
                ))
            }
        },
    };
    let ts = |name: &str| -> Result<Option<i64>, Response> {
        match q.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                api_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid value",
                    Some((name, v, "query")),
                )
            }),
        }
    };
    Ok(Paging {
        limit,
        next,
        after: ts("created_after")?,
        before: ts("created_before")?,
    })
}

/// One newest-first page of `index`. On the last page `next` is sometimes
/// null and sometimes set (the request after it answers an empty page),
/// as the real API does.
fn page(
    index: &Index,
    p: &Paging,
    keep: impl Fn(Ix) -> bool,
    render: impl Fn(Ix) -> Value,
) -> Value {
    let mut upper = p.next.unwrap_or(Oid(u32::MAX, u64::MAX));
    if let Some(b) = p.before {
        upper = upper.min(Oid::first_at(b));
    }
    let lower = p.after.map(|a| Oid::first_at(a + 1)).unwrap_or(Oid(0, 0));
    if upper <= lower {
        return json!({"data": [], "next": null});
    }
    let mut items = index.range(lower..upper).rev().filter(|(_, ix)| keep(**ix));
    let mut data = Vec::with_capacity(p.limit.min(500));
    let mut last = None;
    for (id, ix) in items.by_ref().take(p.limit) {
        data.push(render(*ix));
        last = Some(*id);
    }
    let more = items.next().is_some();
    let next = match last {
        Some(id) if more || id.1.is_multiple_of(2) => json!(id.hex()),
        _ => Value::Null,
    };
    json!({"data": data, "next": next})
}

fn oid_param(q: &HashMap<String, String>, name: &str) -> Option<Option<Oid>> {
    // Some(None): given but matching nothing.
    q.get(name).map(|v| Oid::parse(v))
}

macro_rules! paged {
    ($s:expr, $q:expr) => {
        match paging(&$q) {
            Ok(p) => p,
            Err(r) => return r,
        }
    };
}

async fn members(State(s): St, Query(q): Params) -> Response {
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

async fn member(State(s): St, Path(id): Path<String>) -> Response {
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

async fn job(State(s): St, Path(id): Path<String>) -> Response {
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

async fn member_fields(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.fields.len() as Ix)
        .map(|f| org.field_json(f))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn board_templates(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.templates.len() as Ix)
        .map(|t| org.template_json(t, true))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn invitations(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = org
        .invitations_ix
        .values()
        .rev()
        .map(|i| org.invitation_json(*i))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn categories(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.categories.len() as Ix)
        .map(|c| org.category_json(c))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn employers(State(s): St, Query(q): Params) -> Response {
    let p = paged!(s, q);
    let org = s.org();
    Json(page(
        &org.employers_ix,
        &p,
        |_| true,
        |e| org.employer_json(e, true),
    ))
    .into_response()
}

async fn jobs(State(s): St, Query(q): Params) -> Response {
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

async fn activities(State(s): St, Query(q): Params) -> Response {
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

async fn actions(State(s): St, Query(q): Params) -> Response {
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

async fn events(State(s): St, Query(q): Params) -> Response {
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

async fn advance(State(s): St, Query(q): Params) -> Response {
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

/// Signs and POSTs the actions not yet delivered, oldest first.
pub async fn deliver(s: &Shared, url: &str, secret: &[u8]) -> reqwest::Result<usize> {
    let bodies: Vec<Vec<u8>> = {
        let org = s.org();
        let mut delivered = s.delivered.lock().unwrap_or_else(|e| e.into_inner());
        let from = (*delivered).min(org.actions.len());
        let mut pending: Vec<&crate::org::Action> = org.actions[from..].iter().collect();
        pending.sort_by_key(|a| a.id);
        *delivered = org.actions.len();
        pending
            .iter()
            .map(|a| serde_json::to_vec(&org.action_json(a)).expect("JSON"))
            .collect()
    };
    let http = reqwest::Client::new();
    let mut accepted = 0;
    for body in bodies {
        let sig = huntr_protocol::signature::sign(secret, &body);
        let resp = http
            .post(url)
            .header(huntr_protocol::signature::SIGNATURE_HEADER, sig)
            .body(body)
            .send()
            .await?;
        if resp.status().is_success() {
            accepted += 1;
        }
    }
    Ok(accepted)
}

async fn stats(State(s): St) -> Response {
    let by = s.by_endpoint.lock().map(|m| m.clone()).unwrap_or_default();
    Json(json!({
        "requests": s.requests.load(Ordering::Relaxed),
        "throttled": s.throttled.load(Ordering::Relaxed),
        "faulted": s.faulted.load(Ordering::Relaxed),
        "by_endpoint": by,
    }))
    .into_response()
}

async fn set_faults(State(s): St, Query(q): Params) -> Response {
    let p: f64 = q
        .get("p")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    *s.faults.lock().unwrap_or_else(|e| e.into_inner()) = p;
    Json(json!({ "faults": p })).into_response()
}

async fn set_outage(State(s): St, Query(q): Params) -> Response {
    let endpoint = q.get("endpoint").filter(|e| !e.is_empty()).cloned();
    *s.outage.lock().unwrap_or_else(|e| e.into_inner()) = endpoint.clone();
    Json(json!({ "outage": endpoint })).into_response()
}

async fn set_drift(State(s): St, Query(q): Params) -> Response {
    let on = q.get("on").map(|v| v == "true").unwrap_or(true);
    s.org.write().unwrap_or_else(|e| e.into_inner()).drift = on;
    Json(json!({ "drift": on })).into_response()
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
