//! Simulated days: what one day does to the organization (new and late
//! jobs, moves, edits, completions, deletions, note and contact changes,
//! invitations accepted and sent, deactivations, a deprecated event), and
//! the count of each kind of change.
//!
//! The phases run, and draw their random numbers, in a fixed order, so one
//! seed always lives the same days; keep that order when changing this
//! file.

use std::collections::BTreeMap;

use huntr_protocol::ActionType;
use rand::Rng;

use crate::org::{Event, Ix, Org, DAY};

/// How many changes of each kind a day made.
pub type Changes = BTreeMap<&'static str, u32>;

fn bump(n: &mut Changes, kind: &'static str, count: u32) {
    *n.entry(kind).or_default() += count;
}

/// The organization as the day began: what the day's changes pick from.
struct Day {
    /// The clock at the start of the day, and at its end.
    prev: i64,
    end: i64,
    /// Members (at least 10): how much happens in a day.
    scale: u32,
    members: Vec<Ix>,
    active: Vec<Ix>,
    live_jobs: Vec<Ix>,
    live_acts: Vec<Ix>,
    /// The newest second a previous sync could have seen.
    newest: i64,
}

impl Org {
    /// A simulated day: new and late records, moves, edits, deletions,
    /// completions, accepted invitations, deactivations (and the quirks a
    /// test turned on: the previous day's late changes first). Returns a
    /// short description of what changed.
    pub fn advance_day(&mut self) -> Changes {
        let mut n = Changes::new();
        self.release_late();
        let d = self.day_start();
        let first_action = self.actions.len();
        self.add_jobs(&d, &mut n);
        self.change_jobs(&d, &mut n);
        self.change_activities(&d, &mut n);
        self.delete_jobs(&d, &mut n);
        self.change_notes(&d, &mut n);
        self.change_contacts(&d, &mut n);
        self.change_people(&d, &mut n);
        self.trickle_event(&d);
        // Goals, documents and the employer portal (own random stream).
        self.side_day(d.prev, d.end, &mut n);
        // Quirks, when a test turned them on (no draws otherwise).
        if self.quirks.same_second_pairs > 0 {
            let pairs = self.same_second_pairs(d.prev, d.end, &d.live_acts);
            bump(&mut n, "same_second_pairs", pairs);
        }
        if self.quirks.reopened_activities > 0 {
            let reopened = self.reopen_activities(d.prev, d.end, &d.live_acts);
            bump(&mut n, "reopened_activities", reopened);
        }
        if self.quirks.late_changes > 0 {
            let held = self.hold_late(first_action, d.end);
            bump(&mut n, "late_changes", held);
        }
        // The job and talent portals, from their own stream.
        self.portal_day(d.prev, d.end, &mut n);
        self.last_moment(d.end);
        // The roster's changes, from its own stream.
        crate::roster::day(self, d.prev, d.end, &d.active);
        self.now = d.end;
        self.days += 1;
        n
    }

    fn day_start(&self) -> Day {
        let prev = self.now;
        let members: Vec<Ix> = self.members_ix.values().copied().collect();
        let active: Vec<Ix> = members
            .iter()
            .copied()
            .filter(|m| self.people[*m as usize].is_active)
            .collect();
        Day {
            prev,
            end: prev + DAY,
            scale: (self.members_ix.len() as u32).max(10),
            members,
            active,
            live_jobs: self.jobs_ix.values().copied().collect(),
            live_acts: self.activities_ix.values().copied().collect(),
            newest: self
                .actions_ix
                .keys()
                .rev()
                .find(|o| !crate::side::is_side(o))
                .map(|o| o.created())
                .unwrap_or(prev - 1),
        }
    }

    /// Jobs that arrive late (a few minutes before the day, or in the same
    /// second as the previous newest record), then the day's new jobs,
    /// some with a note.
    fn add_jobs(&mut self, d: &Day, n: &mut Changes) {
        let (prev, end, active) = (d.prev, d.end, &d.active);
        for i in 0..(d.scale / 20).max(2) {
            let m = active[self.rng.random_range(0..active.len())];
            let ts = if i % 2 == 0 {
                prev - self.rng.random_range(60..600)
            } else {
                d.newest
            };
            self.new_job(ts, m, m);
            bump(n, "late_jobs", 1);
        }
        for _ in 0..(d.scale / 3).max(3) {
            let m = active[self.rng.random_range(0..active.len())];
            let ts = self.ts_between(prev, end);
            let creator = if self.rng.random_bool(0.1) {
                self.advisors[0]
            } else {
                m
            };
            let j = self.new_job(ts, m, creator);
            if self.rng.random_bool(0.3) {
                let at = self.ts_between(ts, end);
                self.note_for(at, j);
                bump(n, "notes", 1);
            }
            bump(n, "new_jobs", 1);
        }
    }

    /// Jobs move on, and some are edited (title and salary).
    fn change_jobs(&mut self, d: &Day, n: &mut Changes) {
        let live_jobs = &d.live_jobs;
        for _ in 0..(d.scale / 5).max(3) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            self.move_job(ts, j);
            bump(n, "moved_jobs", 1);
        }
        for _ in 0..(d.scale / 10).max(2) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            self.edit_job(ts, j);
            bump(n, "edited_jobs", 1);
        }
    }

    /// Activities are completed, and a few deleted.
    fn change_activities(&mut self, d: &Day, n: &mut Changes) {
        let live_acts = &d.live_acts;
        for _ in 0..(d.scale / 4).max(3) {
            let ax = live_acts[self.rng.random_range(0..live_acts.len())];
            if self.activities[ax as usize].deleted || self.activities[ax as usize].completed {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            let act = &mut self.activities[ax as usize];
            act.completed = true;
            act.completed_at = Some(ts);
            act.note = Some("Done 👍".into());
            let (owner, job) = (act.owner, act.job);
            let a = self.action(ts, ActionType::ActivityUpdated, owner, owner);
            a.activity = Some(ax);
            a.job = job;
            a.update = Some(serde_json::json!({"completed": true}));
            bump(n, "completed_activities", 1);
        }
        for _ in 0..(d.scale / 15).max(1) {
            let ax = live_acts[self.rng.random_range(0..live_acts.len())];
            if self.activities[ax as usize].deleted {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            self.delete_activity(ts, ax);
            bump(n, "deleted_activities", 1);
        }
    }

    /// Jobs are deleted, and their activities with them.
    fn delete_jobs(&mut self, d: &Day, n: &mut Changes) {
        let live_jobs = &d.live_jobs;
        for _ in 0..(d.scale / 20).max(1) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            let job = &mut self.jobs[j as usize];
            job.deleted = true;
            let (id, owner, emp) = (job.id, job.owner, job.employer);
            self.jobs_ix.remove(&id);
            self.employers[emp as usize].jobs -= 1;
            let acts = self.jobs[j as usize].activities.clone();
            let a = self.action(ts, ActionType::JobDeleted, owner, owner);
            a.job = Some(j);
            // A deleted job's activities go with it.
            for ax in acts {
                if !self.activities[ax as usize].deleted {
                    self.delete_activity(ts, ax);
                }
            }
            bump(n, "deleted_jobs", 1);
        }
    }

    /// One note is edited and one deleted.
    fn change_notes(&mut self, d: &Day, n: &mut Changes) {
        let live_notes: Vec<Ix> = (0..self.notes.len() as Ix)
            .filter(|i| !self.notes[*i as usize].deleted)
            .collect();
        if live_notes.is_empty() {
            return;
        }
        for k in 0..2 {
            let nx = live_notes[self.rng.random_range(0..live_notes.len())];
            if self.notes[nx as usize].deleted {
                continue;
            }
            let ts = self.ts_between(d.prev, d.end);
            let owner = self.people.iter().position(|p| p.member).unwrap_or(0) as Ix;
            let kind = if k == 0 {
                ActionType::NoteUpdated
            } else {
                ActionType::NoteDeleted
            };
            if k == 0 {
                self.notes[nx as usize].text = format!("Updated on day {}", self.days + 1);
            } else {
                self.notes[nx as usize].deleted = true;
            }
            self.action(ts, kind, owner, owner).note = Some(nx);
            bump(n, "changed_notes", 1);
        }
    }

    /// A contact gets a new title and, among enough contacts, another is
    /// deleted; a job gets a new contact.
    fn change_contacts(&mut self, d: &Day, n: &mut Changes) {
        let live_contacts: Vec<Ix> = (0..self.contacts.len() as Ix)
            .filter(|i| !self.contacts[*i as usize].deleted)
            .collect();
        if !live_contacts.is_empty() {
            let cx = live_contacts[self.rng.random_range(0..live_contacts.len())];
            let ts = self.ts_between(d.prev, d.end);
            self.contacts[cx as usize].title = "Recruiter".into();
            let owner = self.jobs[self.contacts[cx as usize].jobs[0] as usize].owner;
            let a = self.action(ts, ActionType::ContactUpdated, owner, owner);
            a.contact = Some(cx);
            a.update = Some(serde_json::json!({"title": "Recruiter"}));
            if live_contacts.len() > 3 {
                let dx = live_contacts[self.rng.random_range(0..live_contacts.len())];
                if dx != cx {
                    self.contacts[dx as usize].deleted = true;
                    self.action(ts, ActionType::ContactDeleted, owner, owner)
                        .contact = Some(dx);
                    bump(n, "deleted_contacts", 1);
                }
            }
            bump(n, "changed_contacts", 1);
        }
        if !d.live_jobs.is_empty() {
            let j = d.live_jobs[self.rng.random_range(0..d.live_jobs.len())];
            if !self.jobs[j as usize].deleted {
                let at = self.ts_between(d.prev, d.end);
                self.contact_for(at, j);
            }
        }
    }

    /// Invitations accepted and sent (one of them accepted the same day),
    /// members deactivated, and a member field value changed.
    fn change_people(&mut self, d: &Day, n: &mut Changes) {
        let (prev, end) = (d.prev, d.end);
        let pending: Vec<Ix> = self.invitations_ix.values().copied().collect();
        for inv in pending.into_iter().take((d.scale / 30).max(1) as usize) {
            let ts = self.ts_between(prev, end);
            self.accept(ts, inv);
            bump(n, "accepted_invitations", 1);
        }
        for _ in 0..(d.scale / 30).max(2) {
            let ts = self.ts_between(prev, end);
            self.invitation(ts);
            bump(n, "new_invitations", 1);
        }
        // One invitation is created and accepted within the day.
        let ts = self.ts_between(prev, end - 60);
        let inv = self.invitation(ts);
        self.accept(ts + 30, inv);
        for _ in 0..(d.scale / 25).max(1) {
            let m = d.active[self.rng.random_range(0..d.active.len())];
            self.people[m as usize].is_active = false;
            bump(n, "deactivated_members", 1);
        }
        if let Some(&m) = d.members.first() {
            let v = self.rng.random_range(18..60);
            if let Some(f) = self.people[m as usize].fields.iter_mut().find(|f| f.0 == 1) {
                f.1 = serde_json::json!(v);
            }
        }
    }

    /// A couple of events still trickle in on the deprecated feed.
    fn trickle_event(&mut self, d: &Day) {
        if let Some(&j) = self.jobs_ix.values().next_back() {
            let ts = self.ts_between(d.prev, d.end);
            let id = self.oid(ts);
            let member = self.jobs[j as usize].owner;
            self.events.push(Event {
                id,
                kind: "JOB_MOVED",
                date: None,
                member,
                job: j,
                from_list: Some("Wishlist"),
                to_list: Some("Applied"),
            });
            self.events_ix.insert(id, (self.events.len() - 1) as Ix);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::org::{Org, DAY, START};

    #[test]
    fn a_day_changes_things() {
        let mut org = Org::generate(1, 30);
        let before = org.actions.len();
        let n = org.advance_day();
        assert!(org.actions.len() > before);
        for k in [
            "new_jobs",
            "moved_jobs",
            "deleted_jobs",
            "completed_activities",
            "accepted_invitations",
            "late_jobs",
        ] {
            assert!(n.get(k).copied().unwrap_or(0) > 0, "{k}: {n:?}");
        }
        assert_eq!(org.now, START + DAY);
    }
}
