//! Goals as the API shows them: `GET /goals` (active ones unless
//! `includeInactive`) and `/goals/<id>`, the goal enrollments and
//! progresses GOAL_* actions carry (current state, as a database join
//! would), and the ground truth of their tables. The model is `goals.rs`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use huntr_protocol::timefmt::iso;
use serde_json::{json, Map, Value};

use crate::goals::Goal;
use crate::org::{Oid, Org, DAY};
use crate::server::{api_error, Shared};
use crate::truth::Truth;

type St = State<std::sync::Arc<Shared>>;
type Params = Query<std::collections::HashMap<String, String>>;

/// `GET /goals`: active goals, inactive ones too with `includeInactive`.
pub(crate) async fn list(State(s): St, Query(q): Params) -> Response {
    let all = match q.get("includeInactive").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Invalid value",
                Some(("includeInactive", v, "query")),
            )
        }
    };
    let org = s.org();
    let data: Vec<Value> = (0..org.side.goals.len())
        .filter(|g| all || org.side.goals[*g].active)
        .map(|g| org.goal_json(g))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// `GET /goals/<id>`.
pub(crate) async fn one(State(s): St, Path(id): Path<String>) -> Response {
    let org = s.org();
    let found = Oid::parse(&id).and_then(|o| org.side.goals.iter().position(|g| g.id == o));
    match found {
        Some(g) => Json(org.goal_json(g)).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "Goal not found",
            Some(("id", &id, "params")),
        ),
    }
}

fn interval_json(g: &Goal) -> Value {
    let span = if g.recurring { 7 * DAY } else { 30 * DAY };
    json!({"id": g.id_interval(), "intervalIndex": 1, "timezone": "America/Los_Angeles",
           "goalId": g.id.hex(), "start": g.start, "end": g.start + span})
}

impl Goal {
    fn id_interval(&self) -> String {
        self.interval.hex()
    }
}

impl Org {
    pub fn goal_json(&self, g: usize) -> Value {
        let goal = &self.side.goals[g];
        let category = self.categories[7].0.hex();
        let conditions = match goal.entity {
            "Activity" => json!([
                {"operator": "IS_IN", "key": "_activityCategory", "value": [category]},
                {"operator": "EQUAL", "key": "completed", "value": true}
            ]),
            _ => json!([]),
        };
        let mut m = Map::new();
        let mut ins = |k: &str, v: Value| m.insert(k.to_owned(), v);
        ins("id", json!(goal.id.hex()));
        ins("name", json!(goal.name));
        ins(
            "description",
            json!(format!(
                "Job seekers have to reach {} each period.",
                goal.target
            )),
        );
        ins("instructions", json!(goal.instructions));
        ins(
            "status",
            json!(if goal.active { "ACTIVE" } else { "INACTIVE" }),
        );
        let schedule = if goal.recurring {
            "RECURRING"
        } else {
            "ONE_TIME"
        };
        ins("scheduleType", json!(schedule));
        ins("objectiveEntity", json!(goal.entity));
        ins("objectiveTargetType", json!("NUMERIC"));
        ins("objectiveEntityConditions", conditions);
        ins("objectiveNumericTarget", json!(goal.target));
        ins(
            "enrollmentType",
            json!(if goal.recurring {
                "MANUAL"
            } else {
                "ON_TRIGGER"
            }),
        );
        let triggers = if goal.recurring {
            json!([])
        } else {
            json!(["JOB_CREATED"])
        };
        ins("enrollmentTriggers", triggers);
        ins("enrollmentStartDate", json!(goal.start));
        ins("ownerMember", self.person_json(goal.owner));
        if goal.recurring {
            ins(
                "goalRecurrence",
                json!({"byMonth": [], "byMonthDay": [], "byWeekDay": [0], "frequency": 2,
                       "start": iso(goal.start), "interval": 1, "count": 12,
                       "timezone": "America/Los_Angeles"}),
            );
            ins("firstGoalInterval", interval_json(goal));
        } else {
            ins("oneTimeGoalDueDaysCount", json!(30));
        }
        Value::Object(m)
    }

    pub(crate) fn enrollment_json(&self, e: usize) -> Value {
        let en = &self.side.enrollments[e];
        let goal = &self.side.goals[en.goal];
        let mut v = json!({"id": en.id.hex(), "goalId": goal.id.hex(),
            "status": if en.active { "ACTIVE" } else { "INACTIVE" },
            "ownerMember": self.person_json(en.member)});
        if goal.recurring {
            v["startingGoalIntervalId"] = json!(goal.id_interval());
            v["startingGoalInterval"] = interval_json(goal);
        }
        v
    }

    pub(crate) fn progress_json(&self, p: usize) -> Value {
        let pr = &self.side.progresses[p];
        let en = &self.side.enrollments[pr.enrollment];
        let goal = &self.side.goals[en.goal];
        let ids: Vec<String> = pr.objectives.iter().map(|o| o.hex()).collect();
        let of = |entity: &str| {
            if goal.entity == entity {
                json!(ids)
            } else {
                json!([])
            }
        };
        json!({"id": pr.id.hex(), "goalId": goal.id.hex(), "goalEnrollmentId": en.id.hex(),
            "status": pr.status, "progressIndex": 1, "objectiveNumericCount": ids.len(),
            "objectiveNumericTarget": goal.target, "objectiveEntity": goal.entity,
            "objectiveActivityIds": of("Activity"), "objectiveJobIds": of("Job"),
            "objectiveContactIds": of("Contact"), "start": pr.start, "end": pr.end})
    }
}

type Cols = Vec<(&'static str, Option<String>)>;

fn put(t: &mut Truth, table: &'static str, key: String, cols: Cols) {
    t.tables
        .entry(table)
        .or_default()
        .insert(key, cols.into_iter().collect());
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// The rows of goals, their children and intervals.
pub(crate) fn goal_truth(t: &mut Truth, org: &Org) {
    for (g, goal) in org.side.goals.iter().enumerate() {
        let v = org.goal_json(g);
        let id = goal.id.hex();
        let interval = goal.recurring.then(|| goal.id_interval());
        put(
            t,
            "goals",
            id.clone(),
            vec![
                ("name", s(&goal.name)),
                ("status", s(v["status"].as_str().unwrap_or(""))),
                ("instructions", s(&goal.instructions)),
                ("objective_entity", s(goal.entity)),
                (
                    "owner_member_id",
                    s(org.people[goal.owner as usize].id.hex()),
                ),
                ("first_goal_interval_id", interval.clone()),
            ],
        );
        for (i, c) in v["objectiveEntityConditions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let value = match &c["value"] {
                Value::String(x) => x.clone(),
                o => o.to_string(),
            };
            put(
                t,
                "goal_conditions",
                format!("{id}|{i}"),
                vec![
                    ("operator", s(c["operator"].as_str().unwrap_or(""))),
                    ("condition_key", s(c["key"].as_str().unwrap_or(""))),
                    ("value", s(value)),
                ],
            );
        }
        if let Some(interval) = interval {
            put(
                t,
                "goal_recurrence_values",
                format!("{id}|byWeekDay|0"),
                vec![("value", s(0))],
            );
            put(
                t,
                "goal_intervals",
                interval,
                vec![("goal_id", s(&id)), ("interval_index", s(1))],
            );
        } else {
            put(
                t,
                "goal_enrollment_triggers",
                format!("{id}|0"),
                vec![("trigger_value", s("JOB_CREATED"))],
            );
        }
    }
}

/// The goal enrollments and progresses the actions carried.
pub(crate) fn enrollment_truth(t: &mut Truth, org: &Org) {
    for e in 0..org.side.enrollments.len() {
        let v = org.enrollment_json(e);
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        put(
            t,
            "goal_enrollments",
            text("id").unwrap_or_default(),
            vec![
                ("goal_id", text("goalId")),
                ("status", text("status")),
                (
                    "owner_member_id",
                    v["ownerMember"]["id"].as_str().map(str::to_owned),
                ),
                ("starting_goal_interval_id", text("startingGoalIntervalId")),
            ],
        );
    }
    for p in 0..org.side.progresses.len() {
        let v = org.progress_json(p);
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        put(
            t,
            "goal_progresses",
            id.clone(),
            vec![
                ("goal_id", v["goalId"].as_str().map(str::to_owned)),
                (
                    "goal_enrollment_id",
                    v["goalEnrollmentId"].as_str().map(str::to_owned),
                ),
                ("status", v["status"].as_str().map(str::to_owned)),
                ("objective_numeric_count", s(&v["objectiveNumericCount"])),
            ],
        );
        for (key, table, col) in [
            (
                "objectiveActivityIds",
                "goal_progress_activities",
                "activity_id",
            ),
            ("objectiveJobIds", "goal_progress_jobs", "job_id"),
            (
                "objectiveContactIds",
                "goal_progress_contacts",
                "contact_id",
            ),
        ] {
            for (i, o) in v[key].as_array().into_iter().flatten().enumerate() {
                put(
                    t,
                    table,
                    format!("{id}|{i}"),
                    vec![(col, o.as_str().map(str::to_owned))],
                );
            }
        }
    }
}
