//! Payloads that try to choose the bot's GitHub endpoint. A signed payload takes the webhook
//! secret, so this is defence in depth; still, a bot holding an installation token must never
//! let input pick the operation it calls.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::FakeGitHub;
use gep_bot::machinery::github::Credentials;
use gep_bot::machinery::store::Store;
use serde_json::Value;

#[tokio::test]
async fn a_repository_name_that_would_steer_a_path_kills_the_job_before_any_call() {
    let github = FakeGitHub::default();
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    let names = [
        "../../user/repos#",
        "Codertocat/Hello-World/forks#",
        "Codertocat/x?per_page=1",
        "Codertocat/%2F..%2F",
    ];
    for (i, name) in names.iter().enumerate() {
        let mut body: Value =
            serde_json::from_slice(&common::issue_body(5, "GAMMA: service mesh routing", 7))
                .unwrap();
        body["repository"]["full_name"] = (*name).into();
        bot.deliver(
            &format!("d-{i}"),
            "issues",
            &serde_json::to_vec(&body).unwrap(),
        )
        .await;
    }
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(
        bot.intake.store.counts().await.unwrap().dead,
        names.len() as i64
    );
    let received = server.received_requests().await.unwrap();
    assert!(
        received.is_empty(),
        "{:?}",
        received
            .iter()
            .map(|r| r.url.to_string())
            .collect::<Vec<_>>()
    );
    bot.stop().await;
}
