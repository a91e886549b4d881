//! The ground truth of the job and talent portals: the tables
//! `job_posts` (and its children), `candidates`, `candidate_profiles`,
//! `candidate_skills`, `candidate_action_metrics`, `action_job_posts`,
//! and the `job_post_id` / `candidate_id` columns of the other tables.

use huntr_protocol::timefmt::iso;
use huntr_protocol::ActionType;

use super::{s, Truth};
use crate::org::{Action, Oid, Org};
use crate::portal::{Link, GROUPS, LOCATIONS, TAGS};

impl Truth {
    pub(super) fn portal(&mut self, org: &Org) {
        self.job_posts(org);
        self.candidates(org);
        self.portal_links(org);
    }

    fn job_posts(&mut self, org: &Org) {
        for (i, post) in org.portal.posts.iter().enumerate() {
            let id = post.id.hex();
            if post.deleted {
                self.mark_deleted("job_posts", id);
                continue;
            }
            let salary = post.salary.map(|v| v.to_string());
            let employer = org.employers[post.employer as usize].id.hex();
            let creator = org.people[post.creator as usize].id.hex();
            self.put(
                "job_posts",
                id.clone(),
                vec![
                    ("title", s(&post.title)),
                    ("status", s(post.status)),
                    ("salary_actual", salary),
                    ("visibility", s(post.visibility())),
                    ("employer_id", s(employer)),
                    ("creator_member_id", s(creator)),
                    ("created_at", s(iso(post.id.created()))),
                ],
            );
            debug_assert_eq!(org.portal.posts_ix.get(&post.id), Some(&(i as u32)));
            for (k, l) in post.locations.iter().enumerate() {
                let (name, _, country, _, _) = LOCATIONS[*l];
                let cols = vec![("name", s(name)), ("country", s(country))];
                self.put("job_post_locations", format!("{id}|{k}"), cols);
            }
            for (k, t) in post.tags.iter().enumerate() {
                let cols = vec![("tag_id", s(TAGS[*t].0))];
                self.put("job_post_tags", format!("{id}|{k}"), cols);
            }
            for (k, g) in post.groups.iter().enumerate() {
                let cols = vec![("member_group_id", s(GROUPS[*g]))];
                self.put("job_post_member_groups", format!("{id}|{k}"), cols);
            }
        }
    }

    fn candidates(&mut self, org: &Org) {
        for &c in org.portal.candidates_ix.values() {
            let cand = &org.portal.candidates[c as usize];
            let id = cand.id.hex();
            let p = &org.people[cand.member as usize];
            self.put(
                "candidates",
                id.clone(),
                vec![
                    ("first_name", s(&p.given)),
                    ("email", s(&p.email)),
                    ("member_id", s(p.id.hex())),
                ],
            );
            let cols = vec![
                ("headline", s(&cand.headline)),
                ("member_id", s(p.id.hex())),
                ("created_at", s(iso(cand.id.created()))),
            ];
            self.put("candidate_profiles", id.clone(), cols);
            for (k, skill) in cand.skills.iter().enumerate() {
                let cols = vec![("skill_name", s(skill))];
                self.put("candidate_skills", format!("{id}|{k}"), cols);
            }
            let mut employers = cand.views.clone();
            employers.sort();
            employers.dedup();
            self.put(
                "candidate_action_metrics",
                format!("{id}|CANDIDATE_PROFILE_VIEWED"),
                vec![
                    ("count", s(cand.views.len())),
                    ("unique_employers", s(employers.len())),
                ],
            );
        }
    }

    /// `job_post_id` on jobs, activities and actions; `candidate_id` and
    /// `action_job_posts` of actions.
    fn portal_links(&mut self, org: &Org) {
        let post_of_job = |j: u32| {
            org.portal
                .post_of_job
                .get(&j)
                .map(|p| org.portal.posts[*p].id.hex())
        };
        if let Some(jobs) = self.tables.get_mut("jobs") {
            for (k, row) in jobs.iter_mut() {
                let jx = Oid::parse(k).and_then(|o| org.jobs_ix.get(&o));
                row.insert("job_post_id", jx.and_then(|j| post_of_job(*j)));
            }
        }
        if let Some(acts) = self.tables.get_mut("activities") {
            for (k, row) in acts.iter_mut() {
                let ax = Oid::parse(k).and_then(|o| org.activities_ix.get(&o));
                let job = ax.and_then(|a| org.activities[*a as usize].job);
                row.insert("job_post_id", job.and_then(post_of_job));
            }
        }
        let mut bulk = Vec::new();
        if let Some(actions) = self.tables.get_mut("actions") {
            for a in &org.actions {
                let Some(row) = actions.get_mut(&a.id.hex()) else {
                    continue;
                };
                let (post, candidate) = action_links(org, a, &post_of_job);
                row.insert("job_post_id", post);
                row.insert("candidate_id", candidate);
                if let Some(Link::Bulk(ps)) = org.portal.links.get(&a.id) {
                    bulk.push((a.id.hex(), ps.clone()));
                }
            }
        }
        for (id, ps) in bulk {
            for (k, p) in ps.iter().enumerate() {
                let cols = vec![("job_post_id", s(org.portal.posts[*p].id.hex()))];
                self.put("action_job_posts", format!("{id}|{k}"), cols);
            }
        }
    }
}

/// The job post and candidate an action names.
fn action_links(
    org: &Org,
    a: &Action,
    post_of_job: &dyn Fn(u32) -> Option<String>,
) -> (Option<String>, Option<String>) {
    match org.portal.links.get(&a.id) {
        Some(Link::Post(p)) => (s(org.portal.posts[*p].id.hex()), None),
        Some(Link::Viewed(c, _)) => (None, s(org.portal.candidates[*c].id.hex())),
        _ if a.kind == ActionType::JobCreated => (a.job.and_then(post_of_job), None),
        _ => (None, None),
    }
}
