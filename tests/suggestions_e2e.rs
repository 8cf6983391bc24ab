//! Fixes offered on the pull request (SPEC 7): the findings a pull request introduces that need
//! no judgement come back as one review of GitHub `suggestion` blocks on the lines of its diff;
//! committing them (as GitHub does) makes the check pass; the same head gets no second review.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::FakeGitHub;
use serde_json::Value;

const PR: u64 = 12;
const INDEX: &str = "geps/gep-4242/index.md";
const METADATA: &str = "geps/gep-4242/metadata.yaml";

fn index(status: &str) -> String {
    format!(
        "---\ntitle: \"GEP-4242: Mesh retries\"\n---\n\n* Issue: [#4242](https://github.com/o/r/issues/4242)\n* Status: {status}\n\n## TLDR\n\nRetries.\n\n## Goals\n\n* a\n\n## Non-Goals\n\n* b\n\n## Introduction/Overview\n\nc\n\n## Purpose (Why and Who)\n\nd\n"
    )
}

fn metadata(features: &str) -> String {
    format!(
        "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 4242\nname: Mesh retries\nstatus: Provisional\nauthors:\n  - keithmattix\n{features}"
    )
}

fn commit(github: &FakeGitHub, sha: &str, index: String, metadata: String) {
    let features = common::shared().join("fixtures/gateway-api/pkg/features/httproute.go");
    let mut state = github.state();
    state.files.insert((sha.into(), INDEX.into()), index);
    state.files.insert((sha.into(), METADATA.into()), metadata);
    state.files.insert(
        (sha.into(), "pkg/features/httproute.go".into()),
        std::fs::read_to_string(features).unwrap(),
    );
    let files = vec![INDEX.to_string(), METADATA.to_string()];
    state
        .pulls
        .insert(PR, ("someone".into(), sha.into(), files));
}

/// A file's text with a review comment's suggestion committed, as GitHub's "Commit suggestion"
/// does: lines `start_line..=line` become the suggestion's lines.
fn committed(text: &str, comment: &Value) -> String {
    let body = comment["body"].as_str().unwrap();
    let fence = body.find("suggestion\n").expect("a suggestion block") + "suggestion\n".len();
    let rest = &body[fence..];
    let suggested: Vec<&str> = rest[..rest.rfind('\n').unwrap()].lines().collect();
    let line = comment["line"].as_u64().unwrap() as usize;
    let start = comment["start_line"].as_u64().map_or(line, |s| s as usize);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.splice(start - 1..line, suggested);
    lines.join("\n") + "\n"
}

/// The pull request's head is `head`, as GitHub says when commits are pushed; the bot is done.
async fn pushed(bot: &Bot, delivery: &str, head: &str) {
    let body = common::pull_request_body(PR, "synchronize", head, "base");
    bot.deliver(delivery, "pull_request", &body).await;
    bot.drained(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_pull_request_gets_one_review_of_suggestions_that_make_its_check_pass() {
    let github = FakeGitHub::default();
    commit(&github, "base", index("Provisional"), metadata(""));
    // The pull request says Implementable where metadata.yaml says Provisional, and lists a
    // feature by its Go constant.
    let head_index = index("Implementable");
    let head_metadata = metadata("featureNames:\n  - SupportHTTPRouteRetry\n");
    commit(&github, "h1", head_index.clone(), head_metadata.clone());
    let server = github.serve().await;
    let bot = Bot::start(&server, common::app_credentials()).await;
    let opened = common::pull_request_body(PR, "opened", "h1", "base");
    bot.deliver("d-1", "pull_request", &opened).await;
    bot.drained(Duration::from_secs(10)).await;

    let reviews = github.state().reviews.get(&PR).cloned().unwrap_or_default();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    let review = &reviews[0];
    assert_eq!(review["commit_id"], "h1");
    assert_eq!(review["state"], "COMMENTED");
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    let on = |path: &str| comments.iter().find(|c| c["path"] == path).unwrap();
    let status = on(INDEX);
    assert_eq!(status["line"], 6);
    assert!(
        status["body"].as_str().unwrap().starts_with("**GEP010**"),
        "{status}"
    );
    assert!(
        status["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n* Status: Provisional\n```"),
        "{status}"
    );
    let feature = on(METADATA);
    assert_eq!(feature["line"], 9);
    assert!(
        feature["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n  - HTTPRouteRetry\n```"),
        "{feature}"
    );
    assert_eq!(
        github.state().check_runs.last().unwrap().conclusion,
        "failure"
    );

    // The same head again (a redelivery, a reopen): no second review.
    pushed(&bot, "d-2", "h1").await;
    assert_eq!(github.state().reviews[&PR].len(), 1);

    // The author commits both suggestions: the check passes, and nothing is left to suggest.
    commit(
        &github,
        "h2",
        committed(&head_index, status),
        committed(&head_metadata, feature),
    );
    pushed(&bot, "d-3", "h2").await;
    let run = github.state().check_runs.last().cloned().unwrap();
    assert_eq!(
        (run.head_sha.as_str(), run.conclusion.as_str()),
        ("h2", "success"),
        "{}",
        run.summary
    );
    assert_eq!(github.state().reviews[&PR].len(), 1);

    // A new head with a new fixable finding (the title loses its dash) gets a review of its own.
    let fixed_index = committed(&head_index, status);
    let h3_index = fixed_index.replace("GEP-4242: Mesh retries", "GEP 4242: Mesh retries");
    commit(&github, "h3", h3_index, committed(&head_metadata, feature));
    pushed(&bot, "d-4", "h3").await;
    let reviews = github.state().reviews[&PR].clone();
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[1]["commit_id"], "h3");
    let comments = reviews[1]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\ntitle: \"GEP-4242: Mesh retries\"\n```"),
        "{comments:#?}"
    );
    common::openapi::assert_all_described(&server).await;
    bot.stop().await;
}

/// Reviews need no App: with a personal token (the check run is then a commit status and a
/// comment), the suggestions come all the same.
#[tokio::test]
async fn with_a_token_the_suggestions_come_as_well() {
    let github = FakeGitHub::default();
    commit(&github, "base", index("Provisional"), metadata(""));
    commit(&github, "h1", index("Implementable"), metadata(""));
    let server = github.serve().await;
    let credentials = gep_bot::machinery::github::Credentials::Token("ghp_test".into());
    let bot = Bot::start(&server, credentials).await;
    let opened = common::pull_request_body(PR, "opened", "h1", "base");
    bot.deliver("d-1", "pull_request", &opened).await;
    bot.drained(Duration::from_secs(10)).await;
    let reviews = github.state().reviews.get(&PR).cloned().unwrap_or_default();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["comments"].as_array().unwrap().len(), 1);
    assert!(github.state().check_runs.is_empty());
    bot.stop().await;
}
