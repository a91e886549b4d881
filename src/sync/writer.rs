//! The single writer: a thread that owns the destination and applies what
//! fetchers send it, in order, through a bounded channel (so a slow disk
//! slows fetching instead of growing memory).

use tokio::sync::{mpsc, oneshot};

use crate::load::sqlite::{SqliteDest, SqliteError};

type Job = Box<dyn FnOnce(&mut SqliteDest) -> Result<(), SqliteError> + Send>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// The writer stopped: either it failed (the error is returned by
/// [`WriterThread::join`]) or it was shut down.
#[derive(Debug, thiserror::Error)]
#[error("the destination writer stopped")]
pub struct WriterGone;

pub struct WriterThread {
    handle: std::thread::JoinHandle<(SqliteDest, Option<SqliteError>)>,
}

impl WriterThread {
    /// Waits for every queued job; gives the destination back with the
    /// first error the writer met, if any.
    pub fn join(self) -> (SqliteDest, Option<SqliteError>) {
        self.handle.join().expect("writer thread panicked")
    }
}

pub fn spawn(mut dest: SqliteDest, capacity: usize) -> (Writer, WriterThread) {
    let (tx, mut rx) = mpsc::channel::<Job>(capacity.max(1));
    let handle = std::thread::Builder::new()
        .name("huntr-sync-writer".into())
        .spawn(move || {
            while let Some(job) = rx.blocking_recv() {
                if let Err(e) = job(&mut dest) {
                    // Stop taking work; senders see the channel close.
                    rx.close();
                    return (dest, Some(e));
                }
            }
            (dest, None)
        })
        .expect("spawn writer thread");
    (Writer { tx }, WriterThread { handle })
}

impl Writer {
    /// Queues work; returns once it is queued (not yet applied).
    pub async fn send(
        &self,
        job: impl FnOnce(&mut SqliteDest) -> Result<(), SqliteError> + Send + 'static,
    ) -> Result<(), WriterGone> {
        self.tx.send(Box::new(job)).await.map_err(|_| WriterGone)
    }

    /// Runs `f` on the writer after everything queued before it.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteDest) -> Result<R, SqliteError> + Send + 'static,
    ) -> Result<R, WriterGone> {
        let (reply, rx) = oneshot::channel();
        self.send(move |d| {
            let r = f(d);
            match r {
                Ok(v) => {
                    let _ = reply.send(v);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        rx.await.map_err(|_| WriterGone)
    }
}
