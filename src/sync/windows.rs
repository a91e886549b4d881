//! Windowed reading of a creation-filtered resource (jobs, activities,
//! actions) over `[after, before)`, split into sub-windows fetched at once.
//!
//! A list answers newest first through a cursor, one page after another.
//! To use a slow API at its limit during a backfill, a window whose page
//! comes back full is split: what remains of it (records created up to the
//! last one seen) becomes two fresh windows (halves of that time range,
//! or split by the pages' density once a window has read a few, see
//! `split_point`), read concurrently up to `concurrency` at once. A small
//! window that fits in one page is one request, as before. Rows commit as
//! pages arrive (upserts are idempotent); the resource's watermark commits
//! only after every sub-window has, so it never jumps over a gap.
//!
//! A split costs requests: each sub-window ends with a partial page (and
//! sometimes an empty one). It pays only while the answers' latency bounds
//! the run; when the rate limiter does (requests already go out at nearly
//! the allowed rate, [`Client::rate_bound`]), a full page is followed by
//! the next page of the same window, as a sequential download would.

use std::collections::VecDeque;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::api::{ApiError, Client, Page, Pager};
use crate::resources::Resource;

/// Huntr's data starts after this (2015-01-01); used only to pick split
/// points, never as a filter.
const HUNTR_EPOCH: i64 = 1_420_070_400;

/// The records of one resource to read: created after `after` (None:
/// unbounded) and before `before`, `limit` to a page.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub resource: Resource,
    pub limit: u32,
    pub after: Option<i64>,
    pub before: i64,
}

struct Window {
    /// `created_after` sent (None: unbounded).
    after: Option<i64>,
    /// `created_before` sent.
    before: i64,
    pager: Pager,
}

fn window(
    client: &Client,
    r: Resource,
    limit: u32,
    after: Option<i64>,
    before: i64,
) -> Result<Window, ApiError> {
    let mut params = vec![("created_before", before.to_string())];
    if let Some(a) = after {
        params.push(("created_after", a.to_string()));
    }
    Ok(Window {
        after,
        before,
        pager: Pager::new(client, r.path(), Some(limit), params)?,
    })
}

/// Where the remaining range of a window starts, for choosing a split.
fn lower_bound(after: Option<i64>, last: i64) -> i64 {
    match after {
        Some(a) => a,
        None if last > HUNTR_EPOCH => HUNTR_EPOCH,
        None => 0,
    }
}

/// A window needs this many pages read before its pages' density, rather
/// than half its time range, places a split.
const DENSITY_PAGES: u64 = 4;

/// Where to split what remains of a window, `(lo, last]`, after a full
/// page whose newest record is `first`, the window's `pages`th. Halfway in
/// time, except once the window has read a few pages: records cluster in
/// recent time (an organization grows; its data starts at some date), so
/// halving would often leave the older part nearly empty, a sub-window
/// that costs a request and reads little. Then the newer part gets the
/// span that half as many pages as were read would cover at the density
/// of the page just read (the older part, whatever remains).
fn split_point(lo: i64, last: i64, first: Option<i64>, pages: u64) -> i64 {
    let half = lo + (last - lo) / 2;
    match first {
        Some(first) if pages >= DENSITY_PAGES => {
            let span = (first - last).max(1);
            half.max(last.saturating_sub(span.saturating_mul(pages as i64 / 2)))
        }
        _ => half,
    }
}

/// Reads the span, up to `concurrency` sub-windows at once, handing each
/// page to `load` in arrival order.
pub async fn read<F, Fut>(
    client: &Client,
    span: Span,
    concurrency: usize,
    mut load: F,
) -> Result<(), crate::sync::SyncError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::sync::SyncError>>,
{
    let Span {
        resource: r,
        limit,
        after,
        before,
    } = span;
    let concurrency = concurrency.max(1);
    let mut queue: VecDeque<Window> = VecDeque::from([window(client, r, limit, after, before)?]);
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < concurrency {
            let Some(mut w) = queue.pop_front() else {
                break;
            };
            in_flight.push(async move {
                let page: Result<Option<Page>, ApiError> = w.pager.next_page().await;
                (w, page)
            });
        }
        let Some((w, page)) = in_flight.next().await else {
            break;
        };
        let Some(page) = page? else { continue };
        let full = page.len() >= limit as usize && !w.pager.is_done();
        if full {
            // One more window at once, if there is room for it and rate to spare.
            let spare = in_flight.len() + queue.len() + 1 < concurrency && !client.rate_bound();
            match page.last_created() {
                // Split what remains, (after, last], in two.
                Some(last) if spare && last - lower_bound(w.after, last) > 2 => {
                    let lo = lower_bound(w.after, last);
                    let mid = split_point(lo, last, page.first_created(), w.pager.pages);
                    queue.push_back(window(client, r, limit, Some(mid), last + 1)?);
                    queue.push_back(window(client, r, limit, w.after, mid + 1)?);
                    tracing::debug!("{r}: split ({:?}, {}) at {mid}", w.after, w.before);
                }
                _ => queue.push_back(w),
            }
        }
        load(page).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_pages_density_once_a_window_has_read_a_few() {
        // The first pages: halfway in time.
        assert_eq!(split_point(1_000, 2_000, Some(2_100), 1), 1_500);
        assert_eq!(split_point(1_000, 2_000, None, 10), 1_500);
        // Ten pages of 100 s each read: five pages' span below the last.
        assert_eq!(split_point(0, 100_000, Some(100_100), 10), 99_500);
        // Never below halfway: the older part is never the larger range.
        assert_eq!(split_point(99_000, 100_000, Some(100_500), 10), 99_500);
        // Records in one second: still a split inside the range.
        let mid = split_point(0, 100_000, Some(100_000), 8);
        assert!(mid > 0 && mid < 100_000, "{mid}");
    }
}
