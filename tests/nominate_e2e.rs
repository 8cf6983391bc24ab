//! `/gep nominate` end to end: GitHub's own comment bodies (octokit's fixtures) delivered to a
//! bot on the stand-in GitHub, and the agenda printed by `gep-bot agenda --for` from its store.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::{FakeGitHub, requests_to};
use gep_bot::machinery::github::Credentials;
use serde_json::{Value, json};

const REPO: &str = "Codertocat/Hello-World";

/// An issue comment on `number` by `who`, standing as `association`, written at `at`.
fn issue_comment(number: u64, who: &str, association: &str, text: &str, at: &str) -> Vec<u8> {
    let mut body = common::comment_body(number, who, text);
    body["comment"]["author_association"] = association.into();
    body["comment"]["created_at"] = at.into();
    body["comment"]["id"] = (number * 1000 + at.len() as u64 + text.len() as u64).into();
    serde_json::to_vec(&body).unwrap()
}

/// A comment in discussion 4 (the fixture's), by `who` as `association`, written at `at`.
fn discussion_comment(who: &str, association: &str, text: &str, at: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&common::webhook_body(
        "discussion_comment",
        "created.payload.json",
    ))
    .unwrap();
    body["discussion"]["node_id"] = "D_4".into();
    body["comment"]["body"] = text.into();
    body["comment"]["user"] = json!({ "login": who, "type": "User" });
    body["comment"]["author_association"] = association.into();
    body["comment"]["created_at"] = at.into();
    body["sender"] = json!({ "login": who, "type": "User" });
    body["installation"] = json!({ "id": 7 });
    serde_json::to_vec(&body).unwrap()
}

/// What `gep-bot agenda --for DATE` prints from the bot's store.
fn agenda(bot: &Bot, date: &str) -> String {
    common::on_store(
        &bot.database_url,
        &["agenda", "--for", date, "--repo", REPO],
    )
}

fn bodies(github: &FakeGitHub, number: u64) -> Vec<String> {
    github
        .comments_on(number)
        .into_iter()
        .map(|c| c.body)
        .collect()
}

#[tokio::test]
async fn a_members_nomination_is_on_the_next_agenda_and_an_outsiders_gets_one_refusal() {
    let github = FakeGitHub::default();
    github.state().discussions.insert(4, Vec::new());
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    // The meeting of Monday 2026-12-07 (23:00Z); the one before it was 2026-12-01 16:00Z.
    let deliveries = [
        (
            "member",
            "issue_comment",
            issue_comment(
                12,
                "robscott",
                "MEMBER",
                "/gep nominate retry budgets need a decision",
                "2026-12-02T10:00:00Z",
            ),
        ),
        (
            "outsider",
            "issue_comment",
            issue_comment(
                13,
                "passer-by",
                "NONE",
                "/gep nominate please",
                "2026-12-02T11:00:00Z",
            ),
        ),
        (
            "cancelled",
            "issue_comment",
            issue_comment(
                14,
                "kflynn",
                "COLLABORATOR",
                "/gep nominate",
                "2026-12-02T12:00:00Z",
            ),
        ),
        (
            "cancel",
            "issue_comment",
            issue_comment(
                14,
                "robscott",
                "MEMBER",
                "/gep nominate cancel",
                "2026-12-03T12:00:00Z",
            ),
        ),
        (
            "discussion",
            "discussion_comment",
            discussion_comment(
                "Codertocat",
                "OWNER",
                "/gep nominate mesh naming",
                "2026-12-04T12:00:00Z",
            ),
        ),
    ];
    for (id, event, body) in &deliveries {
        let (status, _) = bot.deliver(id, event, body).await;
        assert_eq!(status, 202, "{id}");
    }
    // GitHub redelivers the outsider's comment: still one refusal.
    bot.deliver("outsider", "issue_comment", &deliveries[1].2)
        .await;
    bot.drained(Duration::from_secs(20)).await;

    let refusal = bodies(&github, 13);
    assert_eq!(refusal.len(), 1, "{refusal:?}");
    assert!(
        refusal[0].contains(
            "`/gep nominate` is for GEP leads, members of the organization and collaborators"
        ),
        "{}",
        refusal[0]
    );
    let acknowledged = bodies(&github, 12);
    assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
    assert!(
        acknowledged[0]
            .contains("On the agenda of the next meeting: retry budgets need a decision."),
        "{}",
        acknowledged[0]
    );
    assert_eq!(bodies(&github, 14).len(), 2, "one answer per command");
    let in_discussion = github.state().discussions[&4].clone();
    assert_eq!(in_discussion.len(), 1, "{in_discussion:?}");
    assert!(
        in_discussion[0]
            .1
            .contains("On the agenda of the next meeting: mesh naming.")
    );
    assert_eq!(requests_to(&server, "POST", "/graphql").await, 1);

    let text = agenda(&bot, "2026-12-07");
    assert!(
        text.contains(
            "### Nominated\n\n- issue #12, by robscott: retry budgets need a decision\n- discussion #4, by Codertocat: mesh naming\n\n"
        ) || text.ends_with(
            "### Nominated\n\n- issue #12, by robscott: retry budgets need a decision\n- discussion #4, by Codertocat: mesh naming\n"
        ),
        "{text}"
    );
    assert!(!text.contains("#13") && !text.contains("#14"), "{text}");
    // The meeting after it: those were discussed, nothing is nominated.
    let next = agenda(&bot, "2026-12-15");
    assert!(next.contains("### Nominated\n\nNone."), "{next}");
    bot.stop().await;
}
