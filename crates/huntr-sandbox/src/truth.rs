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

#[path = "portal_truth.rs"]
mod portal_truth;

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

type Cols = Vec<(&'static str, Option<String>)>;

impl Truth {
    pub fn of(org: &Org) -> Truth {
        let mut t = Truth::default();
        t.people(org);
        t.catalog(org);
        t.jobs_and_activities(org);
        t.actions(org);
        t.notes_contacts_events(org);
        // Goals, documents and the employer portal.
        crate::goals_json::goal_truth(&mut t, org);
        crate::goals_json::enrollment_truth(&mut t, org);
        crate::side_json::side_truth(&mut t, org);
        // After the tables whose rows it adds columns to.
        t.portal(org);
        crate::roster_json::truth(org, &mut t);
        t
    }

    pub(crate) fn put(&mut self, table: &'static str, key: String, cols: Cols) {
        self.tables
            .entry(table)
            .or_default()
            .insert(key, cols.into_iter().collect());
    }

    pub(crate) fn mark_deleted(&mut self, table: &'static str, key: String) {
        self.deleted.entry(table).or_default().insert(key);
    }

    /// Members and their field values, and everybody who appears anywhere.
    fn people(&mut self, org: &Org) {
        for &m in org.members_ix.values() {
            let p = &org.people[m as usize];
            self.put(
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
                self.put(
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
            self.put(
                "people",
                person.id.hex(),
                vec![
                    ("email", s(&person.email)),
                    ("family_name", s(&person.family)),
                ],
            );
        }
    }

    /// Member fields, board templates, invitations, employers, categories.
    fn catalog(&mut self, org: &Org) {
        for f in &org.fields {
            self.put(
                "member_fields",
                f.id.hex(),
                vec![("name", s(&f.name)), ("field_type", s(f.field_type))],
            );
            for (i, c) in f.choices.iter().enumerate() {
                self.put(
                    "member_field_choices",
                    format!("{}|{i}", f.id.hex()),
                    vec![("choice", s(c))],
                );
            }
        }
        for bt in &org.templates {
            self.put(
                "board_templates",
                bt.id.hex(),
                vec![("name", s(bt.name)), ("is_default", b(bt.is_default))],
            );
            for (i, (lid, name)) in bt.lists.iter().enumerate() {
                self.put(
                    "board_template_lists",
                    format!("{}|{i}", bt.id.hex()),
                    vec![("list_template_id", s(lid.hex())), ("name", s(name))],
                );
            }
        }
        for &i in org.invitations_ix.values() {
            let inv = &org.invitations[i as usize];
            let template = inv.template.map(|t| org.templates[t as usize].id.hex());
            self.put(
                "organization_invitations",
                inv.id.hex(),
                vec![
                    ("to_email", s(&inv.to_email)),
                    ("board_template_id", template),
                ],
            );
        }
        for &e in org.employers_ix.values() {
            let emp = &org.employers[e as usize];
            self.put(
                "employers",
                emp.id.hex(),
                vec![
                    ("name", s(&emp.name)),
                    ("job_count", s(emp.jobs)),
                    ("offer_count", s(emp.offers)),
                ],
            );
        }
        for (id, name) in &org.categories {
            self.put("activity_categories", id.hex(), vec![("name", s(name))]);
        }
    }

    fn jobs_and_activities(&mut self, org: &Org) {
        let person_id = |p: Ix| org.people[p as usize].id.hex();
        for j in &org.jobs {
            if j.deleted {
                self.mark_deleted("jobs", j.id.hex());
                continue;
            }
            let employer = org.employers[j.employer as usize].id.hex();
            self.put(
                "jobs",
                j.id.hex(),
                vec![
                    ("title", s(&j.title)),
                    ("list_name", s(&j.list)),
                    ("salary", j.salary.clone()),
                    ("employer_id", s(employer)),
                    ("owner_member_id", s(person_id(j.owner))),
                    ("creator_member_id", s(person_id(j.creator))),
                    ("created_at", s(iso(j.id.created()))),
                ],
            );
        }
        for a in &org.activities {
            if a.deleted {
                self.mark_deleted("activities", a.id.hex());
                continue;
            }
            let category = org.categories[a.category as usize].0.hex();
            self.put(
                "activities",
                a.id.hex(),
                vec![
                    ("title", s(&a.title)),
                    ("completed", b(a.completed)),
                    ("completed_at", a.completed_at.map(iso)),
                    ("job_id", a.job.map(|j| org.jobs[j as usize].id.hex())),
                    ("activity_category_id", s(category)),
                ],
            );
        }
    }

    /// Actions, and the jobs of the contacts they carry.
    fn actions(&mut self, org: &Org) {
        for a in &org.actions {
            let job = a.job.map(|j| org.jobs[j as usize].id.hex());
            self.put(
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
                        self.put(
                            "action_jobs",
                            format!("{}|{i}", a.id.hex()),
                            vec![("job_id", s(org.jobs[*j as usize].id.hex()))],
                        );
                    }
                }
            }
        }
    }

    fn notes_contacts_events(&mut self, org: &Org) {
        for n in &org.notes {
            if n.deleted {
                self.mark_deleted("notes", n.id.hex());
            } else {
                self.put("notes", n.id.hex(), vec![("text", s(&n.text))]);
            }
        }
        for c in &org.contacts {
            if c.deleted {
                self.mark_deleted("contacts", c.id.hex());
                continue;
            }
            self.put(
                "contacts",
                c.id.hex(),
                vec![("email", s(&c.email)), ("title", s(&c.title))],
            );
            for (net, handle) in &c.profiles {
                self.put(
                    "contact_profiles",
                    format!("{}|{net}", c.id.hex()),
                    vec![("handle", s(handle))],
                );
            }
        }
        for e in &org.events {
            self.put(
                "events",
                e.id.hex(),
                vec![
                    ("event_type", s(e.kind)),
                    ("job_id", s(org.jobs[e.job as usize].id.hex())),
                ],
            );
        }
    }

    pub fn count(&self, table: &str) -> usize {
        self.tables.get(table).map(BTreeMap::len).unwrap_or(0)
    }
}
