//! `GET /metrics` and `GET /healthz` of `webhook serve`: the run and store
//! families (read from the state database at each scrape, without
//! writing) plus the receiver's own: deliveries accepted, refused and
//! stored, the queue's depth and whether its writer is alive.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::encode::{render, Family};
use super::families::{families, RunFacts, StoreFacts};
use crate::store::writer::Writer;
use crate::store::{Store, StoreError};
use crate::timefmt::now_unix;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Deliveries by what became of them.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Verified and queued for the writer.
    pub accepted: AtomicU64,
    /// Answered 4xx or 503 (bad signature, not an action, busy).
    pub refused: AtomicU64,
    /// Committed to the state database.
    pub stored: Arc<AtomicU64>,
}

/// What the endpoints look at.
#[derive(Clone)]
pub struct Watched {
    pub pipeline: String,
    pub state_db: PathBuf,
    pub deliveries: Arc<Deliveries>,
    pub writer: Writer,
}

/// The two routes, with their state.
pub fn routes(watched: Watched) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(watched)
}

async fn healthz(State(w): State<Watched>) -> Response {
    if w.writer.is_alive() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "the writer stopped\n").into_response()
    }
}

async fn metrics(State(w): State<Watched>) -> Response {
    let db = w.state_db.clone();
    let read = tokio::task::spawn_blocking(move || read_store(&db)).await;
    let (run, store) = match read {
        Ok(Ok(facts)) => facts,
        Ok(Err(e)) => {
            tracing::warn!("/metrics: {e}");
            Default::default()
        }
        Err(_) => Default::default(),
    };
    let mut all = families(&w.pipeline, now_unix(), run.as_ref(), &store);
    all.extend(receiver_families(&w));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&all)).into_response()
}

/// The newest run's facts and the store's, or nothing before the first.
fn read_store(db: &std::path::Path) -> Result<(Option<RunFacts>, StoreFacts), StoreError> {
    if !db.exists() {
        return Ok(Default::default());
    }
    let store = Store::open_read(db)?;
    let run = store.ended_runs(1)?.first().map(RunFacts::from_record);
    Ok((run, StoreFacts::read(&store)?))
}

fn receiver_families(w: &Watched) -> Vec<Family> {
    let p = ("pipeline", w.pipeline.as_str());
    let d = &w.deliveries;
    let mut deliveries = Family::counter(
        "huntr_sync_webhook_deliveries_total",
        "Webhook deliveries since the receiver started, by what became of them.",
    );
    for (outcome, n) in [
        ("accepted", &d.accepted),
        ("refused", &d.refused),
        ("stored", &*d.stored),
    ] {
        deliveries.add(&[p, ("outcome", outcome)], n.load(Ordering::Relaxed) as f64);
    }
    vec![
        deliveries,
        Family::gauge(
            "huntr_sync_webhook_queue_depth",
            "Deliveries waiting for the writer.",
        )
        .with(&[p], w.writer.queued() as f64),
        Family::gauge(
            "huntr_sync_webhook_writer_up",
            "1 while the receiver's writer is alive.",
        )
        .with(&[p], f64::from(u8::from(w.writer.is_alive()))),
    ]
}
