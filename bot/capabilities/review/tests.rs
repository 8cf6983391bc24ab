//! Table tests of the lead review: (event, pull request, state) -> (state, actions).

use super::*;
use crate::core::Actor;
use crate::core::event::{Comment, Review};

/// The workstream's first leads: the table tests are about the rules, not today's roster.
fn rules() -> ReviewRules {
    ReviewRules {
        leads: ["howardjohn", "keithmattix", "mikemorris"]
            .map(String::from)
            .to_vec(),
        ..ReviewRules::default()
    }
}

fn pr(labels: &[&str]) -> PullRequest {
    PullRequest {
        repo: "kubernetes-sigs/gateway-api".into(),
        number: 3949,
        author: "mikemorris".into(),
        head_sha: "abc123".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        changed_paths: vec!["geps/gep-3949/index.md".into()],
    }
}

fn person(login: &str) -> Actor {
    Actor::user(login)
}

fn event(name: &str, action: &str) -> Event {
    Event::named(name, action, "kubernetes-sigs/gateway-api")
        .in_installation(1)
        .sent_by(person("someone"))
}

fn review(author: &str, state: &str) -> Event {
    let mut e = event("pull_request_review", "submitted");
    e.sender = person(author);
    e.review = Some(Review {
        author: author.into(),
        state: state.into(),
    });
    e
}

fn comment(author: &str, body: &str) -> Event {
    let mut e = event("issue_comment", "created");
    e.sender = person(author);
    e.comment = Some(Comment::new(
        1,
        body.into(),
        None,
        person(author),
        "https://github.com/kubernetes-sigs/gateway-api/pull/3949#issuecomment-1".into(),
    ));
    e
}

/// Runs events in order, carrying the saved state along; returns the last plan and the state.
fn run(events: &[Event], labels: &[&str]) -> (Plan, ReviewState) {
    let mut state = ReviewState::default();
    let mut last = Plan::default();
    for e in events {
        last = plan(e, &pr(labels), &rules(), &state);
        for change in &last.state {
            if let StateChange::SaveReview { state: saved, .. } = change {
                state = saved.clone();
            }
        }
    }
    (last, state)
}

fn commit_status(plan: &Plan) -> (&str, &str) {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::SetCommitStatus {
                state,
                description,
                context,
                sha,
                ..
            } => {
                assert_eq!((context.as_str(), sha.as_str()), (STATUS_CONTEXT, "abc123"));
                Some((state.as_str(), description.as_str()))
            }
            _ => None,
        })
        .expect("a commit status")
}

fn comment_body(plan: &Plan) -> &str {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::CreateComment { body, marker, .. } => {
                assert_eq!(marker, "<!-- gep-bot:lead-review -->");
                Some(body.as_str())
            }
            _ => None,
        })
        .expect("a status comment")
}

fn replies(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply { body, .. } => Some(body.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_opened_gep_pull_request_needs_lead_review() {
    let (plan, _) = run(&[event("pull_request", "opened")], &[]);
    assert_eq!(
        commit_status(&plan),
        ("pending", "needs 2 more lead approvals")
    );
    assert!(plan.actions.contains(&Action::AddLabels {
        repo: "kubernetes-sigs/gateway-api".into(),
        target: LabelTarget::Issue { number: 3949 },
        labels: vec![NEEDS_REVIEW.into()],
    }));
    let body = comment_body(&plan);
    assert!(
        body.contains("| howardjohn | ⏳ pending, review requested |"),
        "{body}"
    );
    assert!(
        body.contains("| mikemorris | author (does not count) |"),
        "{body}"
    );
    // GitHub review requests for the leads who have yet to vote, never the author: one request
    // each (GitHub refuses a whole request for one reviewer it cannot ask).
    let asked: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::RequestReview { reviewer, .. } => Some(reviewer.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["howardjohn", "keithmattix"]);
}

#[test]
fn a_lead_is_asked_for_a_review_once_and_not_when_the_rules_say_no() {
    let (_, state) = run(&[event("pull_request", "opened")], &[]);
    // The next event asks nobody again, whatever it is.
    let again = plan(&event("pull_request", "synchronize"), &pr(&[]), &rules(), &state);
    assert!(!again.actions.iter().any(|a| matches!(a, Action::RequestReview { .. })));
    let quiet = ReviewRules {
        request_reviews: false,
        ..rules()
    };
    let off = plan(&event("pull_request", "opened"), &pr(&[]), &quiet, &ReviewState::default());
    assert!(!off.actions.iter().any(|a| matches!(a, Action::RequestReview { .. })));
}

#[test]
fn a_pull_request_not_touching_geps_is_left_alone() {
    let mut other = pr(&[]);
    other.changed_paths = vec!["site-src/index.md".into()];
    assert!(
        plan(
            &event("pull_request", "opened"),
            &other,
            &rules(),
            &ReviewState::default()
        )
        .is_empty()
    );
}

#[test]
fn quorum_of_two_approving_reviews_approves() {
    let (plan, state) = run(
        &[
            review("howardjohn", "approved"),
            review("keithmattix", "approved"),
        ],
        &[NEEDS_REVIEW],
    );
    assert_eq!(state.approvals(&rules()), 2);
    assert_eq!(commit_status(&plan), ("success", "2/2 lead approvals"));
    assert!(plan.actions.contains(&Action::RemoveLabel {
        repo: "kubernetes-sigs/gateway-api".into(),
        target: LabelTarget::Issue { number: 3949 },
        label: NEEDS_REVIEW.into(),
    }));
    assert!(comment_body(&plan).contains("**Approved** by 2 of 2 required leads."));
}

#[test]
fn changes_requested_by_a_lead_blocks_until_that_lead_approves() {
    let events = [
        review("howardjohn", "approved"),
        review("keithmattix", "changes_requested"),
    ];
    let (plan, _) = run(&events, &[]);
    assert_eq!(
        commit_status(&plan),
        (
            "pending",
            "needs 1 more lead approval, 1 lead requested changes"
        )
    );
    assert!(comment_body(&plan).contains("| keithmattix | ❌ changes requested |"));
    let mut all = events.to_vec();
    all.push(review("keithmattix", "approved"));
    let (plan, _) = run(&all, &[]);
    assert_eq!(commit_status(&plan).0, "success");
}

#[test]
fn comment_reviews_and_non_leads_do_not_count_nor_does_the_author() {
    let (_, state) = run(
        &[
            review("howardjohn", "commented"),
            review("robscott", "approved"),
            review("mikemorris", "approved"),
        ],
        &[],
    );
    assert_eq!(state.approvals(&rules()), 0);
}

#[test]
fn gep_approve_counts_and_cancel_withdraws() {
    let (plan, state) = run(
        &[
            comment("howardjohn", "/gep approve"),
            comment("keithmattix", "LGTM\n/gep approve"),
        ],
        &[],
    );
    assert_eq!(state.approvals(&rules()), 2);
    assert_eq!(commit_status(&plan).0, "success");
    let (plan, state) = run(
        &[
            comment("howardjohn", "/gep approve"),
            comment("keithmattix", "/gep approve"),
            comment("keithmattix", "/gep approve cancel"),
        ],
        &[],
    );
    assert_eq!(state.approvals(&rules()), 1);
    assert_eq!(commit_status(&plan).0, "pending");
}

#[test]
fn a_concern_blocks_until_resolved_and_links_to_where_it_was_raised() {
    let events = [
        comment("howardjohn", "/gep approve"),
        comment("keithmattix", "/gep approve"),
        comment("howardjohn", "/gep concern naming of the Mesh resource"),
    ];
    let (plan, _) = run(&events, &[]);
    assert_eq!(commit_status(&plan), ("pending", "1 open concern"));
    let body = comment_body(&plan);
    assert!(
        body.contains("- [naming of the Mesh resource](https://github.com/kubernetes-sigs/gateway-api/pull/3949#issuecomment-1) raised by howardjohn"),
        "{body}"
    );
    let mut all = events.to_vec();
    all.push(comment(
        "keithmattix",
        "/gep resolve naming of the Mesh resource",
    ));
    let (plan, state) = run(&all, &[]);
    assert_eq!(commit_status(&plan).0, "success");
    assert!(!state.concerns[0].open);
}

#[test]
fn a_non_lead_gets_one_short_reply_saying_who_may() {
    let (plan, state) = run(&[comment("robscott", "/gep approve")], &[]);
    assert_eq!(state.approvals(&rules()), 0);
    assert_eq!(
        replies(&plan),
        ["Only the GEP leads may use `/gep approve`: howardjohn, keithmattix, mikemorris."]
    );
}

#[test]
fn a_comment_of_many_commands_gets_one_reply_that_says_each_thing_once() {
    let body = "/gep approve\n".repeat(100) + "/gep concern scope\n/gep resolve nothing\n";
    let (plan, state) = run(&[comment("robscott", &body)], &[]);
    assert_eq!(state.approvals(&rules()), 0);
    let replies = replies(&plan);
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = replies[0];
    assert_eq!(reply.matches("`/gep approve`").count(), 1, "{reply}");
    assert!(reply.contains("`/gep concern`"), "{reply}");
    assert!(reply.contains("`/gep resolve`"), "{reply}");
}

#[test]
fn help_and_a_status_request_are_not_the_reviews_business() {
    let (plan, _) = run(&[comment("howardjohn", "/gep help\n/gep status")], &[]);
    assert!(replies(&plan).is_empty());
    let on_pull = |body: &str| {
        let mut e = comment("howardjohn", body);
        e.subject = Some(crate::core::Subject {
            kind: crate::core::event::SubjectKind::PullRequest,
            number: 3949,
            node_id: String::new(),
            title: String::new(),
            body: String::new(),
            labels: Vec::new(),
            author: person("someone"),
        });
        e
    };
    assert!(!concerns_review(&on_pull(
        "/gep status 1686\n/gep help\n/area mesh"
    )));
    assert!(concerns_review(&on_pull("/gep approve")));
}

#[test]
fn commands_in_quotes_and_code_and_from_bots_do_nothing() {
    let (_, state) = run(
        &[comment(
            "howardjohn",
            "> /gep approve\n\n```\n/gep approve\n```",
        )],
        &[],
    );
    assert_eq!(state.approvals(&rules()), 0);
    let mut from_bot = comment("howardjohn", "/gep approve");
    from_bot.sender = Actor {
        login: "gep-bot[bot]".into(),
        kind: "Bot".into(),
    };
    assert!(plan(&from_bot, &pr(&[]), &rules(), &ReviewState::default()).is_empty());
}

#[test]
fn echoed_text_cannot_ping_or_break_the_comment() {
    let (plan, _) = run(
        &[comment(
            "howardjohn",
            "/gep concern @kubernetes-sigs/maintainers | <b>x</b>",
        )],
        &[],
    );
    let body = comment_body(&plan);
    assert!(!body.contains("@kubernetes-sigs"), "{body}");
    assert!(
        body.contains("@\u{2060}kubernetes-sigs/maintainers \\| &lt;b&gt;x&lt;/b&gt;"),
        "{body}"
    );
    assert_eq!(
        crate::domain::text::sanitize(&"x".repeat(10_000), 200)
            .chars()
            .count(),
        201
    );
}

#[test]
fn state_rebuilt_from_history_equals_the_state_built_event_by_event() {
    let history = [
        Happening::Review {
            author: "howardjohn".into(),
            state: "APPROVED".into(),
        },
        Happening::Review {
            author: "keithmattix".into(),
            state: "CHANGES_REQUESTED".into(),
        },
        Happening::Comment {
            author: person("keithmattix"),
            commands: crate::domain::commands::parse("/gep concern scope"),
            url: "u".into(),
        },
        Happening::ReviewDismissed {
            author: "keithmattix".into(),
        },
    ];
    let state = ReviewState::rebuild(&history, &pr(&[]), &rules());
    assert_eq!(state.votes.get("howardjohn"), Some(&Vote::Approved));
    assert_eq!(state.votes.get("keithmattix"), None);
    assert_eq!(state.concerns.len(), 1);
    assert!(!state.is_approved(&rules()));
}

mod gathering {
    use super::*;
    use crate::core::{MemoryPull, MemoryRepo, PullRequestInfo, Subject};
    use crate::machinery::store::{SqliteStore, Store};

    fn on_pull(mut e: Event) -> Event {
        e.subject = Some(Subject {
            kind: crate::core::event::SubjectKind::PullRequest,
            number: 3949,
            node_id: String::new(),
            title: String::new(),
            body: String::new(),
            labels: Vec::new(),
            author: person("mikemorris"),
        });
        e
    }

    fn github() -> MemoryRepo {
        let mut repo = MemoryRepo::default();
        repo.pulls.insert(
            3949,
            MemoryPull {
                info: PullRequestInfo {
                    author: "mikemorris".into(),
                    head_sha: "abc123".into(),
                    labels: Vec::new(),
                },
                files: vec!["geps/gep-3949/index.md".into()],
                history: vec![Happening::Review {
                    author: "howardjohn".into(),
                    state: "APPROVED".into(),
                }],
                open: true,
            },
        );
        repo
    }

    #[tokio::test]
    async fn with_nothing_stored_the_review_is_rebuilt_from_history_and_saved_once() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let repo = github();
        let event = on_pull(comment("keithmattix", "Looks fine."));
        let plan = LeadReview::new(&rules()).run(&event, &repo, &store, crate::capabilities::capability::test_now()).await.unwrap();
        assert!(
            plan.actions.is_empty(),
            "a comment without commands is not a review event"
        );
        let event = on_pull(comment("keithmattix", "/gep approve"));
        let plan = LeadReview::new(&rules()).run(&event, &repo, &store, crate::capabilities::capability::test_now()).await.unwrap();
        let saved = plan.state.iter().find_map(|c| match c {
            StateChange::SaveReview { state, .. } => Some(state.clone()),
            _ => None,
        });
        let saved = saved.expect("the rebuilt review is saved");
        assert_eq!(
            saved.approvals(&rules()),
            2,
            "howardjohn's review and keithmattix's command"
        );
        // files, OWNERS_ALIASES, the pull request (a comment carries no head), the history
        assert_eq!(repo.reads(), 4);
        store.apply(&plan.state).await.unwrap();
        // Stored now: the history is not read again.
        let again = github();
        let event = on_pull(comment("howardjohn", "/gep approve cancel"));
        let plan = LeadReview::new(&rules()).run(&event, &again, &store, crate::capabilities::capability::test_now()).await.unwrap();
        assert_eq!(again.reads(), 3);
        let StateChange::SaveReview { state, .. } = &plan.state[0] else {
            panic!("{plan:?}");
        };
        assert_eq!(state.approvals(&rules()), 1);
    }

    #[tokio::test]
    async fn a_pull_request_that_changes_no_gep_is_not_reviewed() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let mut repo = github();
        repo.pulls.get_mut(&3949).unwrap().files = vec!["site/index.md".into()];
        let event = on_pull(comment("howardjohn", "/gep approve"));
        let plan = LeadReview::new(&rules()).run(&event, &repo, &store, crate::capabilities::capability::test_now()).await.unwrap();
        assert!(plan.is_empty());
        assert_eq!(repo.reads(), 1);
    }
}

#[test]
fn the_repositorys_owners_aliases_name_the_leads_and_say_so() {
    let aliases = "aliases:\n  gateway-api-mesh-leads:\n    - kflynn\n    - LiorLieberman\n  emeritus-gateway-api-mesh-leads:\n    - keithmattix\n";
    let from_repo = rules().with_owners_aliases(Some(aliases));
    assert!(from_repo.is_lead("kflynn") && from_repo.is_lead("liorlieberman"));
    assert!(!from_repo.is_lead("keithmattix"));
    assert_eq!(
        from_repo.leads_from,
        "`gateway-api-mesh-leads` in `OWNERS_ALIASES`"
    );
    // No file, no such alias, or an empty one: the configuration's.
    for text in [
        None,
        Some("aliases:\n  other: [a]\n"),
        Some("aliases:\n  gateway-api-mesh-leads: []\n"),
        Some(": not yaml"),
    ] {
        assert_eq!(
            rules().with_owners_aliases(text).leads,
            rules().leads,
            "{text:?}"
        );
    }
    // A vote stored while someone was a lead stops counting once they are not.
    let mut state = ReviewState::default();
    state.votes.insert("keithmattix".into(), Vote::Approved);
    state.votes.insert("kflynn".into(), Vote::Approved);
    assert_eq!(state.approvals(&rules()), 1);
    assert_eq!(state.approvals(&from_repo), 1);
    state.votes.insert("liorlieberman".into(), Vote::Approved);
    assert!(state.is_approved(&from_repo));
}
