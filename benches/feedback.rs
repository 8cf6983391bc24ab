//! Feedback at GitHub's speed: the time from a GEP pull request's `202 Accepted` to its
//! completed `GEP template` check run reaching GitHub, through the real `gep-bot serve` (this
//! build, a GitHub App, writes paced 1 s apart as in production) and a stand-in GitHub in this
//! process that answers every request after a latency (`FEEDBACK_BENCH_LATENCY_MS`, default
//! 150: GitHub's REST API commonly takes 150-400 ms) and notes when each arrives.
//!
//! The same pull request is measured with the reads one at a time (`GEP_BOT_READ_CONCURRENCY=1`,
//! as the bot read before capabilities gathered side by side) and as configured by default (8
//! in flight per installation), by turns (`FEEDBACK_BENCH_TURNS`, default 3), each on a fresh
//! process and store. Printed per mode: the time to the check run, the requests before it (the
//! installation token, the reads, the check-run lookup) and the round trips on the critical
//! path (that time over the latency), with the ratio of the two modes.
//!
//! Run: `cargo bench --bench feedback` (needs `openssl` for a throwaway App key).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use gep_bot::machinery::pipeline::sign;
use serde_json::{Value, json};

#[path = "../tests/common/app_key.rs"]
mod app_key;
#[path = "support/process.rs"]
mod process;
use process::{free_port, listening, ms, shared};

const SECRET: &str = "bench-secret";
const PULL: u64 = 12;
const GEP: &str = "geps/gep-3949";

/// The repository as the stand-in serves it, and what reached it.
struct GitHub {
    latency: Duration,
    /// (commit, path) -> text; commit "" is the default branch.
    files: Vec<((String, String), String)>,
    /// When each request arrived, with its method and path.
    requests: Mutex<Vec<(Instant, Method, String)>>,
}

impl GitHub {
    fn file(&self, at: &str, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|((commit, p), _)| commit == at && p == path)
            .map(|(_, text)| text.as_str())
    }

    fn check_run_at(&self) -> Option<(Instant, usize)> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .position(|(_, method, path)| method == Method::POST && path.ends_with("/check-runs"))
            .map(|i| (requests[i].0, i))
    }
}

async fn answer(
    State(github): State<Arc<GitHub>>,
    method: Method,
    uri: Uri,
) -> axum::response::Response {
    let path = uri.path().to_owned();
    github
        .requests
        .lock()
        .unwrap()
        .push((Instant::now(), method.clone(), path.clone()));
    tokio::time::sleep(github.latency).await;
    let query = |key: &str| {
        uri.query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
            .unwrap_or_default()
            .to_owned()
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["app", "installations", _, "access_tokens"]) => {
            let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
            (
                axum::http::StatusCode::CREATED,
                axum::Json(json!({
                    "token": "ghs_bench",
                    "expires_at": expires,
                    "permissions": { "checks": "write", "contents": "read" },
                    "repository_selection": "all"
                })),
            )
                .into_response()
        }
        ("GET", ["repos", _, _, "pulls", _, "files"]) => axum::Json(json!([
            { "filename": format!("{GEP}/index.md"), "status": "modified" },
            { "filename": format!("{GEP}/metadata.yaml"), "status": "modified" },
        ]))
        .into_response(),
        ("GET", ["repos", _, _, "contents", rest @ ..]) => {
            match github.file(&query("ref"), &rest.join("/")) {
                Some(text) => text.to_owned().into_response(),
                None => (
                    axum::http::StatusCode::NOT_FOUND,
                    axum::Json(json!({ "message": "Not Found" })),
                )
                    .into_response(),
            }
        }
        ("GET", ["repos", _, _, "git", "trees", tree]) => {
            let tree = tree.replace("%3A", ":");
            let (at, folder) = tree.split_once(':').unwrap_or((&tree, ""));
            let prefix = format!("{folder}/");
            let mut names: Vec<String> = github
                .files
                .iter()
                .filter(|((commit, _), _)| commit == at)
                .filter_map(|((_, p), _)| {
                    p.strip_prefix(&prefix)?
                        .split('/')
                        .next()
                        .map(str::to_owned)
                })
                .collect();
            names.dedup();
            let entries: Vec<Value> = names
                .iter()
                .map(|n| json!({ "path": n, "mode": "040000", "type": "tree" }))
                .collect();
            axum::Json(json!({ "sha": "0", "tree": entries, "truncated": false })).into_response()
        }
        ("GET", ["repos", _, _, "commits", _, "check-runs"]) => {
            axum::Json(json!({ "total_count": 0, "check_runs": [] })).into_response()
        }
        ("GET", ["repos", _, _, "commits", sha, "status"]) => {
            axum::Json(json!({ "sha": sha, "total_count": 0, "statuses": [] })).into_response()
        }
        ("GET", _) => axum::Json(json!([])).into_response(),
        ("POST", ["repos", _, _, "check-runs"]) => (
            axum::http::StatusCode::CREATED,
            axum::Json(json!({ "id": 1 })),
        )
            .into_response(),
        ("POST", ["repos", _, _, "issues", _, "comments"]) => (
            axum::http::StatusCode::CREATED,
            axum::Json(json!({ "id": 2, "body": "" })),
        )
            .into_response(),
        (_, _) => axum::Json(json!([])).into_response(),
    }
}

/// The repository: GEP-3949 at the base, one line changed at the head, upstream's template and
/// OWNERS_ALIASES on the default branch and at the base.
fn repository(latency: Duration) -> GitHub {
    let fixtures = shared().join("fixtures/gateway-api");
    let read = |path: &str| std::fs::read_to_string(fixtures.join(path)).unwrap();
    let index = read("geps/gep-3949/index.md");
    let metadata = read("geps/gep-3949/metadata.yaml");
    let mut files = Vec::new();
    for at in ["base", "head"] {
        let changed = if at == "head" {
            index.replacen(
                "## TLDR",
                "## TLDR\n\nA sentence the pull request adds.\n",
                1,
            )
        } else {
            index.clone()
        };
        files.push(((at.to_owned(), format!("{GEP}/index.md")), changed));
        files.push((
            (at.to_owned(), format!("{GEP}/metadata.yaml")),
            metadata.clone(),
        ));
        files.push((
            (at.to_owned(), "geps/gep-696/index.md".to_owned()),
            read("geps/gep-696/index.md"),
        ));
    }
    files.push((
        ("".to_owned(), "OWNERS_ALIASES".to_owned()),
        read("OWNERS_ALIASES"),
    ));
    GitHub {
        latency,
        files,
        requests: Mutex::default(),
    }
}

/// The octokit `pull_request.opened` body for pull request 12 from `base` to `head`.
fn opened() -> Vec<u8> {
    let file = shared().join("fixtures/octokit-webhooks/pull_request/opened.payload.json");
    let mut body: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    body["number"] = PULL.into();
    body["pull_request"]["number"] = PULL.into();
    body["pull_request"]["head"]["sha"] = "head".into();
    body["pull_request"]["base"]["sha"] = "base".into();
    body["pull_request"]["labels"] = json!([]);
    body["installation"] = json!({ "id": 7 });
    serde_json::to_vec(&body).unwrap()
}

struct Run {
    to_check_run: Duration,
    requests_before: usize,
    reads_before: usize,
}

/// One pull request through a fresh `serve` reading `reads` at a time.
async fn run(reads: usize, latency: Duration, key: &std::path::Path) -> Run {
    let github = Arc::new(repository(latency));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let github_port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(github.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let port = free_port();
    let mut bot = process::serve(&db, port, SECRET)
        .env("GEP_BOT_APP_ID", "12345")
        .env("GEP_BOT_PRIVATE_KEY_PATH", key)
        .env(
            "GEP_BOT_GITHUB_API_URL",
            format!("http://127.0.0.1:{github_port}"),
        )
        .env("GEP_BOT_WRITE_INTERVAL_MS", "1000")
        .env("GEP_BOT_READ_CONCURRENCY", reads.to_string())
        .spawn()
        .expect("gep-bot starts");
    listening(port, "gep-bot").await;
    let body = opened();
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", format!("feedback-{reads}"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .expect("the bot answers");
    let acknowledged = Instant::now();
    assert_eq!(response.status(), 202);
    let deadline = acknowledged + Duration::from_secs(60);
    let (at, index) = loop {
        if let Some(found) = github.check_run_at() {
            break found;
        }
        assert!(Instant::now() < deadline, "no check run within a minute");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let _ = bot.kill();
    let _ = bot.wait();
    server.abort();
    let requests = github.requests.lock().unwrap();
    let reads_before = requests[..index]
        .iter()
        .filter(|(_, method, path)| method == Method::GET || path == "/graphql")
        .count();
    Run {
        to_check_run: at - acknowledged,
        requests_before: index,
        reads_before,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency = Duration::from_millis(
        std::env::var("FEEDBACK_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150),
    );
    let turns: usize = std::env::var("FEEDBACK_BENCH_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let key = app_key::throwaway_app_key(dir.path());
    let modes = [("one read at a time", 1), ("side by side (default)", 8)];
    let mut runs: Vec<Vec<Run>> = modes.iter().map(|_| Vec::new()).collect();
    for turn in 0..turns {
        // Every second turn the other way round: neither mode always goes first.
        let order: Vec<usize> = if turn % 2 == 0 {
            vec![0, 1]
        } else {
            vec![1, 0]
        };
        for i in order {
            runs[i].push(run(modes[i].1, latency, &key).await);
        }
    }
    println!(
        "GEP pull request opened -> completed check run, GitHub answering after {} ms ({turns} turns)",
        latency.as_millis()
    );
    println!(
        "{:<24} {:>12} {:>10} {:>8} {:>12}",
        "mode", "median ms", "requests", "reads", "round trips"
    );
    let mut medians = Vec::new();
    for (i, (name, _)) in modes.iter().enumerate() {
        let mut times: Vec<Duration> = runs[i].iter().map(|r| r.to_check_run).collect();
        times.sort();
        let median = times[times.len() / 2];
        medians.push(median);
        let last = runs[i].last().unwrap();
        println!(
            "{name:<24} {:>12.0} {:>10} {:>8} {:>12.1}",
            ms(median),
            last.requests_before,
            last.reads_before,
            median.as_secs_f64() / latency.as_secs_f64()
        );
    }
    println!(
        "side by side / one at a time: {:.2}x the time to the check run",
        medians[1].as_secs_f64() / medians[0].as_secs_f64()
    );
}
