//! Quirks of a less tidy API that a test can turn on (see [`Quirks`]); off
//! by default, so that a seed lives the same days without them.
//!
//! - Late changes: a day's last few job changes (moves and edits) are
//!   dated in the last five minutes of the day but held back, the job's
//!   change and its action together, until the next day begins. A sync at
//!   the end of the day reads those jobs as they were; the next one finds
//!   actions dated before its previous run.
//! - Same-second pairs: an activity completed and reopened in one second,
//!   two ACTIVITY_UPDATED actions with consecutive ids, each carrying the
//!   activity as it left it (the last one is the truth).
//! - Reopened activities: completed activities made open again, as the API
//!   shows them: no `completedAt` any more, and every other one's note
//!   emptied (no `note`), each by one ACTIVITY_UPDATED action.
//!
//! [`Quirks`]: crate::org::Quirks

use huntr_protocol::ActionType;
use rand::Rng;

use crate::org::{Ix, Oid, Org, STAGES};

/// How far before the end of the day a late change is dated, at most.
const LATE_WINDOW: i64 = 300;

impl Org {
    /// Applies the changes held back from the previous day, at their own
    /// (earlier) dates.
    pub(crate) fn release_late(&mut self) {
        for (ts, job, edit) in std::mem::take(&mut self.quirks.held) {
            if self.jobs[job as usize].deleted {
                continue;
            }
            if edit {
                self.edit_job(ts, job);
            } else {
                self.move_job(ts, job);
            }
        }
    }

    /// Holds back changes to the jobs the day's last job changes (actions
    /// from `first_action` on) touched: the sync at `end` reads those jobs,
    /// before the held change. Returns how many were held.
    pub(crate) fn hold_late(&mut self, first_action: usize, end: i64) -> u32 {
        let want = self.quirks.late_changes as usize;
        if want == 0 {
            return 0;
        }
        let mut changed: Vec<(Oid, Ix)> = self.actions[first_action..]
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ActionType::JobCreated | ActionType::JobMoved | ActionType::JobUpdated
                )
            })
            .filter_map(|a| a.job.map(|j| (a.id, j)))
            .filter(|(_, j)| !self.jobs[*j as usize].deleted)
            .collect();
        changed.sort_unstable_by(|a, b| b.cmp(a));
        let mut jobs: Vec<Ix> = Vec::new();
        for (_, j) in changed {
            if jobs.len() < want && !jobs.contains(&j) {
                jobs.push(j);
            }
        }
        for (i, j) in jobs.iter().enumerate() {
            let ts = end - self.rng.random_range(1..LATE_WINDOW);
            // A job on the last stage cannot move on: it is edited.
            let last = self.jobs[*j as usize].list == STAGES[STAGES.len() - 1];
            self.quirks.held.push((ts, *j, i % 2 == 1 || last));
        }
        jobs.len() as u32
    }

    /// Completes and reopens up to `count` open activities of `live`, each
    /// pair in one second between `prev` and `end`. Returns how many.
    pub(crate) fn same_second_pairs(&mut self, prev: i64, end: i64, live: &[Ix]) -> u32 {
        let mut open: Vec<Ix> = live
            .iter()
            .copied()
            .filter(|a| !self.activities[*a as usize].deleted)
            .filter(|a| !self.activities[*a as usize].completed)
            .collect();
        let mut done = 0;
        for _ in 0..self.quirks.same_second_pairs {
            if open.is_empty() {
                break;
            }
            let ax = open.swap_remove(self.rng.random_range(0..open.len()));
            done += 1;
            let ts = self.ts_between(prev, end);
            for completed in [true, false] {
                let act = &mut self.activities[ax as usize];
                act.completed = completed;
                // A reopened activity has no completion time, as in the API.
                act.completed_at = completed.then_some(ts);
                let (owner, job) = (act.owner, act.job);
                let snapshot = self.activity_core(&self.activities[ax as usize]);
                let a = self.action(ts, ActionType::ActivityUpdated, owner, owner);
                a.activity = Some(ax);
                a.job = job;
                a.update = Some(serde_json::json!({ "completed": completed }));
                a.snapshot = Some(snapshot);
            }
        }
        done
    }

    /// Reopens up to `quirks.reopened_activities` completed activities of
    /// `live` between `prev` and `end`: each loses its `completedAt`, and
    /// every other one its note. Returns how many.
    pub(crate) fn reopen_activities(&mut self, prev: i64, end: i64, live: &[Ix]) -> u32 {
        let mut done_ones: Vec<Ix> = live
            .iter()
            .copied()
            .filter(|a| {
                let act = &self.activities[*a as usize];
                !act.deleted && act.completed
            })
            .collect();
        let mut done = 0;
        for _ in 0..self.quirks.reopened_activities {
            if done_ones.is_empty() {
                break;
            }
            let ax = done_ones.swap_remove(self.rng.random_range(0..done_ones.len()));
            let ts = self.ts_between(prev, end);
            let act = &mut self.activities[ax as usize];
            act.completed = false;
            act.completed_at = None;
            let mut update = serde_json::json!({ "completed": false });
            if done % 2 == 0 {
                act.note = None;
                update["note"] = serde_json::Value::Null;
            }
            let (owner, job) = (act.owner, act.job);
            let a = self.action(ts, ActionType::ActivityUpdated, owner, owner);
            a.activity = Some(ax);
            a.job = job;
            a.update = Some(update);
            done += 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use huntr_protocol::ActionType;

    use crate::org::Org;

    #[test]
    fn late_changes_appear_the_next_day_dated_before_it() {
        let mut org = Org::generate(3, 30);
        org.quirks.late_changes = 4;
        let n = org.advance_day();
        assert_eq!(n.get("late_changes"), Some(&4));
        let (end, before) = (org.now, org.actions.len());
        org.advance_day();
        let late: Vec<_> = org.actions[before..]
            .iter()
            .filter(|a| matches!(a.kind, ActionType::JobMoved | ActionType::JobUpdated))
            .filter(|a| a.id.created() < end)
            .collect();
        assert_eq!(late.len(), 4);
        assert!(late.iter().all(|a| a.id.created() >= end - 300));
    }

    #[test]
    fn pairs_share_a_second_and_consecutive_ids() {
        let mut org = Org::generate(3, 30);
        org.quirks.same_second_pairs = 3;
        let n = org.advance_day();
        assert!(n.get("same_second_pairs").is_some_and(|c| *c > 0), "{n:?}");
        let pairs: Vec<_> = org
            .actions
            .iter()
            .filter(|a| a.snapshot.is_some())
            .collect();
        for p in pairs.chunks(2) {
            assert_eq!(p[0].id.0, p[1].id.0);
            assert_eq!(p[0].id.1 + 1, p[1].id.1);
            assert_eq!(p[0].snapshot.as_ref().unwrap()["completed"], true);
            assert_eq!(p[1].snapshot.as_ref().unwrap()["completed"], false);
            assert!(!org.activities[p[1].activity.unwrap() as usize].completed);
            assert!(p[1].snapshot.as_ref().unwrap().get("completedAt").is_none());
        }
    }

    #[test]
    fn reopened_activities_lose_their_completion_and_some_their_note() {
        let mut org = Org::generate(3, 30);
        org.advance_day();
        org.quirks.reopened_activities = 4;
        let before = org.actions.len();
        let n = org.advance_day();
        assert_eq!(n.get("reopened_activities"), Some(&4), "{n:?}");
        let reopened: Vec<_> = org.actions[before..]
            .iter()
            .filter(|a| a.kind == ActionType::ActivityUpdated)
            .filter(|a| a.update.as_ref().is_some_and(|u| u["completed"] == false))
            .filter_map(|a| a.activity)
            .collect();
        assert_eq!(reopened.len(), 4);
        let mut without_note = 0;
        for ax in reopened {
            let act = &org.activities[ax as usize];
            assert!(!act.completed && act.completed_at.is_none());
            let core = org.activity_core(act);
            assert!(core.get("completedAt").is_none());
            without_note += core.get("note").is_none() as u32;
        }
        assert!(without_note >= 2, "{without_note}");
    }
}
