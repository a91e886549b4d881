//! The built-in sandbox organization: a real HTTP server speaking the Org
//! API over a deterministic synthetic organization that lives through
//! simulated days. It is the default source of the demo, the tests and the
//! benchmarks (no real token exists on our machines).
//!
//! `org` is the model; `generate` builds it from a seed and `days` lives
//! one simulated day, both through the record changes of `people` and
//! `jobs`; `render` turns records into the API's JSON, `truth` into the
//! rows a sync must produce; `server` answers HTTP and `webhooks` delivers
//! actions; `quirks` has the untidy behaviours a test can turn on, and
//! `busy` makes a busy day on demand. This file starts and drives a
//! sandbox.

pub mod busy;
mod days;
pub mod documents;
pub mod employer_portal;
mod generate;
pub mod goals;
mod goals_json;
mod jobs;
pub mod org;
mod people;
pub mod portal;
mod portal_days;
mod portal_render;
mod quirks;
mod render;
pub mod roster;
mod roster_json;
pub mod server;
pub mod side;
mod side_json;
pub mod truth;
pub mod webhooks;

#[cfg(test)]
mod digest_tests;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use busy::{Busy, BusyDone};
pub use org::Org;
pub use server::{Shared, WriteLog};
pub use truth::Truth;

pub const DEFAULT_SEED: u64 = 42;
/// Members in the demo organization.
pub const DEFAULT_SCALE: u32 = 60;
pub const DEFAULT_TOKEN: &str = "sandbox-token";

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub seed: u64,
    /// Number of members; everything else grows with it.
    pub scale: u32,
    pub token: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub rps: Option<f64>,
    pub latency: Duration,
    /// Probability (0..1) that a read (GET) meets an injected fault.
    pub faults: f64,
    /// Probability (0..1) that a write (POST, PUT) meets a write fault.
    pub write_faults: f64,
    /// Deliver each simulated day's actions here, signed with the secret.
    pub webhook: Option<(String, Vec<u8>)>,
    /// A day's last this-many job changes arrive late (see `quirks.rs`).
    pub late_changes: u32,
    /// Activities completed and reopened in one second, per day.
    pub same_second_pairs: u32,
    /// Completed activities reopened per day (no `completedAt`, every
    /// other one's note emptied).
    pub reopened_activities: u32,
    /// Goal, document and employer portal actions before the sandbox
    /// clock (false: an organization that started using them later).
    pub goal_history: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: DEFAULT_SEED,
            scale: DEFAULT_SCALE,
            token: DEFAULT_TOKEN.into(),
            port: 0,
            rps: None,
            latency: Duration::ZERO,
            faults: 0.0,
            write_faults: 0.0,
            webhook: None,
            late_changes: 0,
            same_second_pairs: 0,
            reopened_activities: 0,
            goal_history: true,
        }
    }
}

/// A sandbox serving on loopback; stops when dropped.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    pub base_url: String,
    pub token: String,
    pub shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    pub async fn start(opts: SandboxOptions) -> std::io::Result<RunningSandbox> {
        let (seed, scale, history) = (opts.seed, opts.scale, opts.goal_history);
        let mut org = tokio::task::spawn_blocking(move || Org::generate_with(seed, scale, history))
            .await
            .map_err(std::io::Error::other)?;
        org.quirks.late_changes = opts.late_changes;
        org.quirks.same_second_pairs = opts.same_second_pairs;
        org.quirks.reopened_activities = opts.reopened_activities;
        let shared = Arc::new(Shared::new(
            org,
            opts.token.clone(),
            opts.rps,
            opts.latency,
            opts.faults,
            opts.write_faults,
        ));
        let (stop, rx) = oneshot::channel::<()>();
        let addr: SocketAddr = ([127, 0, 0, 1], opts.port).into();
        let (addr, handle) = server::serve(shared.clone(), addr, async {
            let _ = rx.await;
        })
        .await?;
        Ok(RunningSandbox {
            addr,
            base_url: format!("http://{addr}/org"),
            token: opts.token,
            shared,
            stop: Some(stop),
            handle: Some(handle),
        })
    }

    /// Lets `days` simulated days pass.
    pub fn advance_days(&self, days: u32) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        for _ in 0..days {
            org.advance_day();
        }
    }

    /// Lets one busy day pass: only what `busy` says happens (see
    /// [`Busy`]); the ordinary days are not affected.
    pub fn busy_day(&self, busy: Busy) -> BusyDone {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        org.busy_day(busy)
    }

    /// Delivers, oldest first, every action created since the last delivery
    /// (all of them the first time) to a webhook `url`, signed with `secret`
    /// as Huntr signs. Returns how many were accepted (answered 200).
    pub async fn deliver(&self, url: &str, secret: &[u8]) -> reqwest::Result<usize> {
        webhooks::deliver(&self.shared, url, secret).await
    }

    /// [`deliver`](Self::deliver), newest first: the order a receiver
    /// must not depend on.
    pub async fn deliver_newest_first(&self, url: &str, secret: &[u8]) -> reqwest::Result<usize> {
        webhooks::deliver_in(&self.shared, url, secret, true).await
    }

    /// Counts every existing action as delivered: the next delivery sends
    /// only what happens from now on.
    pub fn skip_undelivered(&self) {
        let n = self
            .shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .actions
            .len();
        *self
            .shared
            .delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = n;
    }

    pub fn set_faults(&self, p: f64) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// How often a write (POST, PUT) meets a write fault.
    pub fn set_write_faults(&self, p: f64) {
        *self
            .shared
            .write_faults
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// What the API's writes did since start.
    pub fn writes(&self) -> WriteLog {
        self.shared
            .writes
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// Makes every request to `endpoint` (e.g. "activities") answer 503;
    /// `None` ends the outage.
    pub fn set_outage(&self, endpoint: Option<&str>) {
        *self.shared.outage.lock().unwrap_or_else(|e| e.into_inner()) = endpoint.map(str::to_owned);
    }

    pub fn set_drift(&self, on: bool) {
        self.shared
            .org
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drift = on;
    }

    /// The current state of every resource, for comparison.
    pub fn truth(&self) -> Truth {
        Truth::of(&self.shared.org.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    pub fn throttled(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Requests per endpoint since start.
    pub fn requests_by_endpoint(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared
            .by_endpoint
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
