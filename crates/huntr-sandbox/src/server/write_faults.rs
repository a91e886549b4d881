//! Faults for the API's writes (POST and PUT), apart from the read faults
//! of `gate.rs`: a client that writes must survive a write that failed
//! before it was applied, and, worse, one that was applied although the
//! client never saw it succeed (the connection dropped before the answer,
//! or a 500 came after the change). `POST /_sandbox/write_faults?p=P`
//! sets how often; each kind met is counted in the write log.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;

use super::{api_error, Shared};

/// A write's fault, drawn uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteFault {
    /// 500 before the write is applied.
    Status500,
    /// 503 (`Retry-After: 0`) before the write is applied.
    Status503,
    /// 429 (`Retry-After: 1`) before the write is applied.
    Status429,
    /// The connection is reset before the write is applied.
    Reset,
    /// The write is applied, then the connection drops before the answer.
    AppliedThenDropped,
    /// The write is applied, then the answer is a 500.
    AppliedThen500,
}

const ALL: [WriteFault; 6] = [
    WriteFault::Status500,
    WriteFault::Status503,
    WriteFault::Status429,
    WriteFault::Reset,
    WriteFault::AppliedThenDropped,
    WriteFault::AppliedThen500,
];

/// Every kind's name, as `GET /_sandbox/writes` counts them.
pub const KINDS: [&str; 6] = [
    "status_500",
    "status_503",
    "status_429",
    "reset",
    "applied_then_dropped",
    "applied_then_500",
];

impl WriteFault {
    pub(super) fn name(self) -> &'static str {
        KINDS[ALL.iter().position(|f| *f == self).expect("in ALL")]
    }
}

/// Whether this write meets a fault (with the write fault probability),
/// and which one; counted.
pub(super) fn draw(s: &Shared) -> Option<WriteFault> {
    let p = *s.write_faults.lock().unwrap_or_else(|e| e.into_inner());
    if p <= 0.0 || !rand::rng().random_bool(p.min(1.0)) {
        return None;
    }
    let fault = ALL[rand::rng().random_range(0..ALL.len())];
    s.log_write(|w| *w.write_faults.entry(fault.name()).or_default() += 1);
    Some(fault)
}

/// An answer whose body fails at once: the client sees the connection
/// drop before any answer.
pub(super) fn dropped(why: &'static str) -> Response {
    let stream = futures_util::stream::once(async move {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            why,
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn with_retry_after(mut r: Response, secs: &'static str) -> Response {
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
    r
}

fn status_500() -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        None,
    )
}

/// The write under `fault`: refused before it runs, or run and its answer
/// lost.
pub(super) async fn faulty_write(fault: WriteFault, req: Request, next: Next) -> Response {
    match fault {
        WriteFault::Status500 => status_500(),
        WriteFault::Status503 => with_retry_after(
            api_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None),
            "0",
        ),
        WriteFault::Status429 => with_retry_after(
            api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", None),
            "1",
        ),
        WriteFault::Reset => dropped("injected reset before the write"),
        WriteFault::AppliedThenDropped => {
            // The handler runs to the end (its change stays); only its
            // answer is lost.
            drop(next.run(req).await);
            dropped("injected drop after the write")
        }
        WriteFault::AppliedThen500 => {
            drop(next.run(req).await);
            status_500()
        }
    }
}
