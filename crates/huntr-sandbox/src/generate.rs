//! Building the organization from a seed: the catalog (activity
//! categories, member fields, board templates), advisors, and each member's
//! history of jobs, moves, activities, notes, contacts and deprecated
//! events, then pending invitations.
//!
//! Every random draw happens in a fixed order, so one seed and scale always
//! give the same organization; keep that order when changing this file.

use rand::Rng;

use crate::org::{BoardTemplate, Event, Ix, MemberField, Oid, Org, CATEGORIES, DAY, STAGES, START};

/// How far back the generated history goes.
const HISTORY_DAYS: i64 = 120;

/// The member fields: name, type, choices.
const FIELDS: [(&str, &str, &[&str]); 4] = [
    (
        "Location",
        "MULTIPLE_CHOICE",
        &["Vancouver", "Seattle", "New York", "Montreal", "Miami"],
    ),
    ("Age", "NUMBER", &[]),
    (
        "Program",
        "MULTIPLE_CHOICE",
        &["Web Design", "iOS", "Data Science"],
    ),
    ("Graduation", "DATE", &[]),
];

impl Org {
    /// Generates the organization: `scale` members and their history.
    pub fn generate(seed: u64, scale: u32) -> Org {
        Org::generate_with(seed, scale, true)
    }

    /// [`Org::generate`]; without `goal_history` the goals exist but no
    /// goal, document or portal action happened before the sandbox clock
    /// (an organization that started using them after an upgrade).
    pub fn generate_with(seed: u64, scale: u32, goal_history: bool) -> Org {
        Org::empty(seed).generated(scale, goal_history)
    }

    /// [`Org::generate_with`], starting from `org` as [`Org::empty`] made
    /// it (a test may turn a module off first).
    pub(crate) fn generated(self, scale: u32, goal_history: bool) -> Org {
        let mut org = self;
        let t0 = START - HISTORY_DAYS * DAY;
        org.catalog(t0);
        let advisors = (scale / 40).max(2);
        for _ in 0..advisors {
            let p = org.new_person(t0 - 100 * DAY, false);
            org.advisors.push(p);
        }
        for i in 0..scale {
            org.member_history(i, t0, advisors);
        }
        for _ in 0..(scale / 10).max(3) {
            let ts = org.ts_between(START - 20 * DAY, START - 1);
            org.invitation(ts);
        }
        org.last_moment(START);
        // Goals, documents and the employer portal (own random stream).
        org.side_history(goal_history);
        // The job and talent portals, from their own stream.
        org.generate_portal(scale);
        // The roster's groups, notes, tags..., from its own stream.
        crate::roster::generate(&mut org);
        org
    }

    /// Activity categories, member fields and board templates, older than
    /// any history.
    fn catalog(&mut self, t0: i64) {
        for name in CATEGORIES {
            let id = self.oid(t0 - 400 * DAY);
            self.categories.push((id, name));
        }
        for (name, field_type, choices) in FIELDS {
            let id = self.oid(t0 - 300 * DAY);
            self.fields.push(MemberField {
                id,
                name: name.to_owned(),
                field_type,
                choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            });
        }
        for (i, name) in ["Tech Jobs", "Spring 2026"].into_iter().enumerate() {
            let id = self.oid(t0 - 200 * DAY);
            // The API repeats list template ids within a template.
            let repeated = self.oid(t0 - 200 * DAY);
            let mut lists: Vec<(Oid, &str)> = Vec::new();
            for stage in STAGES {
                let lid = if stage == "Rejected" || stage == "Offer" {
                    repeated
                } else {
                    self.oid(t0 - 200 * DAY)
                };
                lists.push((lid, stage));
            }
            self.templates.push(BoardTemplate {
                id,
                name,
                lists,
                is_default: i == 0,
            });
        }
    }

    /// The `i`th member: joins, tracks jobs, sometimes logs an activity
    /// that belongs to no job.
    fn member_history(&mut self, i: u32, t0: i64, advisors: u32) {
        let joined = self.ts_between(t0, START - 30 * DAY);
        let m = self.new_person(joined, true);
        if i % 17 == 5 {
            self.people[m as usize].is_active = false;
        }
        let n_jobs = self.rng.random_range(3..16);
        for k in 0..n_jobs {
            self.job_history(k == 0, m, joined, t0, advisors);
        }
        // Activities without a job.
        if self.rng.random_bool(0.3) {
            let at = self.ts_between(joined, START - 1);
            let cat = Self::category("Networking Event");
            self.new_activity(at, None, m, m, cat, false);
        }
    }

    /// One of member `m`'s jobs and what happened to it before [`START`].
    fn job_history(&mut self, first: bool, m: Ix, joined: i64, t0: i64, advisors: u32) {
        let mut ts = self.ts_between(joined, START - DAY);
        // Bulk imports: several jobs in one second.
        if !first && self.rng.random_bool(0.15) {
            ts = self
                .jobs
                .last()
                .map(|j| j.id.created())
                .unwrap_or(ts)
                .max(joined);
        }
        let advisor_turn = (self.jobs.len() as u32) < advisors;
        let creator = if advisor_turn || self.rng.random_bool(0.1) {
            let a = self.advisors.len();
            self.advisors[self.jobs.len() % a]
        } else {
            m
        };
        let job = self.new_job(ts, m, creator);
        let mut t = ts;
        for _ in 0..self.rng.random_range(0..3) {
            t = self.ts_between(t + 60, (t + 10 * DAY).min(START - 1));
            self.move_job(t, job);
        }
        for _ in 0..self.rng.random_range(0..3) {
            let at = self.ts_between(ts, START - 1);
            let cat = self.rng.random_range(0..CATEGORIES.len()) as Ix;
            self.new_activity(at, Some(job), m, m, cat, false);
        }
        if self.rng.random_bool(0.3) {
            let at = self.ts_between(ts, START - 1);
            self.note_for(at, job);
        }
        if self.rng.random_bool(0.1) {
            let at = self.ts_between(ts, START - 1);
            self.contact_for(at, job);
        }
        // Deprecated events for the oldest history.
        if ts < t0 + 30 * DAY {
            self.early_events(ts, m, job);
        }
    }

    /// The deprecated feed's events for a job added at `ts`.
    fn early_events(&mut self, ts: i64, m: Ix, job: Ix) {
        let id = self.oid(ts);
        self.events.push(Event {
            id,
            kind: "JOB_ADDED",
            date: None,
            member: m,
            job,
            from_list: None,
            to_list: Some("Wishlist"),
        });
        self.events_ix.insert(id, (self.events.len() - 1) as Ix);
        let id = self.oid(ts + 120);
        self.events.push(Event {
            id,
            kind: "JOB_APPLICATION_DATE_SET",
            date: Some(ts + DAY),
            member: m,
            job,
            from_list: None,
            to_list: None,
        });
        self.events_ix.insert(id, (self.events.len() - 1) as Ix);
    }
}

#[cfg(test)]
mod tests {
    use crate::org::Org;

    #[test]
    fn generation_is_deterministic_and_realistic() {
        let a = Org::generate(7, 40);
        let b = Org::generate(7, 40);
        assert_eq!(a.actions.len(), b.actions.len());
        assert_eq!(a.jobs[3].title, b.jobs[3].title);
        assert!(a.actions.len() > a.jobs.len() * 2);
        // Advisors create jobs but are not members.
        assert!(a.jobs.iter().any(|j| !a.people[j.creator as usize].member));
        // Many records share a second.
        let mut secs: Vec<u32> = a.jobs.iter().map(|j| j.id.0).collect();
        secs.sort();
        assert!(secs.windows(2).any(|w| w[0] == w[1]));
    }
}
