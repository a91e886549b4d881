//! The sandbox's synthetic organization: a deterministic model of members,
//! advisors, employers, jobs, activities, actions and the rest, that can
//! live through simulated days.
//!
//! Compact typed records (indices, not JSON) keep a million actions in
//! little memory; `render.rs` builds JSON from them on demand, so nested
//! snapshots always show current state, as a database join would.

use std::collections::BTreeMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Sandbox clock at generation: 2026-06-01T00:00:00Z.
pub const START: i64 = 1_780_272_000;
const DAY: i64 = 86_400;
const HISTORY_DAYS: i64 = 120;

/// A Mongo-like object id: creation second, then a counter. Ordering ids
/// orders by creation time, as the API's newest-first lists do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub u32, pub u64);

impl Oid {
    pub fn hex(self) -> String {
        format!("{:08x}{:016x}", self.0, self.1)
    }
    pub fn parse(s: &str) -> Option<Oid> {
        if s.len() != 24 || !s.is_ascii() {
            return None;
        }
        Some(Oid(
            u32::from_str_radix(&s[..8], 16).ok()?,
            u64::from_str_radix(&s[8..], 16).ok()?,
        ))
    }
    pub fn created(self) -> i64 {
        self.0 as i64
    }
    /// Smallest id created at `ts`.
    pub fn floor(ts: i64) -> Oid {
        Oid(ts.clamp(0, u32::MAX as i64) as u32, 0)
    }
}

pub type Ix = u32;

#[derive(Debug, Clone)]
pub struct Person {
    pub id: Oid,
    pub given: String,
    pub family: String,
    pub email: String,
    pub is_active: bool,
    pub member: bool,
    /// (member field index, value)
    pub fields: Vec<(Ix, serde_json::Value)>,
}

#[derive(Debug, Clone)]
pub struct Employer {
    pub id: Oid,
    pub name: String,
    pub domain: String,
    pub founded: Option<i64>,
    pub description: String,
    pub location: String,
    pub is_partner: bool,
    pub jobs: i64,
    pub applications: i64,
    pub interviews: i64,
    pub offers: i64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: Oid,
    pub title: String,
    pub salary: Option<String>,
    pub url: Option<String>,
    pub html: Option<String>,
    pub deadline: Option<i64>,
    pub owner: Ix,
    pub creator: Ix,
    pub employer: Ix,
    pub list: String,
    /// (address, name, lat, lng); None renders `location: {}`.
    pub location: Option<(String, String, f64, f64)>,
    pub activities: Vec<Ix>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: Oid,
    pub title: String,
    pub note: Option<String>,
    pub completed: bool,
    pub completed_at: Option<i64>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub workflow: bool,
    pub category: Ix,
    pub job: Option<Ix>,
    pub owner: Ix,
    pub creator: Ix,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub id: Oid,
    pub text: String,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: Oid,
    pub first: String,
    pub last: String,
    pub email: String,
    pub title: String,
    pub location: String,
    pub profiles: Vec<(&'static str, String)>,
    pub jobs: Vec<Ix>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Oid,
    pub to_email: String,
    pub board_name: String,
    pub to: Option<Ix>,
    pub template: Option<Ix>,
    pub fields: Vec<(Ix, serde_json::Value)>,
    pub pending: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: Oid,
    pub kind: ActionType,
    pub workflow: bool,
    pub owner: Ix,
    pub creator: Ix,
    pub job: Option<Ix>,
    pub activity: Option<Ix>,
    pub note: Option<Ix>,
    pub contact: Option<Ix>,
    pub member: Option<Ix>,
    pub invitation: Option<Ix>,
    pub from_list: Option<&'static str>,
    pub to_list: Option<&'static str>,
    pub update: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: Oid,
    pub kind: &'static str,
    pub date: Option<i64>,
    pub member: Ix,
    pub job: Ix,
    pub from_list: Option<&'static str>,
    pub to_list: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct MemberField {
    pub id: Oid,
    pub name: &'static str,
    pub field_type: &'static str,
    pub choices: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct BoardTemplate {
    pub id: Oid,
    pub name: &'static str,
    pub lists: Vec<(Oid, &'static str)>,
    pub is_default: bool,
}

/// Newest-first listing order of a resource: id -> record index. Deleted
/// records leave the index (they are no longer listed).
pub type Index = BTreeMap<Oid, Ix>;

pub const STAGES: [&str; 6] = [
    "Wishlist",
    "Applied",
    "Phone Screen",
    "On Site Interview",
    "Offer",
    "Rejected",
];
pub const CATEGORIES: [&str; 23] = [
    "Email",
    "Meeting",
    "Phone Call",
    "Reach Out",
    "Get Reference",
    "Prep Cover Letter",
    "Prep Resume",
    "Apply",
    "Follow Up",
    "Send Availability",
    "Prep for Interview",
    "Phone Screen",
    "Phone Interview",
    "Assignment",
    "On Site Interview",
    "Rejected",
    "Offer Received",
    "Decline Offer",
    "Accept Offer",
    "Send Thank You",
    "Networking Event",
    "Application Withdrawn",
    "Other",
];
const GIVEN: [&str; 16] = [
    "Graciela", "Nicole", "Roberto", "Rennie", "John", "Zoë", "José", "Anaïs", "Łukasz", "Mei",
    "Ngozi", "Søren", "Aarav", "Fatima", "Chloé", "Hiroshi",
];
const FAMILY: [&str; 14] = [
    "Varela",
    "Haylock",
    "Moscoso",
    "Smith",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "García",
    "Kowalski",
    "Okafor",
    "Ødegaard",
    "Tanaka",
    "Da Silva",
    "李",
];
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
const TITLES: [&str; 10] = [
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

/// The whole organization, plus the listing indexes the server pages over.
#[derive(Debug, Clone)]
pub struct Org {
    rng: SmallRng,
    counter: u64,
    /// The sandbox clock (unix seconds); the HTTP `Date` header shows it.
    pub now: i64,
    pub days: u32,
    pub people: Vec<Person>,
    pub advisors: Vec<Ix>,
    pub employers: Vec<Employer>,
    pub jobs: Vec<Job>,
    pub activities: Vec<Activity>,
    pub notes: Vec<Note>,
    pub contacts: Vec<Contact>,
    pub invitations: Vec<Invitation>,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    pub fields: Vec<MemberField>,
    pub templates: Vec<BoardTemplate>,
    pub categories: Vec<(Oid, &'static str)>,
    pub members_ix: Index,
    pub employers_ix: Index,
    pub jobs_ix: Index,
    pub activities_ix: Index,
    pub actions_ix: Index,
    pub events_ix: Index,
    pub invitations_ix: Index,
    /// Fault injection for drift tests: extra fields and changed types.
    pub drift: bool,
}

impl Org {
    fn oid(&mut self, ts: i64) -> Oid {
        self.counter += 1;
        Oid(ts as u32, self.counter)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn name(&mut self) -> (String, String) {
        (self.pick(&GIVEN).to_owned(), self.pick(&FAMILY).to_owned())
    }

    fn new_person(&mut self, ts: i64, member: bool) -> Ix {
        let (given, family) = self.name();
        let id = self.oid(ts);
        let email = format!(
            "{}.{}+{}@example.org",
            given
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>(),
            family
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>(),
            self.counter
        );
        let mut fields = Vec::new();
        if member {
            fields = self.field_values();
        }
        self.people.push(Person {
            id,
            given,
            family,
            email,
            is_active: true,
            member,
            fields,
        });
        let ix = (self.people.len() - 1) as Ix;
        if member {
            self.members_ix.insert(id, ix);
        }
        ix
    }

    /// Field values as the real API sends them: strings, numbers, arrays.
    fn field_values(&mut self) -> Vec<(Ix, serde_json::Value)> {
        use serde_json::json;
        let mut out = vec![(
            0,
            json!(self.pick(&["Vancouver", "Seattle", "New York", "Montreal", "Miami"])),
        )];
        if self.rng.random_bool(0.7) {
            out.push((1, json!(self.rng.random_range(18..60))));
        }
        if self.rng.random_bool(0.5) {
            out.push((
                2,
                json!(["Web Design", self.pick(&["iOS", "Data Science"])]),
            ));
        }
        if self.rng.random_bool(0.3) {
            out.push((3, json!("2026-12-15")));
        }
        out
    }

    fn ts_between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

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

    fn action(&mut self, ts: i64, kind: ActionType, owner: Ix, creator: Ix) -> &mut Action {
        let id = self.oid(ts);
        self.actions.push(Action {
            id,
            kind,
            workflow: false,
            owner,
            creator,
            job: None,
            activity: None,
            note: None,
            contact: None,
            member: None,
            invitation: None,
            from_list: None,
            to_list: None,
            update: None,
        });
        let ix = (self.actions.len() - 1) as Ix;
        self.actions_ix.insert(id, ix);
        self.actions.last_mut().expect("just pushed")
    }

    fn category(name: &str) -> Ix {
        CATEGORIES
            .iter()
            .position(|c| *c == name)
            .unwrap_or(CATEGORIES.len() - 1) as Ix
    }

    fn count_category(&mut self, employer: Ix, category: Ix, delta: i64) {
        let e = &mut self.employers[employer as usize];
        match CATEGORIES[category as usize] {
            "Apply" => e.applications += delta,
            "Phone Screen" | "Phone Interview" | "On Site Interview" => e.interviews += delta,
            "Offer Received" => e.offers += delta,
            _ => {}
        }
    }

    fn new_activity(
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

    fn new_job(&mut self, ts: i64, owner: Ix, creator: Ix) -> Ix {
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

    fn move_job(&mut self, ts: i64, job: Ix) {
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

    fn note_for(&mut self, ts: i64, job: Ix) {
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

    fn contact_for(&mut self, ts: i64, job: Ix) {
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

    fn invitation(&mut self, ts: i64) -> Ix {
        let id = self.oid(ts);
        // Some invitees already have a Huntr account (`to`).
        let to = self
            .rng
            .random_bool(0.5)
            .then(|| self.new_person(ts - DAY, false));
        let to_email = match to {
            Some(p) => self.people[p as usize].email.clone(),
            None => format!("invitee{}@example.org", self.counter),
        };
        let template = self
            .rng
            .random_bool(0.7)
            .then(|| self.rng.random_range(0..self.templates.len()) as Ix);
        let fields = self.field_values();
        self.invitations.push(Invitation {
            id,
            to_email,
            board_name: "Fall 2026".into(),
            to,
            template,
            fields,
            pending: true,
        });
        let ix = (self.invitations.len() - 1) as Ix;
        self.invitations_ix.insert(id, ix);
        ix
    }

    /// An invitation is accepted: its invitee becomes a member.
    fn accept(&mut self, ts: i64, inv: Ix) {
        let invitation = &mut self.invitations[inv as usize];
        invitation.pending = false;
        let (iid, to, fields) = (invitation.id, invitation.to, invitation.fields.clone());
        self.invitations_ix.remove(&iid);
        let member = match to {
            Some(p) => {
                let person = &mut self.people[p as usize];
                person.member = true;
                person.is_active = true;
                person.fields = fields;
                let id = person.id;
                self.members_ix.insert(id, p);
                p
            }
            None => self.new_person(ts, true),
        };
        let a = self.action(ts, ActionType::MemberCreated, member, member);
        a.member = Some(member);
        a.invitation = Some(inv);
    }

    /// Generates the organization: `scale` members and their history.
    pub fn generate(seed: u64, scale: u32) -> Org {
        let mut org = Org {
            rng: SmallRng::seed_from_u64(seed),
            counter: 0,
            now: START,
            days: 0,
            people: Vec::new(),
            advisors: Vec::new(),
            employers: Vec::new(),
            jobs: Vec::new(),
            activities: Vec::new(),
            notes: Vec::new(),
            contacts: Vec::new(),
            invitations: Vec::new(),
            actions: Vec::new(),
            events: Vec::new(),
            fields: Vec::new(),
            templates: Vec::new(),
            categories: Vec::new(),
            members_ix: Index::new(),
            employers_ix: Index::new(),
            jobs_ix: Index::new(),
            activities_ix: Index::new(),
            actions_ix: Index::new(),
            events_ix: Index::new(),
            invitations_ix: Index::new(),
            drift: false,
        };
        let t0 = START - HISTORY_DAYS * DAY;
        for name in CATEGORIES {
            let id = org.oid(t0 - 400 * DAY);
            org.categories.push((id, name));
        }
        let fields: [(&str, &str, &[&str]); 4] = [
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
        for (name, field_type, choices) in fields {
            let id = org.oid(t0 - 300 * DAY);
            org.fields.push(MemberField {
                id,
                name,
                field_type,
                choices: choices.to_vec(),
            });
        }
        for (i, name) in ["Tech Jobs", "Spring 2026"].into_iter().enumerate() {
            let id = org.oid(t0 - 200 * DAY);
            // The API repeats list template ids within a template.
            let repeated = org.oid(t0 - 200 * DAY);
            let mut lists: Vec<(Oid, &str)> = Vec::new();
            for stage in STAGES {
                let lid = if stage == "Rejected" || stage == "Offer" {
                    repeated
                } else {
                    org.oid(t0 - 200 * DAY)
                };
                lists.push((lid, stage));
            }
            org.templates.push(BoardTemplate {
                id,
                name,
                lists,
                is_default: i == 0,
            });
        }
        let advisors = (scale / 40).max(2);
        for _ in 0..advisors {
            let p = org.new_person(t0 - 100 * DAY, false);
            org.advisors.push(p);
        }
        for i in 0..scale {
            let joined = org.ts_between(t0, START - 30 * DAY);
            let m = org.new_person(joined, true);
            if i % 17 == 5 {
                org.people[m as usize].is_active = false;
            }
            let n_jobs = org.rng.random_range(3..16);
            for k in 0..n_jobs {
                let mut ts = org.ts_between(joined, START - DAY);
                // Bulk imports: several jobs in one second.
                if k > 0 && org.rng.random_bool(0.15) {
                    ts = org
                        .jobs
                        .last()
                        .map(|j| j.id.created())
                        .unwrap_or(ts)
                        .max(joined);
                }
                let advisor_turn = (org.jobs.len() as u32) < advisors;
                let creator = if advisor_turn || org.rng.random_bool(0.1) {
                    let a = org.advisors.len();
                    org.advisors[org.jobs.len() % a]
                } else {
                    m
                };
                let job = org.new_job(ts, m, creator);
                let mut t = ts;
                for _ in 0..org.rng.random_range(0..3) {
                    t = org.ts_between(t + 60, (t + 10 * DAY).min(START - 1));
                    org.move_job(t, job);
                }
                for _ in 0..org.rng.random_range(0..3) {
                    let at = org.ts_between(ts, START - 1);
                    let cat = org.rng.random_range(0..CATEGORIES.len()) as Ix;
                    org.new_activity(at, Some(job), m, m, cat, false);
                }
                if org.rng.random_bool(0.3) {
                    let at = org.ts_between(ts, START - 1);
                    org.note_for(at, job);
                }
                if org.rng.random_bool(0.1) {
                    let at = org.ts_between(ts, START - 1);
                    org.contact_for(at, job);
                }
                // Deprecated events for the oldest history.
                if ts < t0 + 30 * DAY {
                    let id = org.oid(ts);
                    org.events.push(Event {
                        id,
                        kind: "JOB_ADDED",
                        date: None,
                        member: m,
                        job,
                        from_list: None,
                        to_list: Some("Wishlist"),
                    });
                    org.events_ix.insert(id, (org.events.len() - 1) as Ix);
                    let id = org.oid(ts + 120);
                    org.events.push(Event {
                        id,
                        kind: "JOB_APPLICATION_DATE_SET",
                        date: Some(ts + DAY),
                        member: m,
                        job,
                        from_list: None,
                        to_list: None,
                    });
                    org.events_ix.insert(id, (org.events.len() - 1) as Ix);
                }
            }
            // Activities without a job.
            if org.rng.random_bool(0.3) {
                let at = org.ts_between(joined, START - 1);
                let cat = Self::category("Networking Event");
                org.new_activity(at, None, m, m, cat, false);
            }
        }
        for _ in 0..(scale / 10).max(3) {
            let ts = org.ts_between(START - 20 * DAY, START - 1);
            org.invitation(ts);
        }
        org.last_moment(START);
        org
    }

    /// A simulated day: new and late records, moves, edits, deletions,
    /// completions, accepted invitations, deactivations. Returns a short
    /// description of what changed.
    pub fn advance_day(&mut self) -> BTreeMap<&'static str, u32> {
        let mut n: BTreeMap<&'static str, u32> = BTreeMap::new();
        let prev = self.now;
        let end = prev + DAY;
        let scale = (self.members_ix.len() as u32).max(10);
        let members: Vec<Ix> = self.members_ix.values().copied().collect();
        let active: Vec<Ix> = members
            .iter()
            .copied()
            .filter(|m| self.people[*m as usize].is_active)
            .collect();
        let live_jobs: Vec<Ix> = self.jobs_ix.values().copied().collect();
        let live_acts: Vec<Ix> = self.activities_ix.values().copied().collect();
        // The newest second a previous sync could have seen.
        let newest = self
            .actions_ix
            .keys()
            .next_back()
            .map(|o| o.created())
            .unwrap_or(prev - 1);
        let mut bump = |k: &'static str, c: u32| *n.entry(k).or_default() += c;

        // Records that arrive a few minutes late, and in the same second
        // as the previous newest record.
        for i in 0..(scale / 20).max(2) {
            let m = active[self.rng.random_range(0..active.len())];
            let ts = if i % 2 == 0 {
                prev - self.rng.random_range(60..600)
            } else {
                newest
            };
            self.new_job(ts, m, m);
            bump("late_jobs", 1);
        }
        for _ in 0..(scale / 3).max(3) {
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
                bump("notes", 1);
            }
            bump("new_jobs", 1);
        }
        for _ in 0..(scale / 5).max(3) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(prev, end);
            self.move_job(ts, j);
            bump("moved_jobs", 1);
        }
        for _ in 0..(scale / 10).max(2) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(prev, end);
            let salary = format!("${}k", self.rng.random_range(60..220));
            let title = format!("{} II", self.pick(&TITLES));
            let job = &mut self.jobs[j as usize];
            job.salary = Some(salary.clone());
            job.title = title.clone();
            let owner = job.owner;
            let a = self.action(ts, ActionType::JobUpdated, owner, owner);
            a.job = Some(j);
            a.update = Some(serde_json::json!({"title": title, "salary": salary}));
            bump("edited_jobs", 1);
        }
        for _ in 0..(scale / 4).max(3) {
            let ax = live_acts[self.rng.random_range(0..live_acts.len())];
            if self.activities[ax as usize].deleted || self.activities[ax as usize].completed {
                continue;
            }
            let ts = self.ts_between(prev, end);
            let act = &mut self.activities[ax as usize];
            act.completed = true;
            act.completed_at = Some(ts);
            act.note = Some("Done 👍".into());
            let (owner, job) = (act.owner, act.job);
            let a = self.action(ts, ActionType::ActivityUpdated, owner, owner);
            a.activity = Some(ax);
            a.job = job;
            a.update = Some(serde_json::json!({"completed": true}));
            bump("completed_activities", 1);
        }
        for _ in 0..(scale / 15).max(1) {
            let ax = live_acts[self.rng.random_range(0..live_acts.len())];
            if self.activities[ax as usize].deleted {
                continue;
            }
            let ts = self.ts_between(prev, end);
            self.delete_activity(ts, ax);
            bump("deleted_activities", 1);
        }
        for _ in 0..(scale / 20).max(1) {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if self.jobs[j as usize].deleted {
                continue;
            }
            let ts = self.ts_between(prev, end);
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
            bump("deleted_jobs", 1);
        }
        // Notes and contacts change.
        let live_notes: Vec<Ix> = (0..self.notes.len() as Ix)
            .filter(|i| !self.notes[*i as usize].deleted)
            .collect();
        if !live_notes.is_empty() {
            for k in 0..2 {
                let nx = live_notes[self.rng.random_range(0..live_notes.len())];
                if self.notes[nx as usize].deleted {
                    continue;
                }
                let ts = self.ts_between(prev, end);
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
                bump("changed_notes", 1);
            }
        }
        let live_contacts: Vec<Ix> = (0..self.contacts.len() as Ix)
            .filter(|i| !self.contacts[*i as usize].deleted)
            .collect();
        if !live_contacts.is_empty() {
            let cx = live_contacts[self.rng.random_range(0..live_contacts.len())];
            let ts = self.ts_between(prev, end);
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
                    bump("deleted_contacts", 1);
                }
            }
            bump("changed_contacts", 1);
        }
        if !live_jobs.is_empty() {
            let j = live_jobs[self.rng.random_range(0..live_jobs.len())];
            if !self.jobs[j as usize].deleted {
                let at = self.ts_between(prev, end);
                self.contact_for(at, j);
            }
        }
        // People: invitations accepted and sent, members deactivated.
        let pending: Vec<Ix> = self.invitations_ix.values().copied().collect();
        for inv in pending.into_iter().take((scale / 30).max(1) as usize) {
            let ts = self.ts_between(prev, end);
            self.accept(ts, inv);
            bump("accepted_invitations", 1);
        }
        for _ in 0..(scale / 30).max(2) {
            let ts = self.ts_between(prev, end);
            self.invitation(ts);
            bump("new_invitations", 1);
        }
        // One invitation is created and accepted within the day.
        let ts = self.ts_between(prev, end - 60);
        let inv = self.invitation(ts);
        self.accept(ts + 30, inv);
        for _ in 0..(scale / 25).max(1) {
            let m = active[self.rng.random_range(0..active.len())];
            self.people[m as usize].is_active = false;
            bump("deactivated_members", 1);
        }
        if let Some(&m) = members.first() {
            let v = self.rng.random_range(18..60);
            if let Some(f) = self.people[m as usize].fields.iter_mut().find(|f| f.0 == 1) {
                f.1 = serde_json::json!(v);
            }
        }
        // A couple of events still trickle in on the deprecated feed.
        if let Some(&j) = self.jobs_ix.values().next_back() {
            let ts = self.ts_between(prev, end);
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
        self.last_moment(end);
        self.now = end;
        self.days += 1;
        n
    }

    /// A job created seconds before the clock reads `end`: the newest
    /// record a sync at `end` sees, whose second later records share.
    fn last_moment(&mut self, end: i64) {
        let members: Vec<Ix> = self.members_ix.values().copied().collect();
        if let Some(&m) = members.iter().find(|m| self.people[**m as usize].is_active) {
            let ts = end - self.rng.random_range(1..30);
            self.new_job(ts, m, m);
        }
    }

    fn delete_activity(&mut self, ts: i64, ax: Ix) {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn ids_order_by_creation() {
        let o = Oid(1_700_000_000, 5);
        assert_eq!(Oid::parse(&o.hex()), Some(o));
        assert!(Oid::floor(1_700_000_001) > o);
        assert!(Oid::parse("zz").is_none());
    }

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
