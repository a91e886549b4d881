//! Tests of the member field writes and of advisors over real HTTP:
//! fields created, values set, their documented errors, and what the
//! listings and the ground truth show afterwards.

use serde_json::{json, Value};

use super::test_client::{answer, assert_error, control, field_id, get, post, put, start};

#[tokio::test]
async fn a_member_field_is_created_listed_and_true() {
    let (sb, http) = start().await;
    let body = json!({"name": " Cohort ", "fieldType": "MULTIPLE_CHOICE", "choices": ["A", "B"]});
    let (status, field) = post(&sb, &http, "member-fields", body).await;
    assert_eq!(status, 200, "{field}");
    assert_eq!(
        (field["name"].clone(), field["choices"].clone()),
        (json!("Cohort"), json!(["A", "B"]))
    );
    let id = field["id"].as_str().unwrap().to_owned();
    let listed = get(&sb, &http, "member-fields").await;
    assert!(listed["data"].as_array().unwrap().contains(&field));
    let (status, text) = post(
        &sb,
        &http,
        "member-fields",
        json!({"name": "Nickname", "fieldType": "TEXT"}),
    )
    .await;
    assert_eq!((status, text.get("choices")), (200, None), "{text}");
    let truth = sb.truth();
    assert_eq!(
        truth.tables["member_fields"][&id]["field_type"].as_deref(),
        Some("MULTIPLE_CHOICE")
    );
    assert_eq!(
        truth.tables["member_field_choices"][&format!("{id}|1")]["choice"].as_deref(),
        Some("B")
    );
    // Invitations and members may use it at once.
    let values = json!([{"fieldId": id, "value": "B"}, {"fieldId": text["id"], "value": "Kit"}]);
    let inv = post(
        &sb,
        &http,
        "organization-invitations",
        json!({"email": "c@example.com", "memberFieldValues": values}),
    )
    .await;
    assert_eq!(inv.0, 200, "{}", inv.1);
    let bad = json!({"email": "d@example.com", "memberFieldValues": [{"fieldId": text["id"], "value": 5}]});
    assert_error(
        &post(&sb, &http, "organization-invitations", bad).await,
        400,
        "memberFieldValues[0].value",
        "body",
    );
    let writes = control(&sb, &http, "writes").await;
    assert_eq!(
        writes["fields_by_name"],
        json!({"Cohort": 1, "Nickname": 1})
    );
}

#[tokio::test]
async fn bad_member_fields_are_refused() {
    let (sb, http) = start().await;
    let cases = [
        (json!({"name": "Location", "fieldType": "TEXT"}), "name"),
        (json!({"name": "  Age ", "fieldType": "NUMBER"}), "name"),
        (json!({"name": "  ", "fieldType": "TEXT"}), "name"),
        (json!({"fieldType": "TEXT"}), "name"),
        (
            json!({"name": "Shoe size", "fieldType": "SHOE"}),
            "fieldType",
        ),
        (json!({"name": "Shoe size"}), "fieldType"),
        (
            json!({"name": "Track", "fieldType": "MULTIPLE_CHOICE"}),
            "choices",
        ),
        (
            json!({"name": "Track", "fieldType": "MULTIPLE_CHOICE", "choices": []}),
            "choices",
        ),
        (
            json!({"name": "Track", "fieldType": "MULTIPLE_CHOICE", "choices": ["a", 1]}),
            "choices",
        ),
    ];
    for (body, param) in cases {
        assert_error(
            &post(&sb, &http, "member-fields", body).await,
            400,
            param,
            "body",
        );
    }
    // Names are compared exactly: another case is another name.
    assert_eq!(
        post(
            &sb,
            &http,
            "member-fields",
            json!({"name": "location", "fieldType": "TEXT"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(&sb, &http, "member-fields").await["data"]
            .as_array()
            .unwrap()
            .len(),
        // The four generated fields, the roster's MULTIPLE_SELECT one, and
        // this.
        6
    );
    assert_eq!(
        control(&sb, &http, "writes").await["fields_by_name"],
        json!({"location": 1})
    );
}

#[tokio::test]
async fn a_field_value_is_set_and_shown_everywhere() {
    let (sb, http) = start().await;
    let members = get(&sb, &http, "members?limit=3").await;
    let m = members["data"][2]["id"].as_str().unwrap().to_owned();
    let location = field_id(&sb, &http, "Location").await;
    let path = format!("members/{m}/member-fields/{location}");
    let (status, member) = put(&sb, &http, &path, json!({"value": "Miami"})).await;
    assert_eq!(status, 200, "{member}");
    let (status, member) = put(&sb, &http, &path, json!({"value": "Montreal"})).await;
    assert_eq!(status, 200, "{member}");
    assert_eq!(member, get(&sb, &http, &format!("members/{m}")).await);
    let values = member["memberFieldValues"].as_array().unwrap();
    let set: Vec<&Value> = values
        .iter()
        .filter(|v| v["fieldId"] == location.as_str())
        .collect();
    assert_eq!(
        set,
        [&json!({"fieldId": location, "value": "Montreal"})],
        "replaced, not added"
    );
    assert_eq!(get(&sb, &http, "members?limit=3").await["data"][2], member);
    let truth = sb.truth();
    let row = &truth.tables["member_field_values"][&format!("{m}|{location}")];
    assert_eq!(row["value"].as_deref(), Some("Montreal"));
    // A field the member had no value for gets one.
    let (_, nick) = post(
        &sb,
        &http,
        "member-fields",
        json!({"name": "Nick", "fieldType": "TEXT"}),
    )
    .await;
    let nick = nick["id"].as_str().unwrap();
    let (status, member) = put(
        &sb,
        &http,
        &format!("members/{m}/member-fields/{nick}"),
        json!({"value": "Kit"}),
    )
    .await;
    assert_eq!(
        (
            status,
            member["memberFieldValues"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()["value"]
                .clone()
        ),
        (200, json!("Kit"))
    );
    assert_eq!(control(&sb, &http, "writes").await["field_value_puts"], 3);
}

#[tokio::test]
async fn field_values_for_nobody_or_nothing_or_of_the_wrong_type_are_refused() {
    let (sb, http) = start().await;
    let members = get(&sb, &http, "members?limit=1").await;
    let m = members["data"][0]["id"].as_str().unwrap().to_owned();
    let (location, graduation) = (
        field_id(&sb, &http, "Location").await,
        field_id(&sb, &http, "Graduation").await,
    );
    let unknown = "0123456789abcdef01234567";
    let got = put(
        &sb,
        &http,
        &format!("members/{unknown}/member-fields/{location}"),
        json!({"value": "Miami"}),
    )
    .await;
    assert_error(&got, 404, "memberId", "params");
    let got = put(
        &sb,
        &http,
        &format!("members/{m}/member-fields/{unknown}"),
        json!({"value": "Miami"}),
    )
    .await;
    assert_error(&got, 404, "fieldId", "params");
    for (field, value) in [
        (&location, json!("Paris")),
        (&location, json!(null)),
        (&graduation, json!("soon")),
    ] {
        let got = put(
            &sb,
            &http,
            &format!("members/{m}/member-fields/{field}"),
            json!({"value": value}),
        )
        .await;
        assert_error(&got, 400, "value", "body");
    }
    let got = put(
        &sb,
        &http,
        &format!("members/{m}/member-fields/{graduation}"),
        json!({}),
    )
    .await;
    assert_error(&got, 400, "value", "body");
    assert_eq!(control(&sb, &http, "writes").await["field_value_puts"], 0);
}

#[tokio::test]
async fn advisors_are_listed_and_paged() {
    let (sb, http) = start().await;
    let all = get(&sb, &http, "advisors").await;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), sb.shared.org().advisors.len());
    for a in data {
        for k in [
            "id",
            "fullName",
            "givenName",
            "familyName",
            "email",
            "createdAt",
            "lastSeenAt",
        ] {
            assert!(a.get(k).is_some(), "{k} in {a}");
        }
        assert_eq!(
            a["fullName"],
            format!(
                "{} {}",
                a["givenName"].as_str().unwrap(),
                a["familyName"].as_str().unwrap()
            )
        );
    }
    let first = get(&sb, &http, "advisors?limit=1").await;
    assert_eq!(first["data"].as_array().unwrap().as_slice(), &data[..1]);
    let next = first["next"].as_str().unwrap();
    let second = get(&sb, &http, &format!("advisors?limit=1&next={next}")).await;
    assert_eq!(second["data"][0], data[1]);
    let url = format!("{}/advisors?limit=0", sb.base_url);
    let bad = answer(http.get(url).bearer_auth(&sb.token).send().await.unwrap()).await;
    assert_error(&bad, 400, "limit", "query");
}
