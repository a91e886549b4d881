//! The single writer: a thread that owns the store and applies what
//! fetchers (a sync) or request handlers (the webhook receiver) send it, in
//! order, through a bounded channel, so a slow disk slows fetching instead
//! of growing memory. Consecutive batches that are waiting are committed
//! together in one transaction (a group commit); a batch sent with
//! [`Writer::try_apply_acked`] is answered only once its commit returned.
//!
//! A sync's writer goes further: it keeps one transaction open over the
//! pages that arrive (a span, committed at [`SPAN`] batches, after
//! [`SPAN_OPEN`], before a call, when the queue stays empty for
//! [`SPAN_IDLE`], and at the end). A page of actions touches pages of the
//! B-trees that the next one touches again: committed one page at a time,
//! each of those was appended to the WAL again and again. A crash loses at
//! most the open span, which the next run reads again (state and rows
//! commit together).
//!
//! Applied batches go back to the senders to be freed: a batch's rows are
//! allocated by the thread that flattened them, and glibc handles memory
//! freed by another thread poorly (the freeing thread's cache fills, the
//! allocating one finds its own empty and carves every row from the bins).
//! Freed where it was made, the memory is reused at once: measured on a
//! full sync, the fetching thread spent a quarter of its time in malloc.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::{RunId, StateUpdate, Store, StoreError, SyncState};
use crate::rows::Op;

type Job = Box<dyn FnOnce(&mut SyncState<'_>) -> Result<(), StoreError> + Send>;

/// A turn of the run (see [`Writer::turn`]): the next run's id.
type Turn = Box<dyn FnOnce(&mut Store) -> Result<RunId, StoreError> + Send>;

/// Whether a batch landed; the error as text (it goes to many waiters).
pub type Landed = Result<(), String>;

enum Msg {
    Apply {
        ops: Vec<Op>,
        state: Option<StateUpdate>,
        ack: Option<oneshot::Sender<Landed>>,
    },
    Call(Job),
    Turn(Turn, oneshot::Sender<Result<RunId, String>>),
}

/// How a writer runs.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// The run every batch is written for.
    pub run_id: RunId,
    /// Messages that may wait in the channel.
    pub queue: usize,
    /// Batches committed together at most.
    pub group: usize,
    /// After a failed commit, answer its waiters and go on (the webhook
    /// receiver: the sender retries) instead of stopping (a sync).
    pub keep_going: bool,
    /// Unacknowledged batches share one open transaction (a span) instead
    /// of committing each (a sync).
    pub span: bool,
}

/// Batches a span commits at most.
pub const SPAN: usize = 64;
/// How long a span stays open at most: what a killed sync may lose.
pub const SPAN_OPEN: Duration = Duration::from_secs(1);
/// How long an open span waits for the next batch before committing.
pub const SPAN_IDLE: Duration = Duration::from_millis(100);

impl WriterConfig {
    /// A sync's writer: pages are applied as they arrive, each freed at
    /// once, inside spans of one transaction; it stops at the first
    /// failed commit (the run fails and the next one repairs it).
    pub fn sync(run_id: RunId, queue: usize) -> Self {
        WriterConfig {
            run_id,
            queue,
            group: 1,
            keep_going: false,
            span: true,
        }
    }

    /// A receiver's writer: a failed commit is answered and the next
    /// deliveries are tried (their senders retry the failed ones).
    pub fn receiver(run_id: RunId, queue: usize, group: usize) -> Self {
        WriterConfig {
            run_id,
            queue,
            group,
            keep_going: true,
            span: false,
        }
    }
}

/// Applied batches, waiting to be freed by the next sender.
type Spent = Vec<Vec<Op>>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    spent: Arc<Mutex<Spent>>,
}

/// The writer stopped: either it failed (the error is returned by
/// [`WriterThread::join`]) or it was shut down.
#[derive(Debug, thiserror::Error)]
#[error("the destination writer stopped")]
pub struct WriterGone;

/// Why an acknowledged batch was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: answer "busy" rather than grow.
    Busy,
    /// The writer is shutting down or stopped.
    Gone,
}

pub struct WriterThread {
    handle: std::thread::JoinHandle<(Store, Option<StoreError>)>,
}

impl WriterThread {
    /// Waits for every queued job; gives the store back with the first
    /// error the writer stopped on, if any.
    pub fn join(self) -> (Store, Option<StoreError>) {
        self.handle.join().expect("writer thread panicked")
    }
}

/// A receiver's turn of its run when another run began beside it (see
/// `crate::lifecycle`): returns the next run's id.
pub type Restamp = Box<dyn FnMut(&mut Store) -> Result<RunId, StoreError> + Send>;

pub fn spawn(store: Store, cfg: WriterConfig) -> (Writer, WriterThread) {
    spawn_with(store, cfg, None)
}

/// A receiver's writer: before each commit, if a run began since its own,
/// `restamp` turns its run over, so its changes are stamped after that
/// run's.
pub fn spawn_receiver(store: Store, cfg: WriterConfig, restamp: Restamp) -> (Writer, WriterThread) {
    spawn_with(store, cfg, Some(restamp))
}

fn spawn_with(store: Store, cfg: WriterConfig, restamp: Option<Restamp>) -> (Writer, WriterThread) {
    let (tx, rx) = mpsc::channel::<Msg>(cfg.queue.max(1));
    let spent = Arc::new(Mutex::new(Spent::new()));
    let returned = spent.clone();
    let handle = std::thread::Builder::new()
        .name("huntr-sync-writer".into())
        .spawn(move || run(store, rx, cfg, restamp, &returned))
        .expect("spawn writer thread");
    (Writer { tx, spent }, WriterThread { handle })
}

/// The writer thread: takes messages until every sender is gone.
fn run(
    mut store: Store,
    mut rx: mpsc::Receiver<Msg>,
    mut cfg: WriterConfig,
    mut restamp: Option<Restamp>,
    spent: &Mutex<Spent>,
) -> (Store, Option<StoreError>) {
    let mut held: Option<Msg> = None;
    let mut span = Span::default();
    loop {
        let msg = match held.take() {
            Some(m) => m,
            None => match span.next(&mut rx) {
                Next::Msg(m) => m,
                Next::Idle => {
                    if let Err(e) = span.commit(&mut store) {
                        rx.close();
                        return (store, Some(e));
                    }
                    continue;
                }
                Next::Closed => break,
            },
        };
        let result = match msg {
            Msg::Call(job) => span
                .commit(&mut store)
                .and_then(|()| job(&mut store.sync_state())),
            Msg::Turn(turn, reply) => {
                let next = span.commit(&mut store).and_then(|()| turn(&mut store));
                let _ = reply.send(next.as_ref().copied().map_err(|e| e.to_string()));
                match next {
                    Ok(id) => {
                        cfg.run_id = id;
                        Ok(())
                    }
                    Err(e) if cfg.keep_going => {
                        tracing::error!("{e}");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Msg::Apply {
                ops,
                state,
                ack: None,
            } if cfg.span => span.apply(&mut store, ops, state, cfg.run_id, spent),
            first @ Msg::Apply { .. } => {
                let mut group = vec![first];
                while group.len() < cfg.group.max(1) {
                    match rx.try_recv() {
                        Ok(m @ Msg::Apply { .. }) => group.push(m),
                        Ok(call) => {
                            held = Some(call);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                span.commit(&mut store)
                    .and_then(|()| restamped(&mut store, &mut cfg, restamp.as_mut()))
                    .and_then(|()| commit(&mut store, group, cfg, spent))
            }
        };
        if let Err(e) = result {
            // Stop taking work; senders see the channel close.
            rx.close();
            return (store, Some(e));
        }
    }
    let end = span.commit(&mut store).err();
    (store, end)
}

/// What the writer does next.
enum Next {
    Msg(Msg),
    /// The open span waited [`SPAN_IDLE`] for a batch: commit it.
    Idle,
    Closed,
}

/// The open span of a sync's writer: since when, and how many batches.
#[derive(Default)]
struct Span {
    open: Option<(Instant, usize)>,
    /// A clock for waiting at most [`SPAN_IDLE`] (made on first use).
    clock: Option<tokio::runtime::Runtime>,
}

impl Span {
    /// The next message; with a span open, waits at most [`SPAN_IDLE`].
    fn next(&mut self, rx: &mut mpsc::Receiver<Msg>) -> Next {
        if self.open.is_none() {
            return rx.blocking_recv().map_or(Next::Closed, Next::Msg);
        }
        if let Ok(m) = rx.try_recv() {
            return Next::Msg(m);
        }
        let clock = self.clock.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a timer for the writer thread")
        });
        match clock.block_on(async { tokio::time::timeout(SPAN_IDLE, rx.recv()).await }) {
            Ok(Some(m)) => Next::Msg(m),
            Ok(None) => Next::Closed,
            Err(_) => Next::Idle,
        }
    }

    /// Applies a batch inside the span, commits the span when it is full
    /// or old, and hands the batch back to be freed.
    fn apply(
        &mut self,
        store: &mut Store,
        ops: Vec<Op>,
        state: Option<StateUpdate>,
        run_id: RunId,
        spent: &Mutex<Spent>,
    ) -> Result<(), StoreError> {
        let result = store.apply_open(&[(&ops, state.as_ref())], run_id);
        if let Ok(mut spent) = spent.lock() {
            spent.push(ops);
        }
        if let Err(e) = result {
            self.open = None;
            return Err(e);
        }
        let (since, n) = self.open.get_or_insert((Instant::now(), 0));
        *n += 1;
        if *n >= SPAN || since.elapsed() >= SPAN_OPEN {
            return self.commit(store);
        }
        Ok(())
    }

    fn commit(&mut self, store: &mut Store) -> Result<(), StoreError> {
        if self.open.take().is_some() {
            store.commit_open()?;
        }
        Ok(())
    }
}

/// Turns a receiver's run over when a newer run began beside it.
fn restamped(
    store: &mut Store,
    cfg: &mut WriterConfig,
    restamp: Option<&mut Restamp>,
) -> Result<(), StoreError> {
    let Some(restamp) = restamp else {
        return Ok(());
    };
    if store.newest_run()? > cfg.run_id {
        cfg.run_id = restamp(store)?;
    }
    Ok(())
}

/// Commits a group and answers its waiters. Returns an error only when
/// the writer must stop.
fn commit(
    store: &mut Store,
    group: Vec<Msg>,
    cfg: WriterConfig,
    spent: &Mutex<Spent>,
) -> Result<(), StoreError> {
    let mut acks = Vec::new();
    let mut batches = Vec::with_capacity(group.len());
    for m in group {
        if let Msg::Apply { ops, state, ack } = m {
            acks.extend(ack);
            batches.push((ops, state));
        }
    }
    let refs: Vec<(&[Op], Option<&StateUpdate>)> = batches
        .iter()
        .map(|(ops, state)| (ops.as_slice(), state.as_ref()))
        .collect();
    let result = store.apply_all(&refs, cfg.run_id);
    let landed: Landed = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
    for ack in acks {
        let _ = ack.send(landed.clone());
    }
    if let Ok(mut spent) = spent.lock() {
        spent.extend(batches.into_iter().map(|(ops, _)| ops));
    }
    match result {
        Err(e) if cfg.keep_going => {
            tracing::error!("{e}");
            Ok(())
        }
        other => other,
    }
}

impl Writer {
    /// Frees, on the calling thread, the batches applied since the last
    /// call (see the module's doc).
    fn free_spent(&self) {
        let spent = match self.spent.lock() {
            Ok(mut s) => std::mem::take(&mut *s),
            Err(_) => return,
        };
        drop(spent);
    }

    /// Queues a batch and its state change; returns once it is queued
    /// (not yet applied).
    pub async fn apply(&self, ops: Vec<Op>, state: Option<StateUpdate>) -> Result<(), WriterGone> {
        self.free_spent();
        let msg = Msg::Apply {
            ops,
            state,
            ack: None,
        };
        self.tx.send(msg).await.map_err(|_| WriterGone)
    }

    /// Messages waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Whether the writer thread still takes messages.
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Queues a batch without waiting for room; the receiver resolves once
    /// the batch's commit returned.
    pub fn try_apply_acked(&self, ops: Vec<Op>) -> Result<oneshot::Receiver<Landed>, Refused> {
        self.free_spent();
        let (ack, landed) = oneshot::channel();
        let msg = Msg::Apply {
            ops,
            state: None,
            ack: Some(ack),
        };
        match self.tx.try_send(msg) {
            Ok(()) => Ok(landed),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Refused::Busy),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Refused::Gone),
        }
    }

    /// Runs `f` on the sync's view of the store after everything queued
    /// before it.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SyncState<'_>) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, WriterGone> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let v = f(store)?;
            let _ = reply.send(v);
            Ok(())
        });
        self.tx.send(Msg::Call(job)).await.map_err(|_| WriterGone)?;
        rx.await.map_err(|_| WriterGone)
    }

    /// After everything queued before it is committed, hands the store to
    /// the run lifecycle's `turn` (which ends the run and begins the next:
    /// `crate::lifecycle::Lifecycle::turn`); batches after it are written
    /// for the run it returns.
    pub async fn turn(
        &self,
        turn: impl FnOnce(&mut Store) -> Result<RunId, StoreError> + Send + 'static,
    ) -> Result<Result<RunId, String>, WriterGone> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Turn(Box::new(turn), reply);
        self.tx.send(msg).await.map_err(|_| WriterGone)?;
        rx.await.map_err(|_| WriterGone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{Mode, Row, Val};
    use crate::schema::tables;

    fn employer(id: &str) -> Op {
        use tables::employers::{ID, NAME, TABLE};
        let mut row = Row::new(TABLE, Mode::Full, 1);
        row.set(ID, Val::Text(id.into()))
            .set(NAME, Val::Text(id.into()));
        Op::Upsert(row)
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db")).unwrap();
        (dir, store)
    }

    fn employers(store: &Store) -> i64 {
        store
            .conn
            .query_row("SELECT COUNT(*) FROM employers", [], |r| r.get(0))
            .unwrap()
    }

    fn cfg(keep_going: bool) -> WriterConfig {
        WriterConfig {
            run_id: 1,
            queue: 64,
            group: 16,
            keep_going,
            span: false,
        }
    }

    /// Sends a job that holds the writer until `release` is sent to.
    async fn hold(writer: &Writer) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let job: Job = Box::new(move |_| {
            wait.recv().unwrap();
            Ok(())
        });
        writer.tx.send(Msg::Call(job)).await.ok().unwrap();
        release
    }

    fn with_trigger(store: Store) -> Store {
        store
            .conn
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON employers WHEN NEW.id = 'bad' \
                 BEGIN SELECT RAISE(ABORT, 'boom'); END",
            )
            .unwrap();
        store
    }

    #[tokio::test]
    async fn waiting_batches_commit_together_and_are_acknowledged_after_it() {
        let (_d, store) = store();
        let (writer, thread) = spawn(with_trigger(store), cfg(true));
        let release = hold(&writer).await;
        // Five batches queue up behind the held writer; the last one fails,
        // and with it the group's one transaction.
        let ids = ["e0", "e1", "e2", "e3", "bad"];
        let acks: Vec<_> = ids
            .iter()
            .map(|id| writer.try_apply_acked(vec![employer(id)]).unwrap())
            .collect();
        release.send(()).unwrap();
        for ack in acks {
            assert!(ack.await.unwrap().unwrap_err().contains("boom"));
        }
        // Alone, a batch lands and is acknowledged.
        let good = writer.try_apply_acked(vec![employer("e9")]).unwrap();
        assert_eq!(good.await.unwrap(), Ok(()));
        drop(writer);
        let (store, err) = thread.join();
        assert!(err.is_none());
        assert_eq!(employers(&store), 1);
    }

    #[tokio::test]
    async fn a_failed_commit_stops_a_sync_writer_but_not_a_receiver() {
        for keep_going in [false, true] {
            let (_d, store) = store();
            let (writer, thread) = spawn(with_trigger(store), cfg(keep_going));
            let bad = writer.try_apply_acked(vec![employer("bad")]).unwrap();
            assert!(bad.await.unwrap().unwrap_err().contains("boom"));
            let next = writer.apply(vec![employer("good")], None).await;
            let answered = writer.call(|_| Ok(())).await;
            drop(writer);
            let (store, err) = thread.join();
            if keep_going {
                assert!(next.is_ok() && answered.is_ok() && err.is_none());
                assert_eq!(employers(&store), 1, "went on after the failure");
            } else {
                assert!(answered.is_err(), "a stopped writer answers nothing");
                assert!(err.is_some_and(|e| e.to_string().contains("boom")));
                assert_eq!(employers(&store), 0);
            }
        }
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_rather_than_growing() {
        let (_d, store) = store();
        let small = WriterConfig {
            queue: 1,
            ..cfg(true)
        };
        let (writer, thread) = spawn(store, small);
        let release = hold(&writer).await;
        // The writer holds the call; one batch fits in the queue.
        let mut results = Vec::new();
        for i in 0..3 {
            results.push(writer.try_apply_acked(vec![employer(&format!("e{i}"))]));
        }
        assert!(results.iter().any(|r| matches!(r, Err(Refused::Busy))));
        release.send(()).unwrap();
        drop(writer);
        thread.join();
    }

    #[tokio::test]
    async fn a_sync_writer_commits_its_span_when_idle_before_a_call_and_at_the_end() {
        let (_d, store) = store();
        let reader = rusqlite::Connection::open(store.path()).unwrap();
        let (writer, thread) = spawn(store, WriterConfig::sync(1, 8));
        let count = |c: &rusqlite::Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM employers", [], |r| r.get(0))
                .unwrap()
        };
        // Idle: the open span commits after SPAN_IDLE without more work.
        writer.apply(vec![employer("e1")], None).await.unwrap();
        writer.apply(vec![employer("e2")], None).await.unwrap();
        let start = Instant::now();
        while count(&reader) < 2 {
            assert!(start.elapsed() < Duration::from_secs(60), "never committed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A call runs outside any span: it may open its own transaction.
        writer.apply(vec![employer("e3")], None).await.unwrap();
        let claimed = writer.call(|s| s.pending_jobs(3600)).await;
        assert_eq!(claimed.unwrap(), Vec::<String>::new());
        // The end commits what is open.
        writer.apply(vec![employer("e4")], None).await.unwrap();
        drop(writer);
        let (_store, err) = thread.join();
        assert!(err.is_none());
        assert_eq!(count(&reader), 4);
    }

    #[tokio::test]
    async fn a_failed_batch_rolls_back_its_whole_span_and_stops_a_sync_writer() {
        let (_d, store) = store();
        let (writer, thread) = spawn(with_trigger(store), WriterConfig::sync(1, 8));
        writer.apply(vec![employer("e0")], None).await.unwrap();
        writer.call(|_| Ok(())).await.unwrap();
        // Both queued behind the held writer: applied in one span.
        let release = hold(&writer).await;
        writer.apply(vec![employer("e1")], None).await.unwrap();
        writer.apply(vec![employer("bad")], None).await.unwrap();
        release.send(()).unwrap();
        drop(writer);
        let (store, err) = thread.join();
        assert!(err.is_some_and(|e| e.to_string().contains("boom")));
        assert_eq!(employers(&store), 1, "e1 went with the failed span");
    }
}
