//! The sandbox's ground truth: what each destination table must hold for
//! the organization's current state, computed from the model directly (not
//! through the flattener, so a flattening bug cannot hide itself).
//!
//! Each table maps a key (ids joined by `|`) to the values of a few key
//! columns, as text the way the SQLite destination stores them.

use std::collections::{BTreeMap, BTreeSet};

use huntr_protocol::timefmt::iso;
use huntr_protocol::ActionType;

use crate::org::{Ix, Org};

pub type Rows = BTreeMap<String, BTreeMap<&'static str, Option<String>>>;

#[derive(Debug, Default, Clone)]
pub struct Truth {
    /// Live rows per table.
    pub tables: BTreeMap<&'static str, Rows>,
    /// Keys that must be marked deleted (`deleted_at`) if present.
    pub deleted: BTreeMap<&'static str, BTreeSet<String>>,
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

fn b(v: bool) -> Option<String> {
    Some(if v { "1" } else { "0" }.into())
}

impl Truth {
    pub fn of(org: &Org) -> Truth {
        let mut t = Truth::default();
        let mut put =
            |table: &'static str, key: String, cols: Vec<(&'static str, Option<String>)>| {
                t.tables
                    .entry(table)
                    .or_default()
                    .insert(key, cols.into_iter().collect());
            };
        let person_id = |p: Ix| org.people[p as usize].id.hex();
        for &m in org.members_ix.values() {
            let p = &org.people[m as usize];
            put(
                "members",
                p.id.hex(),
                vec![
                    ("email", s(&p.email)),
                    ("given_name", s(&p.given)),
                    ("is_active", b(p.is_active)),
                ],
            );
            for (f, v) in &p.fields {
                let value = match v {
                    serde_json::Value::String(x) => x.clone(),
                    other => other.to_string(),
                };
                put(
                    "member_field_values",
                    format!("{}|{}", p.id.hex(), org.fields[*f as usize].id.hex()),
                    vec![("value", s(value))],
                );
            }
        }
        // Everybody who appears anywhere: members, advisors, invitees.
        let mut people: BTreeSet<Ix> = org.members_ix.values().copied().collect();
        people.extend(org.advisors.iter().copied());
        people.extend(org.invitations.iter().filter_map(|i| i.to));
        for p in people {
            let person = &org.people[p as usize];
            put(
                "people",
                person_id(p),
                vec![
                    ("email", s(&person.email)),
                    ("family_name", s(&person.family)),
                ],
            );
        }
        for f in &org.fields {
            put(
                "member_fields",
                f.id.hex(),
                vec![("name", s(f.name)), ("field_type", s(f.field_type))],
            );
            for (i, c) in f.choices.iter().enumerate() {
                put(
                    "member_field_choices",
                    format!("{}|{i}", f.id.hex()),
                    vec![("choice", s(c))],
                );
            }
        }
        for bt in &org.templates {
            put(
                "board_templates",
                bt.id.hex(),
                vec![("name", s(bt.name)), ("is_default", b(bt.is_default))],
            );
            for (i, (lid, name)) in bt.lists.iter().enumerate() {
                put(
                    "board_template_lists",
                    format!("{}|{i}", bt.id.hex()),
                    vec![("list_template_id", s(lid.hex())), ("name", s(name))],
                );
            }
        }
        for &i in org.invitations_ix.values() {
            let inv = &org.invitations[i as usize];
            put(
                "organization_invitations",
                inv.id.hex(),
                vec![
                    ("to_email", s(&inv.to_email)),
                    (
                        "board_template_id",
                        inv.template.map(|t| org.templates[t as usize].id.hex()),
                    ),
                ],
            );
        }
        for &e in org.employers_ix.values() {
            let emp = &org.employers[e as usize];
            put(
                "employers",
                emp.id.hex(),
                vec![
                    ("name", s(&emp.name)),
                    ("job_count", s(emp.jobs)),
                    ("offer_count", s(emp.offers)),
                ],
            );
        }
        for (c, (id, name)) in org.categories.iter().enumerate() {
            let _ = c;
            put("activity_categories", id.hex(), vec![("name", s(name))]);
        }
        for j in &org.jobs {
            if j.deleted {
                t.deleted.entry("jobs").or_default().insert(j.id.hex());
                continue;
            }
            put(
                "jobs",
                j.id.hex(),
                vec![
                    ("title", s(&j.title)),
                    ("list_name", s(&j.list)),
                    ("salary", j.salary.clone()),
                    (
                        "employer_id",
                        s(org.employers[j.employer as usize].id.hex()),
                    ),
                    ("owner_member_id", s(person_id(j.owner))),
                    ("creator_member_id", s(person_id(j.creator))),
                    ("created_at", s(iso(j.id.created()))),
                ],
            );
        }
        for a in &org.activities {
            if a.deleted {
                t.deleted
                    .entry("activities")
                    .or_default()
                    .insert(a.id.hex());
                continue;
            }
            put(
                "activities",
                a.id.hex(),
                vec![
                    ("title", s(&a.title)),
                    ("completed", b(a.completed)),
                    ("completed_at", a.completed_at.map(iso)),
                    ("job_id", a.job.map(|j| org.jobs[j as usize].id.hex())),
                    (
                        "activity_category_id",
                        s(org.categories[a.category as usize].0.hex()),
                    ),
                ],
            );
        }
        for a in &org.actions {
            let job = a.job.map(|j| org.jobs[j as usize].id.hex());
            put(
                "actions",
                a.id.hex(),
                vec![
                    ("action_type", s(a.kind.as_str())),
                    ("job_id", job),
                    ("date", s(iso(a.id.created()))),
                ],
            );
            if a.kind == ActionType::ContactCreated || a.kind == ActionType::ContactUpdated {
                if let Some(c) = a.contact {
                    for (i, j) in org.contacts[c as usize].jobs.iter().enumerate() {
                        put(
                            "action_jobs",
                            format!("{}|{i}", a.id.hex()),
                            vec![("job_id", s(org.jobs[*j as usize].id.hex()))],
                        );
                    }
                }
            }
        }
        for n in &org.notes {
            if n.deleted {
                t.deleted.entry("notes").or_default().insert(n.id.hex());
            } else {
                put("notes", n.id.hex(), vec![("text", s(&n.text))]);
            }
        }
        for c in &org.contacts {
            if c.deleted {
                t.deleted.entry("contacts").or_default().insert(c.id.hex());
            } else {
                put(
                    "contacts",
                    c.id.hex(),
                    vec![("email", s(&c.email)), ("title", s(&c.title))],
                );
                for (net, handle) in &c.profiles {
                    put(
                        "contact_profiles",
                        format!("{}|{net}", c.id.hex()),
                        vec![("handle", s(handle))],
                    );
                }
            }
        }
        for e in &org.events {
            put(
                "events",
                e.id.hex(),
                vec![
                    ("event_type", s(e.kind)),
                    ("job_id", s(org.jobs[e.job as usize].id.hex())),
                ],
            );
        }
        t
    }

    pub fn count(&self, table: &str) -> usize {
        self.tables.get(table).map(BTreeMap::len).unwrap_or(0)
    }
}
