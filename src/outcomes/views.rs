//! The outcome views' SQL, written once for the three databases (the
//! expressions that differ come from `dialect.rs`).
//!
//! What counts, in every view: a member neither removed (`removed_at`) nor
//! deleted (`deleted_at`); a job not deleted, owned by such a member; an
//! activity not deleted and not on a deleted job. An activity's date is
//! its `completed_at`, else its `start_at`, else its `created_at`. A job's
//! milestones are the activities Huntr marks on it: the application, the
//! offer and the accepted offer (`jobs.*_activity_id`), and the interviews
//! (`job_interview_activities`).

use super::Sql;

/// The `SELECT` of one of the views other than `members_wide`.
pub fn select(sql: &Sql, name: &str) -> String {
    match name {
        "job_pipeline" => job_pipeline(sql),
        "member_outcomes" => member_outcomes(sql),
        "outcomes_by_month" => outcomes_by_month(sql),
        "outcomes_by_field" => outcomes_by_field(sql),
        "employer_outcomes" => employer_outcomes(sql),
        "advisor_caseload" => advisor_caseload(sql),
        other => panic!("no view {other}"),
    }
}

/// The counted members, with every column of `members`.
pub fn counted_members(sql: &Sql) -> String {
    format!(
        "SELECT * FROM {} WHERE removed_at IS NULL AND deleted_at IS NULL",
        sql.place.table("members")
    )
}

/// The counted activities: `id, member_id` (the owner), `act_at` (the date).
fn activities(sql: &Sql) -> String {
    format!(
        "SELECT a.id, a.owner_member_id AS member_id, \
         COALESCE(a.completed_at, a.start_at, a.created_at) AS act_at \
         FROM {acts} a WHERE a.deleted_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM {jobs} dj WHERE dj.id = a.job_id AND dj.deleted_at IS NOT NULL)",
        acts = sql.place.table("activities"),
        jobs = sql.place.table("jobs"),
    )
}

fn job_pipeline(sql: &Sql) -> String {
    format!(
        "WITH acts AS ({acts}),\n\
         iv AS (SELECT ji.job_id, COUNT(*) AS n, MIN(a.act_at) AS first_at \
         FROM {jia} ji JOIN acts a ON a.id = ji.activity_id GROUP BY ji.job_id)\n\
         SELECT j.id AS job_id, j.owner_member_id AS member_id, j.employer_id, j.title, j.list_name, \
         j.created_at, ap.act_at AS applied_at, iv.first_at AS first_interview_at, \
         COALESCE(iv.n, 0) AS interviews, o.act_at AS offer_at, acc.act_at AS accepted_at, \
         {d_apply} AS days_to_apply, {d_interview} AS days_to_interview, {d_offer} AS days_to_offer\n\
         FROM {jobs} j\n\
         JOIN ({members}) m ON m.id = j.owner_member_id\n\
         LEFT JOIN acts ap ON ap.id = j.application_activity_id\n\
         LEFT JOIN acts o ON o.id = j.offer_activity_id\n\
         LEFT JOIN acts acc ON acc.id = j.offer_accepted_activity_id\n\
         LEFT JOIN iv ON iv.job_id = j.id\n\
         WHERE j.deleted_at IS NULL",
        acts = activities(sql),
        jia = sql.place.table("job_interview_activities"),
        jobs = sql.place.table("jobs"),
        members = counted_members(sql),
        d_apply = sql.days("j.created_at", "ap.act_at"),
        d_interview = sql.days("ap.act_at", "iv.first_at"),
        d_offer = sql.days("ap.act_at", "o.act_at"),
    )
}

fn member_outcomes(sql: &Sql) -> String {
    format!(
        "WITH acts AS ({acts}),\n\
         last_act AS (SELECT member_id, MAX(act_at) AS act_at FROM acts GROUP BY member_id),\n\
         per AS (SELECT m.id AS member_id, COUNT(p.job_id) AS jobs, COUNT(p.applied_at) AS applications, \
         COUNT(CASE WHEN p.interviews > 0 THEN 1 END) AS interviewing_jobs, \
         CAST(COALESCE(SUM(p.interviews), 0) AS BIGINT) AS interviews, \
         COUNT(p.offer_at) AS offers, COUNT(p.accepted_at) AS accepted_offers, \
         MIN(p.applied_at) AS first_applied_at, MIN(p.offer_at) AS first_offer_at, \
         MIN(p.accepted_at) AS first_accepted_at \
         FROM ({members}) m LEFT JOIN {pipeline} p ON p.member_id = m.id GROUP BY m.id)\n\
         SELECT per.member_id, per.jobs, per.applications, per.interviewing_jobs, per.interviews, \
         per.offers, per.accepted_offers, per.first_applied_at, per.first_offer_at, \
         per.first_accepted_at, {days} AS days_to_first_offer, last_act.act_at AS last_activity_at, \
         CASE WHEN per.accepted_offers > 0 THEN 'placed' WHEN per.offers > 0 THEN 'offer' \
         WHEN per.interviewing_jobs > 0 THEN 'interviewing' WHEN per.applications > 0 THEN 'applied' \
         WHEN per.jobs > 0 THEN 'tracking' ELSE 'not_started' END AS stage\n\
         FROM per LEFT JOIN last_act ON last_act.member_id = per.member_id",
        acts = activities(sql),
        members = counted_members(sql),
        pipeline = sql.place.view("job_pipeline"),
        days = sql.days("per.first_applied_at", "per.first_offer_at"),
    )
}

fn outcomes_by_month(sql: &Sql) -> String {
    let p = sql.place.view("job_pipeline");
    let month = |c: &str| sql.month(c);
    format!(
        "WITH acts AS ({acts}),\n\
         ev AS (\
         SELECT {m_act} AS month, a.member_id, 0 AS app, 0 AS iv, 0 AS ofr, 0 AS acc, 0 AS nm \
         FROM acts a JOIN ({members}) m ON m.id = a.member_id\n\
         UNION ALL SELECT {m_app}, NULL, 1, 0, 0, 0, 0 FROM {p} p WHERE p.applied_at IS NOT NULL\n\
         UNION ALL SELECT {m_act}, NULL, 0, 1, 0, 0, 0 FROM {p} p \
         JOIN {jia} ji ON ji.job_id = p.job_id JOIN acts a ON a.id = ji.activity_id\n\
         UNION ALL SELECT {m_ofr}, NULL, 0, 0, 1, 0, 0 FROM {p} p WHERE p.offer_at IS NOT NULL\n\
         UNION ALL SELECT {m_acc}, NULL, 0, 0, 0, 1, 0 FROM {p} p WHERE p.accepted_at IS NOT NULL\n\
         UNION ALL SELECT {m_new}, NULL, 0, 0, 0, 0, 1 FROM ({members}) m)\n\
         SELECT month, COUNT(DISTINCT member_id) AS active_members, \
         CAST(SUM(app) AS BIGINT) AS applications, CAST(SUM(iv) AS BIGINT) AS interviews, \
         CAST(SUM(ofr) AS BIGINT) AS offers, CAST(SUM(acc) AS BIGINT) AS acceptances, \
         CAST(SUM(nm) AS BIGINT) AS new_members\n\
         FROM ev WHERE month IS NOT NULL GROUP BY month",
        acts = activities(sql),
        members = counted_members(sql),
        jia = sql.place.table("job_interview_activities"),
        m_act = month("a.act_at"),
        m_app = month("p.applied_at"),
        m_ofr = month("p.offer_at"),
        m_acc = month("p.accepted_at"),
        m_new = month("m.created_at"),
    )
}

fn outcomes_by_field(sql: &Sql) -> String {
    let rate = sql.float("COUNT(CASE WHEN o.stage = 'placed' THEN 1 END)");
    format!(
        "WITH f AS (SELECT id, name FROM {fields} WHERE removed_at IS NULL \
         AND field_type IN ('MULTIPLE_CHOICE', 'MULTIPLE_SELECT')),\n\
         ch AS (SELECT DISTINCT c.field_id, CAST(c.choice AS TEXT) AS choice FROM {choices} c \
         JOIN f ON f.id = c.field_id UNION SELECT id, '(none)' FROM f),\n\
         picked AS (SELECT DISTINCT v.member_id, v.field_id, v.choice FROM ({values}) v \
         JOIN f ON f.id = v.field_id),\n\
         mc AS (SELECT field_id, choice, member_id FROM picked UNION ALL \
         SELECT f.id, '(none)', m.id FROM f CROSS JOIN ({members}) m WHERE NOT EXISTS \
         (SELECT 1 FROM picked p WHERE p.field_id = f.id AND p.member_id = m.id))\n\
         SELECT ch.field_id, f.name AS field_name, ch.choice, COUNT(o.member_id) AS members, \
         COUNT(CASE WHEN o.applications > 0 THEN 1 END) AS applied, \
         COUNT(CASE WHEN o.interviewing_jobs > 0 THEN 1 END) AS interviewed, \
         COUNT(CASE WHEN o.offers > 0 THEN 1 END) AS offered, \
         COUNT(CASE WHEN o.stage = 'placed' THEN 1 END) AS placed, \
         CASE WHEN COUNT(o.member_id) > 0 THEN {rate} / COUNT(o.member_id) END AS placement_rate\n\
         FROM ch JOIN f ON f.id = ch.field_id \
         LEFT JOIN mc ON mc.field_id = ch.field_id AND mc.choice = ch.choice \
         LEFT JOIN {outcomes} o ON o.member_id = mc.member_id\n\
         GROUP BY ch.field_id, f.name, ch.choice",
        fields = sql.place.table("member_fields"),
        choices = sql.place.table("member_field_choices"),
        values = sql.choices_of_values(),
        members = counted_members(sql),
        outcomes = sql.place.view("member_outcomes"),
    )
}

fn employer_outcomes(sql: &Sql) -> String {
    format!(
        "SELECT e.id AS employer_id, e.name AS employer_name, \
         COUNT(DISTINCT p.member_id) AS members, COUNT(p.applied_at) AS applications, \
         CAST(COALESCE(SUM(p.interviews), 0) AS BIGINT) AS interviews, \
         COUNT(p.offer_at) AS offers, COUNT(p.accepted_at) AS acceptances\n\
         FROM {employers} e LEFT JOIN {p} p ON p.employer_id = e.id\n\
         WHERE e.removed_at IS NULL GROUP BY e.id, e.name",
        employers = sql.place.table("employers"),
        p = sql.place.view("job_pipeline"),
    )
}

fn advisor_caseload(sql: &Sql) -> String {
    let (from, to) = sql.last_30_days();
    let within = |c: &str| format!("{c} >= {from} AND {c} <= {to}");
    format!(
        "WITH acts AS ({acts}),\n\
         recent AS (SELECT DISTINCT member_id FROM acts WHERE {act_in}),\n\
         jobs30 AS (SELECT member_id, COUNT(CASE WHEN {app_in} THEN 1 END) AS apps, \
         COUNT(CASE WHEN {ofr_in} THEN 1 END) AS offers FROM {p} GROUP BY member_id)\n\
         SELECT ad.id AS advisor_id, ad.full_name AS advisor_name, ad.email AS advisor_email, \
         COUNT(m.id) AS members, COUNT(r.member_id) AS active_members_30d, \
         CAST(COALESCE(SUM(j.apps), 0) AS BIGINT) AS applications_30d, \
         CAST(COALESCE(SUM(j.offers), 0) AS BIGINT) AS offers_30d, \
         COUNT(CASE WHEN o.stage = 'placed' THEN 1 END) AS placed_members\n\
         FROM {advisors} ad\n\
         LEFT JOIN ({members}) m ON m.advisor_id = ad.id\n\
         LEFT JOIN recent r ON r.member_id = m.id\n\
         LEFT JOIN jobs30 j ON j.member_id = m.id\n\
         LEFT JOIN {outcomes} o ON o.member_id = m.id\n\
         WHERE ad.removed_at IS NULL GROUP BY ad.id, ad.full_name, ad.email",
        acts = activities(sql),
        act_in = within("act_at"),
        app_in = within("applied_at"),
        ofr_in = within("offer_at"),
        p = sql.place.view("job_pipeline"),
        advisors = sql.place.table("advisors"),
        members = counted_members(sql),
        outcomes = sql.place.view("member_outcomes"),
    )
}
