//! Re-listing every job instead of re-reading changed jobs one by one,
//! when that is expected to be quicker (DESIGN: "re-list when cheaper").
//!
//! A run ends by re-reading the jobs that actions changed: one
//! `GET /jobs/<id>` each. On a busy day (600 moved jobs among 2,000) that
//! is 600 requests, where listing every job is 4 pages of 500. The cost of
//! a listing is estimated from the live jobs the store holds, with a margin
//! for jobs created since, and only once jobs have been read to the end
//! (before that the store's count says nothing about the organization).
//!
//! A re-listing upserts what it reads (full records as of `T`, like any
//! read), so the pending entries of the jobs it returned become obsolete by
//! the same rule as after a re-read. It marks nothing by its absence: jobs
//! are not a mirrored resource, deletions come from `JOB_DELETED` actions
//! and 404s. A changed job the listing did not return (deleted since, its
//! `JOB_DELETED` not listed yet) is re-read one by one, where a 404 marks
//! it deleted.

use std::collections::HashSet;

use super::run::Run;
use super::SyncError;
use crate::api::Pager;
use crate::json::Node;
use crate::resources::Resource;

/// A re-listing chosen over re-reads: the figures it was chosen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Relist {
    /// Live jobs in the store.
    pub known: u64,
    /// Pages the listing is expected to take.
    pub pages: u64,
}

/// Pages a listing of every job takes: `known` jobs plus a margin for jobs
/// created since they were counted (2%, and at least one), `limit` a page.
pub(super) fn listing_pages(known: u64, limit: u32) -> u64 {
    (known + known / 50 + 1).div_ceil(u64::from(limit.max(1)))
}

/// An API round trip, as assumed when comparing the two ways (re-reads go
/// several at once, listing pages one after another).
const ROUND_TRIP_S: f64 = 0.05;
/// Reading and writing one listed record (the CPU of a full sync, about
/// 15 microseconds an object, with room).
const RECORD_S: f64 = 20e-6;

/// What a way of reading costs, as the time it is expected to take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Costs {
    /// Requests per second the limiter allows.
    pub rate: f64,
    /// Re-reads at once.
    pub concurrency: usize,
    pub limit: u32,
}

impl Costs {
    /// Seconds for `requests` requests, `at_once` at a time, under the rate.
    fn seconds(&self, requests: u64, at_once: usize) -> f64 {
        let by_rate = requests as f64 / self.rate.max(f64::MIN_POSITIVE);
        let by_trips = requests.div_ceil(at_once.max(1) as u64) as f64 * ROUND_TRIP_S;
        by_rate.max(by_trips)
    }
}

/// Re-list when that is expected to take less time than re-reading the
/// `pending` jobs: under a low rate the requests decide (600 re-reads
/// against 5 pages), without one the listing's sequential pages and its
/// records do (48 re-reads, 12 round trips four at a time, beat 18 pages
/// of 500 jobs). Never when the number of jobs is unknown (`None`: jobs
/// were never read to the end).
pub(super) fn choose(known: Option<u64>, pending: usize, costs: Costs) -> Option<Relist> {
    let known = known?;
    let pages = listing_pages(known, costs.limit);
    let reread = costs.seconds(pending as u64, costs.concurrency);
    let relist = costs.seconds(pages, 1) + known as f64 * RECORD_S;
    (pages < pending as u64 && relist < reread).then_some(Relist { known, pages })
}

/// `12345` as `12,345`, for log lines.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Run<'_> {
    /// Whether to re-list every job instead of re-reading `pending` ones.
    pub(super) async fn relisting(&self, pending: usize) -> Result<Option<Relist>, SyncError> {
        if pending < 2 {
            // A listing is at least one page: one re-read is never dearer.
            return Ok(None);
        }
        let known = self
            .writer
            .call(|s| match s.watermark(Resource::Jobs)? {
                Some(_) => s.live_jobs().map(Some),
                None => Ok(None),
            })
            .await?;
        let costs = Costs {
            rate: self.client.rate(),
            concurrency: self.opts.refresh_concurrency,
            limit: self.opts.limit,
        };
        Ok(choose(known, pending, costs))
    }

    /// Lists every job, loading each page; then re-reads one by one the
    /// changed jobs (`ids`) the listing did not return. Returns how many
    /// changed jobs were read again, either way.
    pub(super) async fn relist_jobs(
        &self,
        ids: Vec<String>,
        plan: Relist,
    ) -> Result<u64, SyncError> {
        tracing::info!(
            "re-listing {} jobs in {} pages instead of {} re-reads",
            thousands(plan.known),
            thousands(plan.pages),
            thousands(ids.len() as u64)
        );
        let total = ids.len() as u64;
        let mut missing: HashSet<String> = ids.iter().cloned().collect();
        let r = Resource::Jobs;
        let mut pager = Pager::new(self.client, r.path(), Some(self.opts.limit), Vec::new())?;
        let (mut pages, mut listed) = (0u64, 0u64);
        while let Some(page) = pager.next_page().await? {
            pages += 1;
            listed += page.len() as u64;
            self.load_page_seeing(r, page, None, |node| {
                if let Some(id) = node.get("id").and_then(Node::as_str) {
                    missing.remove(id);
                }
            })
            .await?;
        }
        self.relist_pages
            .store(pages, std::sync::atomic::Ordering::Relaxed);
        let found = total - missing.len() as u64;
        tracing::info!(
            "re-listed {} jobs in {} pages: {} of {} changed jobs among them",
            thousands(listed),
            thousands(pages),
            thousands(found),
            thousands(total)
        );
        // The listed ones are read: their claims clear (after their rows:
        // the writer applies in order).
        let read: Vec<String> = ids.into_iter().filter(|id| !missing.contains(id)).collect();
        self.writer.call(move |s| s.jobs_reread(&read)).await?;
        if missing.is_empty() {
            return Ok(found);
        }
        // Deleted since they changed (a 404 marks them), or not listed for
        // another reason: a re-read settles each.
        let mut rest: Vec<String> = missing.into_iter().collect();
        rest.sort_unstable();
        Ok(found + self.reread_jobs(rest).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_costs_its_pages_with_a_margin_for_new_jobs() {
        assert_eq!(listing_pages(0, 500), 1);
        assert_eq!(listing_pages(1_900, 500), 4);
        assert_eq!(listing_pages(2_000, 500), 5, "2% more than 4 full pages");
        assert_eq!(listing_pages(2_000, 100), 21);
        assert_eq!(listing_pages(100_000, 500), 205);
    }

    fn costs(rate: f64) -> Costs {
        Costs {
            rate,
            concurrency: 4,
            limit: 500,
        }
    }

    #[test]
    fn relisting_is_chosen_only_when_it_is_expected_to_be_quicker() {
        // A busy night: 600 changed jobs among 2,000, at the default rate
        // and without a limit alike.
        for rate in [5.0, 10_000.0] {
            assert_eq!(
                choose(Some(2_000), 600, costs(rate)),
                Some(Relist {
                    known: 2_000,
                    pages: 5
                })
            );
        }
        // A quiet night: a few.
        assert_eq!(choose(Some(2_000), 3, costs(5.0)), None);
        // Never more requests than the re-reads.
        assert_eq!(choose(Some(2_000), 5, costs(5.0)), None);
        assert!(choose(Some(2_000), 6, costs(5.0)).is_some());
        // A backfill's last hour, 48 changed among 8,908 jobs (19 pages):
        // under a limit of 20/s the pages are quicker, without one the
        // re-reads (12 round trips against 19 pages of 500 jobs).
        assert!(choose(Some(8_908), 48, costs(20.0)).is_some());
        assert_eq!(choose(Some(8_908), 48, costs(10_000.0)), None);
        // Jobs never read to the end: the store's count means nothing.
        assert_eq!(choose(None, 600, costs(5.0)), None);
    }

    #[test]
    fn figures_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(600), "600");
        assert_eq!(thousands(2_000), "2,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
