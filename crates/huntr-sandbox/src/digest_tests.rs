//! Pins the sandbox's observable behaviour down: a digest of every list
//! endpoint's full answer (every page) and of the ground truth, for one
//! seed and scale, as generated and after two simulated days. The same
//! seed and scale must always give the same organization and answers, so
//! these constants change only when that behaviour is meant to change.

use super::{RunningSandbox, SandboxOptions};

/// Every list endpoint, and a few filtered or windowed listings.
const LISTS: [&str; 16] = [
    "members",
    "member-fields",
    "board-templates",
    "organization-invitations",
    "employers",
    "jobs",
    "activities",
    "activity-categories",
    "actions",
    "events",
    "actions?action_type=JOB_MOVED",
    "members?active=false",
    "jobs?created_after=1775000000",
    "activities?limit=37&created_before=1778000000",
    // Goals.
    "goals",
    "goals?includeInactive=true",
];

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Every page of `list`, newest first, following `next` to the end.
async fn pages(http: &reqwest::Client, sb: &RunningSandbox, list: &str, h: &mut Fnv) {
    let mut next: Option<String> = None;
    loop {
        let sep = if list.contains('?') { '&' } else { '?' };
        let url = match &next {
            Some(n) => format!("{}/{list}{sep}next={n}", sb.base_url),
            None => format!("{}/{list}", sb.base_url),
        };
        let resp = http.get(&url).bearer_auth(&sb.token).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let body = resp.bytes().await.unwrap();
        h.write(list.as_bytes());
        h.write(&body);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let empty = v["data"].as_array().is_none_or(Vec::is_empty);
        match v["next"].as_str() {
            Some(n) if !empty => next = Some(n.to_owned()),
            _ => break,
        }
    }
}

async fn digest(http: &reqwest::Client, sb: &RunningSandbox) -> u64 {
    let mut h = Fnv::new();
    for list in LISTS {
        pages(http, sb, list, &mut h).await;
    }
    h.write(format!("{:?}", sb.truth()).as_bytes());
    h.0
}

#[tokio::test]
async fn seed_42_scale_30_answers_the_same_before_and_after_two_days() {
    let sb = RunningSandbox::start(SandboxOptions {
        seed: 42,
        scale: 30,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let generated = digest(&http, &sb).await;
    let advance = http
        .post(format!("http://{}/_sandbox/advance?days=2", sb.addr))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut h = Fnv::new();
    h.write(&advance);
    let advanced = digest(&http, &sb).await;
    sb.stop().await;
    assert_eq!(
        (generated, h.0, advanced),
        (
            1345451284742013227,
            2038292902922176145,
            4975138398932592083
        ),
        "the sandbox's answers changed"
    );
}
