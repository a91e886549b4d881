//! What a simulated day does to the job and talent portals: a new
//! job post now and then, edits, a deletion, a bulk close, new candidates,
//! profile views and searches, each with its action. Draws come from the
//! portal's own stream, in a fixed order.

use huntr_protocol::ActionType;
use rand::Rng;

use crate::days::Changes;
use crate::org::{Ix, Org};
use crate::portal::{Link, STATUSES, TITLES};

fn bump(n: &mut Changes, kind: &'static str) {
    *n.entry(kind).or_default() += 1;
}

impl Org {
    /// The day `prev..end` of the portals.
    pub(crate) fn portal_day(&mut self, prev: i64, end: i64, n: &mut Changes) {
        let lo = prev + 1;
        if self.portal.rng.random_bool(0.6) {
            let ts = self.portal.ts_between(lo, end);
            self.new_post(ts, true);
            bump(n, "job_posts_created");
        }
        for _ in 0..self.portal.rng.random_range(1..3) {
            let ts = self.portal.ts_between(lo, end);
            if self.edit_post(ts) {
                bump(n, "job_posts_updated");
            }
        }
        if self.portal.rng.random_bool(0.4) {
            let ts = self.portal.ts_between(lo, end);
            if self.delete_post(ts) {
                bump(n, "job_posts_deleted");
            }
        }
        if self.portal.rng.random_bool(0.3) {
            let ts = self.portal.ts_between(lo, end);
            self.bulk_update(ts);
            bump(n, "job_posts_bulk_updated");
        }
        let without: Vec<Ix> = self
            .members_ix
            .values()
            .copied()
            .filter(|m| !self.portal.candidates.iter().any(|c| c.member == *m))
            .collect();
        if !without.is_empty() && self.portal.rng.random_bool(0.7) {
            let m = without[self.portal.rng.random_range(0..without.len())];
            let ts = self.portal.ts_between(lo, end);
            self.new_candidate(ts, m);
            bump(n, "candidates_created");
        }
        for _ in 0..self.portal.rng.random_range(0..4) {
            self.view_candidate(lo, end);
            bump(n, "candidate_profile_views");
        }
        if self.portal.rng.random_bool(0.5) {
            let ts = self.portal.ts_between(lo, end);
            self.search_candidates(ts);
        }
    }

    fn a_live_post(&mut self) -> Option<usize> {
        let live: Vec<Ix> = self.portal.posts_ix.values().copied().collect();
        if live.is_empty() {
            return None;
        }
        Some(live[self.portal.rng.random_range(0..live.len())] as usize)
    }

    /// A new title or status for a live post, and its JOB_POST_UPDATED.
    fn edit_post(&mut self, ts: i64) -> bool {
        let Some(p) = self.a_live_post() else {
            return false;
        };
        let r = &mut self.portal.rng;
        let update = if r.random_bool(0.5) {
            let title = format!("{} II", TITLES[r.random_range(0..TITLES.len())]);
            self.portal.posts[p].title = title.clone();
            serde_json::json!({ "title": title })
        } else {
            let status = STATUSES[r.random_range(0..STATUSES.len())];
            self.portal.posts[p].status = status;
            serde_json::json!({ "jobPostStatusName": status })
        };
        let creator = self.portal.posts[p].owner;
        let a = self.portal_action(ts, ActionType::JobPostUpdated, creator, Link::Post(p));
        a.update = Some(update);
        true
    }

    /// Deletes a live post: off the listing, with a JOB_POST_DELETED.
    fn delete_post(&mut self, ts: i64) -> bool {
        let Some(p) = self.a_live_post() else {
            return false;
        };
        let post = &mut self.portal.posts[p];
        post.deleted = true;
        let (id, creator) = (post.id, post.owner);
        self.portal.posts_ix.remove(&id);
        self.portal_action(ts, ActionType::JobPostDeleted, creator, Link::Post(p));
        true
    }
}
