//! The GitHub calls and rate-limit points of one GEP pull request's life (opened, checked again,
//! two lead reviews, a `/gep status` in its tracking issue), against the fake GitHub of the
//! tests, with conditional requests and without (the baseline, in the same run). GitHub counts
//! a REST request a point and a `304 Not Modified` none; a GraphQL query here costs one.
//!
//! `cargo bench --bench github_calls`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::FakeGitHub;
use serde_json::{Value, json};

const PR: u64 = 3949;

fn with_pull_request(mut body: Value, github: &FakeGitHub) -> Vec<u8> {
    let labels: Vec<Value> = github
        .labels(PR)
        .iter()
        .map(|l| json!({ "name": l }))
        .collect();
    let pr = &mut body["pull_request"];
    pr["number"] = PR.into();
    pr["user"] = json!({ "login": "mikemorris", "type": "User" });
    pr["head"]["sha"] = "h1".into();
    pr["base"]["sha"] = "base".into();
    pr["labels"] = labels.into();
    body["installation"] = json!({ "id": 7 });
    serde_json::to_vec(&body).unwrap()
}

fn fixture(event: &str, file: &str) -> Value {
    serde_json::from_slice(&common::webhook_body(event, file)).unwrap()
}

/// (requests, 304 answers, points) of the life, as the fake GitHub received them.
async fn life(conditional: bool) -> (usize, usize, usize) {
    let github = FakeGitHub::default();
    {
        let mut state = github.state();
        let files: Vec<String> = ["index.md", "metadata.yaml"]
            .map(|f| format!("geps/gep-3949/{f}"))
            .to_vec();
        for file in &files {
            let text =
                std::fs::read_to_string(common::corpus().join(&file["geps/".len()..])).unwrap();
            for at in ["base", "h1", ""] {
                state.files.insert((at.into(), file.clone()), text.clone());
            }
        }
        let owners =
            std::fs::read_to_string(common::shared().join("fixtures/gateway-api/OWNERS_ALIASES"))
                .unwrap();
        state
            .files
            .insert(("".into(), "OWNERS_ALIASES".into()), owners);
        state
            .pulls
            .insert(PR, ("mikemorris".into(), "h1".into(), files));
    }
    let server = github.serve().await;
    let bot = Bot::start_with(&server, common::app_credentials(), conditional).await;
    let opened = with_pull_request(fixture("pull_request", "opened.payload.json"), &github);
    bot.deliver("d-1", "pull_request", &opened).await;
    bot.drained(Duration::from_secs(20)).await;
    let mut reopened = fixture("pull_request", "opened.payload.json");
    reopened["action"] = "reopened".into();
    bot.deliver("d-2", "pull_request", &with_pull_request(reopened, &github))
        .await;
    for (id, lead) in [("d-3", "kflynn"), ("d-4", "LiorLieberman")] {
        let mut review = fixture("pull_request_review", "submitted.payload.json");
        review["review"]["user"] = json!({ "login": lead, "type": "User" });
        review["review"]["state"] = "approved".into();
        review["sender"] = json!({ "login": lead, "type": "User" });
        bot.deliver(
            id,
            "pull_request_review",
            &with_pull_request(review, &github),
        )
        .await;
        bot.drained(Duration::from_secs(20)).await;
    }
    let status = common::comment_body(PR, "robscott", "/gep status");
    bot.deliver(
        "d-5",
        "issue_comment",
        &serde_json::to_vec(&status).unwrap(),
    )
    .await;
    bot.drained(Duration::from_secs(20)).await;
    bot.stop().await;
    let received = server.received_requests().await.unwrap();
    let not_modified = common::github::NOT_MODIFIED.swap(0, std::sync::atomic::Ordering::Relaxed);
    let calls = received.len();
    // Installation tokens are not counted against the installation's limit either.
    let tokens = received
        .iter()
        .filter(|r| r.url.path().contains("access_tokens"))
        .count();
    (calls, not_modified, calls - not_modified - tokens)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base_calls, _, base_points) = runtime.block_on(life(false));
    let (calls, not_modified, points) = runtime.block_on(life(true));
    println!("one GEP pull request's life: opened, checked again, two lead reviews, /gep status");
    println!(
        "{:<26} {:>6} {:>14} {:>8}",
        "", "calls", "answered 304", "points"
    );
    println!(
        "{:<26} {:>6} {:>14} {:>8}",
        "without conditional reads", base_calls, 0, base_points
    );
    println!(
        "{:<26} {:>6} {:>14} {:>8}",
        "with conditional reads", calls, not_modified, points
    );
    println!(
        "rate-limit points: {:.2}x the baseline ({} of {} saved)",
        points as f64 / base_points as f64,
        base_points - points,
        base_points
    );
}
