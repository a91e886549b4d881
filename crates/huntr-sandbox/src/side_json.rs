//! What the actions of goals, documents and the employer portal
//! (`side.rs`) carry, added to their JSON (current state, as a database
//! join would); the ground truth of documents, employer requests and
//! partnerships; and the columns by which every action links to what it
//! carries. Goals' own JSON and truth are in `goals_json.rs`.

use huntr_protocol::ActionType;
use serde_json::{json, Map, Value};

use crate::org::{Action, Org};
use crate::side::Carried;
use crate::truth::Truth;

impl Org {
    fn request_json(&self, r: usize) -> Value {
        let req = &self.side.requests[r];
        let utm = if req.utm {
            json!({"utm_source": "facebook", "utm_medium": "social"})
        } else {
            json!({})
        };
        json!({"id": req.id.hex(), "approvalStatus": req.status, "fromEmail": req.email,
            "utmTags": utm, "createdAt": req.id.created(), "decidedAt": req.decided})
    }

    /// The objects an action of `side.rs` carries, added to its JSON.
    pub(crate) fn side_action_parts(&self, m: &mut Map<String, Value>, a: &Action) {
        let Some(what) = self.side.carried.get(&a.id) else {
            return;
        };
        let mut ins = |k: &str, v: Value| m.insert(k.to_owned(), v);
        match *what {
            Carried::Goal(g) => {
                ins("goal", self.goal_json(g));
                if a.kind == ActionType::GoalUpdated {
                    let instructions = self.side.goals[g].instructions.clone();
                    ins("update", json!({ "instructions": instructions }));
                }
            }
            Carried::Enrollment(e) => {
                ins("goal", self.goal_json(self.side.enrollments[e].goal));
                ins("goalEnrollment", self.enrollment_json(e));
                if a.kind == ActionType::GoalEnrollmentConcluded {
                    ins("update", json!({"status": "INACTIVE"}));
                }
            }
            Carried::Progress(p) => {
                let e = self.side.progresses[p].enrollment;
                ins("goal", self.goal_json(self.side.enrollments[e].goal));
                ins("goalEnrollment", self.enrollment_json(e));
                ins("goalProgress", self.progress_json(p));
                let status = self.side.progresses[p].status;
                ins("update", json!({ "status": status }));
            }
            Carried::Document(d) => {
                let doc = &self.side.documents[d];
                ins("documentId", json!(doc.id.hex()));
                if a.kind != ActionType::DocumentDeleted {
                    ins(
                        "document",
                        json!({"id": doc.id.hex(), "title": doc.title, "name": doc.name,
                            "url": format!("https://huntr-documents.example/{}", doc.name),
                            "extension": doc.extension, "documentCategoryName": doc.category}),
                    );
                    let jobs: Vec<Value> = doc
                        .jobs
                        .iter()
                        .map(|j| self.job_core(&self.jobs[*j as usize]))
                        .collect();
                    ins("jobs", json!(jobs));
                }
            }
            Carried::Request(r) => {
                ins("organizationEmployerRequest", self.request_json(r));
                if let Some(e) = self.side.requests[r].employer {
                    ins("employer", self.employer_json(e, false));
                }
            }
            Carried::Partnership(p) => {
                let ps = &self.side.partnerships[p];
                let employer = self.employers[ps.employer as usize].id.hex();
                ins(
                    "organizationEmployerPartnership",
                    json!({"id": ps.id.hex(), "employerCanPostJobs": ps.post_jobs,
                        "employerCanBrowseCandidates": ps.browse, "employerId": employer,
                        "createdAt": ps.id.created()}),
                );
                ins("employer", self.employer_json(ps.employer, false));
            }
        }
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// Documents, employer requests and partnerships; the link columns of
/// every action, and the jobs of document actions.
pub(crate) fn side_truth(t: &mut Truth, org: &Org) {
    for d in &org.side.documents {
        if d.deleted {
            t.deleted.entry("documents").or_default().insert(d.id.hex());
        } else {
            t.put(
                "documents",
                d.id.hex(),
                vec![("title", s(&d.title)), ("name", s(&d.name))],
            );
        }
    }
    for r in &org.side.requests {
        let employer = r.employer.map(|e| org.employers[e as usize].id.hex());
        t.put(
            "employer_requests",
            r.id.hex(),
            vec![
                ("approval_status", s(r.status)),
                ("from_email", s(&r.email)),
                ("employer_id", employer),
            ],
        );
    }
    for p in &org.side.partnerships {
        t.put(
            "employer_partnerships",
            p.id.hex(),
            vec![
                (
                    "employer_id",
                    s(org.employers[p.employer as usize].id.hex()),
                ),
                (
                    "employer_can_browse_candidates",
                    s(if p.browse { 1 } else { 0 }),
                ),
            ],
        );
    }
    for a in &org.actions {
        action_links(t, org, a);
    }
}

fn action_links(t: &mut Truth, org: &Org, a: &Action) {
    let v = {
        let mut m = Map::new();
        org.side_action_parts(&mut m, a);
        m
    };
    let id_of = |k: &str| v.get(k).and_then(|o| o["id"].as_str()).map(str::to_owned);
    let cols = [
        ("goal_id", id_of("goal")),
        ("goal_enrollment_id", id_of("goalEnrollment")),
        ("goal_progress_id", id_of("goalProgress")),
        (
            "document_id",
            v.get("documentId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        ("employer_request_id", id_of("organizationEmployerRequest")),
        (
            "employer_partnership_id",
            id_of("organizationEmployerPartnership"),
        ),
    ];
    if let Some(row) = t
        .tables
        .get_mut("actions")
        .and_then(|r| r.get_mut(&a.id.hex()))
    {
        row.extend(cols);
    }
    for (i, j) in v
        .get("jobs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let job = j["id"].as_str().map(str::to_owned);
        t.put(
            "action_jobs",
            format!("{}|{i}", a.id.hex()),
            vec![("job_id", job)],
        );
    }
}
