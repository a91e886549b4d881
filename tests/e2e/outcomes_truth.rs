//! What the outcome views must show, computed from the sandbox's own model
//! (its members, jobs, activities and fields), never from the views' SQL:
//! the independent side of the outcome views' tests.
//!
//! Every view becomes rows keyed by its natural key, each row the view's
//! columns as text: integers as digits, fractions with six decimals,
//! timestamps as Unix seconds, dates as `YYYY-MM-DD`.

use std::collections::{BTreeMap, BTreeSet};

use huntr_sync::sandbox::org::{Activity, Ix, Org};
use huntr_sync::sandbox::roster::advisor_of;
use serde_json::Value;

pub type Cell = Option<String>;
pub type ViewRows = BTreeMap<String, Vec<Cell>>;

const INTERVIEWS: [&str; 3] = ["Phone Screen", "Phone Interview", "On Site Interview"];

pub fn int(n: usize) -> Cell {
    Some(n.to_string())
}
pub fn ts(t: Option<i64>) -> Cell {
    t.map(|t| t.to_string())
}
pub fn frac(f: Option<f64>) -> Cell {
    f.map(|f| format!("{f:.6}"))
}
fn days(a: Option<i64>, b: Option<i64>) -> Cell {
    frac(a.zip(b).map(|(a, b)| (b - a) as f64 / 86_400.0))
}
fn month(t: i64) -> String {
    huntr_sync::timefmt::iso(t)[..7].to_owned()
}

/// One counted job and its milestones.
#[derive(Debug, Clone)]
pub struct Pipe {
    pub job: Ix,
    pub owner: Ix,
    pub applied: Option<i64>,
    pub interviews: Vec<i64>,
    pub offer: Option<i64>,
    pub accepted: Option<i64>,
}

/// The model, read once: counted members, jobs and activities.
pub struct Oracle<'a> {
    pub org: &'a Org,
    pub members: Vec<Ix>,
    pub pipes: Vec<Pipe>,
    /// (owner, date) of every counted activity.
    pub acts: Vec<(Ix, i64)>,
}

pub fn date_of(a: &Activity) -> i64 {
    a.completed_at.or(a.start_at).unwrap_or(a.id.created())
}

impl<'a> Oracle<'a> {
    pub fn new(org: &'a Org) -> Oracle<'a> {
        let members: Vec<Ix> = org.members_ix.values().copied().collect();
        let counted: BTreeSet<Ix> = members.iter().copied().collect();
        let cat = |a: &Activity| org.categories[a.category as usize].1;
        let mut pipes = Vec::new();
        for (jx, j) in org.jobs.iter().enumerate() {
            if j.deleted || !counted.contains(&j.owner) {
                continue;
            }
            let live: Vec<&Activity> = j
                .activities
                .iter()
                .map(|a| &org.activities[*a as usize])
                .filter(|a| !a.deleted)
                .collect();
            let first = |name: &str| live.iter().find(|a| cat(a) == name).map(|a| date_of(a));
            pipes.push(Pipe {
                job: jx as Ix,
                owner: j.owner,
                applied: first("Apply"),
                interviews: live
                    .iter()
                    .filter(|a| INTERVIEWS.contains(&cat(a)))
                    .map(|a| date_of(a))
                    .collect(),
                offer: first("Offer Received"),
                accepted: first("Accept Offer"),
            });
        }
        let acts = org
            .activities
            .iter()
            .filter(|a| !a.deleted && a.job.is_none_or(|j| !org.jobs[j as usize].deleted))
            .map(|a| (a.owner, date_of(a)))
            .collect();
        Oracle {
            org,
            members,
            pipes,
            acts,
        }
    }

    fn hex(&self, p: Ix) -> String {
        self.org.people[p as usize].id.hex()
    }

    pub fn job_pipeline(&self) -> ViewRows {
        let org = self.org;
        let mut out = ViewRows::new();
        for p in &self.pipes {
            let j = &org.jobs[p.job as usize];
            let created = j.id.created();
            let first_iv = p.interviews.iter().min().copied();
            out.insert(
                j.id.hex(),
                vec![
                    Some(self.hex(p.owner)),
                    Some(org.employers[j.employer as usize].id.hex()),
                    Some(j.title.clone()),
                    Some(j.list.clone()),
                    ts(Some(created)),
                    ts(p.applied),
                    ts(first_iv),
                    int(p.interviews.len()),
                    ts(p.offer),
                    ts(p.accepted),
                    days(Some(created), p.applied),
                    days(p.applied, first_iv),
                    days(p.applied, p.offer),
                ],
            );
        }
        out
    }

    /// A member's outcome numbers: (jobs, applications, interviewing,
    /// interviews, offers, accepted, first applied, first offer, first
    /// accepted, stage).
    pub fn outcome(&self, m: Ix) -> Outcome {
        let mine: Vec<&Pipe> = self.pipes.iter().filter(|p| p.owner == m).collect();
        let min = |f: fn(&Pipe) -> Option<i64>| mine.iter().filter_map(|p| f(p)).min();
        let o = Outcome {
            jobs: mine.len(),
            applications: mine.iter().filter(|p| p.applied.is_some()).count(),
            interviewing: mine.iter().filter(|p| !p.interviews.is_empty()).count(),
            interviews: mine.iter().map(|p| p.interviews.len()).sum(),
            offers: mine.iter().filter(|p| p.offer.is_some()).count(),
            accepted: mine.iter().filter(|p| p.accepted.is_some()).count(),
            first_applied: min(|p| p.applied),
            first_offer: min(|p| p.offer),
            first_accepted: min(|p| p.accepted),
            last_activity: self.acts.iter().filter(|a| a.0 == m).map(|a| a.1).max(),
            stage: "",
        };
        let stage = match () {
            _ if o.accepted > 0 => "placed",
            _ if o.offers > 0 => "offer",
            _ if o.interviewing > 0 => "interviewing",
            _ if o.applications > 0 => "applied",
            _ if o.jobs > 0 => "tracking",
            _ => "not_started",
        };
        Outcome { stage, ..o }
    }

    pub fn member_outcomes(&self) -> ViewRows {
        let mut out = ViewRows::new();
        for &m in &self.members {
            let o = self.outcome(m);
            out.insert(
                self.hex(m),
                vec![
                    int(o.jobs),
                    int(o.applications),
                    int(o.interviewing),
                    int(o.interviews),
                    int(o.offers),
                    int(o.accepted),
                    ts(o.first_applied),
                    ts(o.first_offer),
                    ts(o.first_accepted),
                    days(o.first_applied, o.first_offer),
                    ts(o.last_activity),
                    Some(o.stage.to_owned()),
                ],
            );
        }
        out
    }

    pub fn outcomes_by_month(&self) -> ViewRows {
        // month -> (active members, applications, interviews, offers, acceptances, new members)
        let mut months: BTreeMap<String, (BTreeSet<Ix>, [usize; 5])> = BTreeMap::new();
        let counted: BTreeSet<Ix> = self.members.iter().copied().collect();
        for (owner, at) in &self.acts {
            if counted.contains(owner) {
                months.entry(month(*at)).or_default().0.insert(*owner);
            }
        }
        let mut bump = |t: i64, i: usize| months.entry(month(t)).or_default().1[i] += 1;
        for p in &self.pipes {
            p.applied.into_iter().for_each(|t| bump(t, 0));
            p.interviews.iter().for_each(|t| bump(*t, 1));
            p.offer.into_iter().for_each(|t| bump(t, 2));
            p.accepted.into_iter().for_each(|t| bump(t, 3));
        }
        for &m in &self.members {
            bump(self.org.people[m as usize].id.created(), 4);
        }
        months
            .into_iter()
            .map(|(k, (active, n))| {
                let mut row = vec![int(active.len())];
                row.extend(n.iter().map(|x| int(*x)));
                (k, row)
            })
            .collect()
    }

    /// A member's choices of field `f` (empty: none).
    pub fn choices(&self, m: Ix, f: Ix) -> Vec<String> {
        let value = self.org.people[m as usize]
            .fields
            .iter()
            .find(|(x, _)| *x == f)
            .map(|(_, v)| v.clone());
        let list = match value {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()))
                .collect(),
            Some(Value::String(s)) => vec![s],
            Some(other) => vec![other.to_string()],
            None => vec![],
        };
        list.into_iter().filter(|c| !c.is_empty()).collect()
    }

    pub fn outcomes_by_field(&self) -> ViewRows {
        let mut out = ViewRows::new();
        for (fx, f) in self.org.fields.iter().enumerate() {
            if !matches!(f.field_type, "MULTIPLE_CHOICE" | "MULTIPLE_SELECT") {
                continue;
            }
            let mut choices: BTreeSet<String> = f.choices.iter().cloned().collect();
            choices.insert("(none)".into());
            for c in choices {
                let who: Vec<Outcome> = self
                    .members
                    .iter()
                    .filter(|&&m| {
                        let mine = self.choices(m, fx as Ix);
                        if c == "(none)" {
                            mine.is_empty()
                        } else {
                            mine.contains(&c)
                        }
                    })
                    .map(|&m| self.outcome(m))
                    .collect();
                let placed = who.iter().filter(|o| o.stage == "placed").count();
                let rate = (!who.is_empty()).then(|| placed as f64 / who.len() as f64);
                out.insert(
                    format!("{}|{c}", f.id.hex()),
                    vec![
                        Some(f.name.clone()),
                        int(who.len()),
                        int(who.iter().filter(|o| o.applications > 0).count()),
                        int(who.iter().filter(|o| o.interviewing > 0).count()),
                        int(who.iter().filter(|o| o.offers > 0).count()),
                        int(placed),
                        frac(rate),
                    ],
                );
            }
        }
        out
    }

    pub fn employer_outcomes(&self) -> ViewRows {
        let mut out = ViewRows::new();
        for (ex, e) in self.org.employers.iter().enumerate() {
            let here: Vec<&Pipe> = self
                .pipes
                .iter()
                .filter(|p| self.org.jobs[p.job as usize].employer == ex as Ix)
                .collect();
            let members: BTreeSet<Ix> = here.iter().map(|p| p.owner).collect();
            out.insert(
                e.id.hex(),
                vec![
                    Some(e.name.clone()),
                    int(members.len()),
                    int(here.iter().filter(|p| p.applied.is_some()).count()),
                    int(here.iter().map(|p| p.interviews.len()).sum()),
                    int(here.iter().filter(|p| p.offer.is_some()).count()),
                    int(here.iter().filter(|p| p.accepted.is_some()).count()),
                ],
            );
        }
        out
    }

    /// The caseloads, with "the last 30 days" ending at `now`.
    pub fn advisor_caseload(&self, now: i64) -> ViewRows {
        let within = |t: i64| t >= now - 30 * 86_400 && t <= now;
        let mut out = ViewRows::new();
        for &a in &self.org.advisors {
            let mine: Vec<Ix> = self
                .members
                .iter()
                .copied()
                .filter(|&m| advisor_of(self.org, m) == Some(a))
                .collect();
            let active = mine
                .iter()
                .filter(|&&m| self.acts.iter().any(|(o, t)| *o == m && within(*t)))
                .count();
            let pipes: Vec<&Pipe> = self
                .pipes
                .iter()
                .filter(|p| mine.contains(&p.owner))
                .collect();
            let p = &self.org.people[a as usize];
            out.insert(
                p.id.hex(),
                vec![
                    Some(format!("{} {}", p.given, p.family)),
                    Some(p.email.clone()),
                    int(mine.len()),
                    int(active),
                    int(pipes
                        .iter()
                        .filter(|p| p.applied.is_some_and(within))
                        .count()),
                    int(pipes.iter().filter(|p| p.offer.is_some_and(within)).count()),
                    int(mine
                        .iter()
                        .filter(|&&m| self.outcome(m).stage == "placed")
                        .count()),
                ],
            );
        }
        out
    }
}

/// A member's outcome numbers.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub jobs: usize,
    pub applications: usize,
    pub interviewing: usize,
    pub interviews: usize,
    pub offers: usize,
    pub accepted: usize,
    pub first_applied: Option<i64>,
    pub first_offer: Option<i64>,
    pub first_accepted: Option<i64>,
    pub last_activity: Option<i64>,
    pub stage: &'static str,
}

/// A field's column name as the README says: lowercase letters, digits
/// and `_`; `field_` before a name that starts with a digit or is empty;
/// a name taken already gets `_<field id>`.
pub fn column_names(org: &Org) -> Vec<(Ix, String)> {
    let mut taken: BTreeSet<String> = [
        "id",
        "given_name",
        "family_name",
        "email",
        "created_at",
        "is_active",
        "last_seen_at",
        "advisor_id",
        "advisor_name",
        "advisor_email",
        "member_groups",
    ]
    .map(String::from)
    .into();
    let mut order: Vec<Ix> = (0..org.fields.len() as Ix).collect();
    order.sort_by_key(|f| org.fields[*f as usize].id);
    let slug = |s: &str| {
        let words: Vec<String> = s
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let s = words.join("_");
        if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
            format!("field_{s}").trim_end_matches('_').to_owned()
        } else {
            s
        }
    };
    order
        .into_iter()
        .map(|f| {
            let field = &org.fields[f as usize];
            let mut name = slug(&field.name);
            if !taken.insert(name.clone()) {
                name = format!("{name}_{}", field.id.hex());
                taken.insert(name.clone());
            }
            (f, name)
        })
        .collect()
}

impl Oracle<'_> {
    /// `members_wide`: advisor name and email, then each field's value,
    /// in `column_names` order.
    pub fn members_wide(&self) -> ViewRows {
        let org = self.org;
        let cols = column_names(org);
        let mut out = ViewRows::new();
        for &m in &self.members {
            let adv = advisor_of(org, m).map(|a| &org.people[a as usize]);
            let mut row = vec![
                adv.map(|p| format!("{} {}", p.given, p.family)),
                adv.map(|p| p.email.clone()),
            ];
            for (f, _) in &cols {
                let value = org.people[m as usize]
                    .fields
                    .iter()
                    .find(|(x, _)| x == f)
                    .map(|(_, v)| v);
                row.push(value.and_then(|v| shown(org.fields[*f as usize].field_type, v)));
            }
            out.insert(self.hex(m), row);
        }
        out
    }
}

/// A field value as `members_wide` shows it.
fn shown(field_type: &str, v: &Value) -> Cell {
    match (field_type, v) {
        (_, Value::Null) => None,
        ("NUMBER", v) => frac(v.as_f64()),
        ("DATE", v) => v
            .as_i64()
            .map(|t| huntr_sync::timefmt::iso(t)[..10].to_owned()),
        (_, Value::Array(items)) if items.is_empty() => None,
        (_, Value::Array(items)) => Some(
            items
                .iter()
                .map(|x| x.as_str().map(str::to_owned).unwrap_or(x.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, Value::String(s)) => Some(s.clone()),
        (_, other) => Some(other.to_string()),
    }
}
