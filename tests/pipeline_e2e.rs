//! End to end against a mock GitHub (wiremock) that answers like the real one: deliveries go in
//! through the router, the worker runs the handlers, and the mock records exactly which calls
//! reached GitHub. Failures (502, rate limits) are answered as GitHub answers them.

mod common;

use common::bot::Bot;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gep_bot::machinery::github::Credentials;
use gep_bot::machinery::pipeline::now_ms;
use gep_bot::machinery::store::Store;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPO: &str = "Codertocat/Hello-World";
const INSTALLATION: u64 = 7;

/// A GitHub whose first label call on issue 1 gets `failure`, and every later one succeeds.
async fn failing_once(failure: ResponseTemplate) -> MockServer {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(labels_path(1)))
        .respond_with(failure)
        .up_to_n_times(1)
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path(labels_path(1)))
        .respond_with(labels_response())
        .mount(&github)
        .await;
    github
}

/// A bot on a token against a GitHub that answers the first label call on issue 1 with `failure`.
async fn token_bot_failing_once(failure: ResponseTemplate) -> (MockServer, Bot) {
    let github = failing_once(failure).await;
    let bot = Bot::start(&github, Credentials::Token("ghp_test".into())).await;
    (github, bot)
}

/// A GitHub that takes labels on issue 1, and a bot with a token for it.
async fn token_bot_labelling_issue_1() -> (MockServer, Bot) {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(labels_path(1)))
        .respond_with(labels_response())
        .mount(&github)
        .await;
    let bot = Bot::start(&github, Credentials::Token("ghp_test".into())).await;
    (github, bot)
}

/// Delivers issue 1, whose title mentions the mesh.
async fn deliver_mesh_issue(bot: &Bot) {
    bot.deliver(
        "d-1",
        "issues",
        &common::issue_body(1, "mesh", INSTALLATION),
    )
    .await;
}

fn labels_path(number: u64) -> String {
    format!("/repos/{REPO}/issues/{number}/labels")
}

fn labels_response() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!([{
        "id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "url": "https://api.github.com/repos/Codertocat/Hello-World/labels/area/mesh",
        "name": "area/mesh", "description": "Mesh work", "color": "f29513", "default": false
    }]))
}

/// The label writes (POST) on issue `number`.
async fn label_calls(github: &MockServer, number: u64) -> Vec<wiremock::Request> {
    label_requests(github, number, "POST").await
}

async fn label_requests(github: &MockServer, number: u64, verb: &str) -> Vec<wiremock::Request> {
    github
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == labels_path(number) && r.method.as_str() == verb)
        .collect()
}

#[tokio::test]
async fn a_mesh_issue_gets_exactly_one_label_call_and_a_non_mesh_issue_none() {
    let (github, bot) = token_bot_labelling_issue_1().await;
    let mesh = common::issue_body(
        1,
        "Service mesh: HTTPRoute retries for east/west traffic",
        INSTALLATION,
    );
    let other = common::issue_body(2, "Typo in the README", INSTALLATION);
    assert_eq!(
        bot.deliver("d-1", "issues", &mesh).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        bot.deliver("d-2", "issues", &other).await.0,
        StatusCode::ACCEPTED
    );
    // GitHub redelivers the first one: nothing runs twice.
    assert_eq!(bot.deliver("d-1", "issues", &mesh).await.0, StatusCode::OK);
    bot.drained(Duration::from_secs(10)).await;
    let calls = label_calls(&github, 1).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body_json::<serde_json::Value>().unwrap(),
        json!({ "labels": ["area/mesh"] })
    );
    assert_eq!(calls[0].headers["authorization"], "Bearer ghp_test");
    assert!(label_calls(&github, 2).await.is_empty());
    assert_eq!(
        github.received_requests().await.unwrap().len(),
        1,
        "no other call reached GitHub"
    );
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
}

#[tokio::test]
async fn an_app_installation_token_is_fetched_once_and_reused() {
    let github = MockServer::start().await;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Mock::given(method("POST"))
        .and(path(format!(
            "/app/installations/{INSTALLATION}/access_tokens"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
            "expires_at": expires,
            "permissions": { "issues": "write", "metadata": "read" },
            "repository_selection": "all"
        })))
        .expect(1)
        .mount(&github)
        .await;
    for number in [1, 2] {
        Mock::given(method("POST"))
            .and(path(labels_path(number)))
            .and(header(
                "authorization",
                "Bearer ghs_16C7e42F292c6912E7710c838347Ae178B4a",
            ))
            .respond_with(labels_response())
            .expect(1)
            .mount(&github)
            .await;
    }
    let bot = Bot::start(&github, common::app_credentials()).await;
    bot.deliver(
        "d-1",
        "issues",
        &common::issue_body(1, "GAMMA meeting notes", INSTALLATION),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    bot.deliver(
        "d-2",
        "issues",
        &common::issue_body(2, "Sidecar injection and GAMMA", INSTALLATION),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    let token_call = github
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/access_tokens"))
        .unwrap();
    let jwt = token_call.headers["authorization"]
        .to_str()
        .unwrap()
        .trim_start_matches("Bearer ");
    assert_eq!(
        jwt.split('.').count(),
        3,
        "the App authenticates with a JWT"
    );
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
    github.verify().await;
}

#[tokio::test]
async fn a_502_is_retried_and_the_label_is_added_once() {
    let (github, bot) = token_bot_failing_once(
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
    )
    .await;
    deliver_mesh_issue(&bot).await;
    bot.drained(Duration::from_secs(10)).await;
    let calls = label_calls(&github, 1).await;
    assert_eq!(
        calls.len(),
        2,
        "one failed call, then one that succeeded; nothing after"
    );
    // The retry looked first whether the failed call had added the label after all (a 502 may
    // come after GitHub did the work): one read, the only one.
    assert_eq!(label_requests(&github, 1, "GET").await.len(), 1);
    let counts = bot.intake.store.counts().await.unwrap();
    assert_eq!(counts.dead, 0);
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
}

#[tokio::test]
async fn a_primary_rate_limit_waits_until_reset_without_blocking_intake() {
    let reset = chrono::Utc::now().timestamp() + 4;
    let limited = json!({ "message": "API rate limit exceeded for installation ID 7.", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" });
    let (github, bot) = token_bot_failing_once(
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
            .set_body_json(limited),
    )
    .await;
    deliver_mesh_issue(&bot).await;
    // While the job waits for the reset, deliveries are still acknowledged at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, took) = bot
        .deliver(
            "d-2",
            "issues",
            &common::issue_body(3, "docs", INSTALLATION),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        took < Duration::from_millis(1500),
        "intake took {took:?} while a job waited for the reset"
    );
    bot.drained(Duration::from_secs(15)).await;
    let calls = label_calls(&github, 1).await;
    assert_eq!(calls.len(), 2);
    assert!(
        chrono::Utc::now().timestamp() >= reset,
        "the retry waited for X-RateLimit-Reset"
    );
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_then_succeeds() {
    let secondary = json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." });
    let (github, bot) = token_bot_failing_once(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_json(secondary),
    )
    .await;
    let started = Instant::now();
    deliver_mesh_issue(&bot).await;
    bot.drained(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(label_calls(&github, 1).await.len(), 2);
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_action_leaves_a_dead_job_that_can_be_replayed() {
    let (github, bot) = token_bot_failing_once(
        ResponseTemplate::new(403)
            .set_body_json(json!({ "message": "Resource not accessible by integration" })),
    )
    .await;
    deliver_mesh_issue(&bot).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 1);
    // The operator fixes the App's permissions and replays the dead jobs.
    assert_eq!(bot.intake.store.requeue_dead(now_ms()).await.unwrap(), 1);
    bot.intake.queued.notify_one();
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    assert_eq!(label_calls(&github, 1).await.len(), 2);
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
}

#[tokio::test]
async fn a_mesh_discussion_is_labelled_through_graphql() {
    use wiremock::matchers::body_string_contains;
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("label(name: $label)"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "repository": { "label": { "id": "LA_kwDOABCD" } } }
        })))
        .expect(1)
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("addLabelsToLabelable"))
        .and(body_string_contains("LA_kwDOABCD"))
        .and(body_string_contains("MDEwOkRpc2N1c3Npb24zMjk5NjE0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "addLabelsToLabelable": { "clientMutationId": null } }
        })))
        .expect(1)
        .mount(&github)
        .await;
    let bot = Bot::start(&github, Credentials::Token("ghp_test".into())).await;
    let mut body: serde_json::Value =
        serde_json::from_slice(&common::webhook_body("discussion", "created.payload.json"))
            .unwrap();
    body["discussion"]["title"] = "How does GAMMA route east-west traffic?".into();
    bot.deliver("d-1", "discussion", &serde_json::to_vec(&body).unwrap())
        .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    common::openapi::assert_all_described(&github).await;
    bot.stop().await;
    github.verify().await;
}

/// A backlog of the same news: 1,000 deliveries of one mesh issue, none of whose payloads shows
/// the label (all were sent before the bot wrote it). The first job adds it; every later job
/// sees what the bot wrote and sends nothing.
#[tokio::test]
async fn a_thousand_identical_deliveries_make_one_label_call() {
    let (github, bot) = token_bot_labelling_issue_1().await;
    let mesh = common::issue_body(1, "Service mesh: retries", INSTALLATION);
    for i in 0..1000 {
        assert_eq!(
            bot.deliver(&format!("backlog-{i}"), "issues", &mesh)
                .await
                .0,
            StatusCode::ACCEPTED
        );
    }
    bot.drained(Duration::from_secs(60)).await;
    assert_eq!(label_calls(&github, 1).await.len(), 1);
    assert_eq!(github.received_requests().await.unwrap().len(), 1);
    // A person removes it: the bot remembers the label is off, and suppressed.
    let mut unlabeled: serde_json::Value = serde_json::from_slice(&mesh).unwrap();
    unlabeled["action"] = json!("unlabeled");
    unlabeled["label"] = json!({ "name": "area/mesh", "id": 1, "node_id": "L", "url": "https://api.github.com/repos/Codertocat/Hello-World/labels/area%2Fmesh", "color": "f29513", "default": false, "description": null });
    let unlabeled = serde_json::to_vec(&unlabeled).unwrap();
    bot.deliver("removed", "issues", &unlabeled).await;
    bot.deliver("after-removal", "issues", &mesh).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(label_calls(&github, 1).await.len(), 1, "not added back");
    let memory = bot
        .intake
        .store
        .label_memory(REPO, 1, "area/mesh")
        .await
        .unwrap();
    assert!(memory.suppressed && !memory.on, "{memory:?}");
    bot.stop().await;
}
