//! Lead review end to end: a GEP pull request through real-shaped events (from the octokit
//! fixtures), against a GitHub that keeps its comments, labels and statuses.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::{FakeGitHub, requests_to};
use gep_bot::machinery::github::Credentials;
use gep_bot::machinery::store::Store;
use serde_json::{Value, json};

const PR: u64 = 3949;

fn fixture(event: &str, file: &str) -> Value {
    serde_json::from_slice(&common::webhook_body(event, file)).unwrap()
}

fn pull_request_fields(body: &mut Value, github: &FakeGitHub) {
    let labels: Vec<Value> = github
        .labels(PR)
        .iter()
        .map(|l| json!({ "name": l }))
        .collect();
    let pr = &mut body["pull_request"];
    pr["number"] = PR.into();
    pr["user"] = json!({ "login": "mikemorris", "type": "User" });
    pr["head"]["sha"] = "5f7c0b4e3a".into();
    pr["labels"] = labels.into();
    body["installation"] = json!({ "id": 7 });
}

fn opened(github: &FakeGitHub) -> Vec<u8> {
    let mut body = fixture("pull_request", "opened.payload.json");
    pull_request_fields(&mut body, github);
    body["sender"] = json!({ "login": "mikemorris", "type": "User" });
    serde_json::to_vec(&body).unwrap()
}

fn reviewed(github: &FakeGitHub, lead: &str, state: &str) -> Vec<u8> {
    let mut body = fixture("pull_request_review", "submitted.payload.json");
    pull_request_fields(&mut body, github);
    body["review"]["user"] = json!({ "login": lead, "type": "User" });
    body["review"]["state"] = state.into();
    body["sender"] = json!({ "login": lead, "type": "User" });
    serde_json::to_vec(&body).unwrap()
}

fn commented(who: &str, text: &str) -> Vec<u8> {
    let mut body = common::comment_body(PR, who, text);
    body["issue"]["pull_request"] =
        json!({ "url": format!("https://api.github.com/repos/Codertocat/Hello-World/pulls/{PR}") });
    serde_json::to_vec(&body).unwrap()
}

fn status_comments(github: &FakeGitHub) -> Vec<String> {
    github.comments_marked(PR, "<!-- gep-bot:lead-review -->")
}

/// A GitHub with GEP pull request `PR` open, and a bot that talks to it.
/// The repository's `OWNERS_ALIASES` is upstream's real one.
fn with_upstream_owners(github: &FakeGitHub) {
    let owners =
        std::fs::read_to_string(common::shared().join("fixtures/gateway-api/OWNERS_ALIASES"))
            .unwrap();
    github
        .state()
        .files
        .insert(("".into(), "OWNERS_ALIASES".into()), owners);
}

async fn gep_pull_request() -> (FakeGitHub, wiremock::MockServer, Bot) {
    let github = FakeGitHub::default();
    github.state().pulls.insert(
        PR,
        (
            "mikemorris".into(),
            "5f7c0b4e3a".into(),
            vec!["geps/gep-3949/index.md".into()],
        ),
    );
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    (github, server, bot)
}

#[tokio::test]
async fn a_gep_pull_request_goes_from_pending_to_approved_with_one_comment_edited_in_place() {
    // The server answers for as long as it is held.
    let (github, _server, bot) = gep_pull_request().await;
    let mut n = 0;
    let mut deliver = async |event: &str, body: Vec<u8>| {
        n += 1;
        bot.deliver(&format!("d-{n}"), event, &body).await;
        bot.drained(Duration::from_secs(10)).await;
    };

    deliver("pull_request", opened(&github)).await;
    assert_eq!(
        github.last_status("gep/lead-review"),
        Some(("pending".into(), "needs 2 more lead approvals".into()))
    );
    assert_eq!(github.labels(PR), ["gep/needs-lead-review"]);
    assert_eq!(status_comments(&github).len(), 1);

    deliver(
        "pull_request_review",
        reviewed(&github, "howardjohn", "approved"),
    )
    .await;
    let comments = status_comments(&github);
    assert_eq!(comments.len(), 1, "edited, not duplicated");
    assert!(
        comments[0].contains("| howardjohn | ✅ approved |"),
        "{}",
        comments[0]
    );
    assert_eq!(
        github.last_status("gep/lead-review").unwrap().1,
        "needs 1 more lead approval"
    );

    deliver(
        "pull_request_review",
        reviewed(&github, "kflynn", "changes_requested"),
    )
    .await;
    assert_eq!(
        github.last_status("gep/lead-review"),
        Some((
            "pending".into(),
            "needs 1 more lead approval, 1 lead requested changes".into()
        ))
    );

    deliver(
        "pull_request_review",
        reviewed(&github, "kflynn", "approved"),
    )
    .await;
    assert_eq!(
        github.last_status("gep/lead-review"),
        Some(("success".into(), "2/2 lead approvals".into()))
    );
    assert_eq!(github.labels(PR), ["gep/lead-approved"]);

    deliver(
        "issue_comment",
        commented("howardjohn", "Wait:\n/gep concern conformance scope"),
    )
    .await;
    assert_eq!(
        github.last_status("gep/lead-review"),
        Some(("pending".into(), "1 open concern".into()))
    );
    assert_eq!(github.labels(PR), ["gep/needs-lead-review"]);
    assert!(status_comments(&github)[0].contains("[conformance scope]"));

    deliver(
        "issue_comment",
        commented("kflynn", "/gep resolve conformance scope"),
    )
    .await;
    assert_eq!(github.last_status("gep/lead-review").unwrap().0, "success");

    deliver("issue_comment", commented("robscott", "/gep approve")).await;
    let replies: Vec<_> = github
        .comments_on(PR)
        .into_iter()
        .filter(|c| {
            c.body
                .starts_with("Only the GEP leads may use `/gep approve`")
        })
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        status_comments(&github).len(),
        1,
        "one status comment through it all"
    );
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

#[tokio::test]
async fn an_event_that_changes_nothing_in_the_review_writes_neither_comment_nor_status_again() {
    let (github, server, bot) = gep_pull_request().await;
    bot.deliver("d-1", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    let writes = async || {
        (
            requests_to(&server, "POST", "/statuses/").await,
            requests_to(&server, "PATCH", "/issues/comments/").await
                + requests_to(&server, "POST", "/comments").await,
        )
    };
    // With a token the template result is a commit status and a comment too, beside the
    // review's.
    assert_eq!(writes().await, (2, 2), "the first event publishes both");

    // A review by someone who is not a lead, and the same event delivered again: the review
    // is as it was, and GitHub already shows it.
    bot.deliver(
        "d-2",
        "pull_request_review",
        &reviewed(&github, "octocat", "commented"),
    )
    .await;
    bot.deliver("d-3", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(writes().await, (2, 2), "nothing written again");

    // A lead's approval changes both, and both are written.
    bot.deliver(
        "d-4",
        "pull_request_review",
        &reviewed(&github, "howardjohn", "approved"),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(writes().await, (3, 3));
    assert_eq!(
        github.last_status("gep/lead-review").unwrap().1,
        "needs 1 more lead approval"
    );
    assert_eq!(status_comments(&github).len(), 1);
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

/// A non-lead's `/gep approve` is answered, and the status comment written after the answer
/// meets a secondary rate limit: the job waits and retries, and the answer is not posted twice.
#[tokio::test]
async fn a_job_hit_by_a_rate_limit_on_its_second_action_posts_its_first_reply_once() {
    let (github, server, bot) = gep_pull_request().await;
    github
        .state()
        .failures
        .push(common::github::Failure::secondary_rate_limit(
            "POST",
            &format!("/issues/{PR}/comments"),
            1,
        ));
    bot.deliver(
        "c-1",
        "issue_comment",
        &commented("robscott", "/gep approve"),
    )
    .await;
    bot.drained(Duration::from_secs(15)).await;
    assert!(github.state().failures.is_empty(), "the rate limit was met");
    let replies: Vec<String> = github
        .comments_on(PR)
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b.contains("Only the GEP leads may use"))
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(status_comments(&github).len(), 1);
    assert!(github.last_status("gep/lead-review").is_some());
    assert_eq!(
        requests_to(&server, "POST", &format!("/issues/{PR}/comments")).await,
        3
    );
    assert_eq!(bot.intake.store.counts().await.unwrap().dead, 0);
    bot.stop().await;
}

/// The leads are the repository's: upstream's `OWNERS_ALIASES` (the real file) names kflynn
/// and LiorLieberman, and keithmattix only as emeritus.
#[tokio::test]
async fn the_leads_in_the_repositorys_owners_aliases_reach_quorum_and_an_emeritus_does_not() {
    let (github, _server, bot) = gep_pull_request().await;
    with_upstream_owners(&github);
    bot.deliver("d-1", "pull_request", &opened(&github)).await;
    bot.deliver(
        "d-2",
        "pull_request_review",
        &reviewed(&github, "keithmattix", "approved"),
    )
    .await;
    bot.deliver(
        "d-3",
        "pull_request_review",
        &reviewed(&github, "kflynn", "approved"),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(github.last_status("gep/lead-review").unwrap().0, "pending");
    bot.deliver(
        "d-4",
        "pull_request_review",
        &reviewed(&github, "LiorLieberman", "approved"),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(github.last_status("gep/lead-review").unwrap().0, "success");
    let comment = &status_comments(&github)[0];
    assert!(
        comment.contains("Leads (from `gateway-api-mesh-leads` in `OWNERS_ALIASES`)"),
        "{comment}"
    );
    assert!(!comment.contains("keithmattix"), "{comment}");
    bot.stop().await;
}

/// Leads learn of a GEP pull request in their GitHub review queue: the bot requests a review from
/// each lead of the repository's `OWNERS_ALIASES` who has yet to vote (never the author), once;
/// a redelivery, a new push or a lead's review asks nobody again.
#[tokio::test]
async fn the_leads_who_have_not_voted_are_asked_for_a_review_once() {
    let (github, server, bot) = gep_pull_request().await;
    with_upstream_owners(&github);
    bot.deliver("d-1", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    let asked = github
        .state()
        .requested_reviewers
        .get(&PR)
        .cloned()
        .unwrap_or_default();
    // gateway-api-mesh-leads: howardjohn, mikemorris (the author, not asked), kflynn,
    // LiorLieberman.
    assert_eq!(asked, ["howardjohn", "kflynn", "liorlieberman"]);
    let comment = &status_comments(&github)[0];
    assert!(
        comment.contains("| kflynn | ⏳ pending, review requested |"),
        "{comment}"
    );

    bot.deliver("d-1", "pull_request", &opened(&github)).await;
    bot.deliver(
        "d-2",
        "pull_request_review",
        &reviewed(&github, "kflynn", "approved"),
    )
    .await;
    bot.deliver("d-3", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(
        github.state().requested_reviewers[&PR],
        ["howardjohn", "kflynn", "liorlieberman"],
        "asked once each"
    );
    common::openapi::assert_all_described(&server).await;
    bot.stop().await;
}

/// GitHub refuses a review request for someone who is not a collaborator (422): the other leads
/// are asked all the same, the refused one is not asked again, and the status comment says why
/// in the same job.
#[tokio::test]
async fn a_lead_github_will_not_ask_is_named_in_the_status_comment_and_not_asked_again() {
    let (github, server, bot) = gep_pull_request().await;
    with_upstream_owners(&github);
    github.state().not_collaborators.push("kflynn".into());
    bot.deliver("d-1", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(
        github.state().requested_reviewers[&PR],
        ["howardjohn", "liorlieberman"]
    );
    let comments = status_comments(&github);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains(
            "| kflynn | ⏳ pending; GitHub refused the review request (Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the Codertocat/Hello-World repository.) |"
        ),
        "{}",
        comments[0]
    );
    assert!(
        comments[0].contains("| howardjohn | ⏳ pending, review requested |"),
        "{}",
        comments[0]
    );
    // Another event on the pull request: nobody is asked again, the comment still says it.
    bot.deliver("d-2", "pull_request", &opened(&github)).await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(
        requests_to(&server, "POST", "/requested_reviewers").await,
        3,
        "one request per lead, the refused one not retried"
    );
    assert!(status_comments(&github)[0].contains("| kflynn | ⏳ pending; GitHub refused"));
    let dead = bot.intake.store.counts().await.unwrap().dead;
    assert_eq!(dead, 0, "a refusal fails no job");
    bot.stop().await;
}
