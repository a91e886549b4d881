//! The JSON of the job and talent portals, as the API reference shows
//! it: job posts, candidates (lean in the listing, full alone), a
//! candidate's action metrics, and what jobs, activities and actions show
//! of them.

use serde_json::{json, Map, Value};

use crate::org::{Action, Ix, Org};
use crate::portal::{Candidate, JobPost, Link, GROUPS, LOCATIONS, TAGS};

fn location_json(l: usize) -> Value {
    let (name, address, country, lat, lng) = LOCATIONS[l];
    json!({"name": name, "address": address, "country": country,
           "lat": lat.to_string(), "lng": lng.to_string()})
}

impl Org {
    pub fn job_post_json(&self, p: usize) -> Value {
        let post: &JobPost = &self.portal.posts[p];
        let employer = &self.employers[post.employer as usize];
        let mut m = json!({
            "id": post.id.hex(),
            "title": post.title,
            "isRemote": post.is_remote,
            "jobType": post.job_type,
            "htmlDescription": format!("<p>{} at {}</p>", post.title, employer.name),
            "applicationInstructions": format!("Apply at jobs.{}", employer.domain),
            "url": format!("https://{}/jobs", employer.domain),
            "postDate": post.post_date,
            "createdAt": post.id.created(),
            "jobPostStatus": {"name": post.status},
            "employerId": employer.id.hex(),
            "employer": self.employer_json(post.employer, false),
            "creatorMember": self.person_json(post.creator),
            "ownerMember": self.person_json(post.owner),
            "tags": post.tags.iter().map(|t| json!({"id": TAGS[*t].0, "name": TAGS[*t].1,
                "description": "", "color": "#FF0000"})).collect::<Vec<_>>(),
            "visibility": post.visibility(),
            "visibleMemberGroupIds": post.groups.iter().map(|g| GROUPS[*g]).collect::<Vec<_>>(),
        });
        if let Some(s) = post.salary {
            m["salary"] = json!({"actual": s.to_string(), "currency": "USD", "interval": "ANNUAL"});
        }
        if let Some(first) = post.locations.first() {
            m["location"] = location_json(*first);
        }
        m["locations"] = post.locations.iter().map(|l| location_json(*l)).collect();
        m
    }

    /// A job's or an activity's `jobPost`, if its job was saved from one.
    pub(crate) fn job_post_of(&self, job: Option<Ix>, m: &mut Map<String, Value>) {
        if let Some(p) = job.and_then(|j| self.portal.post_of_job.get(&j)) {
            m.insert("jobPost".into(), self.job_post_json(*p));
        }
    }

    pub fn candidate_lean_json(&self, c: usize) -> Value {
        let cand: &Candidate = &self.portal.candidates[c];
        let p = &self.people[cand.member as usize];
        json!({"id": cand.id.hex(), "firstName": p.given, "lastName": p.family,
               "email": p.email, "memberId": p.id.hex()})
    }

    pub fn candidate_json(&self, c: usize) -> Value {
        let cand = &self.portal.candidates[c];
        let mut m = self.candidate_lean_json(c);
        let p = &self.people[cand.member as usize];
        let extra = json!({
            "emails": [{"email": p.email, "type": "personal"}],
            "headline": cand.headline,
            "bio": format!("{} has {} years of experience.", p.given, cand.years),
            "currentLocation": location_json(c % LOCATIONS.len()),
            "timezone": "America/Los_Angeles",
            "totalWorkExperienceYears": cand.years,
            "skillNames": cand.skills,
            "willingToRelocate": c.is_multiple_of(2),
            "isVisibleToAllEmployers": true,
            "isPublicProfile": false,
            "workExperiences": [{"isCurrentPosition": true, "jobTitle": cand.headline,
                                 "employerName": "Acme", "startedAt": cand.id.created() - 86_400 * 365}],
            "createdAt": cand.id.created(),
        });
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    }

    pub fn candidate_metrics_json(&self, c: usize) -> Value {
        let cand = &self.portal.candidates[c];
        let mut per: Vec<(Ix, u32)> = Vec::new();
        for e in &cand.views {
            match per.iter_mut().find(|(x, _)| x == e) {
                Some((_, n)) => *n += 1,
                None => per.push((*e, 1)),
            }
        }
        let employers: Vec<Value> = per
            .iter()
            .map(|(e, n)| {
                let emp = &self.employers[*e as usize];
                json!({"id": emp.id.hex(), "name": emp.name, "domain": emp.domain, "totalCt": n})
            })
            .collect();
        json!({"CANDIDATE_PROFILE_VIEWED": {
            "uniqueEmployersCt": per.len(), "totalCt": cand.views.len(), "employers": employers}})
    }

    /// What an action shows of the portals: a job's post on JOB_CREATED,
    /// and the post, posts, candidate or employer a portal action names.
    pub(crate) fn portal_action_fields(&self, a: &Action, m: &mut Map<String, Value>) {
        use huntr_protocol::ActionType::*;
        if a.kind == JobCreated {
            if let Some(p) = a.job.and_then(|j| self.portal.post_of_job.get(&j)) {
                m.insert("jobPostId".into(), json!(self.portal.posts[*p].id.hex()));
                m.insert("jobPost".into(), self.job_post_json(*p));
            }
        }
        let employer = |e: Ix| self.employer_json(e, false);
        match self.portal.links.get(&a.id) {
            Some(Link::Post(p)) => {
                let post = &self.portal.posts[*p];
                m.insert("jobPostId".into(), json!(post.id.hex()));
                if a.kind != JobPostDeleted {
                    m.insert("jobPost".into(), self.job_post_json(*p));
                }
                m.insert("employer".into(), employer(post.employer));
            }
            Some(Link::Bulk(ps)) => {
                let ids: Vec<String> = ps.iter().map(|p| self.portal.posts[*p].id.hex()).collect();
                m.insert("jobPostIds".into(), json!(ids));
            }
            Some(Link::Viewed(c, e)) => {
                m.insert("candidate".into(), self.candidate_lean_json(*c));
                m.insert("employer".into(), employer(*e));
                m.insert(
                    "employerId".into(),
                    json!(self.employers[*e as usize].id.hex()),
                );
            }
            Some(Link::Search(e)) => {
                m.insert("employer".into(), employer(*e));
                m.insert(
                    "employerId".into(),
                    json!(self.employers[*e as usize].id.hex()),
                );
                m.insert("filters".into(), json!({"skills": ["React"]}));
            }
            None => {}
        }
    }
}
