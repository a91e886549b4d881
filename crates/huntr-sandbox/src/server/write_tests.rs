//! Tests of the API's invitation write over real HTTP: success, the
//! documented errors, the duplicate rule, and what the listing and the
//! ground truth show afterwards.

use serde_json::{json, Value};

use super::test_client::{answer, assert_error, control, field_id, get, post, start};

#[tokio::test]
async fn an_invitation_is_created_listed_and_true() {
    let (sb, http) = start().await;
    let templates = get(&sb, &http, "board-templates").await;
    let template = templates["data"][1]["id"].as_str().unwrap().to_owned();
    let advisors = get(&sb, &http, "advisors").await;
    let advisor = advisors["data"][0]["email"].as_str().unwrap().to_owned();
    let (location, age) = (
        field_id(&sb, &http, "Location").await,
        field_id(&sb, &http, "Age").await,
    );
    let (program, graduation) = (
        field_id(&sb, &http, "Program").await,
        field_id(&sb, &http, "Graduation").await,
    );
    let values = json!([
        {"fieldId": location, "value": "Seattle"},
        {"fieldId": age, "value": 31},
        {"fieldId": program, "value": ["iOS", "Web Design"]},
        {"fieldId": graduation, "value": 1_790_000_000},
    ]);
    let body = json!({"email": "new.person@example.com", "boardName": "Job Search 2026",
        "boardTemplateId": template, "advisorEmail": advisor.to_uppercase(), "memberFieldValues": values});
    let (status, inv) = post(&sb, &http, "organization-invitations", body).await;
    assert_eq!(status, 200, "{inv}");
    let id = inv["id"].as_str().unwrap();
    assert!(
        id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(inv["toEmail"], "new.person@example.com");
    assert_eq!(inv["boardName"], "Job Search 2026");
    assert_eq!(inv["boardTemplate"]["id"], template.as_str());
    assert!(inv["boardTemplate"]["listTemplates"]
        .as_array()
        .is_some_and(|l| l.len() == 6));
    assert_eq!(inv["memberFieldValues"], values);
    assert_eq!(inv["createdAt"], sb.shared.org().now);
    assert!(inv.get("to").is_none(), "nobody has this email: {inv}");
    // Listed first (newest), exactly as answered.
    let listed = get(&sb, &http, "organization-invitations").await;
    assert_eq!(listed["data"][0], inv);
    let truth = sb.truth();
    let row = &truth.tables["organization_invitations"][id];
    assert_eq!(row["to_email"].as_deref(), Some("new.person@example.com"));
    assert_eq!(row["board_template_id"].as_deref(), Some(template.as_str()));
    let writes = control(&sb, &http, "writes").await;
    assert_eq!(
        writes["invitations_by_email"],
        json!({"new.person@example.com": 1})
    );
    assert_eq!(
        sb.writes().invitations_by_email["new.person@example.com"],
        1
    );
    // Days still pass with a written invitation pending.
    let advanced = control(&sb, &http, "advance?days=3").await;
    assert!(
        advanced["changes"]["accepted_invitations"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn an_email_with_a_pending_invitation_is_refused() {
    let (sb, http) = start().await;
    let body = json!({"email": "twice@example.com"});
    assert_eq!(
        post(&sb, &http, "organization-invitations", body).await.0,
        200
    );
    let again = post(
        &sb,
        &http,
        "organization-invitations",
        json!({"email": " TWICE@example.com "}),
    )
    .await;
    assert_error(&again, 400, "email", "body");
    assert_eq!(
        again.1["message"],
        "a pending invitation already exists for this email"
    );
    // A generated pending invitation counts too.
    let listed = get(&sb, &http, "organization-invitations").await;
    let generated = listed["data"].as_array().unwrap().last().unwrap()["toEmail"].clone();
    let dup = post(
        &sb,
        &http,
        "organization-invitations",
        json!({"email": generated}),
    )
    .await;
    assert_error(&dup, 400, "email", "body");
    let after = get(&sb, &http, "organization-invitations").await;
    assert_eq!(
        after["data"].as_array().unwrap().len(),
        listed["data"].as_array().unwrap().len()
    );
    let writes = control(&sb, &http, "writes").await;
    assert_eq!(
        writes["invitations_by_email"],
        json!({"twice@example.com": 1})
    );
}

#[tokio::test]
async fn an_invitation_defaults_to_the_default_template_and_may_go_to_a_member() {
    let (sb, http) = start().await;
    let members = get(&sb, &http, "members?limit=1").await;
    let member = &members["data"][0];
    let (status, inv) = post(
        &sb,
        &http,
        "organization-invitations",
        json!({"email": member["email"]}),
    )
    .await;
    assert_eq!(status, 200, "{inv}");
    assert_eq!(inv["to"]["id"], member["id"]);
    let templates = get(&sb, &http, "board-templates").await;
    let default = templates["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["isDefault"] == true);
    assert_eq!(inv["boardTemplate"]["id"], default.unwrap()["id"]);
    assert_eq!(inv["memberFieldValues"], json!([]));
}

#[tokio::test]
async fn bad_invitations_are_refused_in_the_documented_format() {
    let (sb, http) = start().await;
    let (location, age) = (
        field_id(&sb, &http, "Location").await,
        field_id(&sb, &http, "Age").await,
    );
    let (program, graduation) = (
        field_id(&sb, &http, "Program").await,
        field_id(&sb, &http, "Graduation").await,
    );
    let unknown = "0123456789abcdef01234567";
    let value = |f: &str, v: Value| json!({"email": "x@example.com", "memberFieldValues": [{"fieldId": f, "value": v}]});
    let cases = [
        (json!({"boardName": "x"}), "email"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"email": 5}), "email"),
        (
            json!({"email": "x@example.com", "boardTemplateId": unknown}),
            "boardTemplateId",
        ),
        (
            json!({"email": "x@example.com", "advisorEmail": "nobody@example.com"}),
            "advisorEmail",
        ),
        (
            value(unknown, json!("Seattle")),
            "memberFieldValues[0].fieldId",
        ),
        (
            value(&location, json!("Paris")),
            "memberFieldValues[0].value",
        ),
        (
            value(&location, json!(["Seattle", "Paris"])),
            "memberFieldValues[0].value",
        ),
        (
            value(&program, json!(["iOS", 3])),
            "memberFieldValues[0].value",
        ),
        (value(&age, json!("31")), "memberFieldValues[0].value"),
        (
            value(&graduation, json!("2026-12-15")),
            "memberFieldValues[0].value",
        ),
        (value(&graduation, json!(1.5)), "memberFieldValues[0].value"),
    ];
    for (body, param) in cases {
        let got = post(&sb, &http, "organization-invitations", body.clone()).await;
        assert_error(&got, 400, param, "body");
    }
    // Not JSON at all.
    let url = format!("{}/organization-invitations", sb.base_url);
    let resp = http
        .post(url)
        .bearer_auth(&sb.token)
        .body("{")
        .send()
        .await
        .unwrap();
    let (status, v) = answer(resp).await;
    assert_eq!((status, v["error"]["status"].clone()), (400, json!(400)));
    assert_eq!(
        control(&sb, &http, "writes").await["invitations_by_email"],
        json!({})
    );
}
