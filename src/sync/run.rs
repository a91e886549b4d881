//! The phases of one run, sharing one context: the client, the writer,
//! the upper bound `T`, the run id and the options.

use std::collections::{BTreeMap, HashSet};

use super::{windows, SyncError, SyncOptions};
use crate::api::{ApiError, Client, Page, Pager};
use crate::flatten;
use crate::json::Node;
use crate::resources::{Kind, Resource};
use crate::rows::Op;
use crate::schema::{tables, TableId};
use crate::store::{Marks, RunId, StateUpdate, StoreError, Writer};

/// An optional endpoint's answer saying the organization's API does not
/// serve it: 404, or 403 for a product it has not bought.
fn not_served(r: Resource, e: &ApiError) -> bool {
    r.optional() && matches!(e.status(), Some(403 | 404))
}

/// What a listing starts from.
#[derive(Clone, Copy)]
struct Listing {
    /// Announced changes it covers (`StateUpdate::Listed`).
    due: i64,
    /// A complete listing was stored before, and this is no full refresh:
    /// the table holds what the listing should show.
    known: bool,
}

/// What every phase of a run shares.
pub struct Run<'a> {
    pub client: &'a Client,
    pub writer: Writer,
    /// The run's upper bound: the server's clock at its first answer.
    pub t: i64,
    pub id: RunId,
    pub opts: &'a SyncOptions,
    /// Pages read by re-listing every job (change capture), if it did.
    pub relist_pages: std::sync::atomic::AtomicU64,
    /// Begins publishing ahead, once the listings and windows are read
    /// (when the destination does: `Lifecycle::publish_ahead`).
    pub ahead: Option<&'a PublishAhead<'a>>,
}

/// What begins publishing ahead: the state's marks, and the tables the
/// rest of the run writes.
pub type PublishAhead<'a> = dyn Fn(Marks, Vec<TableId>) + Sync + 'a;

/// How the fetching phases went, for the run's end.
pub struct Outcome {
    pub run_id: RunId,
    pub t: i64,
    /// Resources that could not be completed, with the reason.
    pub incomplete: BTreeMap<String, String>,
    /// Optional endpoints the organization's API does not serve (404, 403),
    /// with the status: skipped, the run stays complete.
    pub skipped: BTreeMap<String, String>,
    /// An error that fails the whole run.
    pub fatal: Option<SyncError>,
    pub jobs_reread: u64,
    /// Pages read by re-listing every job instead of re-reading.
    pub jobs_relist_pages: u64,
    /// Requests, retries, throttled answers.
    pub stats: (u64, u64, u64),
}

impl Outcome {
    /// The `sync_runs.error` text: the failure, or what is incomplete.
    pub fn error_text(&self, write_err: Option<&StoreError>) -> Option<String> {
        // The writer's own error first: fetchers only saw it stop.
        write_err
            .map(|e| e.to_string())
            .or_else(|| self.fatal.as_ref().map(|e| e.to_string()))
            .or_else(|| {
                (!self.incomplete.is_empty()).then(|| {
                    let names: Vec<&str> = self.incomplete.keys().map(String::as_str).collect();
                    format!("incomplete: {}", names.join(", "))
                })
            })
            .or_else(|| self.skipped_note())
    }

    /// The note a complete run records for the optional endpoints it
    /// skipped: `skipped: tags (404), notes/members (403)`.
    fn skipped_note(&self) -> Option<String> {
        (!self.skipped.is_empty()).then(|| {
            let each: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, status)| format!("{r} ({status})"))
                .collect();
            format!("skipped: {}", each.join(", "))
        })
    }
}

impl Run<'_> {
    /// Fetches every resource, re-reads changed jobs, mirrors complete
    /// listings; consumes the context so the writer's queue closes.
    pub async fn fetch_all(self, probe: Resource, first: Page) -> Outcome {
        let ticker = {
            let (progress, stats) = (self.opts.progress.clone(), self.client.stats.clone());
            tokio::spawn(async move {
                loop {
                    progress.stats(&stats);
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            })
        };
        let mut out = Outcome {
            run_id: self.id,
            t: self.t,
            incomplete: BTreeMap::new(),
            skipped: BTreeMap::new(),
            fatal: None,
            jobs_reread: 0,
            jobs_relist_pages: 0,
            stats: (0, 0, 0),
        };
        let listed = self.fetch_resources(probe, first, &mut out).await;
        if out.fatal.is_none() {
            self.publish_ahead(&listed).await;
        }
        if out.fatal.is_none() {
            match self.refresh_jobs().await {
                Ok(n) => out.jobs_reread = n,
                Err(SyncError::Api(e)) => {
                    tracing::warn!("re-reading changed jobs: {e}");
                    out.incomplete
                        .insert("jobs (re-read of changed jobs)".into(), e.to_string());
                }
                Err(e) => out.fatal = Some(e),
            }
        }
        if out.fatal.is_none() && listed.contains(&Resource::Candidates) {
            self.candidate_reads(&mut out).await;
        }
        if out.fatal.is_none() && !listed.is_empty() {
            let (id, t) = (self.id, self.t);
            let _ = self.writer.call(move |s| s.mirror(&listed, id, t)).await;
        }
        ticker.abort();
        self.opts.progress.clear();
        out.stats = self.client.stats.get();
        out.jobs_relist_pages = self.relist_pages.load(std::sync::atomic::Ordering::Relaxed);
        out
    }

    /// Lets the destination publish what the windows wrote while the jobs
    /// and candidates are read again. Left to the end: the jobs and
    /// candidates, what candidate reads fill, and the listings (`listed`),
    /// whose removals come at the end: a row's change is counted once.
    async fn publish_ahead(&self, listed: &[Resource]) {
        let Some(ahead) = self.ahead else {
            return;
        };
        let Ok(marks) = self.writer.call(|s| Ok(s.marks())).await else {
            return;
        };
        let (jobs, people) = (Resource::Jobs, Resource::Candidates);
        let mut later: Vec<TableId> = listed.iter().map(|r| r.table()).collect();
        later.extend([
            jobs.table(),
            people.table(),
            tables::candidate_profiles::TABLE,
            tables::candidate_action_metrics::TABLE,
        ]);
        ahead(marks, later);
    }

    /// The per-candidate reads (`candidates.rs`), once `/candidates` was
    /// listed to the end.
    async fn candidate_reads(&self, out: &mut Outcome) {
        match self.read_candidates().await {
            Ok(n) => tracing::info!("candidates: read {n} profiles and their action metrics"),
            Err(SyncError::Api(e)) => {
                tracing::warn!("reading changed candidates: {e}");
                out.incomplete.insert(
                    "candidates (profiles and action metrics)".into(),
                    e.to_string(),
                );
            }
            Err(e) => out.fatal = Some(e),
        }
    }

    /// Every resource at once; returns the listed ones read to the end.
    /// A listing that actions keep current waits for the actions, and is
    /// read only if one of them announced a change (`listing_waits`).
    async fn fetch_resources(
        &self,
        probe: Resource,
        first: Page,
        out: &mut Outcome,
    ) -> Vec<Resource> {
        let mut now = Vec::new();
        let mut later = Vec::new();
        for &r in &self.opts.resources {
            match self.listing_waits(r).await {
                Ok(true) => later.push(r),
                Ok(false) => now.push(r),
                Err(e) => {
                    out.fatal.get_or_insert(e);
                    return Vec::new();
                }
            }
        }
        let mut listed = self.fetch_each(&now, Some((probe, first)), out).await;
        if out.fatal.is_some() || later.is_empty() {
            return listed;
        }
        // The actions read to the end stored every announcement up to T.
        let announced = !out.incomplete.contains_key(Resource::Actions.path());
        let mut due = Vec::new();
        for r in later {
            match self.writer.call(move |s| s.listing(r)).await {
                Ok((_, 0)) if announced => {
                    tracing::info!("{r}: no action announced a change since its last listing");
                    self.opts.progress.done(r);
                }
                Ok(_) => due.push(r),
                Err(e) => {
                    out.fatal.get_or_insert(e.into());
                    return listed;
                }
            }
        }
        listed.extend(self.fetch_each(&due, None, out).await);
        listed
    }

    /// Whether `r` is a listing that actions keep current and that this
    /// run reads only when an action announces a change: `actions` is
    /// read too, and the last complete listing is recent enough.
    async fn listing_waits(&self, r: Resource) -> Result<bool, SyncError> {
        let covered = r.followed_by_actions()
            && !self.opts.full_refresh
            && self.opts.resources.contains(&Resource::Actions);
        if !covered {
            return Ok(false);
        }
        let (listed_at, _) = self.writer.call(move |s| s.listing(r)).await?;
        let fresh = crate::defaults::RELIST_DAYS * 86_400;
        Ok(listed_at.is_some_and(|at| self.t - at < fresh))
    }

    /// `resources` at once (the probe's answer standing for its first
    /// page); returns the listed ones read to the end, and records in
    /// `out` what failed or was skipped.
    async fn fetch_each(
        &self,
        resources: &[Resource],
        first: Option<(Resource, Page)>,
        out: &mut Outcome,
    ) -> Vec<Resource> {
        let fetches = resources.iter().map(|&r| {
            let first = first
                .as_ref()
                .filter(|(p, _)| *p == r)
                .map(|(_, page)| page.clone());
            async move {
                let res = self.fetch_resource(r, first).await;
                self.opts.progress.done(r);
                if res.is_ok() {
                    tracing::info!("{r}: read to the end");
                }
                (r, res)
            }
        });
        let results = futures_util::future::join_all(fetches).await;
        let mut listed = Vec::new();
        for (r, res) in results {
            match res {
                Ok(()) if r.kind() == Kind::Listed => listed.push(r),
                Ok(()) => {}
                Err(SyncError::Api(e @ ApiError::Unauthorized { .. })) => {
                    out.fatal = Some(SyncError::Api(e))
                }
                Err(SyncError::WriterGone) => {
                    out.fatal.get_or_insert(SyncError::WriterGone);
                }
                Err(SyncError::Api(e)) if not_served(r, &e) => {
                    let status = e.status().unwrap_or(0);
                    tracing::warn!(
                        "/{r} answered {status}: the organization's API does not serve it; skipping it"
                    );
                    out.skipped.insert(r.path().to_owned(), status.to_string());
                }
                Err(e) => {
                    tracing::warn!("{r}: incomplete: {e}");
                    out.incomplete.insert(r.path().to_owned(), e.to_string());
                }
            }
        }
        listed
    }

    /// Flattens a page and queues it, with an optional state change.
    async fn load_page(
        &self,
        r: Resource,
        page: Page,
        state: Option<StateUpdate>,
    ) -> Result<(), SyncError> {
        self.load_page_seeing(r, page, state, |_| {}).await
    }

    /// [`Run::load_page`], showing `seen` each item that parses.
    pub(super) async fn load_page_seeing(
        &self,
        r: Resource,
        page: Page,
        state: Option<StateUpdate>,
        mut seen: impl FnMut(&Node),
    ) -> Result<(), SyncError> {
        let ops = flatten::flatten_page(r, page.nodes(), self.t, |node| {
            seen(node);
            if let Some(all) = &self.opts.seen {
                (all.0)(r, node);
            }
        });
        drop(page);
        Ok(self.writer.apply(ops, state).await?)
    }

    /// Where a resource's read starts: its watermark less the lookback
    /// (None: from the beginning).
    async fn lower_bound(&self, r: Resource) -> Result<Option<i64>, SyncError> {
        if r.kind() == Kind::Listed || self.opts.full_refresh {
            return Ok(None);
        }
        let wm = self.writer.call(move |s| s.watermark(r)).await?;
        Ok(wm.map(|w| w - self.opts.lookback))
    }

    async fn fetch_resource(&self, r: Resource, first: Option<Page>) -> Result<(), SyncError> {
        // What a listing covers: the announced changes stored before it.
        let (listed_at, due) = match r.kind() {
            Kind::Listed => self.writer.call(move |s| s.listing(r)).await?,
            _ => (None, 0),
        };
        // A probe answer already holds the whole (unpaged) listing.
        if let Some(page) = first.filter(|_| !r.paged()) {
            let state = Some(StateUpdate::Listed { resource: r, due });
            return self.load_page(r, page, state).await;
        }
        let lower = self.lower_bound(r).await?;
        if r.kind() == Kind::Windowed {
            return self.fetch_windowed(r, lower).await;
        }
        let known = listed_at.is_some() && !self.opts.full_refresh;
        self.fetch_pages(r, lower, Listing { due, known }).await
    }

    /// A creation-filtered resource: every window, then the watermark.
    async fn fetch_windowed(&self, r: Resource, lower: Option<i64>) -> Result<(), SyncError> {
        let span = windows::Span {
            resource: r,
            limit: self.opts.limit,
            // `created_after` may be exclusive: ask from one second earlier.
            after: lower.map(|lo| lo - 1),
            before: self.t,
        };
        let load = |page: Page| {
            self.opts.progress.page(r, page.len());
            self.load_page(r, page, None)
        };
        windows::read(self.client, span, self.opts.window_concurrency, load).await?;
        let state = StateUpdate::Watermark {
            resource: r,
            value: self.t,
        };
        self.load_page(r, Page::default(), Some(state)).await
    }

    /// A listed resource, or the events feed (newest first, read until it
    /// passes below the window).
    async fn fetch_pages(
        &self,
        r: Resource,
        lower: Option<i64>,
        listing: Listing,
    ) -> Result<(), SyncError> {
        let limit = r.paged().then_some(self.opts.limit);
        let mut pager = Pager::new(self.client, r.path(), limit, r.query())?.bare(r.bare());
        let mut pending: Option<Page> = None;
        loop {
            let page = match pager.next_page().await {
                Ok(p) => p,
                Err(e) if r == Resource::Events && matches!(e.status(), Some(404 | 410)) => {
                    tracing::warn!(
                        "/events answered {}: the deprecated endpoint is gone; skipping it",
                        e.status().unwrap_or(0)
                    );
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            let Some(page) = page else { break };
            self.opts.progress.page(r, page.len());
            // Hold one page back so the last one commits with the state change.
            if let Some(prev) = pending.take() {
                self.load_page(r, prev, None).await?;
            }
            let past_window = r.kind() == Kind::Feed
                && lower.is_some_and(|lo| page.last_created().is_some_and(|c| c < lo));
            let short = r.kind() == Kind::Listed
                && limit.is_some_and(|l| page.len() < l as usize)
                && !pager.is_done();
            let ends = short && listing.known && self.nothing_unseen(r, &page).await?;
            pending = Some(page);
            if past_window || ends {
                break;
            }
        }
        let state = match r.kind() {
            Kind::Listed => StateUpdate::Listed {
                resource: r,
                due: listing.due,
            },
            // Events: the feed was read past the window.
            _ => StateUpdate::Watermark {
                resource: r,
                value: self.t,
            },
        };
        self.load_page(r, pending.unwrap_or_default(), Some(state))
            .await
    }

    /// Whether a short page (fewer items than asked for) that still
    /// carries `next` may end a listing: only when, with it, the listing
    /// has seen every live row the table holds for it, so that ending
    /// here removes nothing. The API sets `next` on some last pages, and
    /// following it costs a request that answers an empty page; an
    /// endpoint that silently serves smaller pages than asked leaves rows
    /// unseen, and is followed to its end.
    async fn nothing_unseen(&self, r: Resource, page: &Page) -> Result<bool, SyncError> {
        let ids: HashSet<String> = page
            .nodes()
            .iter()
            .filter_map(|n| Some(n.get("id")?.as_str()?.to_owned()))
            .collect();
        let run = self.id;
        let unseen = self
            .writer
            .call(move |s| s.listing_leaves_unseen(r, run, &ids))
            .await?;
        if !unseen {
            tracing::debug!("{r}: a short page with every known row seen ends the listing");
        }
        Ok(!unseen)
    }

    /// Re-reads the jobs that actions changed after they were last read:
    /// one by one, or by re-listing every job when that takes fewer
    /// requests (`refresh.rs`). Returns how many were read again.
    async fn refresh_jobs(&self) -> Result<u64, SyncError> {
        let lookback = self.opts.lookback;
        let ids = self.writer.call(move |s| s.pending_jobs(lookback)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        match self.relisting(ids.len()).await? {
            Some(plan) => self.relist_jobs(ids, plan).await,
            None => self.reread_jobs(ids).await,
        }
    }

    /// Re-reads each job of `ids` with `GET /jobs/<id>`. A 404 means the
    /// job is gone: it is marked deleted.
    pub(super) async fn reread_jobs(&self, ids: Vec<String>) -> Result<u64, SyncError> {
        tracing::info!("re-reading {} changed jobs", ids.len());
        let client = self.client;
        let fetch = |id: String| async move {
            let res = client.get(&format!("jobs/{id}"), &[]).await;
            (id, res)
        };
        let found = |_: &str, resp: crate::api::Response, ops: &mut Vec<Op>| {
            flatten::flatten(Resource::Jobs, &resp.body, self.t, ops)
        };
        let gone = |id, ops: &mut Vec<Op>| {
            ops.push(Op::Delete {
                table: tables::jobs::TABLE,
                id,
                at: self.t,
            })
        };
        let (read, err) = self.read_by_id(ids, fetch, found, gone).await?;
        let n = read.len() as u64;
        // After the rows: the writer applies in order.
        self.writer.call(move |s| s.jobs_reread(&read)).await?;
        match err {
            Some(e) => Err(e.into()),
            None => Ok(n),
        }
    }
}
