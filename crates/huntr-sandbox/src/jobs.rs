//! Jobs and what hangs off them: employers (and their counters), moves
//! between stages with the activities workflows add, activities, notes and
//! contacts. Generation and simulated days change jobs only through these.

use huntr_protocol::ActionType;
use rand::Rng;

use crate::org::{Activity, Contact, Employer, Ix, Job, Note, Org, CATEGORIES, DAY, STAGES};

const COMPANIES: [&str; 14] = [
    "MailChimp",
    "Etsy",
    "ResearchGate",
    "ESPN",
    "The Art Institutes",
    "Shopify",
    "Zalando",
    "Spotify",
    "Atlassian",
    "Canva",
    "Klarna",
    "Mercado Libre",
    "Hootsuite",
    "Ubisoft",
];
pub(crate) const TITLES: [&str; 10] = [
    "Software Engineer",
    "Front end engineer",
    "Data Analyst",
    "UX Designer",
    "Product Manager",
    "Senior Engineer",
    "iOS Developer",
    "Data Scientist",
    "QA Analyst",
    "Développeur Web",
];

impl Org {
    /// A new employer, named after a real company (numbered once every
    /// name is taken).
    fn new_employer(&mut self, ts: i64) -> Ix {
        let base = self.pick(&COMPANIES);
        let id = self.oid(ts);
        let n = self.employers.len();
        let name = if n < COMPANIES.len() {
            base.to_owned()
        } else {
            format!("{base} {}", n)
        };
        let domain = format!(
            "{}.example.com",
            name.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "")
        );
        let founded = self
            .rng
            .random_bool(0.8)
            .then(|| self.rng.random_range(1900..2024));
        let is_partner = self.rng.random_bool(0.3);
        self.employers.push(Employer {
            id,
            name,
            domain,
            founded,
            description: "Makes things people like.\n".into(),
            location: "675 Ponce De Leon Ave NE #5000, Atlanta, GA 30308, USA".into(),
            is_partner,
            jobs: 0,
            applications: 0,
            interviews: 0,
            offers: 0,
        });
        let ix = (self.employers.len() - 1) as Ix;
        self.employers_ix.insert(id, ix);
        ix
    }

    /// Keeps an employer's application, interview and offer counts in step
    /// with its jobs' activities.
    fn count_category(&mut self, employer: Ix, category: Ix, delta: i64) {
        let e = &mut self.employers[employer as usize];
        match CATEGORIES[category as usize] {
            "Apply" => e.applications += delta,
            "Phone Screen" | "Phone Interview" | "On Site Interview" => e.interviews += delta,
            "Offer Received" => e.offers += delta,
            _ => {}
        }
    }

    /// A new activity, on a job or on none, and its `ACTIVITY_CREATED`.
    pub(crate) fn new_activity(
        &mut self,
        ts: i64,
        job: Option<Ix>,
        owner: Ix,
        creator: Ix,
        category: Ix,
        workflow: bool,
    ) -> Ix {
        let id = self.oid(ts);
        let completed = workflow || self.rng.random_bool(0.4);
        let note = self
            .rng
            .random_bool(0.3)
            .then(|| "Bring portfolio ✨".to_owned());
        let start = ts + self.rng.random_range(0..5 * DAY);
        let end_at = self.rng.random_bool(0.3).then_some(start + 3600);
        self.activities.push(Activity {
            id,
            title: CATEGORIES[category as usize].to_owned(),
            note,
            completed,
            completed_at: completed.then_some(ts),
            start_at: Some(start),
            end_at,
            workflow,
            category,
            job,
            owner,
            creator,
            deleted: false,
        });
        let ix = (self.activities.len() - 1) as Ix;
        self.activities_ix.insert(id, ix);
        if let Some(j) = job {
            self.jobs[j as usize].activities.push(ix);
            let emp = self.jobs[j as usize].employer;
            self.count_category(emp, category, 1);
        }
        let a = self.action(ts, ActionType::ActivityCreated, owner, creator);
        a.activity = Some(ix);
        a.job = job;
        a.workflow = workflow;
        ix
    }

    /// Workflows: moving a job onto some stages creates an activity.
    fn workflow_category(stage: &str) -> Option<Ix> {
        match stage {
            "Applied" => Some(Self::category("Apply")),
            "Phone Screen" => Some(Self::category("Phone Screen")),
            "On Site Interview" => Some(Self::category("On Site Interview")),
            "Offer" => Some(Self::category("Offer Received")),
            _ => None,
        }
    }

    /// A new job on one of the first stages, sometimes at a new employer,
    /// with its `JOB_CREATED` and the activity a workflow adds.
    pub(crate) fn new_job(&mut self, ts: i64, owner: Ix, creator: Ix) -> Ix {
        let employer = if self.employers.is_empty() || self.rng.random_bool(0.15) {
            self.new_employer(ts)
        } else {
            self.rng.random_range(0..self.employers.len()) as Ix
        };
        let id = self.oid(ts);
        let title = self.pick(&TITLES).to_owned();
        let salary = self
            .rng
            .random_bool(0.6)
            .then(|| format!("${}k", self.rng.random_range(50..200)));
        let location = self.rng.random_bool(0.6).then(|| {
            let lat = self.rng.random_range(-60.0..60.0f64);
            let lng = self.rng.random_range(-150.0..150.0f64);
            (
                "2015 Main St, Vancouver, BC V5T 3C2, Canada".to_owned(),
                "Office".to_owned(),
                (lat * 1e6).round() / 1e6,
                (lng * 1e6).round() / 1e6,
            )
        });
        let list = self.pick(&STAGES[..2]);
        let deadline = self.rng.random_bool(0.2).then(|| ts + 14 * DAY);
        let url = self
            .rng
            .random_bool(0.7)
            .then(|| format!("https://jobs.example.com/{}", self.counter));
        let html = self
            .rng
            .random_bool(0.5)
            .then(|| "<p><strong>Description</strong></p><p>Great opportunity</p>".to_owned());
        self.jobs.push(Job {
            id,
            title,
            salary,
            url,
            html,
            deadline,
            owner,
            creator,
            employer,
            list: list.to_owned(),
            location,
            activities: Vec::new(),
            deleted: false,
        });
        let ix = (self.jobs.len() - 1) as Ix;
        self.jobs_ix.insert(id, ix);
        self.employers[employer as usize].jobs += 1;
        let a = self.action(ts, ActionType::JobCreated, owner, creator);
        a.job = Some(ix);
        a.to_list = Some(list);
        if let Some(cat) = Self::workflow_category(list) {
            self.new_activity(ts, Some(ix), owner, creator, cat, true);
        }
        ix
    }

    /// Moves a job one or two stages on (not past the last), with its
    /// `JOB_MOVED` and the activity a workflow adds.
    pub(crate) fn move_job(&mut self, ts: i64, job: Ix) {
        let from = self.jobs[job as usize].list.clone();
        let from = STAGES
            .iter()
            .copied()
            .find(|s| *s == from)
            .unwrap_or("Wishlist");
        let pos = STAGES.iter().position(|s| *s == from).unwrap_or(0);
        let to = STAGES[(pos + 1 + self.rng.random_range(0..2)).min(STAGES.len() - 1)];
        if to == from {
            return;
        }
        self.jobs[job as usize].list = to.to_owned();
        let (owner, creator) = (self.jobs[job as usize].owner, self.jobs[job as usize].owner);
        let a = self.action(ts, ActionType::JobMoved, owner, creator);
        a.job = Some(job);
        a.from_list = Some(from);
        a.to_list = Some(to);
        if let Some(cat) = Self::workflow_category(to) {
            // Workflow activities share the second of the move.
            self.new_activity(ts, Some(job), owner, creator, cat, true);
        }
    }

    /// A job gets a new title and salary, and its `JOB_UPDATED`.
    pub(crate) fn edit_job(&mut self, ts: i64, j: Ix) {
        let salary = format!("${}k", self.rng.random_range(60..220));
        let title = format!("{} II", self.pick(&TITLES));
        let job = &mut self.jobs[j as usize];
        job.salary = Some(salary.clone());
        job.title = title.clone();
        let owner = job.owner;
        let a = self.action(ts, ActionType::JobUpdated, owner, owner);
        a.job = Some(j);
        a.update = Some(serde_json::json!({"title": title, "salary": salary}));
    }

    /// A note on a job, and its `NOTE_CREATED`.
    pub(crate) fn note_for(&mut self, ts: i64, job: Ix) {
        let id = self.oid(ts);
        self.notes.push(Note {
            id,
            text: "Great interview — follow up Friday".into(),
            deleted: false,
        });
        let ix = (self.notes.len() - 1) as Ix;
        let owner = self.jobs[job as usize].owner;
        let a = self.action(ts, ActionType::NoteCreated, owner, owner);
        a.note = Some(ix);
        a.job = Some(job);
    }

    /// A contact for a job, and its `CONTACT_CREATED`.
    pub(crate) fn contact_for(&mut self, ts: i64, job: Ix) {
        let (first, last) = self.name();
        let id = self.oid(ts);
        let handle = format!("{}{}", first.to_lowercase(), self.counter);
        self.contacts.push(Contact {
            id,
            first,
            last,
            email: format!("contact{}@example.com", self.counter),
            title: "HR Manager".into(),
            location: "Seattle, WA USA".into(),
            profiles: vec![("linkedin", handle.clone()), ("github", handle)],
            jobs: vec![job],
            deleted: false,
        });
        let ix = (self.contacts.len() - 1) as Ix;
        let owner = self.jobs[job as usize].owner;
        let a = self.action(ts, ActionType::ContactCreated, owner, owner);
        a.contact = Some(ix);
    }

    /// A job created seconds before the clock reads `end`: the newest
    /// record a sync at `end` sees, whose second later records share.
    pub(crate) fn last_moment(&mut self, end: i64) {
        let members: Vec<Ix> = self.members_ix.values().copied().collect();
        if let Some(&m) = members.iter().find(|m| self.people[**m as usize].is_active) {
            let ts = end - self.rng.random_range(1..30);
            self.new_job(ts, m, m);
        }
    }

    /// Deletes an activity: off the listing and its job, its employer's
    /// counts down, and an `ACTIVITY_DELETED`.
    pub(crate) fn delete_activity(&mut self, ts: i64, ax: Ix) {
        let act = &mut self.activities[ax as usize];
        act.deleted = true;
        let (id, owner, job, cat) = (act.id, act.owner, act.job, act.category);
        self.activities_ix.remove(&id);
        if let Some(j) = job {
            self.jobs[j as usize].activities.retain(|a| *a != ax);
            let emp = self.jobs[j as usize].employer;
            self.count_category(emp, cat, -1);
        }
        let a = self.action(ts, ActionType::ActivityDeleted, owner, owner);
        a.activity = Some(ax);
        a.job = job;
    }
}
