//! One writer per remote destination. The local lock (`store::lock`) only
//! sees runs on this machine that share a state directory, and two hosts
//! syncing into one bucket each have their own; so a run that writes a
//! destination in an object store also holds a lease in the destination
//! itself: the object `_huntr_sync/lease.json` under its prefix, naming
//! the holder (host, pid, a token of its own) and when the lease lapses.
//!
//! - Taken by creating the object only if it is absent (`PutMode::Create`,
//!   `If-None-Match: *` on S3).
//! - Renewed every third of its lifetime by replacing it only if it is
//!   still the version this run wrote (`PutMode::Update`, `If-Match`): a
//!   lease another run took over is never written again, and the run
//!   learns it lost it (and publishes nothing more).
//! - Taken over once it has lapsed (its holder was killed or cut off), by
//!   replacing it only if it is still the version read: of two runs racing
//!   for it, exactly one wins.
//! - Released at the end by deleting it if it is still ours. `object_store`
//!   has no conditional delete, so the lease is read first, and left to
//!   lapse instead when it is not ours or close to lapsing (only then could
//!   another run replace it between the read and the delete).
//!
//! A lease has lapsed when the reader's clock is past the time the holder
//! wrote: hosts must keep their clocks roughly right (NTP does); the
//! lifetime (`defaults::LEASE_TTL`) dwarfs their drift.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::storage::explain;
use super::Claim;
use crate::defaults;
use crate::store::lock::{holder, host_name};
use crate::store::LockError;
use crate::timefmt::iso;

/// Where the lease is, under the destination's prefix.
pub const LEASE: &str = "_huntr_sync/lease.json";

/// Times a run looks again when the lease changed while it tried to take it.
const ATTEMPTS: usize = 5;

/// Milliseconds since the epoch; tests bring a clock of their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How a lease is taken: for how long, by whom, by which clock.
#[derive(Clone)]
pub struct Terms {
    pub ttl: Duration,
    /// The holder's purpose, before its pid (as the local lock says it).
    pub what: String,
    pub clock: Clock,
}

impl Terms {
    /// The default lifetime, or [`defaults::LEASE_TTL_ENV`]'s.
    pub fn new(what: &str) -> Terms {
        Terms {
            ttl: ttl_from_env(),
            what: what.to_owned(),
            clock: Arc::new(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64)
            }),
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn ttl_ms(&self) -> i64 {
        self.ttl.as_millis() as i64
    }
}

fn ttl_from_env() -> Duration {
    let Ok(text) = std::env::var(defaults::LEASE_TTL_ENV) else {
        return defaults::LEASE_TTL;
    };
    match text.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Duration::from_secs(secs),
        _ => {
            tracing::warn!(
                "{}={text:?} is not a number of seconds; the lease lasts {}s",
                defaults::LEASE_TTL_ENV,
                defaults::LEASE_TTL.as_secs()
            );
            defaults::LEASE_TTL
        }
    }
}

/// What the lease object holds (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    /// As the local lock names its holder: purpose, pid, host, start.
    holder: String,
    host: String,
    pid: u32,
    /// The holding run's own: a lease with another token is not ours.
    token: String,
    acquired_at: String,
    expires_at: String,
    /// When it lapses, in milliseconds since the epoch (what is compared).
    expires_ms: i64,
}

impl Record {
    fn ours(terms: &Terms) -> Record {
        use rand::{Rng, SeedableRng};
        let now = terms.now();
        let token = rand::rngs::StdRng::from_os_rng().random::<u128>();
        Record {
            holder: holder(&terms.what, now / 1000),
            host: host_name(),
            pid: std::process::id(),
            token: format!("{token:032x}"),
            acquired_at: iso(now / 1000),
            expires_at: String::new(),
            expires_ms: 0,
        }
        .lasting(terms)
    }

    /// The same, lapsing a lifetime from now.
    fn lasting(mut self, terms: &Terms) -> Record {
        self.expires_ms = terms.now() + terms.ttl_ms();
        self.expires_at = iso(self.expires_ms.div_euclid(1000));
        self
    }

    /// A lease that cannot be read: it lapses a lifetime after it was
    /// last written.
    fn unreadable(modified_ms: i64, terms: &Terms) -> Record {
        let expires_ms = modified_ms + terms.ttl_ms();
        Record {
            holder: "a holder whose lease cannot be read".into(),
            host: String::new(),
            pid: 0,
            token: String::new(),
            acquired_at: String::new(),
            expires_at: iso(expires_ms.div_euclid(1000)),
            expires_ms,
        }
    }
}

/// The lease object and how messages name it.
#[derive(Clone)]
pub struct Spot {
    pub store: Arc<dyn ObjectStore>,
    pub key: Key,
    /// Its URL, for messages.
    pub name: String,
}

impl Spot {
    fn error(&self, what: &str, e: &object_store::Error) -> LockError {
        LockError::Remote(format!(
            "cannot {what} the lease {}: {}",
            self.name,
            explain(e)
        ))
    }

    async fn put(
        &self,
        record: &Record,
        mode: PutMode,
    ) -> object_store::Result<object_store::PutResult> {
        let bytes = serde_json::to_vec_pretty(record).expect("a lease serializes");
        let opts = PutOptions::from(mode);
        self.store.put_opts(&self.key, bytes.into(), opts).await
    }

    /// The lease and its version, if there is one.
    async fn read(&self, terms: &Terms) -> Result<Option<(Record, UpdateVersion)>, LockError> {
        let got = match self.store.get(&self.key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("read", &e)),
        };
        let version = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let modified = got.meta.last_modified.timestamp_millis();
        let bytes = got.bytes().await.map_err(|e| self.error("read", &e))?;
        let record =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Record::unreadable(modified, terms));
        Ok(Some((record, version)))
    }

    /// The refusal naming the holder of a live lease.
    fn held(&self, theirs: &Record) -> LockError {
        LockError::Held {
            holder: theirs.holder.clone(),
            place: format!("lease {}, valid until {}", self.name, theirs.expires_at),
        }
    }
}

/// Takes the lease at `spot`, or names who holds it (`LockError::Held`).
pub async fn take(spot: Spot, terms: Terms) -> Result<Lease, LockError> {
    let mut ours = Record::ours(&terms);
    for _ in 0..ATTEMPTS {
        ours = ours.lasting(&terms);
        match spot.put(&ours, PutMode::Create).await {
            Ok(put) => return Ok(Lease::hold(spot, terms, ours, put.into())),
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(spot.error("create", &e)),
        }
        let Some((theirs, version)) = spot.read(&terms).await? else {
            continue; // released meanwhile
        };
        if theirs.token == ours.token {
            // Our create was retried after it had landed.
            return Ok(Lease::hold(spot, terms, theirs, version));
        }
        if theirs.expires_ms > terms.now() {
            return Err(spot.held(&theirs));
        }
        ours = ours.lasting(&terms);
        match spot.put(&ours, PutMode::Update(version)).await {
            Ok(put) => {
                tracing::warn!(
                    "took over the lease {} from {}: it lapsed at {} without being released (that run was killed or cut off)",
                    spot.name,
                    theirs.holder,
                    theirs.expires_at
                );
                return Ok(Lease::hold(spot, terms, ours, put.into()));
            }
            // Another run replaced or released it first: look again.
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => {}
            Err(e) => return Err(spot.error("take over", &e)),
        }
    }
    Err(LockError::Remote(format!(
        "the lease {} kept changing while this run tried to take it; try again",
        spot.name
    )))
}

/// A lease held by this run: renewed in the background until released.
pub struct Lease {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    renewer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What the run and its renewing task share.
struct Shared {
    spot: Spot,
    terms: Terms,
    /// Our record as last written.
    ours: Mutex<Record>,
    state: Mutex<State>,
}

struct State {
    /// The version last written: the next write replaces only it.
    version: UpdateVersion,
    /// Why the lease was lost, once it was.
    lost: Option<String>,
    released: bool,
}

impl Lease {
    fn hold(spot: Spot, terms: Terms, ours: Record, version: UpdateVersion) -> Lease {
        let shared = Arc::new(Shared {
            spot,
            terms,
            ours: Mutex::new(ours),
            state: Mutex::new(State {
                version,
                lost: None,
                released: false,
            }),
        });
        let (stop, stopped) = watch::channel(false);
        let renewer = tokio::spawn(renew_until_stopped(shared.clone(), stopped));
        Lease {
            shared,
            stop,
            renewer: Mutex::new(Some(renewer)),
        }
    }

    /// Stops renewing and deletes the lease if it is still ours.
    pub async fn release(&self) {
        if std::mem::replace(&mut self.shared.state().released, true) {
            return;
        }
        let _ = self.stop.send(true);
        let renewer = self.renewer.lock().expect("renewer").take();
        if let Some(task) = renewer {
            let _ = task.await;
        }
        self.shared.give_up().await;
    }
}

impl Claim for Lease {
    fn lost(&self) -> Option<String> {
        self.shared.lost()
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(Lease::release(self))
    }
}

impl Drop for Lease {
    /// A lease dropped unreleased (a panic) is given up in the background.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if std::mem::replace(&mut self.shared.state().released, true) {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            rt.spawn(async move { shared.give_up().await });
        }
    }
}

async fn renew_until_stopped(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let every = defaults::lease_renew_every(shared.terms.ttl);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if !shared.renew().await {
            return;
        }
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("lease state")
    }

    fn ours(&self) -> Record {
        self.ours.lock().expect("lease record").clone()
    }

    /// Why the lease is no longer ours: lost to another run, or lapsed
    /// without a renewal.
    fn lost(&self) -> Option<String> {
        if let Some(why) = &self.state().lost {
            return Some(why.clone());
        }
        let ours = self.ours();
        (self.terms.now() >= ours.expires_ms).then(|| {
            format!(
                "the lease {} lapsed at {} before this run could renew it",
                self.spot.name, ours.expires_at
            )
        })
    }

    fn lose(&self, why: String) {
        tracing::error!("{why}: this run publishes nothing more");
        self.state().lost.get_or_insert(why);
    }

    /// Writes the lease again, lapsing a lifetime from now, if it is still
    /// the version written last; false once it is lost.
    async fn renew(&self) -> bool {
        let version = self.state().version.clone();
        let renewed = self.ours().lasting(&self.terms);
        match self.spot.put(&renewed, PutMode::Update(version)).await {
            Ok(put) => {
                *self.ours.lock().expect("lease record") = renewed;
                self.state().version = put.into();
                true
            }
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => self.changed_under_us(renewed).await,
            Err(e) => {
                let why = explain(&e);
                if let Some(lapsed) = self.lost() {
                    self.lose(format!("{lapsed} ({why})"));
                    return false;
                }
                tracing::warn!(
                    "cannot renew the lease {}, will try again: {why}",
                    self.spot.name
                );
                true
            }
        }
    }

    /// After a conditional renewal was refused: ours still if it holds
    /// our renewal (a retried write that had landed), else lost.
    async fn changed_under_us(&self, renewed: Record) -> bool {
        let name = &self.spot.name;
        match self.spot.read(&self.terms).await {
            Ok(Some((now, version))) if now == renewed => {
                *self.ours.lock().expect("lease record") = renewed;
                self.state().version = version;
                true
            }
            Ok(Some((now, _))) => {
                self.lose(format!("the lease {name} was taken over by {}", now.holder));
                false
            }
            Ok(None) => {
                self.lose(format!("the lease {name} was deleted by another run"));
                false
            }
            Err(e) => {
                self.lose(format!("the lease {name} changed under this run ({e})"));
                false
            }
        }
    }

    /// Deletes the lease if it is still ours and far enough from lapsing
    /// that no other run may take it meanwhile; else leaves it to lapse.
    async fn give_up(&self) {
        let name = &self.spot.name;
        let margin = defaults::lease_renew_every(self.terms.ttl).as_millis() as i64;
        let ours = self.ours();
        if self.state().lost.is_some() || ours.expires_ms - self.terms.now() < margin {
            tracing::info!("left the lease {name} to lapse at {}", ours.expires_at);
            return;
        }
        match self.spot.read(&self.terms).await {
            Ok(Some((now, _))) if now.token == ours.token => {
                if let Err(e) = self.spot.store.delete(&self.spot.key).await {
                    tracing::warn!(
                        "cannot release the lease {name} (it lapses at {}): {}",
                        ours.expires_at,
                        explain(&e)
                    );
                }
            }
            Ok(_) => tracing::warn!("the lease {name} was no longer this run's to release"),
            Err(e) => tracing::warn!("cannot release the lease {name}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    /// A clock that follows tokio's time, paused in these tests.
    fn clock() -> Clock {
        let start = tokio::time::Instant::now();
        Arc::new(move || 1_700_000_000_000 + start.elapsed().as_millis() as i64)
    }

    fn terms(clock: &Clock) -> Terms {
        Terms {
            ttl: Duration::from_secs(30),
            what: String::new(),
            clock: clock.clone(),
        }
    }

    fn spot() -> Spot {
        Spot {
            store: Arc::new(InMemory::new()),
            key: Key::from("lake/huntr/_huntr_sync/lease.json"),
            name: "s3://lake/huntr/_huntr_sync/lease.json".into(),
        }
    }

    async fn on_store(spot: &Spot) -> Option<Record> {
        let got = spot.store.get(&spot.key).await.ok()?;
        Some(serde_json::from_slice(&got.bytes().await.unwrap()).unwrap())
    }

    fn refusal(e: LockError) -> String {
        match e {
            LockError::Held { .. } => e.to_string(),
            other => panic!("not a refusal: {other}"),
        }
    }

    /// A holder that stops renewing without releasing (killed).
    async fn abandon(lease: Lease) {
        let _ = lease.stop.send(true);
        let renewer = lease.renewer.lock().unwrap().take().unwrap();
        renewer.await.unwrap();
        lease.shared.state().released = true;
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_taker_is_refused_naming_the_holder_until_released() {
        let (spot, clock) = (spot(), clock());
        let first = take(spot.clone(), terms(&clock)).await.unwrap();
        let written = on_store(&spot).await.unwrap();
        assert_eq!(written.pid, std::process::id());
        assert_eq!(written.host, host_name());
        assert_eq!(written.expires_ms, clock() + 30_000);
        let err = refusal(take(spot.clone(), terms(&clock)).await.err().unwrap());
        let holder = format!("pid {} on {}", std::process::id(), host_name());
        assert!(err.contains(&holder), "{err}");
        assert!(
            err.contains("already syncing into this destination"),
            "{err}"
        );
        assert!(err.contains("lease s3://lake/huntr/_huntr_sync/lease.json, valid until"));
        first.release().await;
        assert!(on_store(&spot).await.is_none(), "released: deleted");
        let second = take(spot.clone(), terms(&clock)).await.unwrap();
        assert_ne!(on_store(&spot).await.unwrap().token, written.token);
        second.release().await;
    }

    #[tokio::test(start_paused = true)]
    async fn renewal_keeps_the_lease_past_its_lifetime() {
        let (spot, clock) = (spot(), clock());
        let lease = take(spot.clone(), terms(&clock)).await.unwrap();
        let taken = on_store(&spot).await.unwrap();
        tokio::time::sleep(Duration::from_secs(95)).await;
        let renewed = on_store(&spot).await.unwrap();
        assert_eq!(renewed.token, taken.token);
        assert!(
            renewed.expires_ms > clock(),
            "still live after three lifetimes"
        );
        assert!(renewed.expires_ms >= taken.expires_ms + 90_000);
        assert_eq!(lease.lost(), None);
        refusal(take(spot.clone(), terms(&clock)).await.err().unwrap());
        lease.release().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_lapsed_lease_is_taken_over_and_its_holder_learns_it_lost() {
        let (spot, clock) = (spot(), clock());
        let dead = take(spot.clone(), terms(&clock)).await.unwrap();
        let shared = dead.shared.clone();
        abandon(dead).await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        refusal(take(spot.clone(), terms(&clock)).await.err().unwrap());
        tokio::time::sleep(Duration::from_secs(11)).await;
        let heir = take(spot.clone(), terms(&clock)).await.unwrap();
        let now = on_store(&spot).await.unwrap();
        assert_eq!(now.token, heir.shared.ours().token);
        // The old holder, were it only slow, would find out at once.
        assert!(shared.lost().unwrap().contains("lapsed"));
        assert!(!shared.renew().await, "a taken-over lease is not renewed");
        assert!(shared.lost().unwrap().contains("taken over by pid"));
        shared.give_up().await;
        assert_eq!(on_store(&spot).await.unwrap(), now, "nor released");
        heir.release().await;
    }

    #[tokio::test(start_paused = true)]
    async fn of_two_runs_racing_for_a_lapsed_lease_exactly_one_wins() {
        let (spot, clock) = (spot(), clock());
        abandon(take(spot.clone(), terms(&clock)).await.unwrap()).await;
        tokio::time::sleep(Duration::from_secs(31)).await;
        let (a, b) = tokio::join!(
            take(spot.clone(), terms(&clock)),
            take(spot.clone(), terms(&clock))
        );
        let (won, refused) = match (a, b) {
            (Ok(won), Err(e)) | (Err(e), Ok(won)) => (won, refusal(e)),
            (a, b) => panic!("not one winner: {:?} {:?}", a.is_ok(), b.is_ok()),
        };
        assert!(refused.contains("already syncing"), "{refused}");
        assert_eq!(
            on_store(&spot).await.unwrap().token,
            won.shared.ours().token
        );
        won.release().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_replaced_under_its_holder_is_neither_renewed_nor_released() {
        let (spot, clock) = (spot(), clock());
        let lease = take(spot.clone(), terms(&clock)).await.unwrap();
        let mut other = on_store(&spot).await.unwrap();
        other.token = "someone else's".into();
        other.holder = "pid 1 on elsewhere, started then".into();
        let bytes = serde_json::to_vec(&other).unwrap();
        spot.store.put(&spot.key, bytes.into()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        let lost = lease.lost().expect("the renewal found it replaced");
        assert!(lost.contains("taken over by pid 1 on elsewhere"), "{lost}");
        lease.release().await;
        assert_eq!(on_store(&spot).await.unwrap(), other);
    }
}
