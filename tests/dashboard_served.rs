//! `GET /geps` and `/geps.json` from the real `gep-bot serve`, reading the repository through a
//! fake GitHub that holds upstream's real files (the 36 GEPs, `pkg/features`, the 184 conformance
//! reports) on its default branch, a history for GEP-1731, and an open pull request.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::github::{FakeGitHub, requests_to, settled};
use common::serve::Running;
use serde_json::Value;

const REPO: &str = "kubernetes-sigs/gateway-api";
const SECRET: &str = "dashboard-secret";

/// Every file under `dir` of the shared upstream copy, as (path from the repository root, text).
fn upstream(dir: &str) -> Vec<(String, String)> {
    let root = common::shared().join("fixtures/gateway-api");
    let mut files = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let relative = path.strip_prefix(&root).unwrap();
                files.push((relative.to_string_lossy().into_owned(), text));
            }
        }
    }
    files
}

fn metadata_with(status: &str) -> String {
    let text = std::fs::read_to_string(common::corpus().join("gep-1731/metadata.yaml")).unwrap();
    text.replace("status: Experimental", &format!("status: {status}"))
}

/// The fake GitHub: upstream's files on the default branch; GEP-1731's metadata.yaml went
/// Implementable (2024-01-10), Experimental (2024-06-01), edited (2025-01-01); pull request #77
/// changes GEP-1731.
fn upstream_github() -> FakeGitHub {
    let github = FakeGitHub::default();
    {
        let mut state = github.state();
        for dir in ["geps", "pkg/features", "conformance/reports"] {
            for (path, text) in upstream(dir) {
                state.files.insert(("".into(), path), text);
            }
        }
        let path = "geps/gep-1731/metadata.yaml";
        for (sha, date, status) in [
            ("c1", "2024-01-10T09:00:00Z", "Implementable"),
            ("c2", "2024-06-01T09:00:00Z", "Experimental"),
            ("c3", "2025-01-01T09:00:00Z", "Experimental"),
        ] {
            state
                .files
                .insert((sha.into(), path.into()), metadata_with(status));
            state
                .history
                .push((sha.into(), date.into(), vec![path.into()]));
        }
        state.pulls.insert(
            77,
            (
                "robscott".into(),
                "h77".into(),
                vec!["geps/gep-1731/index.md".into()],
            ),
        );
    }
    github
}

fn serve(github: &wiremock::MockServer) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut command = common::serve::command(port, &db, &github.uri(), SECRET);
    command.env("GEP_BOT_DASHBOARD_REPO", REPO);
    Running {
        child: common::serve::KillOnDrop(command.spawn().unwrap()),
        port,
        dir,
    }
}

/// The bot serving the upstream fake's dashboard, once it has read it.
async fn upstream_served() -> (FakeGitHub, wiremock::MockServer, Running, Value) {
    let github = upstream_github();
    let server = github.serve().await;
    let bot = serve(&server);
    common::serve::wait_until_answers(&reqwest::Client::new(), bot.port, "/healthz").await;
    let json = dashboard_when(bot.port, |_| true).await;
    (github, server, bot, json)
}

async fn get(port: u16, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .unwrap()
}

/// Waits until `/geps.json` answers and `ready` holds of it (60 s at most: the first read of the
/// whole repository, in a debug build).
async fn dashboard_when(port: u16, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/geps.json")).await
            && response.status() == 200
        {
            let json: Value = response.json().await.unwrap();
            if ready(&json) {
                return json;
            }
        }
        assert!(Instant::now() < deadline, "the dashboard was not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn gep(json: &Value, number: u64) -> &Value {
    json["geps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["number"] == number)
        .unwrap_or_else(|| panic!("no GEP-{number}"))
}

fn corpus_numbers() -> Vec<u64> {
    let mut numbers: Vec<u64> = std::fs::read_dir(common::corpus())
        .unwrap()
        .flatten()
        .filter(|e| Path::new(&e.path()).join("metadata.yaml").is_file())
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("gep-")?.parse().ok())
        .collect();
    numbers.sort();
    numbers
}

#[tokio::test]
async fn the_served_dashboard_reads_the_repository_once_and_page_views_make_no_github_call() {
    let (github, server, bot, json) = upstream_served().await;
    let port = bot.port;

    // One entry per GEP of the repository (grouped by status: sorted here to compare).
    let mut numbers: Vec<u64> = json["geps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["number"].as_u64().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, corpus_numbers());
    assert_eq!(json["repo"], REPO);
    // Time in status through the API: the oldest of the newest run of commits in that status.
    let retries = gep(&json, 1731);
    assert_eq!(retries["status"], "Experimental");
    assert_eq!(retries["in_status_since"], "2024-06-01");
    assert_eq!(retries["readiness"]["probation_ends"], "2024-12-01");
    assert_eq!(retries["past_probation"], true);
    // Its folder last changed in the last commit that touched it: six months and more ago.
    assert_eq!(retries["last_changed"], "2025-01-01");
    assert_eq!(retries["stale"], true);
    // The conformance reports, read through the API: the same three as in a checkout.
    let retry = retries["readiness"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["read_as"] == "HTTPRouteRetry")
        .expect("HTTPRouteRetry");
    assert_eq!(retry["implementations_passing"], 3);
    // The open pull request, with its lead-review standing.
    let pulls = retries["pulls"].as_array().unwrap();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0]["number"], 77);
    assert_eq!(pulls[0]["review"], "lead review not started", "{pulls:?}");
    assert_eq!(gep(&json, 1686)["pulls"].as_array().unwrap().len(), 0);

    // Page views, filtered or not, conditional or not: GitHub hears nothing of them (once the
    // graduation nudges the first read found are written).
    settled(&server).await;
    let before = server.received_requests().await.unwrap().len();
    let page = get(port, "/geps").await;
    assert_eq!(page.status(), 200);
    let etag = page.headers()["etag"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<tr data-status").count(), numbers.len());
    // Without JavaScript the server filters: the rows left out are hidden.
    let experimental = get(port, "/geps?status=Experimental")
        .await
        .text()
        .await
        .unwrap();
    let shown = |page: &str| {
        page.lines()
            .filter(|l| l.starts_with("<tr data-status") && !l.contains(" hidden"))
            .count()
    };
    assert_eq!(
        shown(&experimental),
        json["counts"]["Experimental"].as_u64().unwrap() as usize
    );
    let mesh = get(port, "/geps?mesh=1").await.text().await.unwrap();
    assert_eq!(shown(&mesh), 3, "GEP-1294, 1686, 3949 are about mesh");
    let again = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/geps"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let json_page = get(port, "/geps.json").await;
    let json_etag = json_page.headers()["etag"].to_str().unwrap().to_owned();
    let again = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/geps.json"))
        .header("if-none-match", &json_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    for _ in 0..20 {
        assert_eq!(get(port, "/geps.json").await.status(), 200);
    }
    // A browser on the served page: the rows it shows and the count it says agree with the JSON.
    if let Some(chromium) = common::chromium() {
        let profile = tempfile::tempdir().unwrap();
        let profile_arg = format!("--user-data-dir={}", profile.path().display());
        let url = format!("http://127.0.0.1:{port}/geps?status=Experimental");
        let output = common::chromium_run(chromium, &[], &[&profile_arg, "--dump-dom", &url]);
        let dom = String::from_utf8_lossy(&output.stdout);
        let experimental = json["counts"]["Experimental"].as_u64().unwrap() as usize;
        assert_eq!(shown(&dom), experimental, "{dom}");
        assert!(
            dom.contains(&format!("<span id=\"shown\">{experimental}</span>")),
            "{dom}"
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), before);

    // A push to the default branch that changes a GEP: that GEP's file alone is read again.
    let blobs_before = requests_to(&server, "GET", "/git/blobs/").await;
    let text = std::fs::read_to_string(common::corpus().join("gep-3388/index.md")).unwrap();
    let renamed = text.replacen("title: \"GEP-3388: ", "title: \"GEP-3388: Renamed ", 1);
    pushed(&github, port, "push-1", "geps/gep-3388/index.md", renamed).await;
    let json = dashboard_when(port, |json| {
        gep(json, 3388)["title"]
            .as_str()
            .is_some_and(|t| t.contains("Renamed"))
    })
    .await;
    assert_eq!(json["geps"].as_array().unwrap().len(), numbers.len());
    assert_eq!(
        requests_to(&server, "GET", "/git/blobs/").await - blobs_before,
        1,
        "only the changed file is read again"
    );
    let new_etag = get(port, "/geps.json").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_etag, json_etag);

    // A lead approves on the pull request: the dashboard shows it without a push.
    let mut approve = common::comment_body(77, "howardjohn", "/gep approve");
    approve["issue"]["pull_request"] =
        serde_json::json!({ "url": format!("https://api.github.com/repos/{REPO}/pulls/77") });
    approve["repository"]["full_name"] = REPO.into();
    let status = common::serve::deliver(
        &reqwest::Client::new(),
        port,
        SECRET,
        "issue_comment",
        "approve-1",
        serde_json::to_vec(&approve).unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    dashboard_when(port, |json| {
        gep(json, 1731)["pulls"][0]["review"] == "lead review pending, 1/2 approvals"
    })
    .await;

    // `/gep status` in the tracking issue: the checklist judges implementations and probation
    // from what the dashboard read, without reading the 184 reports per request.
    let reports_read = requests_to(&server, "GET", "conformance").await;
    let mut asked = common::comment_body(1731, "robscott", "/gep status");
    asked["repository"]["full_name"] = REPO.into();
    let status = common::serve::deliver(
        &reqwest::Client::new(),
        port,
        SECRET,
        "issue_comment",
        "status-1",
        serde_json::to_vec(&asked).unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        let replies = github.comments_marked(1731, "<!-- gep-bot:gep-status-1731 -->");
        if let Some(reply) = replies.first() {
            break reply.clone();
        }
        assert!(Instant::now() < deadline, "no /gep status reply");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(reply.contains("**Ready for Standard?**"), "{reply}");
    assert!(
        // By hand from the reports: the three that exist pass in agentgateway, envoy-gateway and
        // kgateway; the two defined nowhere pass nowhere.
        reply.contains(
            "- [ ] at least 3 implementations pass each feature: short: \
             SupportHTTPRouteRetryBackoff (0), SupportHTTPRouteRetryCodes (0)\n"
        ),
        "{reply}"
    );
    assert!(
        reply.contains("- [x] 6-month probationary period over: ends 2024-12-01"),
        "{reply}"
    );
    assert_eq!(
        requests_to(&server, "GET", "conformance").await,
        reports_read
    );
    drop(bot);
}

#[tokio::test]
async fn without_a_configured_repository_or_before_the_first_read_the_routes_say_why() {
    let server = wiremock::MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let command = common::serve::command(port, &db, &server.uri(), SECRET)
        .spawn()
        .unwrap();
    let bot = Running {
        child: common::serve::KillOnDrop(command),
        port,
        dir,
    };
    common::serve::wait_until_answers(&reqwest::Client::new(), port, "/healthz").await;
    let answer = get(port, "/geps").await;
    assert_eq!(answer.status(), 404);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("GEP_BOT_DASHBOARD_REPO"),
        "the answer says how to configure it"
    );
    drop(bot);

    // A GitHub that answers nothing the bot can use (wiremock's 404 to everything): no page, a
    // 503 that says what went wrong, and the bot serves on.
    let bot = serve(&server);
    common::serve::wait_until_answers(&reqwest::Client::new(), bot.port, "/healthz").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get(bot.port, "/geps.json").await;
        assert_eq!(answer.status(), 503);
        assert!(answer.headers().contains_key("retry-after"));
        let text = answer.text().await.unwrap();
        if text.contains("has no geps/") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The attention area's counts as the page shows them (`data-attention="KEY">N<`).
fn attention_on_page(page: &str) -> Vec<(String, u64)> {
    page.split("data-attention=\"")
        .skip(1)
        .map(|rest| {
            let (key, rest) = rest.split_once("\">").unwrap();
            let n = rest.split('<').next().unwrap().parse().unwrap();
            (key.to_owned(), n)
        })
        .collect()
}

/// The same counts from the JSON: each list's items (a lead's or an owner's each count).
fn attention_in_json(json: &Value) -> Vec<(String, u64)> {
    let a = &json["attention"];
    let len = |key: &str| a[key].as_array().unwrap().len() as u64;
    let nested = |key: &str, inner: &str| -> u64 {
        a[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q[inner].as_array().unwrap().len() as u64)
            .sum()
    };
    vec![
        ("ready".into(), len("ready")),
        ("awaiting_review".into(), nested("awaiting_review", "pulls")),
        ("concerns".into(), nested("concerns", "items")),
        ("stale".into(), len("stale")),
        ("drift".into(), len("drift")),
    ]
}

/// What needs whom comes first, and the page says what the JSON says: in the browser the
/// attention counts are the JSON's, a lead's queue holds their reviews alone, the page fits a
/// 375 px phone and passes an accessibility audit.
#[tokio::test]
async fn the_page_puts_attention_first_says_what_the_json_says_and_passes_an_audit() {
    let (_github, _server, bot, json) = upstream_served().await;
    let port = bot.port;

    // Pull request #77 (by robscott) waits on every lead of OWNERS_ALIASES, none its author.
    let queues = json["attention"]["awaiting_review"].as_array().unwrap();
    let leads: Vec<&str> = queues.iter().map(|q| q["lead"].as_str().unwrap()).collect();
    assert!(
        !leads.is_empty() && !leads.contains(&"robscott"),
        "{leads:?}"
    );
    for queue in queues {
        let waiting = &queue["pulls"][0];
        assert_eq!(waiting["number"], 77);
        assert_eq!(waiting["geps"], serde_json::json!([1731]));
        assert!(waiting["days"].as_i64().unwrap() >= 0, "{waiting}");
    }
    // Standard GEPs whose features are GA and implemented three times over are ready for
    // Completed; none is judged by sections the template added later.
    let ready = ready_geps(&json);
    assert!(ready.contains(&2645), "{ready:?}");
    for row in json["geps"].as_array().unwrap() {
        for criterion in row["readiness"]["criteria"].as_array().unwrap() {
            let text = criterion["criterion"].as_str().unwrap();
            if row["status"] == "Standard" {
                assert!(!text.contains("sections"), "GEP-{}: {text}", row["number"]);
            }
        }
        if ["Memorandum", "Declined", "Completed", "Withdrawn"]
            .contains(&row["status"].as_str().unwrap())
        {
            assert_eq!(
                row["readiness"]["criteria"],
                serde_json::json!([]),
                "{}",
                row["number"]
            );
        }
    }
    // Grouped by status, still moving first, newest first within a group.
    let order: Vec<(String, u64)> = json["geps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["status"].as_str().unwrap().to_owned(),
                g["number"].as_u64().unwrap(),
            )
        })
        .collect();
    let provisional: Vec<u64> = order
        .iter()
        .filter(|(s, _)| s == "Provisional")
        .map(|(_, n)| *n)
        .collect();
    assert!(
        provisional.windows(2).all(|w| w[0] > w[1]),
        "{provisional:?}"
    );
    assert_eq!(order[0].0, "Provisional");
    let first_standard = order.iter().position(|(s, _)| s == "Standard").unwrap();
    let last_experimental = order
        .iter()
        .rposition(|(s, _)| s == "Experimental")
        .unwrap();
    assert!(last_experimental < first_standard);

    // The page as served, and as the browser has it, counts what the JSON lists.
    let page = get(port, "/geps").await.text().await.unwrap();
    assert_eq!(attention_on_page(&page), attention_in_json(&json));
    let lead = leads[0];
    let queue: Value = get(port, &format!("/geps.json?lead={lead}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        queue["attention"]["awaiting_review"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(queue["attention"]["awaiting_review"][0]["lead"], lead);
    let numbers: Vec<u64> = queue["geps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1731]);
    let queue_page = get(port, &format!("/geps?lead={lead}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(attention_on_page(&queue_page), attention_in_json(&queue));
    assert!(queue_page.contains(&format!("The queue of <strong>{lead}</strong>")));

    if let Some(chromium) = common::chromium() {
        let profile = tempfile::tempdir().unwrap();
        let profile_arg = format!("--user-data-dir={}", profile.path().display());
        let url = format!("http://127.0.0.1:{port}/geps");
        let output = common::chromium_run(chromium, &[], &[&profile_arg, "--dump-dom", &url]);
        let dom = String::from_utf8_lossy(&output.stdout);
        assert_eq!(attention_on_page(&dom), attention_in_json(&json), "{dom}");
        // Screenshots at a phone's width and a wide screen's, kept where GEP_BOT_SCREENSHOTS
        // says (to look at), else thrown away.
        let kept = std::env::var_os("GEP_BOT_SCREENSHOTS").map(std::path::PathBuf::from);
        let shots = tempfile::tempdir().unwrap();
        let dir = kept.unwrap_or_else(|| shots.path().to_owned());
        std::fs::create_dir_all(&dir).unwrap();
        for width in [375, 1440] {
            let shot = dir.join(format!("geps-{width}.png"));
            let profile = tempfile::tempdir().unwrap();
            common::chromium_run(
                chromium,
                &[],
                &[
                    &format!("--user-data-dir={}", profile.path().display()),
                    &format!("--window-size={width},2400"),
                    &format!("--screenshot={}", shot.display()),
                    &url,
                ],
            );
            let png = std::fs::read(&shot).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        }
    }
    let pages = [String::from("/geps"), format!("/geps?lead={lead}")]
        .map(|path| format!("http://127.0.0.1:{port}{path}"));
    if let Some(report) = common::accessibility_audit(pages.to_vec()).await {
        let lines: Vec<&str> = report.lines().filter(|l| l.starts_with("http")).collect();
        assert_eq!(lines.len(), 2, "{report}");
        for line in lines {
            for clean in ["serious=0", "critical=0", "width_at_375=375"] {
                assert!(line.contains(clean), "{line}\n{report}");
            }
        }
    }
}

/// The GEPs the dashboard finds ready for their next status.
fn ready_geps(json: &Value) -> Vec<u64> {
    json["attention"]["ready"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect()
}

/// A push to the default branch that changed `path` to `text` on the fake.
async fn pushed(github: &FakeGitHub, port: u16, id: &str, path: &str, text: String) {
    github.state().files.insert(("".into(), path.into()), text);
    let mut push: Value = serde_json::from_slice(&common::webhook_body(
        "push",
        "with-new-branch.payload.json",
    ))
    .unwrap();
    push["repository"]["full_name"] = REPO.into();
    push["repository"]["default_branch"] = "main".into();
    push["ref"] = "refs/heads/main".into();
    push["created"] = false.into();
    push["commits"][0]["added"] = serde_json::json!([]);
    push["commits"][0]["modified"] = serde_json::json!([path]);
    let status = common::serve::deliver(
        &reqwest::Client::new(),
        port,
        SECRET,
        "push",
        id,
        serde_json::to_vec(&push).unwrap(),
    )
    .await;
    assert_eq!(status, 202);
}

/// Waits until `ready` holds of the fake (20 s at most).
async fn until(github: &FakeGitHub, what: &str, ready: impl Fn(&FakeGitHub) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready(github) {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GEP-2645 (Standard; UDPRoute in the Standard channel and passed by three implementations) is
/// ready for Completed on upstream's real files: its tracking issue gets one marked comment and
/// the label, once, however often the dashboard is refreshed; when it no longer is, the comment
/// says what is missing and the label comes off; ready again, the label is back and the comment
/// is still the one. The next agenda lists it.
#[tokio::test]
async fn a_gep_ready_to_graduate_is_said_once_and_its_label_follows_readiness() {
    const MARKER: &str = "<!-- gep-bot:graduation -->";
    const LABEL: &str = "gep/ready-for-completed";
    let (github, server, bot, json) = upstream_served().await;
    let port = bot.port;
    let ready = ready_geps(&json);
    assert!(ready.contains(&2645), "{ready:?}");
    until(&github, "the nudge on #2645", |g| {
        g.comments_marked(2645, MARKER).len() == 1 && g.labels(2645).contains(&LABEL.to_owned())
    })
    .await;
    let said = github.comments_marked(2645, MARKER).remove(0);
    assert!(
        said.contains("meets every criterion of Completed"),
        "{said}"
    );
    // Every ready GEP, and only those, was nudged.
    settled(&server).await;
    for number in corpus_numbers() {
        let nudged = !github.comments_marked(number, MARKER).is_empty();
        assert_eq!(nudged, ready.contains(&number), "GEP-{number}");
    }
    let posts = requests_to(&server, "POST", "/comments").await;

    // Another refresh with the same facts (a push that changes another GEP): nothing is written.
    let index = "geps/gep-3388/index.md";
    let text = std::fs::read_to_string(common::corpus().join("gep-3388/index.md")).unwrap();
    pushed(
        &github,
        port,
        "push-a",
        index,
        text.replacen("title: \"GEP-3388: ", "title: \"GEP-3388: Retitled ", 1),
    )
    .await;
    dashboard_when(port, |json| {
        gep(json, 3388)["title"]
            .as_str()
            .is_some_and(|t| t.contains("Retitled"))
    })
    .await;
    settled(&server).await;
    assert_eq!(requests_to(&server, "POST", "/comments").await, posts);
    assert_eq!(requests_to(&server, "PATCH", "/issues/comments/").await, 0);

    // GEP-2645 lists a feature nobody implements: no longer ready.
    let metadata = "geps/gep-2645/metadata.yaml";
    let original =
        std::fs::read_to_string(common::corpus().join("gep-2645/metadata.yaml")).unwrap();
    let unready = original.replace(
        "  - UDPRoute\n",
        "  - UDPRoute\n  - UDPRouteNotYetAnywhere\n",
    );
    assert_ne!(unready, original);
    pushed(&github, port, "push-b", metadata, unready).await;
    until(&github, "the label off #2645", |g| {
        !g.labels(2645).contains(&LABEL.to_owned())
    })
    .await;
    let said = github.comments_marked(2645, MARKER);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("no longer meets every criterion of Completed"),
        "{}",
        said[0]
    );
    assert!(said[0].contains("UDPRouteNotYetAnywhere"), "{}", said[0]);

    // Fixed: ready again, the label back, the one comment edited back.
    pushed(&github, port, "push-c", metadata, original).await;
    until(&github, "the label back on #2645", |g| {
        g.labels(2645).contains(&LABEL.to_owned())
    })
    .await;
    let said = github.comments_marked(2645, MARKER);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("meets every criterion of Completed"),
        "{}",
        said[0]
    );
    settled(&server).await;
    assert_eq!(
        requests_to(&server, "POST", "/comments").await,
        posts,
        "edited, never a second comment"
    );

    // The next meeting's agenda lists it (the bot's own store, read by `gep-bot agenda`).
    let schedule = gep_bot::products::calendar::Schedule::parse(
        gep_bot::products::calendar::BUILTIN,
        "schedules/gamma.toml",
    )
    .unwrap();
    let (_, next) = gep_bot::capabilities::agenda::passes(
        &schedule,
        &gep_bot::capabilities::agenda::AgendaRules::default(),
        REPO,
        gep_bot::capabilities::agenda::Target::Issue(1),
        chrono::Utc::now(),
    )
    .into_iter()
    .next()
    .expect("a meeting in the next two weeks");
    let day = next
        .meeting
        .with_timezone(&schedule.timezone)
        .date_naive()
        .to_string();
    let database = format!("sqlite://{}", bot.dir.path().join("bot.db").display());
    let agenda = common::on_store(&database, &["agenda", "--for", &day, "--repo", REPO]);
    assert!(
        agenda.contains("### GEPs ready to graduate\n\n")
            && agenda.contains("- GEP-2645: meets every criterion of Completed\n"),
        "{agenda}"
    );
    drop(bot);
}

/// Two replicas on one PostgreSQL database serve the same dashboard and both refresh it: each
/// ready GEP's tracking issue gets one comment and one label request, whichever replica's refresh
/// stored the nudge and however the two interleave.
#[tokio::test]
async fn two_replicas_refreshing_the_same_dashboard_nudge_each_ready_gep_once() {
    const MARKER: &str = "<!-- gep-bot:graduation -->";
    let Some(url) = common::postgres_url("two_replicas_nudge_once") else {
        return;
    };
    let schema = common::unique_schema("nudge_once");
    gep_bot::machinery::store::PgStore::open_in_schema(&url, &schema)
        .await
        .expect("schema and migrations");
    let db = gep_bot::machinery::store::PgStore::url_in_schema(&url, &schema);
    let github = upstream_github();
    let server = github.serve().await;
    let ports = [common::serve::free_port(), common::serve::free_port()];
    let _replicas: Vec<common::serve::KillOnDrop> = ports
        .iter()
        .map(|&port| {
            let mut command = common::serve::command(port, &db, &server.uri(), SECRET);
            command.env("GEP_BOT_DASHBOARD_REPO", REPO);
            common::serve::KillOnDrop(command.spawn().unwrap())
        })
        .collect();
    let mut ready = Vec::new();
    for port in ports {
        ready = ready_geps(&dashboard_when(port, |_| true).await);
    }
    assert!(ready.contains(&2645), "{ready:?}");
    until(&github, "every ready GEP nudged", |g| {
        ready
            .iter()
            .all(|&n| g.comments_marked(n, MARKER).len() == 1)
    })
    .await;
    settled(&server).await;
    for &number in &ready {
        assert_eq!(
            github.comments_marked(number, MARKER).len(),
            1,
            "GEP-{number}"
        );
    }
    let comments = requests_to(&server, "POST", "/comments").await;
    let labels = requests_to(&server, "POST", "/labels").await;
    assert_eq!(comments, ready.len(), "one comment per ready GEP");
    assert_eq!(labels, ready.len(), "one label request per ready GEP");
    // Both replicas stored what they found; the database holds one job per ready GEP.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let jobs: i64 = client
        .query_one(
            &format!(
                "SELECT COUNT(*) FROM \"{schema}\".jobs j JOIN \"{schema}\".deliveries d \
                 ON d.id = j.delivery_id WHERE d.event = 'gep-bot.graduation'"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(jobs as usize, ready.len());
}

/// In dry-run nothing is said, and nothing is remembered as said: no nudge is stored (one stored
/// would count as said and never be said once the bot writes), while the dashboard lists the
/// ready GEPs all the same.
#[tokio::test]
async fn in_dry_run_no_nudge_is_stored() {
    let github = upstream_github();
    let server = github.serve().await;
    let bot = {
        let dir = tempfile::tempdir().unwrap();
        let port = common::serve::free_port();
        let db = format!("sqlite://{}", dir.path().join("bot.db").display());
        let mut command = common::serve::command(port, &db, &server.uri(), SECRET);
        command
            .env("GEP_BOT_DASHBOARD_REPO", REPO)
            .env("GEP_BOT_DRY_RUN", "1");
        Running {
            child: common::serve::KillOnDrop(command.spawn().unwrap()),
            port,
            dir,
        }
    };
    let json = dashboard_when(bot.port, |_| true).await;
    assert!(ready_geps(&json).contains(&2645));
    settled(&server).await;
    let db = rusqlite::Connection::open(bot.dir.path().join("bot.db")).unwrap();
    let stored: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE event = 'gep-bot.graduation'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0);
    // (Its reads go on: the open pull requests are a GraphQL POST.)
    assert_eq!(requests_to(&server, "POST", "/comments").await, 0);
    assert_eq!(requests_to(&server, "POST", "/labels").await, 0);
}
