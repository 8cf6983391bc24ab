//! `/gep status` in an issue: the report on the default branch's GEP, with the open pull
//! requests that touch it, in one comment that the next request edits.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::FakeGitHub;
use gep_bot::machinery::github::Credentials;

fn corpus_file(path: &str) -> String {
    std::fs::read_to_string(common::corpus().join(path)).unwrap()
}

fn on_default_branch(github: &FakeGitHub, status: &str) {
    let mut state = github.state();
    let index = corpus_file("gep-3949/index.md")
        .replace("* Status: Implementable", &format!("* Status: {status}"));
    let metadata = corpus_file("gep-3949/metadata.yaml")
        .replace("status: Implementable", &format!("status: {status}"));
    state
        .files
        .insert(("".into(), "geps/gep-3949/index.md".into()), index);
    state
        .files
        .insert(("".into(), "geps/gep-3949/metadata.yaml".into()), metadata);
}

fn asked(who: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&common::comment_body(3949, who, text)).unwrap()
}

fn status_comments(github: &FakeGitHub) -> Vec<String> {
    github.comments_marked(3949, "<!-- gep-bot:gep-status-3949 -->")
}

/// Starts the bot against `github` and asks `/gep status` in issue 3949; there is then one reply.
async fn first_status_request(github: &FakeGitHub) -> (Bot, wiremock::MockServer) {
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    bot.deliver("d-1", "issue_comment", &asked("robscott", "/gep status"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    assert_eq!(status_comments(github).len(), 1);
    (bot, server)
}

#[tokio::test]
async fn gep_status_is_answered_then_answered_again_by_editing_the_same_comment() {
    let github = FakeGitHub::default();
    on_default_branch(&github, "Implementable");
    github.state().pulls.insert(
        12,
        (
            "robscott".into(),
            "h1".into(),
            vec!["geps/gep-3949/index.md".into()],
        ),
    );
    github.state().pulls.insert(
        13,
        (
            "robscott".into(),
            "h2".into(),
            vec!["site-src/index.md".into()],
        ),
    );
    let (bot, _server) = first_status_request(&github).await;
    let replies = status_comments(&github);
    assert!(
        replies[0].contains("### GEP-3949: Mesh Resource"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains("**Status:** Implementable"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains("**Next: Experimental** — needs"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains("**Open pull requests**: #12 (lead review not started)"),
        "{}",
        replies[0]
    );

    on_default_branch(&github, "Experimental");
    bot.deliver(
        "d-2",
        "issue_comment",
        &asked("robscott", "/gep status 3949"),
    )
    .await;
    bot.drained(Duration::from_secs(10)).await;
    let replies = status_comments(&github);
    assert_eq!(replies.len(), 1, "edited, not a second comment");
    assert!(
        replies[0].contains("**Status:** Experimental"),
        "{}",
        replies[0]
    );

    bot.deliver("d-3", "issue_comment", &asked("robscott", "/gep status 77"))
        .await;
    bot.drained(Duration::from_secs(10)).await;
    let missing: Vec<_> = github
        .comments_on(3949)
        .into_iter()
        .filter(|c| c.body.contains("gep-status-77"))
        .collect();
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0]
            .body
            .contains("There is no GEP-77 on the default branch")
    );
    bot.stop().await;
}

/// A large repository: the pull request touching the GEP is the least recently updated of 70
/// open ones (past the first page), and another changes 150 files with the GEP's last (past the
/// first page of its files). Both are found; the 68 others touch other paths.
#[tokio::test]
async fn gep_status_finds_every_open_pull_request_touching_the_gep() {
    let github = FakeGitHub::default();
    on_default_branch(&github, "Implementable");
    {
        let mut state = github.state();
        let pull = |files: Vec<String>| ("someone".to_string(), "sha".to_string(), files);
        state
            .pulls
            .insert(12, pull(vec!["geps/gep-3949/index.md".into()]));
        for number in 100..168 {
            state
                .pulls
                .insert(number, pull(vec![format!("site-src/{number}.md")]));
        }
        let mut many: Vec<String> = (0..149).map(|i| format!("apis/v1/{i}.go")).collect();
        many.push("geps/gep-3949/metadata.yaml".into());
        state.pulls.insert(200, pull(many));
    }
    let (bot, _server) = first_status_request(&github).await;
    let replies = status_comments(&github);
    assert!(
        replies[0].contains(
            "**Open pull requests**: #200 (lead review not started), #12 (lead review not started)\n"
        ),
        "{}",
        replies[0]
    );
    bot.stop().await;
}

/// `/gep status` on upstream's GEP-1731 with upstream's `pkg/features` on the default branch:
/// the reply carries the readiness checklist for Standard, what the default branch can tell
/// (feature names listed and defined, sections), and nothing about implementations, which are
/// not read per request.
#[tokio::test]
async fn gep_status_says_what_the_next_status_still_needs() {
    let github = FakeGitHub::default();
    {
        let mut state = github.state();
        for name in ["index.md", "metadata.yaml"] {
            state.files.insert(
                ("".into(), format!("geps/gep-1731/{name}")),
                corpus_file(&format!("gep-1731/{name}")),
            );
        }
        let features = common::corpus().parent().unwrap().join("pkg/features");
        for entry in std::fs::read_dir(features).unwrap() {
            let path = entry.unwrap().path();
            state.files.insert(
                (
                    "".into(),
                    format!(
                        "pkg/features/{}",
                        path.file_name().unwrap().to_string_lossy()
                    ),
                ),
                std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    let body = serde_json::to_vec(&common::comment_body(1731, "robscott", "/gep status")).unwrap();
    bot.deliver("d-1", "issue_comment", &body).await;
    bot.drained(Duration::from_secs(10)).await;
    let replies = github.comments_marked(1731, "<!-- gep-bot:gep-status-1731 -->");
    assert_eq!(replies.len(), 1);
    let reply = &replies[0];
    assert!(reply.contains("**Ready for Standard?**"), "{reply}");
    assert!(reply.contains("- [x] feature names listed: 5"), "{reply}");
    assert!(
        reply.contains(
            "- [ ] feature names defined in pkg/features: not defined: SupportHTTPRouteRetry"
        ),
        "{reply}"
    );
    assert!(
        reply.contains("`GEP034`"),
        "the constants are findings too: {reply}"
    );
    assert!(
        !reply.contains("implementations pass"),
        "not read, not said: {reply}"
    );
    bot.stop().await;
}
