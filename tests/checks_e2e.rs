//! The `GEP template` check run end to end: a GEP pull request's files read at its head and base
//! commits from a GitHub that keeps them, the check run created, annotations capped at 50, and a
//! force-push re-checked without duplicating anything.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::{FakeGitHub, requests_to};
use gep_bot::machinery::github::Credentials;
use gep_bot::machinery::store::Store;

const PR: u64 = 12;

fn index(status: &str, extra: &str) -> String {
    format!(
        "---\ntitle: \"GEP-4242: Mesh retries\"\n---\n\n* Issue: [#4242](https://github.com/o/r/issues/4242)\n* Status: {status}\n\n## TLDR\n\nRetries.\n\n## Goals\n\n* a\n\n## Non-Goals\n\n* b\n\n## Introduction/Overview\n\nc\n\n## Purpose (Why and Who)\n\nd\n{extra}"
    )
}

fn metadata(status: &str) -> String {
    format!(
        "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 4242\nname: Mesh retries\nstatus: {status}\nauthors:\n  - keithmattix\n"
    )
}

fn commit(github: &FakeGitHub, sha: &str, status: &str, extra: &str) {
    let mut state = github.state();
    state.files.insert(
        (sha.into(), "geps/gep-4242/index.md".into()),
        index(status, extra),
    );
    state.files.insert(
        (sha.into(), "geps/gep-4242/metadata.yaml".into()),
        metadata(status),
    );
    state.files.insert(
        (sha.into(), "geps/gep-1/metadata.yaml".into()),
        metadata("Standard").replace("4242", "1"),
    );
}

fn synchronize(head: &str, action: &str) -> Vec<u8> {
    common::pull_request_body(PR, action, head, "base")
}

#[tokio::test]
async fn a_gep_pull_request_gets_one_check_run_per_head_with_annotations_on_the_lines() {
    let github = FakeGitHub::default();
    let files = vec![
        "geps/gep-4242/index.md".to_string(),
        "geps/gep-4242/metadata.yaml".to_string(),
    ];
    github
        .state()
        .pulls
        .insert(PR, ("someone".into(), "h1".into(), files));
    commit(&github, "base", "Provisional", "");
    // The pull request jumps from Provisional to Standard and leaves 60 placeholders.
    let placeholders = "\n## Notes\n\nWritten.\n\n".to_string()
        + &"(Other designs considered, and why this proposal does not take them.)\n\n".repeat(60);
    commit(&github, "h1", "Standard", &placeholders);
    let server = github.serve().await;
    let bot = Bot::start(&server, common::app_credentials()).await;

    bot.deliver("d-1", "pull_request", &synchronize("h1", "opened"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let runs = github.state().check_runs.clone();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(
        (
            run.name.as_str(),
            run.head_sha.as_str(),
            run.conclusion.as_str()
        ),
        ("GEP template", "h1", "failure")
    );
    // 62 findings, annotated up to the cap in one request; the summary lists the rest.
    assert_eq!(
        run.annotations.len(),
        gep_bot::capabilities::checks::MAX_ANNOTATIONS
    );
    assert_eq!(run.writes, 1, "50 annotations a request");
    let skip = run
        .annotations
        .iter()
        .find(|a| a["title"] == "GEP050")
        .expect("the lifecycle finding");
    assert_eq!(skip["path"], "geps/gep-4242/metadata.yaml");
    assert_eq!(skip["start_line"], 5);
    assert_eq!(skip["annotation_level"], "failure");

    // The same delivery of that head again (GitHub redelivers it): GitHub appends the
    // annotations of an update, so nothing is written and the run keeps one evaluation's.
    let annotated = run.annotations.len();
    bot.deliver(
        "d-1-again",
        "pull_request",
        &synchronize("h1", "synchronize"),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(github.state().check_runs.len(), 1);
    assert_eq!(github.state().check_runs[0].annotations.len(), annotated);

    // The same SHA checked again with another result (the repository's template changed at the
    // base): a new run on the SHA carries only the new findings.
    commit(&github, "h1", "Standard", "");
    bot.deliver("d-1-retry", "pull_request", &synchronize("h1", "reopened"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let runs = github.state().check_runs.clone();
    assert_eq!(runs.len(), 2);
    let newest = &runs[1];
    assert_eq!(newest.head_sha, "h1");
    assert!(
        newest.annotations.len() < annotated,
        "{}",
        newest.annotations.len()
    );
    assert!(
        !newest.annotations.iter().any(|a| a["title"] == "GEP013"),
        "the placeholders are gone, and so are their annotations"
    );

    // A force-push fixes the GEP: its new head gets its own run, which passes.
    commit(&github, "h2", "Prototyping", "\n## API\n\nThe API.\n");
    github.state().pulls.get_mut(&PR).unwrap().1 = "h2".into();
    bot.deliver("d-2", "pull_request", &synchronize("h2", "synchronize"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let runs = github.state().check_runs.clone();
    assert_eq!(runs.len(), 3);
    let latest = runs.iter().find(|r| r.head_sha == "h2").unwrap();
    assert_eq!(latest.conclusion, "success", "{:?}", latest.annotations);
    assert_eq!(latest.title, "0 errors in 1 GEP");
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_metadata_file_naming_hundreds_of_gep_numbers_costs_a_bounded_number_of_reads() {
    let github = FakeGitHub::default();
    let files = vec!["geps/gep-4242/metadata.yaml".to_string()];
    github
        .state()
        .pulls
        .insert(PR, ("someone".into(), "h1".into(), files));
    commit(&github, "base", "Provisional", "");
    commit(&github, "h1", "Provisional", "");
    let named: String = (10_000..10_500)
        .map(|n| format!("    - number: {n}\n      name: GEP {n}\n"))
        .collect();
    github.state().files.insert(
        ("h1".into(), "geps/gep-4242/metadata.yaml".into()),
        metadata("Provisional") + "relationships:\n  extends:\n" + &named,
    );
    let server = github.serve().await;
    let bot = Bot::start(&server, common::app_credentials()).await;

    bot.deliver("d-1", "pull_request", &synchronize("h1", "opened"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let related_reads = requests_to(&server, "GET", "/contents/geps/gep-10").await;
    assert!(
        (1..=20).contains(&related_reads),
        "{related_reads} reads for 500 named GEPs"
    );
    assert_eq!(github.state().check_runs.len(), 1, "the check still runs");
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

/// With a token GitHub refuses check runs; the result still reaches the pull request: the
/// commit status `gep/template` and the findings in a comment, beside the lead review's
/// comment and status.
#[tokio::test]
async fn with_a_token_the_template_result_is_a_commit_status_and_a_comment_with_the_findings() {
    let github = FakeGitHub::default();
    let files = vec![
        "geps/gep-4242/index.md".to_string(),
        "geps/gep-4242/metadata.yaml".to_string(),
    ];
    github
        .state()
        .pulls
        .insert(PR, ("someone".into(), "h1".into(), files));
    commit(&github, "base", "Provisional", "");
    commit(&github, "h1", "Standard", "");
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    bot.deliver("d-1", "pull_request", &synchronize("h1", "opened"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    assert!(github.state().check_runs.is_empty());
    assert_eq!(
        requests_to(&server, "POST", "/check-runs").await,
        0,
        "not even tried"
    );
    let (state, description) = github.last_status("gep/template").expect("gep/template");
    assert_eq!(state, "failure");
    assert!(
        description.starts_with("1 error in 1 GEP") || description.contains("errors in 1 GEP"),
        "{description}"
    );
    assert!(github.last_status("gep/lead-review").is_some());
    assert_eq!(
        github
            .comments_marked(PR, "<!-- gep-bot:lead-review -->")
            .len(),
        1
    );
    let comments = github.comments_marked(PR, "<!-- gep-bot:gep-template -->");
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("### GEP template"), "{}", comments[0]);
    assert!(comments[0].contains("GEP050"), "{}", comments[0]);
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

/// A repository as large as GitHub's limits: an index.md over 1 MB (the contents API's JSON
/// form refuses it), and a `geps/` folder of 1,200 GEPs (the contents API lists 1,000), one of
/// them past the first 1,000 named by the changed GEP. And a check of the same head again
/// reads what it read before conditionally: GitHub answers 304, which costs no rate limit.
#[tokio::test]
async fn large_files_and_folders_are_read_whole_and_repeated_reads_are_conditional() {
    let github = FakeGitHub::default();
    let files = vec![
        "geps/gep-4242/index.md".to_string(),
        "geps/gep-4242/metadata.yaml".to_string(),
    ];
    github
        .state()
        .pulls
        .insert(PR, ("someone".into(), "h1".into(), files));
    let long = format!(
        "\n## Notes\n\n{}\n",
        "Mesh retries, explained at length. ".repeat(35_000)
    );
    for sha in ["base", "h1"] {
        commit(&github, sha, "Provisional", &long);
        let mut state = github.state();
        for n in 10_000..11_200 {
            state.files.insert(
                (sha.into(), format!("geps/gep-{n}/metadata.yaml")),
                metadata("Provisional").replace("4242", &n.to_string()),
            );
        }
        state.files.insert(
            (sha.into(), "geps/gep-4242/metadata.yaml".into()),
            metadata("Provisional")
                + "relationships:\n  seeAlso:\n    - number: 11150\n      name: GEP 11150\n",
        );
    }
    assert!(
        github.state().files[&("h1".to_string(), "geps/gep-4242/index.md".to_string())].len()
            > 1024 * 1024
    );
    let server = github.serve().await;
    let bot = Bot::start(&server, common::app_credentials()).await;
    bot.deliver("d-1", "pull_request", &synchronize("h1", "opened"))
        .await;
    bot.drained(Duration::from_secs(20)).await;
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    let runs = github.state().check_runs.clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion, "success", "{:?}", runs[0].annotations);
    assert!(!runs[0].annotations.iter().any(|a| a["title"] == "GEP040"));

    bot.deliver("d-2", "pull_request", &synchronize("h1", "reopened"))
        .await;
    bot.drained(Duration::from_secs(20)).await;
    let conditional = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.headers.contains_key("if-none-match"))
        .count();
    assert!(conditional >= 5, "{conditional} conditional reads");
    assert_eq!(github.state().check_runs.len(), 1);
    bot.stop().await;
}

/// What the author waits for comes first: the check run is the first write of a GEP pull
/// request's plan, then the lead review's status comment, its commit status, the labels, the
/// review requests; and
/// the reads made while gathering are no more than the capabilities need (each made once).
#[tokio::test]
async fn the_check_run_is_the_first_write_and_each_read_is_made_once() {
    let github = FakeGitHub::default();
    let files = vec![
        "geps/gep-4242/index.md".to_string(),
        "geps/gep-4242/metadata.yaml".to_string(),
        // A mesh pull request too: the mesh label is planned first of all, and written last.
        "conformance/tests/mesh/retries.go".to_string(),
    ];
    github
        .state()
        .pulls
        .insert(PR, ("someone".into(), "h1".into(), files));
    commit(&github, "base", "Provisional", "");
    commit(&github, "h1", "Provisional", "\n## Notes\n\nMore.\n");
    let server = github.serve().await;
    let bot = Bot::start(&server, common::app_credentials()).await;
    bot.deliver("d-1", "pull_request", &synchronize("h1", "opened"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let requests = server.received_requests().await.unwrap();
    let writes: Vec<String> = requests
        .iter()
        .filter(|r| r.method.as_str() != "GET" && !r.url.path().ends_with("/access_tokens"))
        .map(|r| {
            let path = r.url.path();
            let what = path
                .rsplit('/')
                .find(|p| p.parse::<u64>().is_err())
                .unwrap_or(path);
            format!("{} {what}", r.method)
        })
        .collect();
    assert_eq!(
        writes,
        [
            "POST check-runs",
            "POST comments",
            "POST h1",
            "POST labels",
            "POST labels",
            // One review request per lead who has yet to vote, last.
            "POST requested_reviewers",
            "POST requested_reviewers",
            "POST requested_reviewers",
            "POST requested_reviewers"
        ],
        "{writes:?}"
    );
    // Every read before the first write once: the capabilities gather side by side from one
    // memo. (After it, the executor looks for its own comment: a read of its own.)
    let first_write = requests
        .iter()
        .position(|r| r.method.as_str() != "GET" && !r.url.path().ends_with("/access_tokens"))
        .unwrap();
    let mut gets: Vec<String> = requests[..first_write]
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.url.to_string())
        .collect();
    let all = gets.len();
    gets.sort();
    gets.dedup();
    assert_eq!(gets.len(), all, "a read made twice: {gets:#?}");
    bot.stop().await;
}
