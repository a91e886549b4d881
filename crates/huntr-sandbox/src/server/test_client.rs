//! What the server tests share: a small sandbox and a client speaking to
//! it (requests, answers as status and JSON, the documented error format).

use serde_json::Value;

use crate::{RunningSandbox, SandboxOptions};

pub(super) async fn sandbox(opts: SandboxOptions) -> (RunningSandbox, reqwest::Client) {
    let sb = RunningSandbox::start(SandboxOptions { scale: 30, ..opts })
        .await
        .unwrap();
    (sb, reqwest::Client::new())
}

pub(super) async fn start() -> (RunningSandbox, reqwest::Client) {
    sandbox(SandboxOptions::default()).await
}

pub(super) async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

pub(super) async fn get(sb: &RunningSandbox, http: &reqwest::Client, path: &str) -> Value {
    let url = format!("{}/{path}", sb.base_url);
    let (status, v) = answer(http.get(&url).bearer_auth(&sb.token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{url}: {v}");
    v
}

pub(super) fn post_req(
    sb: &RunningSandbox,
    http: &reqwest::Client,
    path: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    let url = format!("{}/{path}", sb.base_url);
    http.post(url).bearer_auth(&sb.token).json(body)
}

pub(super) async fn post(
    sb: &RunningSandbox,
    http: &reqwest::Client,
    path: &str,
    body: Value,
) -> (u16, Value) {
    answer(post_req(sb, http, path, &body).send().await.unwrap()).await
}

pub(super) async fn put(
    sb: &RunningSandbox,
    http: &reqwest::Client,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let url = format!("{}/{path}", sb.base_url);
    answer(
        http.put(url)
            .bearer_auth(&sb.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(super) async fn control(sb: &RunningSandbox, http: &reqwest::Client, path: &str) -> Value {
    let url = format!("http://{}/_sandbox/{path}", sb.addr);
    let req = if path.starts_with("writes") {
        http.get(url)
    } else {
        http.post(url)
    };
    req.send().await.unwrap().json().await.unwrap()
}

/// The ids of the generated fields, by name.
pub(super) async fn field_id(sb: &RunningSandbox, http: &reqwest::Client, name: &str) -> String {
    let fields = get(sb, http, "member-fields").await;
    let f = fields["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name);
    f.unwrap()["id"].as_str().unwrap().to_owned()
}

/// A 400 (or `status`) in the documented format, about `param`.
pub(super) fn assert_error(got: &(u16, Value), status: u16, param: &str, location: &str) {
    let (s, v) = got;
    assert_eq!(*s, status, "{v}");
    assert_eq!(v["error"]["param"], param, "{v}");
    assert_eq!(v["error"]["location"], location, "{v}");
    assert_eq!(v["error"]["status"], status, "{v}");
    assert_eq!(v["message"], v["error"]["message"]);
    assert!(v["errors"].as_array().is_some_and(|e| e.len() == 1), "{v}");
}
