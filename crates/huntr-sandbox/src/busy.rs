//! A busy day, on demand: many jobs move at once (a cohort applies
//! everywhere on the same day), and some of the moved jobs may then be
//! deleted before their `JOB_DELETED` is listed, so only a re-read finds
//! them gone. Nothing here runs unless a test or a benchmark asks for it
//! (`RunningSandbox::busy_day`, `POST /_sandbox/busy`), so the simulated
//! days and the answers a seed gives by default stay as they are.

use rand::Rng;

use crate::org::{Ix, Org, DAY, STAGES};

/// What a busy day does; nothing else happens that day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Busy {
    /// Distinct live jobs moved one or two stages on (fewer when fewer
    /// jobs can still move).
    pub moves: u32,
    /// Of the moved jobs, how many are then deleted with no action listed
    /// for it: off the jobs listing, `GET /jobs/<id>` answers 404, and the
    /// `/actions` feed does not say so (yet).
    pub unlisted_deletions: u32,
}

/// What a busy day did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusyDone {
    pub moved: u32,
    pub deleted: u32,
}

impl Org {
    /// Lives one day of `busy`'s changes: the moves are dated within the
    /// day, and the clock ends at its end.
    pub fn busy_day(&mut self, busy: Busy) -> BusyDone {
        let (prev, end) = (self.now, self.now + DAY);
        let last = STAGES[STAGES.len() - 1];
        let mut movable: Vec<Ix> = self
            .jobs_ix
            .values()
            .copied()
            .filter(|j| self.jobs[*j as usize].list != last)
            .collect();
        let mut moved = Vec::new();
        while moved.len() < busy.moves as usize && !movable.is_empty() {
            let j = movable.swap_remove(self.rng.random_range(0..movable.len()));
            let ts = self.ts_between(prev, end);
            self.move_job(ts, j);
            moved.push(j);
        }
        let mut done = BusyDone {
            moved: moved.len() as u32,
            deleted: 0,
        };
        for &j in moved.iter().take(busy.unlisted_deletions as usize) {
            self.delete_job_unlisted(j);
            done.deleted += 1;
        }
        self.now = end;
        self.days += 1;
        done
    }

    /// Deletes a job without an action: it leaves the listing and its
    /// employer's count. Its activities stay (deleting them would take
    /// actions too).
    fn delete_job_unlisted(&mut self, j: Ix) {
        let job = &mut self.jobs[j as usize];
        job.deleted = true;
        let (id, employer) = (job.id, job.employer);
        self.jobs_ix.remove(&id);
        self.employers[employer as usize].jobs -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::Busy;
    use crate::org::{Org, DAY};

    #[test]
    fn a_busy_day_moves_distinct_jobs_and_deletes_some_unlisted() {
        let mut org = Org::generate(3, 30);
        let (now, actions) = (org.now, org.actions.len());
        let live = org.jobs_ix.len();
        let done = org.busy_day(Busy {
            moves: 40,
            unlisted_deletions: 3,
        });
        assert_eq!((done.moved, done.deleted), (40, 3));
        assert_eq!(org.now, now + DAY);
        assert_eq!(org.jobs_ix.len(), live - 3);
        let moves: Vec<_> = org.actions[actions..]
            .iter()
            .filter(|a| a.kind == huntr_protocol::ActionType::JobMoved)
            .map(|a| a.job)
            .collect();
        assert_eq!(moves.len(), 40);
        let distinct: std::collections::BTreeSet<_> = moves.iter().collect();
        assert_eq!(distinct.len(), 40, "each job moves once");
        assert!(org.actions[actions..]
            .iter()
            .all(|a| a.kind != huntr_protocol::ActionType::JobDeleted));
    }
}
