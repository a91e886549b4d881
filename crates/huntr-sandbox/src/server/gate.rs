//! The middleware every API request goes through, in this order: counting
//! (total and per endpoint), added latency, the `Date` header from the
//! sandbox clock, Bearer auth, the token bucket (429 with `Retry-After`),
//! an endpoint's outage (503), then injected faults: for reads (GET),
//! error statuses, resets, truncated or invalid bodies, slow answers; for
//! writes (POST, PUT), the write faults of `write_faults.rs`, drawn with
//! their own probability. Drift is not here: the rendering shows it.

use std::sync::atomic::Ordering;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::write_faults::{draw as draw_write_fault, dropped, faulty_write};
use super::{api_error, missing, Shared, St};

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
pub(super) async fn gate(State(s): St, req: Request, next: Next) -> Response {
    s.requests.fetch_add(1, Ordering::Relaxed);
    let write = is_write(req.method());
    let resource = count_endpoint(&s, req.uri().path(), req.method());
    let outage = s
        .outage
        .lock()
        .map(|o| o.as_deref() == Some(resource.as_str()))
        .unwrap_or(false);
    if !s.latency.is_zero() {
        tokio::time::sleep(s.latency).await;
    }
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(s.org().now.max(0) as u64));
    let mut resp = if !authorized(&s, &req) {
        api_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid or missing access token",
            None,
        )
    } else if let Some(r) = throttled(&s) {
        r
    } else if let Some(status) = missing::status(&s, req.uri().path()) {
        missing::not_served(status)
    } else if outage {
        with_retry_after(
            api_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None),
            HeaderValue::from_static("0"),
        )
    } else if write {
        match draw_write_fault(&s) {
            Some(f) => faulty_write(f, req, next).await,
            None => next.run(req).await,
        }
    } else {
        match draw_fault(&s) {
            Some(f) => faulty(f, req, next).await,
            None => next.run(req).await,
        }
    };
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}

/// Whether a request writes (and meets write faults, not read faults).
fn is_write(m: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(m)
}

/// Counts a request to `path` for its endpoint ("jobs", "jobs/<id>"; a
/// write's with its method: "POST organization-invitations") and returns
/// its resource ("jobs").
fn count_endpoint(s: &Shared, path: &str, method: &Method) -> String {
    // Nested under /org, the path here is relative: "/jobs/<id>".
    let path = match path.strip_prefix("/org") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let path = path.trim_start_matches('/');
    let resource = path.split('/').next().unwrap_or("").to_owned();
    if let Ok(mut m) = s.by_endpoint.lock() {
        let mut key = if path.contains('/') {
            format!("{resource}/<id>")
        } else {
            resource.clone()
        };
        if is_write(method) {
            key = format!("{method} {key}");
        }
        *m.entry(key).or_default() += 1;
    }
    resource
}

fn authorized(s: &Shared, req: &Request) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == s.token)
}

fn with_retry_after(mut r: Response, value: HeaderValue) -> Response {
    r.headers_mut().insert(header::RETRY_AFTER, value);
    r
}

/// The token bucket's 429, saying how long to wait, when it is empty.
fn throttled(s: &Shared) -> Option<Response> {
    let wait = s.limiter.as_ref().and_then(|l| l.check().err())?;
    s.throttled.fetch_add(1, Ordering::Relaxed);
    let secs = wait
        .wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ))
        .as_secs_f64()
        .ceil()
        .max(1.0);
    let r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", None);
    Some(with_retry_after(r, HeaderValue::from(secs as u64)))
}

/// Whether this request meets a fault (with the current probability), and
/// which one.
fn draw_fault(s: &Shared) -> Option<Fault> {
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
    fault
}

async fn faulty(fault: Fault, req: Request, next: Next) -> Response {
    match fault {
        Fault::Status429 => with_retry_after(
            api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", None),
            HeaderValue::from_static("1"),
        ),
        Fault::Status500 => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            None,
        ),
        Fault::Status503 => with_retry_after(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "<html><body>503 Service Unavailable</body></html>",
            )
                .into_response(),
            HeaderValue::from_static("0"),
        ),
        Fault::Reset => dropped("injected reset"),
        Fault::Truncated => truncated(next.run(req).await, false).await,
        Fault::InvalidJson => truncated(next.run(req).await, true).await,
        Fault::Slow => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            next.run(req).await
        }
    }
}

/// Half of `resp`'s body: sent as is (`invalid_json`), or promising the
/// full length, then failing.
async fn truncated(resp: Response, invalid_json: bool) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    if invalid_json {
        return Response::from_parts(parts, Body::from(cut));
    }
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
