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
//! - `GET /status` answers the status page of the destination
//!   (`crate::report`), read beside the writes.
//! - Watching: `GET /metrics` and `GET /healthz` (`crate::metrics::serve`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};

use crate::destination::Target;
use crate::flatten;
use crate::lifecycle::{Ending, Lifecycle};
use crate::metrics::serve::{Deliveries, Watched};
use crate::resources::Resource;
use crate::store::writer::{self, Refused, Writer, WriterConfig, WriterThread};
use crate::store::RunStatus;
use crate::timefmt::now_unix;

pub use huntr_protocol::signature::{sign, verify, SIGNATURE_HEADER};

#[derive(Clone)]
struct AppState {
    secret: Arc<Vec<u8>>,
    writer: Writer,
    /// Deliveries accepted, refused and stored so far (the publisher
    /// publishes when the stored count moved).
    deliveries: Arc<Deliveries>,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Where deliveries are written.
    pub target: Target,
    pub secret: Vec<u8>,
    /// Deliveries that may wait for the writer before 503s begin.
    pub queue: usize,
    /// Actions committed together at most.
    pub batch: usize,
    /// How often stored deliveries are published, at most (a destination
    /// other than SQLite; the SQLite file shows them at once).
    pub publish_every: Duration,
    /// The pipeline's name, for the labels of `/metrics`.
    pub pipeline: String,
}

impl ServeOptions {
    /// The defaults, receiving on `listen` into `target`.
    pub fn new(listen: SocketAddr, target: Target, secret: Vec<u8>) -> ServeOptions {
        let publish_every = target.publish_every();
        ServeOptions {
            listen,
            target,
            secret,
            queue: crate::defaults::WEBHOOK_QUEUE,
            batch: crate::defaults::WEBHOOK_BATCH,
            publish_every,
            pipeline: crate::defaults::PIPELINE_LABEL.to_owned(),
        }
    }
}

fn reject(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

/// Checks a delivery: signed by the secret and an Action; else the
/// answer's status and reason.
fn verified(s: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, (StatusCode, String)> {
    let refuse = |status, reason: &str| (status, reason.to_owned());
    // HeaderMap lookups ignore case, as the header name must.
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "missing x-huntr-hmac-sha256 signature",
        ));
    };
    if !verify(&s.secret, body, signature) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "signature does not match the body",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")))?;
    let is_action = value
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty())
        && value.get("actionType").and_then(Value::as_str).is_some();
    if !is_action {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "body is not an Action: it needs an `id` and an `actionType`",
        ));
    }
    Ok(value)
}

async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let value = match verified(&s, &headers, &body) {
        Ok(v) => v,
        Err((status, reason)) => {
            s.deliveries.refused.fetch_add(1, Ordering::Relaxed);
            return reject(status, &reason);
        }
    };
    let mut ops = Vec::new();
    flatten::flatten(Resource::Actions, &value, now_unix(), &mut ops);
    let landed = match s.writer.try_apply_acked(ops) {
        Ok(landed) => landed,
        Err(refused) => {
            s.deliveries.refused.fetch_add(1, Ordering::Relaxed);
            return refusal(refused);
        }
    };
    s.deliveries.accepted.fetch_add(1, Ordering::Relaxed);
    match landed.await {
        Ok(Ok(())) => {
            s.deliveries.stored.fetch_add(1, Ordering::Relaxed);
            (StatusCode::OK, Json(json!({ "stored": value["id"] }))).into_response()
        }
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

/// The answer to a delivery the writer's queue did not take.
fn refusal(refused: Refused) -> Response {
    match refused {
        Refused::Busy => reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "receiver is busy; retry later",
        ),
        Refused::Gone => reject(StatusCode::SERVICE_UNAVAILABLE, "receiver is shutting down"),
    }
}

/// Publishes what was stored, every `every` at most, while deliveries
/// arrive: each time the run is turned over (published, ended, the next
/// begun) on the writer thread. Ends when `stop` changes.
async fn publish_while_receiving(
    life: Arc<Lifecycle>,
    writer: Writer,
    stored: Arc<AtomicU64>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut published = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let now = stored.load(Ordering::Relaxed);
        if now == published {
            continue;
        }
        published = now;
        let turner = life.turner();
        match writer.turn(move |store| turner.turn(store, true)).await {
            Ok(Ok(run)) => tracing::debug!("webhook receiver: published; run {run} begun"),
            Ok(Err(e)) => tracing::error!("webhook receiver: {e}"),
            Err(_) => return,
        }
    }
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    publisher: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    writer: Option<(WriterThread, Arc<Lifecycle>)>,
}

impl Receiver {
    /// Takes the destination's lock, opens it and starts serving.
    pub async fn start(opts: ServeOptions) -> anyhow::Result<Receiver> {
        let (life, mut store) = Lifecycle::begin_receiving(&opts.target, "webhook").await?;
        store.set_durable()?;
        let cfg = WriterConfig::receiver(life.run_id(), opts.queue, opts.batch);
        let turner = life.turner();
        let restamp = Box::new(move |store: &mut _| turner.turn(store, false));
        let (writer, thread) = writer::spawn_receiver(store, cfg, restamp);
        let life = Arc::new(life);
        let deliveries = Arc::new(Deliveries::default());
        let stored = deliveries.stored.clone();
        let publisher = opts.target.publishes().then(|| {
            let (tx, rx) = watch::channel(false);
            let task = publish_while_receiving(
                life.clone(),
                writer.clone(),
                stored.clone(),
                opts.publish_every,
                rx,
            );
            (tx, tokio::spawn(task))
        });
        let watched = Watched {
            pipeline: opts.pipeline.clone(),
            state_db: opts.target.state_db().to_owned(),
            deliveries: deliveries.clone(),
            writer: writer.clone(),
        };
        let state = AppState {
            secret: Arc::new(opts.secret),
            writer,
            deliveries,
        };
        let db = opts.target.state_db().to_owned();
        let title = opts.target.describe();
        let status = move || crate::report::serve::status(db.clone(), title.clone());
        let app = Router::new()
            .route("/", post(receive))
            .route("/webhook", post(receive))
            .route("/status", get(status))
            .with_state(state)
            .merge(crate::metrics::serve::routes(watched));
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
            publisher,
            writer: Some((thread, life)),
        })
    }

    /// Stops accepting, lets in-flight deliveries commit, publishes them
    /// and records the session's last run.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), &mut self.server).await;
        if let Some((stop, task)) = self.publisher.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
        // The router and the publisher (and with them the queue's senders)
        // are gone: the writer drains what is queued and ends.
        let Some((thread, life)) = self.writer.take() else {
            return;
        };
        let (store, err) = match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(joined) => joined,
            Err(_) => return,
        };
        let Ok(life) = Arc::try_unwrap(life) else {
            tracing::warn!("webhook receiver: the run lifecycle is still shared");
            return;
        };
        let mut ending = Ending::quiet(RunStatus::Webhook);
        ending.error = err.map(|e| e.to_string());
        let ended = life.end(store, ending).await;
        if let Err(e) = ended.published {
            tracing::warn!("webhook receiver: publishing at shutdown failed: {e}");
        }
        if let Err(e) = ended.recorded {
            tracing::warn!("webhook receiver: {e}");
        }
    }
}
