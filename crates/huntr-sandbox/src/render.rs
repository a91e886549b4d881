//! JSON rendering of the sandbox model, in the shapes of the API reference,
//! quirks included: `lat`/`lng` as strings, `location: {}`, repeated list
//! template ids, member field values of several types, deprecated fields.

use huntr_protocol::ActionType;
use serde_json::{json, Map, Value};

use crate::org::{Action, Activity, Contact, Ix, Job, Org, CATEGORIES};

fn ins(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_owned(), v.into());
}

fn opt<T: Into<Value>>(m: &mut Map<String, Value>, k: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v.into());
    }
}

/// A job's location: a full place, or one of the two empty forms the
/// reference shows.
fn job_location(j: &Job) -> Value {
    match &j.location {
        Some((address, name, lat, lng)) => json!({
            "address": address, "name": name, "placeId": "ChIJG7btXnJxhlQR62EUZuSVsOE",
            "id": format!("loc{}", j.id.1), "url": "https://maps.google.com/?cid=1",
            "lat": lat.to_string(), "lng": lng.to_string(),
        }),
        // Both empty forms occur in the reference.
        None if j.id.1.is_multiple_of(2) => json!({}),
        None => json!({"address": ""}),
    }
}

impl Org {
    pub fn person_json(&self, p: Ix) -> Value {
        let p = &self.people[p as usize];
        let mut m = Map::new();
        ins(&mut m, "id", p.id.hex());
        ins(&mut m, "givenName", p.given.clone());
        ins(&mut m, "familyName", p.family.clone());
        ins(&mut m, "email", p.email.clone());
        ins(&mut m, "createdAt", p.id.created());
        ins(&mut m, "isActive", p.is_active);
        Value::Object(m)
    }

    /// An advisor as `GET /advisors` lists them. The sandbox does not
    /// follow advisors' visits: `lastSeenAt` is a few hours before the
    /// sandbox clock, fixed per advisor.
    pub fn advisor_json(&self, p: Ix) -> Value {
        let person = &self.people[p as usize];
        let last_seen = (self.now - (person.id.1 % 48) as i64 * 3600).max(person.id.created());
        json!({
            "id": person.id.hex(),
            "fullName": format!("{} {}", person.given, person.family),
            "givenName": person.given,
            "familyName": person.family,
            "email": person.email,
            "createdAt": person.id.created(),
            "lastSeenAt": last_seen,
        })
    }

    fn field_values_json(&self, values: &[(Ix, Value)]) -> Value {
        Value::Array(
            values
                .iter()
                .map(|(f, v)| json!({"fieldId": self.fields[*f as usize].id.hex(), "value": v}))
                .collect(),
        )
    }

    pub fn member_json(&self, p: Ix) -> Value {
        let mut v = self.person_json(p);
        let fields = self.field_values_json(&self.people[p as usize].fields);
        v["memberFieldValues"] = fields;
        self.roster_member_parts(p, &mut v);
        if self.drift {
            // Drift: a new field, and isActive sent as a string.
            v["cohortCode"] = json!("YVR-002");
            v["isActive"] = json!(self.people[p as usize].is_active.to_string());
        }
        v
    }

    pub fn employer_json(&self, e: Ix, counts: bool) -> Value {
        let e = &self.employers[e as usize];
        let mut m = Map::new();
        ins(&mut m, "id", e.id.hex());
        ins(&mut m, "name", e.name.clone());
        ins(&mut m, "domain", e.domain.clone());
        opt(&mut m, "foundedYear", e.founded);
        ins(&mut m, "isPartner", e.is_partner);
        ins(&mut m, "description", e.description.clone());
        ins(&mut m, "location", e.location.clone());
        if counts {
            ins(&mut m, "jobCount", e.jobs);
            ins(&mut m, "applicationCount", e.applications);
            ins(&mut m, "interviewCount", e.interviews);
            ins(&mut m, "offerCount", e.offers);
        }
        Value::Object(m)
    }

    /// The short activity form embedded in jobs and actions.
    pub fn activity_core(&self, a: &Activity) -> Map<String, Value> {
        let mut m = Map::new();
        ins(&mut m, "id", a.id.hex());
        ins(&mut m, "title", a.title.clone());
        opt(&mut m, "note", a.note.clone());
        ins(&mut m, "completed", a.completed);
        ins(&mut m, "createdByWorkflow", a.workflow);
        opt(&mut m, "startAt", a.start_at);
        opt(&mut m, "endAt", a.end_at);
        opt(&mut m, "completedAt", a.completed_at);
        ins(&mut m, "createdAt", a.id.created());
        m
    }

    pub fn category_json(&self, c: Ix) -> Value {
        let (id, name) = self.categories[c as usize];
        json!({"id": id.hex(), "name": name})
    }

    /// The short job form embedded in activities and actions.
    pub fn job_core(&self, j: &Job) -> Value {
        let mut m = Map::new();
        ins(&mut m, "id", j.id.hex());
        ins(&mut m, "title", j.title.clone());
        opt(&mut m, "salary", j.salary.clone());
        ins(&mut m, "location", json!({}));
        ins(&mut m, "createdAt", j.id.created());
        Value::Object(m)
    }

    pub fn activity_json(&self, ax: Ix) -> Value {
        let a = &self.activities[ax as usize];
        let mut m = self.activity_core(a);
        ins(&mut m, "ownerMember", self.person_json(a.owner));
        ins(&mut m, "creatorMember", self.person_json(a.creator));
        if let Some(j) = a.job {
            let job = &self.jobs[j as usize];
            ins(&mut m, "job", self.job_core(job));
            ins(&mut m, "employer", self.employer_json(job.employer, false));
        }
        ins(&mut m, "activityCategory", self.category_json(a.category));
        self.job_post_of(a.job, &mut m);
        Value::Object(m)
    }

    pub fn job_json(&self, jx: Ix) -> Value {
        let j = &self.jobs[jx as usize];
        let mut m = Map::new();
        ins(&mut m, "id", j.id.hex());
        ins(&mut m, "title", j.title.clone());
        opt(&mut m, "htmlDescription", j.html.clone());
        opt(&mut m, "salary", j.salary.clone());
        opt(&mut m, "url", j.url.clone());
        opt(&mut m, "deadline", j.deadline);
        ins(&mut m, "location", job_location(j));
        ins(&mut m, "createdAt", j.id.created());
        ins(&mut m, "ownerMember", self.person_json(j.owner));
        ins(&mut m, "creatorMember", self.person_json(j.creator));
        ins(&mut m, "employer", self.employer_json(j.employer, false));
        ins(&mut m, "list", json!({"name": j.list}));
        self.job_post_of(Some(jx), &mut m);
        self.job_activities(&mut m, j);
        if self.drift {
            ins(&mut m, "remote", true);
            // A timestamp that starts arriving as a string.
            if let Some(d) = j.deadline {
                ins(&mut m, "deadline", d.to_string());
            }
            ins(&mut m, "salary", json!({"min": 90000, "max": 120000}));
        }
        Value::Object(m)
    }

    /// A job's live activities, and the interview, application and offer
    /// ones the API also names apart.
    fn job_activities(&self, m: &mut Map<String, Value>, j: &Job) {
        let acts: Vec<&Activity> = j
            .activities
            .iter()
            .map(|a| &self.activities[*a as usize])
            .filter(|a| !a.deleted)
            .collect();
        ins(
            m,
            "activities",
            acts.iter()
                .map(|a| Value::Object(self.activity_core(a)))
                .collect::<Vec<_>>(),
        );
        let cat = |a: &Activity| CATEGORIES[a.category as usize];
        let interviews: Vec<Value> = acts
            .iter()
            .filter(|a| {
                matches!(
                    cat(a),
                    "Phone Screen" | "Phone Interview" | "On Site Interview"
                )
            })
            .map(|a| Value::Object(self.activity_core(a)))
            .collect();
        if !interviews.is_empty() {
            ins(m, "interviewActivities", interviews);
        }
        for (key, name) in [
            ("applicationActivity", "Apply"),
            ("offerActivity", "Offer Received"),
            ("offerAcceptedActivity", "Accept Offer"),
        ] {
            if let Some(a) = acts.iter().find(|a| cat(a) == name) {
                ins(m, key, Value::Object(self.activity_core(a)));
            }
        }
    }

    pub fn action_json(&self, a: &Action) -> Value {
        let mut m = Map::new();
        ins(&mut m, "id", a.id.hex());
        ins(&mut m, "actionType", a.kind.as_str());
        ins(&mut m, "date", a.id.created());
        ins(&mut m, "ownerMember", self.person_json(a.owner));
        ins(&mut m, "creatorMember", self.person_json(a.creator));
        use ActionType::*;
        if let Some(j) = a.job {
            let job = &self.jobs[j as usize];
            ins(&mut m, "jobId", job.id.hex());
            if a.kind != JobDeleted {
                ins(&mut m, "job", self.job_core(job));
            }
            ins(&mut m, "employer", self.employer_json(job.employer, false));
            ins(
                &mut m,
                "employerId",
                self.employers[job.employer as usize].id.hex(),
            );
        }
        if let Some(ax) = a.activity {
            let act = &self.activities[ax as usize];
            ins(&mut m, "activityId", act.id.hex());
            if a.kind != ActivityDeleted {
                let snapshot = a.snapshot.clone();
                let core = snapshot.unwrap_or_else(|| self.activity_core(act));
                ins(&mut m, "activity", Value::Object(core));
            }
            ins(&mut m, "activityCategory", self.category_json(act.category));
        }
        if let Some(n) = a.note {
            let note = &self.notes[n as usize];
            ins(&mut m, "noteId", note.id.hex());
            if a.kind != NoteDeleted {
                ins(
                    &mut m,
                    "note",
                    json!({"id": note.id.hex(), "text": note.text}),
                );
            }
        }
        if let Some(c) = a.contact {
            let ct = &self.contacts[c as usize];
            ins(&mut m, "contactId", ct.id.hex());
            if a.kind != ContactDeleted {
                self.contact_parts(&mut m, ct);
            }
        }
        if let Some(p) = a.member {
            // The MEMBER_* types carry the member as `/members` lists it
            // (roster_json.rs).
            let member = if crate::roster_json::full_member(&a.kind) {
                self.member_json(p)
            } else {
                self.person_json(p)
            };
            ins(&mut m, "member", member);
        }
        if let Some(i) = a.invitation {
            let inv = &self.invitations[i as usize];
            ins(
                &mut m,
                "organizationInvitation",
                json!({"id": inv.id.hex(), "toEmail": inv.to_email, "boardName": inv.board_name, "createdAt": inv.id.created()}),
            );
        }
        // Goals, documents and the employer portal.
        self.side_action_parts(&mut m, a);
        opt(&mut m, "fromList", a.from_list.map(|l| json!({"name": l})));
        opt(&mut m, "toList", a.to_list.map(|l| json!({"name": l})));
        opt(&mut m, "update", a.update.clone());
        ins(&mut m, "createdByWorkflow", a.workflow);
        ins(&mut m, "createdAt", a.id.created());
        self.portal_action_fields(a, &mut m);
        Value::Object(m)
    }

    /// A contact as actions embed it, with its jobs and their employers.
    fn contact_parts(&self, m: &mut Map<String, Value>, ct: &Contact) {
        let profiles: Map<String, Value> = ct
            .profiles
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        ins(
            m,
            "contact",
            json!({"id": ct.id.hex(), "firstName": ct.first, "lastName": ct.last, "email": ct.email,
                   "title": ct.title, "location": ct.location, "profiles": profiles}),
        );
        let jobs: Vec<Value> = ct
            .jobs
            .iter()
            .map(|j| self.job_core(&self.jobs[*j as usize]))
            .collect();
        let employers: Vec<Value> = ct
            .jobs
            .iter()
            .map(|j| self.employer_json(self.jobs[*j as usize].employer, false))
            .collect();
        ins(m, "jobs", jobs);
        ins(m, "employers", employers);
    }

    pub fn invitation_json(&self, i: Ix) -> Value {
        let inv = &self.invitations[i as usize];
        let mut m = Map::new();
        ins(&mut m, "id", inv.id.hex());
        ins(&mut m, "toEmail", inv.to_email.clone());
        ins(&mut m, "boardName", inv.board_name.clone());
        if let Some(p) = inv.to {
            let mut person = self.person_json(p);
            if let Some(o) = person.as_object_mut() {
                o.remove("isActive");
            }
            ins(&mut m, "to", person);
        }
        if let Some(t) = inv.template {
            ins(&mut m, "boardTemplate", self.template_json(t, false));
        }
        ins(
            &mut m,
            "memberFieldValues",
            self.field_values_json(&inv.fields),
        );
        ins(&mut m, "createdAt", inv.id.created());
        Value::Object(m)
    }

    pub fn template_json(&self, t: Ix, with_default: bool) -> Value {
        let t = &self.templates[t as usize];
        let lists: Vec<Value> = t
            .lists
            .iter()
            .map(|(id, name)| json!({"id": id.hex(), "name": name}))
            .collect();
        let mut v = json!({"id": t.id.hex(), "name": t.name, "listTemplates": lists});
        if with_default {
            v["isDefault"] = json!(t.is_default);
        }
        v
    }

    pub fn field_json(&self, f: Ix) -> Value {
        let f = &self.fields[f as usize];
        let mut v = json!({"id": f.id.hex(), "name": f.name, "fieldType": f.field_type});
        if !f.choices.is_empty() {
            v["choices"] = json!(f.choices);
        }
        v
    }

    pub fn event_json(&self, e: Ix) -> Value {
        let e = &self.events[e as usize];
        let job = &self.jobs[e.job as usize];
        let mut person = self.person_json(e.member);
        if let Some(o) = person.as_object_mut() {
            o.remove("isActive");
        }
        let mut m = Map::new();
        ins(&mut m, "id", e.id.hex());
        ins(&mut m, "eventType", e.kind);
        opt(&mut m, "date", e.date);
        ins(&mut m, "createdAt", e.id.created());
        ins(&mut m, "member", person);
        // Deprecated job fields appear in event jobs.
        ins(
            &mut m,
            "job",
            json!({"id": job.id.hex(), "title": job.title, "applicationDate": e.date, "createdAt": job.id.created()}),
        );
        opt(&mut m, "fromList", e.from_list.map(|l| json!({"name": l})));
        opt(&mut m, "toList", e.to_list.map(|l| json!({"name": l})));
        Value::Object(m)
    }
}
