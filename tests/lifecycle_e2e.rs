//! Frozen while alive: GitHub's own `issues.labeled` body, made the tracking issue of a real GEP
//! (its metadata.yaml from the upstream corpus on the fake's default branch), delivered to the
//! running pipeline.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::{FakeGitHub, requests_to};
use gep_bot::machinery::github::Credentials;

const MARKER: &str = "<!-- gep-bot:lifecycle-frozen -->";

/// The real `issues.labeled` body: `label` put on issue `number`, which shows `labels`.
fn labeled(number: u64, label: &str, labels: &[&str]) -> Vec<u8> {
    let mut body: serde_json::Value =
        serde_json::from_slice(&common::webhook_body("issues", "labeled.payload.json")).unwrap();
    body["label"]["name"] = label.into();
    body["issue"]["number"] = number.into();
    body["issue"]["labels"] = labels
        .iter()
        .map(|l| serde_json::json!({ "name": l }))
        .collect();
    body["sender"]["login"] = "k8s-triage-robot".into();
    serde_json::to_vec(&body).unwrap()
}

fn with_gep(github: &FakeGitHub, number: u64) {
    let path = format!("gep-{number}/metadata.yaml");
    let text = std::fs::read_to_string(common::corpus().join(&path)).unwrap();
    github
        .state()
        .files
        .insert(("".into(), format!("geps/{path}")), text);
}

#[tokio::test]
async fn an_experimental_geps_stale_tracking_issue_is_frozen_once() {
    let github = FakeGitHub::default();
    with_gep(&github, 1731); // HTTPRoute retries: Experimental upstream.
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    bot.deliver(
        "d-1",
        "issues",
        &labeled(1731, "lifecycle/stale", &["lifecycle/stale"]),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert!(
        github.labels(1731).contains(&"lifecycle/frozen".to_owned()),
        "{:?}",
        github.labels(1731)
    );
    let said = github.comments_marked(1731, MARKER);
    assert_eq!(said.len(), 1);
    assert!(
        said[0].contains("GEP-1731") && said[0].contains("Experimental"),
        "{}",
        said[0]
    );

    // Prow marks it rotten before the frozen label shows in a payload, and GitHub redelivers the
    // first: nothing is written again.
    bot.deliver(
        "d-2",
        "issues",
        &labeled(
            1731,
            "lifecycle/rotten",
            &["lifecycle/stale", "lifecycle/rotten"],
        ),
    )
    .await;
    bot.deliver(
        "d-3",
        "issues",
        &labeled(1731, "lifecycle/stale", &["lifecycle/stale"]),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(requests_to(&server, "POST", "/issues/1731/labels").await, 1);
    assert_eq!(
        requests_to(&server, "POST", "/issues/1731/comments").await,
        1
    );
    assert_eq!(github.comments_marked(1731, MARKER).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_declined_geps_or_a_plain_issues_staleness_is_left_to_prow() {
    let github = FakeGitHub::default();
    with_gep(&github, 1651); // Declined upstream.
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    bot.deliver(
        "d-1",
        "issues",
        &labeled(1651, "lifecycle/stale", &["lifecycle/stale"]),
    )
    .await;
    // Issue 4242 has no GEP folder.
    bot.deliver(
        "d-2",
        "issues",
        &labeled(4242, "lifecycle/stale", &["lifecycle/stale"]),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert!(github.labels(1651).is_empty() && github.labels(4242).is_empty());
    assert_eq!(requests_to(&server, "POST", "/labels").await, 0);
    assert_eq!(requests_to(&server, "POST", "/comments").await, 0);
    // It did look: the GEP's metadata on the default branch was read.
    assert!(requests_to(&server, "GET", "geps/gep-1651/metadata.yaml").await >= 1);
    bot.stop().await;
}
