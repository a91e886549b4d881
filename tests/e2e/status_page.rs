//! The status page as a browser shows it: after real syncs (two that
//! complete against the sandbox, one that fails against a wiremock
//! organization whose error text carries markup), `report --html` and a
//! receiver's `/status` are opened by headless Chromium, which must show
//! the runs, the tables and the error as text, and ask for nothing but
//! the page itself. Screenshots (a phone's width and a desktop's) and a
//! printed PDF are kept under the target directory, their paths printed.
//!
//! Without Chromium the test says so and passes, unless
//! `HUNTR_REQUIRE_CHROMIUM` is set (CI sets it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use huntr_sync::schema::SCHEMA;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common;

/// The API's message in the failed run: it must reach the page as text.
const INJECTED: &str = "token revoked <script>document.title='pwned'</script><img src=x>";

/// Chromium's binary, or `None` (after saying why) when the test may skip.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("HUNTR_REQUIRE_CHROMIUM").is_none(),
            "HUNTR_REQUIRE_CHROMIUM is set but chromium is not installed (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED the status page's browser test: chromium is not installed \
             (apt-get install chromium; set HUNTR_REQUIRE_CHROMIUM=1 to fail instead)"
        );
    }
    found
}

/// Runs headless Chromium on `url` with `args`; returns its standard output.
async fn browse(chromium: &Path, profile: &Path, args: &[String], url: &str) -> String {
    let mut cmd = tokio::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("chromium did not finish within 2 minutes")
        .expect("chromium could not be started");
    assert!(
        out.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Serves `page` at `/` and records the path of every request it gets.
async fn counting_server(page: String) -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::http::{header, StatusCode, Uri};
    use axum::response::IntoResponse;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        log.lock().unwrap().push(uri.to_string());
        let page = page.clone();
        async move {
            if uri.path() == "/" {
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), seen)
}

/// Two complete syncs from the sandbox, then one refused mid-run.
async fn three_runs(dir: &Path) {
    let sb = common::sandbox(30, 29).await;
    for _ in 0..2 {
        let out = common::huntr_sync(dir)
            .args([
                "sync",
                "--base-url",
                &sb.base_url,
                "--destination",
                "sqlite:org.db",
            ])
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .output()
            .await
            .unwrap();
        common::assert_ok(&out);
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "message": INJECTED })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/org/[a-z-]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "next": null})))
        .with_priority(10)
        .mount(&server)
        .await;
    let base = format!("{}/org", server.uri());
    let out = common::huntr_sync(dir)
        .args([
            "sync",
            "--base-url",
            &base,
            "--destination",
            "sqlite:org.db",
        ])
        .env("HUNTR_ORG_TOKEN", "t")
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Thousands separated, as the page writes counts (worked out here in
/// groups of three from the right, not by the page's own code).
fn grouped(n: i64) -> String {
    let reversed: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = reversed
        .chunks(3)
        .map(|g| g.iter().rev().collect())
        .collect();
    groups.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// What the browser's DOM must show: the runs, every table's rows, the
/// error as text, and no element the data could have smuggled in.
fn assert_shows(dom: &str, db: &Path) {
    assert!(
        dom.contains("<title>huntr-sync status: "),
        "not the page: {dom}"
    );
    assert!(!dom.contains("<title>pwned"), "the title is the page's");
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "an injected element made it into the DOM"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x&gt;"),
        "the error as text"
    );
    assert!(
        dom.contains("<h2>The last 3 runs</h2>"),
        "three runs charted"
    );
    for (run, status) in [(1, "complete"), (2, "complete"), (3, "failed")] {
        let row = dom
            .split(&format!("<tr><td class=\"n\">{run}</td>"))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_else(|| panic!("run {run} is not listed"));
        assert!(
            row.contains(&format!("badge s-{status}")),
            "run {run}: {row}"
        );
    }
    for t in &SCHEMA.tables {
        let n = common::count(db, &format!("SELECT COUNT(*) FROM {}", t.name));
        let row = format!(
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            t.name,
            grouped(n)
        );
        assert!(dom.contains(&row), "{row}");
    }
    assert!(common::count(db, "SELECT COUNT(*) FROM jobs") > 0);
    // Each resource the state knows has its row of freshness.
    let freshness = dom
        .split("<h2>Freshness</h2>")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("a freshness section");
    let resources: Vec<String> = rusqlite::Connection::open(db)
        .unwrap()
        .prepare("SELECT resource FROM sync_state")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!resources.is_empty());
    for r in &resources {
        assert!(
            freshness.contains(&format!("<tr><td>{r}</td>")),
            "{r}: {freshness}"
        );
    }
    assert!(freshness.contains(" ago</td>"), "ages shown: {freshness}");
}

/// No tag of the page names anything to load but the empty icon, and
/// its style sheet imports nothing. (Text from the data is escaped, so
/// every `<` left opens one of the page's own tags.)
fn assert_refers_to_nothing(html: &str) {
    let tags = html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap());
    for tag in tags {
        for attr in [
            " src=", " href=", " srcset=", " action=", " data=", " poster=",
        ] {
            if tag.contains(attr) {
                assert_eq!(tag, "link rel=\"icon\" href=\"data:,\"", "a reference");
            }
        }
    }
    let style = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    assert!(!style.contains("url(") && !style.contains("@import"));
}

/// Where the screenshots and the PDF are kept (printed).
fn keep_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_runs_tables_and_error_and_the_page_asks_for_nothing() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    three_runs(dir.path()).await;
    let out = common::huntr_sync(dir.path())
        .args([
            "report",
            "--html",
            "status.html",
            "--destination",
            "sqlite:org.db",
        ])
        .output()
        .await
        .unwrap();
    common::assert_ok(&out);
    let file = dir.path().join("status.html");
    let html = std::fs::read_to_string(&file).unwrap();
    let csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
    assert!(html.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
    )));
    assert_refers_to_nothing(&html);
    assert!(html.contains("<link rel=\"icon\" href=\"data:,\">"));

    // The file as the browser shows it, on a phone and a desktop, and on paper.
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", file.display());
    let dom = browse(&chromium, profile.path(), &["--dump-dom".into()], &url).await;
    assert_shows(&dom, &db);
    let keep = keep_dir();
    for (name, size) in [
        ("status-phone.png", "412,2400"),
        ("status-desktop.png", "1280,2400"),
    ] {
        let shot = keep.join(name);
        let _ = std::fs::remove_file(&shot);
        let args = [
            format!("--screenshot={}", shot.display()),
            format!("--window-size={size}"),
        ];
        browse(&chromium, profile.path(), &args, &url).await;
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 10_000,
            "{}",
            shot.display()
        );
        println!("status page screenshot: {}", shot.display());
    }
    let pdf = keep.join("status.pdf");
    let _ = std::fs::remove_file(&pdf);
    let args = [
        format!("--print-to-pdf={}", pdf.display()),
        "--no-pdf-header-footer".into(),
    ];
    browse(&chromium, profile.path(), &args, &url).await;
    assert!(std::fs::metadata(&pdf).unwrap().len() > 10_000);
    println!("status page printed: {}", pdf.display());

    // The receiver's /status serves the same page, with the policy as a
    // header too; a browser loading it from a server that counts its
    // requests asks for the page and nothing else.
    let rx = common::receiver(&db, b"secret", 16).await;
    let served = reqwest::get(format!("http://{}/status", rx.addr))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let header = |name: &str| served.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("content-security-policy"), csp);
    let page = served.text().await.unwrap();
    rx.shutdown().await;
    let (url, seen) = counting_server(page).await;
    let dom = browse(&chromium, profile.path(), &["--dump-dom".into()], &url).await;
    assert_shows(&dom, &db);
    assert_eq!(
        *seen.lock().unwrap(),
        ["/"],
        "the page asked for more than itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_records_its_throttled_answers_for_the_page() {
    use huntr_sync::api::{Client, ClientConfig, Token};
    use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
    use huntr_sync::sync::{sync_sqlite, SyncOptions};
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 3,
        seed: 29,
        rps: Some(20.0),
        ..Default::default()
    })
    .await
    .unwrap();
    // A client far faster than the API's limit: it is answered 429.
    let mut cfg = ClientConfig::new(
        &sb.base_url,
        Token::new(sb.token.clone()),
        "HUNTR_ORG_TOKEN",
    );
    cfg.requests_per_second = 1000.0;
    cfg.burst = 100;
    cfg.retry.base = Duration::from_millis(20);
    cfg.retry.cap = Duration::from_millis(500);
    cfg.retry.min_wait = Duration::from_millis(10);
    cfg.retry.max_retries = 12;
    let client = Client::new(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.throttled > 0, "the sandbox answered 429: {report:?}");
    let recorded = |col: &str| common::count(&db, &format!("SELECT {col} FROM sync_runs"));
    assert_eq!(recorded("throttled"), report.throttled as i64);
    assert_eq!(recorded("requests"), report.requests as i64);
    assert_eq!(recorded("retries"), report.retries as i64);
    let html = huntr_sync::report::page(&db, "org").unwrap();
    let caption = format!("throttled answers in these runs: {}.", report.throttled);
    assert!(html.contains(&caption), "{caption}");
}

#[tokio::test]
async fn report_writes_to_stdout_and_says_what_to_do_without_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::huntr_sync(dir.path())
        .args([
            "report",
            "--html",
            "s.html",
            "--destination",
            "sqlite:none.db",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has no state database") && err.contains("run a sync first"),
        "{err}"
    );
    assert!(!dir.path().join("s.html").exists() && !dir.path().join("none.db").exists());
    drop(huntr_sync::store::Store::open(&dir.path().join("org.db")).unwrap());
    let out = common::huntr_sync(dir.path())
        .args(["report", "--html", "-", "--destination", "sqlite:org.db"])
        .output()
        .await
        .unwrap();
    common::assert_ok(&out);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("No run recorded yet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_serves_the_status_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let rx = common::receiver(&db, b"secret", 16).await;
    let served = reqwest::get(format!("http://{}/status", rx.addr))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let csp = served.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert_eq!(csp, huntr_sync::report::CSP);
    let page = served.text().await.unwrap();
    rx.shutdown().await;
    assert!(page.contains("<h2>Rows per table</h2>"));
    assert!(
        page.contains("receiving since"),
        "the session under way is shown"
    );
    assert!(
        page.contains("<h2>The last 0 runs</h2>"),
        "a session is not a sync"
    );
}
