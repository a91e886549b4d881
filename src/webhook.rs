//! The webhook receiver: Huntr POSTs every action as it happens; each one
//! is verified and applied to the destination with the same rules as a
//! sync, so the tables stay minutes fresh between nightly runs.
//!
//! - Verification: `x-huntr-hmac-sha256` must be the standard base64 of
//!   HMAC-SHA256 over the raw body, keyed with the webhook secret; the
//!   comparison is constant-time. Anything else gets 401 and writes nothing.
//! - Application: the action is flattened exactly as a synced one (its row,
//!   children, notes, contacts, activity snapshots, deletions, people) and
//!   the jobs it names are queued for the next sync to re-read.
//! - Durability: the store's single writer (the one a sync uses)
//!   group-commits queued actions with `synchronous=FULL`; an answer of 200
//!   means the action is on disk. A destination error answers 500 (Huntr
//!   retries); a full queue answers 503 rather than letting memory grow.
//! - Redelivery is harmless: every write is an upsert by key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::flatten;
use crate::resources::Resource;
use crate::store::writer::{self, Refused, Writer, WriterConfig, WriterThread};
use crate::store::{RunEnd, RunId, RunStatus, Store};
use crate::timefmt::now_unix;

pub use huntr_protocol::signature::{sign, verify, SIGNATURE_HEADER};

#[derive(Clone)]
struct AppState {
    secret: Arc<Vec<u8>>,
    writer: Writer,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The SQLite file written (a Parquet destination's state file).
    pub db: PathBuf,
    pub secret: Vec<u8>,
    /// Deliveries that may wait for the writer before 503s begin.
    pub queue: usize,
    /// Actions committed together at most.
    pub batch: usize,
}

fn reject(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // HeaderMap lookups ignore case, as the header name must.
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return reject(
            StatusCode::UNAUTHORIZED,
            "missing x-huntr-hmac-sha256 signature",
        );
    };
    if !verify(&s.secret, &body, signature) {
        return reject(
            StatusCode::UNAUTHORIZED,
            "signature does not match the body",
        );
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return reject(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
    };
    let is_action = value
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty())
        && value.get("actionType").and_then(Value::as_str).is_some();
    if !is_action {
        return reject(
            StatusCode::BAD_REQUEST,
            "body is not an Action: it needs an `id` and an `actionType`",
        );
    }
    let mut ops = Vec::new();
    flatten::flatten(Resource::Actions, &value, now_unix(), &mut ops);
    let landed = match s.writer.try_apply_acked(ops) {
        Ok(landed) => landed,
        Err(Refused::Busy) => {
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "receiver is busy; retry later",
            )
        }
        Err(Refused::Gone) => {
            return reject(StatusCode::SERVICE_UNAVAILABLE, "receiver is shutting down")
        }
    };
    match landed.await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "stored": value["id"] }))).into_response(),
        Ok(Err(e)) => reject(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("not stored: {e}"),
        ),
        Err(_) => reject(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not stored: the writer stopped",
        ),
    }
}

/// Records the receiver's session as a run when the writer has stopped.
fn finish(thread: WriterThread, run_id: RunId) {
    let (mut store, err) = thread.join();
    let end = RunEnd {
        finished: now_unix(),
        window_end: None,
        status: RunStatus::Webhook,
        requests: 0,
        retries: 0,
        error: err.map(|e| e.to_string()),
    };
    if let Err(e) = store.finish_run(run_id, &end) {
        tracing::warn!("webhook receiver: {e}");
    }
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    writer: Option<(WriterThread, RunId)>,
}

impl Receiver {
    /// Binds, opens the destination and starts serving.
    pub async fn start(opts: ServeOptions) -> anyhow::Result<Receiver> {
        let mut store = Store::open(&opts.db)?;
        store.set_durable()?;
        let run_id = store.begin_run(now_unix(), "webhook")?;
        let cfg = WriterConfig::receiver(run_id, opts.queue, opts.batch);
        let (writer, thread) = writer::spawn(store, cfg);
        let state = AppState {
            secret: Arc::new(opts.secret),
            writer,
        };
        let app = Router::new()
            .route("/", post(receive))
            .route("/webhook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("webhook server stopped: {e}");
            }
        });
        Ok(Receiver {
            addr,
            stop: Some(stop),
            server,
            writer: Some((thread, run_id)),
        })
    }

    /// Stops accepting, lets in-flight deliveries commit, then returns.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), &mut self.server).await;
        // The router (and with it the queue's sender) is gone: the writer
        // drains what is queued and ends.
        if let Some((thread, run_id)) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || finish(thread, run_id)).await;
        }
    }
}
