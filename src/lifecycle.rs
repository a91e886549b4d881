//! The run lifecycle, written once for every command that writes a
//! destination (`sync`, `push`, `webhook serve`): prove the destination
//! writable, take its lock (and, for a remote destination, its own hold,
//! such as a lease in a bucket, which runs on other machines see), open
//! its state (numbering runs after what the destination already shows
//! when the state is new), begin a run; at the end publish what the run
//! committed and record how it ended, on every path. A receiver, whose
//! session has no end in sight, turns its run over instead: it ends the
//! run, publishes it and begins the next (see docs/SYNC_MODEL.md,
//! "Publishing").
//!
//! A sync or a push holds the destination's lock (and hold) for as long
//! as its [`Lifecycle`] lives; one told to wait for them looks again until
//! its patience runs out. A run that finds its hold taken over when it
//! comes to publish publishes nothing. A receiver runs for days beside the
//! nightly syncs, so it holds a lock of its own (one receiver per
//! destination) and takes the destination's lock (and hold) only while it
//! publishes; its writes to the state take turns with a sync's through
//! SQLite's own locking. When a run begins beside it, the receiver turns
//! its own run over before its next commit, so that its changes are
//! stamped after that run's and what that run publishes cannot hide them.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::destination::{Claim, PublishError, Published, Target};
use crate::schema::TableId;
use crate::store::{DestLock, LockError, Marks, RunEnd, RunId, RunStatus, Store, StoreError};
use crate::timefmt::now_unix;

/// Why a run could not begin or end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// A run under way: the destination, its lock and hold, and the run's id.
pub struct Lifecycle {
    turner: Turner,
    _lock: DestLock,
}

/// A remote destination's hold, shared with the publications that check it.
type Hold = Option<Arc<dyn Claim>>;

/// What turning a run over needs; a receiver's writer thread keeps one.
#[derive(Clone)]
pub struct Turner {
    target: Target,
    /// What runs are begun as (`resources` in `sync_runs`).
    what: String,
    /// The current run.
    run_id: Arc<AtomicI64>,
    /// A receiver: the destination's lock is taken to publish.
    receiving: bool,
    /// A sync's or a push's hold on a remote destination.
    hold: Hold,
    rt: Handle,
}

/// How the caller saw its run end; the lifecycle adds the publication.
#[derive(Debug, Clone)]
pub struct Ending {
    pub status: RunStatus,
    pub window_end: Option<i64>,
    pub requests: u64,
    pub retries: u64,
    /// Answers that were HTTP 429.
    pub throttled: u64,
    pub error: Option<String>,
    /// Publish what the store holds (not after a failed write).
    pub publish: bool,
}

impl Ending {
    /// A run that read nothing from the API (a receiver's session).
    pub fn quiet(status: RunStatus) -> Ending {
        Ending {
            status,
            window_end: None,
            requests: 0,
            retries: 0,
            throttled: 0,
            error: None,
            publish: true,
        }
    }
}

/// How a run ended.
pub struct Ended {
    pub store: Store,
    /// As recorded: a failed publication fails the run.
    pub status: RunStatus,
    pub published: Result<Published, PublishError>,
    /// Whether the run's end was recorded.
    pub recorded: Result<(), StoreError>,
}

impl Lifecycle {
    /// Proves the destination writable, takes its lock (waiting up to
    /// `wait` while another run holds it), opens its state and begins a
    /// run named `what`.
    pub async fn begin(
        target: &Target,
        what: &str,
        wait: Duration,
    ) -> Result<(Lifecycle, Store), RunError> {
        Lifecycle::start(target, what, Some(wait)).await
    }

    /// For a receiver: the same, but holding the receiver's own lock; the
    /// destination's lock is taken for each publication.
    pub async fn begin_receiving(
        target: &Target,
        what: &str,
    ) -> Result<(Lifecycle, Store), RunError> {
        Lifecycle::start(target, what, None).await
    }

    /// `wait`: a sync's or a push's patience; `None` for a receiver.
    async fn start(
        target: &Target,
        what: &str,
        wait: Option<Duration>,
    ) -> Result<(Lifecycle, Store), RunError> {
        target.check_writable().await?;
        let (lock, hold) = match wait {
            None => {
                let mut path = target.lock_file().into_os_string();
                path.push(".receiver");
                let what = "webhook receiver, ";
                let lock = DestLock::acquire_as(std::path::Path::new(&path), what)?;
                (lock, None)
            }
            Some(wait) => run_lock(target, wait).await?,
        };
        let opened = open_run(target, what).await;
        let (store, run_id) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                if let Some(hold) = &hold {
                    hold.release().await;
                }
                return Err(e);
            }
        };
        let turner = Turner {
            target: target.clone(),
            what: what.to_owned(),
            run_id: Arc::new(AtomicI64::new(run_id)),
            receiving: wait.is_none(),
            hold,
            rt: Handle::current(),
        };
        Ok((
            Lifecycle {
                turner,
                _lock: lock,
            },
            store,
        ))
    }

    /// The current run.
    pub fn run_id(&self) -> RunId {
        self.turner.run_id.load(Ordering::SeqCst)
    }

    /// Whether the destination publishes part of a sync's run while it
    /// still reads (see [`crate::destination::Destination::publish_ahead`]).
    pub fn publishes_ahead(&self) -> bool {
        !self.turner.receiving && self.turner.target.publishes_ahead()
    }

    /// Begins publishing the run ahead of its end, with what the state
    /// holds at `marks`, except the families of `later` (unless the hold
    /// was lost: then the run's end refuses to publish anything).
    pub fn publish_ahead(&self, marks: Marks, later: Vec<TableId>) {
        if self
            .turner
            .hold
            .as_ref()
            .is_some_and(|h| h.lost().is_some())
        {
            return;
        }
        let target = &self.turner.target;
        target.publish_ahead(self.run_id(), marks, later, &self.turner.rt);
    }

    /// Publishes what the store holds, off the async threads.
    pub async fn publish(&self, store: Store) -> (Store, Result<Published, PublishError>) {
        if !self.turner.target.publishes() {
            return (store, Ok(Published::default()));
        }
        let turner = self.turner.clone();
        tokio::task::spawn_blocking(move || {
            let published = turner.publish(&store);
            (store, published)
        })
        .await
        .expect("publishing thread panicked")
    }

    /// Publishes (unless told not to), records how the run ended and
    /// releases the hold and the lock. A failed publication fails the run,
    /// and so does a hold lost before it.
    pub async fn end(self, store: Store, ending: Ending) -> Ended {
        let (mut store, published) = if ending.publish {
            self.publish(store).await
        } else {
            (store, Ok(Published::default()))
        };
        let end = run_end(ending, published.as_ref().err());
        let recorded = store.finish_run(self.run_id(), &end);
        if let Some(hold) = &self.turner.hold {
            hold.release().await;
        }
        Ended {
            store,
            status: end.status,
            published,
            recorded,
        }
    }

    /// What turns this run over (a receiver's): see [`Turner::turn`].
    pub fn turner(&self) -> Turner {
        self.turner.clone()
    }
}

impl Turner {
    /// Publishes for the current run; a receiver first takes the
    /// destination's lock, and publishes nothing while a sync or a push
    /// holds it (its changes stay due, stamped after that run's).
    fn publish(&self, store: &Store) -> Result<Published, PublishError> {
        let run = self.run_id.load(Ordering::SeqCst);
        if !self.target.publishes() {
            return Ok(Published::default());
        }
        if !self.receiving {
            if let Some(why) = self.hold.as_ref().and_then(|h| h.lost()) {
                return Err(PublishError::new(LockError::Lost(why)));
            }
            return self.target.publish(&store.tables(), run, &self.rt);
        }
        let held = DestLock::acquire_as(&self.target.lock_file(), PUBLISHING).and_then(|lock| {
            let hold = self.rt.block_on(self.target.claim(PUBLISHING))?;
            Ok((lock, hold))
        });
        match held {
            Ok((_lock, hold)) => {
                let published = self.target.publish(&store.tables(), run, &self.rt);
                if let Some(hold) = hold {
                    self.rt.block_on(hold.release());
                }
                published
            }
            Err(LockError::Held { holder, .. }) => {
                tracing::info!("run {run}: not published now: the destination is busy ({holder})");
                Ok(Published::default())
            }
            Err(e) => Err(PublishError::new(e)),
        }
    }

    /// For a run without an end in sight (a receiver), on the thread that
    /// holds the store: ends the current run (publishing it first when
    /// `publish`) and begins the next; returns the next run's id. A failed
    /// publication is recorded with the run it ended and tried again at
    /// the next turn (the changes stay unpublished until then).
    pub fn turn(&self, store: &mut Store, publish: bool) -> Result<RunId, StoreError> {
        let ended = self.run_id.load(Ordering::SeqCst);
        let published = if publish {
            self.publish(store)
        } else {
            Ok(Published::default())
        };
        if let Err(e) = &published {
            tracing::warn!("run {ended}: publishing failed, will try again: {e}");
        }
        let end = run_end(Ending::quiet(RunStatus::Webhook), published.as_ref().err());
        store.finish_run(ended, &end)?;
        let next = store.begin_run(now_unix(), &self.what)?;
        self.run_id.store(next, Ordering::SeqCst);
        Ok(next)
    }
}

/// How a receiver's publication names itself in the lock file.
pub const PUBLISHING: &str = "a webhook receiver publishing, ";

/// Opens the state (numbering runs after the destination's when it is
/// new) and begins the run.
async fn open_run(target: &Target, what: &str) -> Result<(Store, RunId), RunError> {
    let mut store = target.open_store()?;
    if store.is_new()? {
        if let Some(highest) = target.highest_run_id().await? {
            store.continue_runs_after(highest)?;
        }
    }
    let run_id = store.begin_run(now_unix(), what)?;
    Ok((store, run_id))
}

/// The destination's lock for a sync or a push, then its own hold (a
/// remote one's, see `Destination::claim`), waiting up to `wait` for another run to let go. A receiver's
/// publication holds them for moments: that is waited out (up to a
/// minute) whatever `wait` says.
async fn run_lock(target: &Target, wait: Duration) -> Result<(DestLock, Hold), LockError> {
    let since = Instant::now();
    let local = Duration::from_millis(100);
    let lock = patiently(since, wait, local, || async {
        DestLock::acquire(&target.lock_file())
    })
    .await?;
    // A destination without a hold of its own answers None at once.
    let every = crate::defaults::LEASE_POLL;
    let hold = patiently(since, wait, every, || target.claim("")).await?;
    Ok((lock, hold.map(Arc::from)))
}

/// Tries `take` every `every` while it finds the destination held, until
/// `wait` has passed `since` (a minute for a receiver's publication).
async fn patiently<T, F, Fut>(
    since: Instant,
    wait: Duration,
    every: Duration,
    mut take: F,
) -> Result<T, LockError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, LockError>>,
{
    let mut told = false;
    loop {
        match take().await {
            Err(LockError::Held { holder, place }) => {
                let publishing = holder.starts_with(PUBLISHING);
                let patience = if publishing {
                    wait.max(Duration::from_secs(60))
                } else {
                    wait
                };
                if since.elapsed() >= patience {
                    return Err(LockError::Held { holder, place });
                }
                if !told && !publishing {
                    tracing::info!(
                        "waiting up to {}s for the destination: held by {holder} ({place})",
                        wait.as_secs()
                    );
                    told = true;
                }
                tokio::time::sleep(every.min(patience.saturating_sub(since.elapsed()))).await;
            }
            other => return other,
        }
    }
}

/// The run's record: a failed publication fails a sync or a push, and its
/// error is the run's when it had none of its own.
fn run_end(ending: Ending, publish_error: Option<&PublishError>) -> RunEnd {
    let mut status = ending.status;
    let mut error = ending.error;
    if let Some(e) = publish_error {
        if matches!(status, RunStatus::Complete | RunStatus::Partial) {
            status = RunStatus::Failed;
        }
        error.get_or_insert_with(|| e.to_string());
    }
    RunEnd {
        finished: now_unix(),
        window_end: ending.window_end,
        status,
        requests: ending.requests,
        retries: ending.retries,
        throttled: ending.throttled,
        error,
    }
}
