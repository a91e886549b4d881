//! The organization's job portal (job posts) and talent portal
//! (candidates). Everything here draws from its own random stream (seeded
//! from the organization's seed) and takes ids from its own counter (bit
//! 62 set), so the records and draws of the rest of the model are what
//! they would be without it; the other endpoints differ only in what they
//! show of this one (a job's, an activity's and an action's `jobPost`).
//! Rendering, truth and the days' changes are in `portal_render.rs`,
//! `portal_truth.rs` and `portal_days.rs`.

use std::collections::BTreeMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::org::{Action, Index, Ix, Oid, Org, DAY};

/// Xored into the organization's seed for the portal's stream.
const STREAM: u64 = 0x7057_B0A2_D17E_0017;

pub const TITLES: [&str; 6] = [
    "Illustrator",
    "Engineer",
    "Product Manager",
    "Data Analyst",
    "UX Designer",
    "Support Specialist",
];
pub const JOB_TYPES: [&str; 4] = ["FULL_TIME", "PART_TIME", "CONTRACTOR", "INTERNSHIP"];
pub const STATUSES: [&str; 3] = ["Open", "Closed", "Draft"];
/// (name, address, country, lat, lng)
pub const LOCATIONS: [(&str, &str, &str, f64, f64); 4] = [
    (
        "Brooklyn",
        "Brooklyn, NY, USA",
        "United States",
        40.6781784,
        -73.9441579,
    ),
    (
        "Slack",
        "500 Howard St, San Francisco, CA 94105, USA",
        "United States",
        37.7885052,
        -122.396428,
    ),
    (
        "Vancouver",
        "Vancouver, BC, Canada",
        "Canada",
        49.2827,
        -123.1207,
    ),
    ("Remote", "Anywhere", "United States", 39.8283, -98.5795),
];
/// Tags of job posts: (id, name).
pub const TAGS: [(&str, &str); 3] = [
    ("6375bf49678aa421b84e8743", "Hot Jobs"),
    ("6375bf49678aa421b84e8744", "Remote Friendly"),
    ("6375bf49678aa421b84e8745", "Alumni Referral"),
];
/// Member groups a hidden post is shared with.
pub const GROUPS: [&str; 3] = [
    "64a000000000000000000001",
    "64a000000000000000000002",
    "64a000000000000000000003",
];
pub const SKILLS: [&str; 6] = ["JavaScript", "Python", "React", "SQL", "Figma", "Excel"];

#[derive(Debug, Clone)]
pub struct JobPost {
    pub id: Oid,
    pub title: String,
    pub employer: Ix,
    pub creator: Ix,
    pub owner: Ix,
    pub status: &'static str,
    pub job_type: &'static str,
    pub is_remote: bool,
    pub salary: Option<u32>,
    pub post_date: i64,
    /// Indexes into [`LOCATIONS`], [`TAGS`], [`GROUPS`].
    pub locations: Vec<usize>,
    pub tags: Vec<usize>,
    pub groups: Vec<usize>,
    pub deleted: bool,
}

impl JobPost {
    pub fn visibility(&self) -> &'static str {
        if self.groups.is_empty() {
            "VISIBLE"
        } else {
            "HIDDEN"
        }
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Oid,
    pub member: Ix,
    pub headline: String,
    pub skills: Vec<&'static str>,
    pub years: u32,
    /// The employer of each profile view, in order.
    pub views: Vec<Ix>,
}

/// What a portal action names besides the common fields.
#[derive(Debug, Clone)]
pub enum Link {
    Post(usize),
    Bulk(Vec<usize>),
    Viewed(usize, Ix),
    Search(Ix),
}

#[derive(Debug, Clone)]
pub struct Portal {
    pub(crate) rng: SmallRng,
    counter: u64,
    pub posts: Vec<JobPost>,
    pub posts_ix: Index,
    pub candidates: Vec<Candidate>,
    pub candidates_ix: Index,
    /// The job post a job was saved from.
    pub post_of_job: BTreeMap<Ix, usize>,
    /// Portal actions by id, and what they name.
    pub links: BTreeMap<Oid, Link>,
}

impl Portal {
    pub(crate) fn new(seed: u64) -> Portal {
        Portal {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            counter: 0,
            posts: Vec::new(),
            posts_ix: Index::new(),
            candidates: Vec::new(),
            candidates_ix: Index::new(),
            post_of_job: BTreeMap::new(),
            links: BTreeMap::new(),
        }
    }

    pub(crate) fn oid(&mut self, ts: i64) -> Oid {
        self.counter += 1;
        Oid(
            ts.clamp(0, u32::MAX as i64) as u32,
            (1 << 62) | self.counter,
        )
    }

    pub(crate) fn ts_between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }
}

impl Org {
    /// The portal as of generation: job posts (some jobs saved from
    /// them), candidates for about half the members, a few views.
    pub(crate) fn generate_portal(&mut self, scale: u32) {
        let t0 = self.now - 150 * DAY;
        for _ in 0..(scale / 20).max(12) {
            let ts = self.portal.ts_between(t0, self.now - 130 * DAY);
            self.new_post(ts, false);
        }
        // Jobs saved from a post.
        for j in 0..self.jobs.len() {
            if self.portal.rng.random_bool(0.15) {
                let p = self.portal.rng.random_range(0..self.portal.posts.len());
                self.portal.post_of_job.insert(j as Ix, p);
            }
        }
        let members: Vec<Ix> = self.members_ix.values().copied().collect();
        for m in members {
            if self.portal.rng.random_bool(0.5) {
                let ts = self.portal.ts_between(self.now - 60 * DAY, self.now - DAY);
                self.new_candidate(ts, m);
            }
        }
        let now = self.now;
        self.bulk_update(now - 20 * DAY);
        for _ in 0..3 {
            self.view_candidate(now - 10 * DAY, now - DAY);
        }
        self.search_candidates(now - 5 * DAY);
    }

    fn an_advisor(&mut self) -> Ix {
        let i = self.portal.rng.random_range(0..self.advisors.len());
        self.advisors[i]
    }

    fn an_employer(&mut self) -> Ix {
        self.portal.rng.random_range(0..self.employers.len()) as Ix
    }

    /// A new job post at `ts`, with its JOB_POST_CREATED when `action`.
    pub(crate) fn new_post(&mut self, ts: i64, action: bool) -> usize {
        let id = self.portal.oid(ts);
        let (creator, employer) = (self.an_advisor(), self.an_employer());
        let r = &mut self.portal.rng;
        let n_locs = r.random_range(1..3);
        let mut locations: Vec<usize> = (0..n_locs)
            .map(|_| r.random_range(0..LOCATIONS.len()))
            .collect();
        locations.dedup();
        let tags = if r.random_bool(0.5) {
            vec![r.random_range(0..TAGS.len())]
        } else {
            Vec::new()
        };
        let groups = if r.random_bool(0.3) {
            vec![0, r.random_range(1..GROUPS.len())]
        } else {
            Vec::new()
        };
        let post = JobPost {
            id,
            title: TITLES[r.random_range(0..TITLES.len())].to_owned(),
            employer,
            creator,
            owner: creator,
            status: STATUSES[r.random_range(0..STATUSES.len())],
            job_type: JOB_TYPES[r.random_range(0..JOB_TYPES.len())],
            is_remote: r.random_bool(0.3),
            salary: r.random_bool(0.7).then(|| r.random_range(40..150) * 1000),
            post_date: ts - r.random_range(0..3600),
            locations,
            tags,
            groups,
            deleted: false,
        };
        self.portal.posts.push(post);
        let p = self.portal.posts.len() - 1;
        self.portal.posts_ix.insert(id, p as Ix);
        if action {
            self.portal_action(ts, ActionType::JobPostCreated, creator, Link::Post(p));
        }
        p
    }

    pub(crate) fn new_candidate(&mut self, ts: i64, member: Ix) {
        let id = self.portal.oid(ts);
        let r = &mut self.portal.rng;
        let n = r.random_range(1..4);
        let skills = (0..n)
            .map(|_| SKILLS[r.random_range(0..SKILLS.len())])
            .collect();
        let headline = format!(
            "{} seeking new role",
            TITLES[r.random_range(0..TITLES.len())]
        );
        let years = r.random_range(0..15);
        self.portal.candidates.push(Candidate {
            id,
            member,
            headline,
            skills,
            years,
            views: Vec::new(),
        });
        let c = self.portal.candidates.len() - 1;
        self.portal.candidates_ix.insert(id, c as Ix);
    }

    /// Closes two or three live posts in one BULK_JOB_POST_UPDATED.
    pub(crate) fn bulk_update(&mut self, ts: i64) {
        let live: Vec<usize> = self.portal.posts_ix.values().map(|p| *p as usize).collect();
        if live.len() < 3 {
            return;
        }
        let n = self.portal.rng.random_range(2..4);
        let mut chosen: Vec<usize> = (0..n)
            .map(|_| live[self.portal.rng.random_range(0..live.len())])
            .collect();
        chosen.sort();
        chosen.dedup();
        for p in &chosen {
            self.portal.posts[*p].status = "Closed";
        }
        let creator = self.an_advisor();
        let a = self.portal_action(
            ts,
            ActionType::BulkJobPostUpdated,
            creator,
            Link::Bulk(chosen),
        );
        a.update = Some(serde_json::json!({"jobPostStatusName": "Closed"}));
    }

    /// An employer views a candidate's profile at a time in `lo..hi`.
    pub(crate) fn view_candidate(&mut self, lo: i64, hi: i64) {
        if self.portal.candidates_ix.is_empty() {
            return;
        }
        let live: Vec<Ix> = self.portal.candidates_ix.values().copied().collect();
        let c = live[self.portal.rng.random_range(0..live.len())] as usize;
        let employer = self.an_employer();
        let ts = self.portal.ts_between(lo, hi);
        self.portal.candidates[c].views.push(employer);
        let member = self.portal.candidates[c].member;
        let a = self.portal_action(
            ts,
            ActionType::CandidateProfileViewed,
            member,
            Link::Viewed(c, employer),
        );
        a.owner = member;
    }

    pub(crate) fn search_candidates(&mut self, ts: i64) {
        let employer = self.an_employer();
        let creator = self.an_advisor();
        self.portal_action(
            ts,
            ActionType::CandidateSearchRan,
            creator,
            Link::Search(employer),
        );
    }

    /// Records a portal action (an id of the portal's own counter).
    pub(crate) fn portal_action(
        &mut self,
        ts: i64,
        kind: ActionType,
        creator: Ix,
        link: Link,
    ) -> &mut Action {
        let id = self.portal.oid(ts);
        self.portal.links.insert(id, link);
        self.action_at(id, kind, creator, creator)
    }
}
