//! Who may nominate, what a nomination records, and the one reply either way.

use super::*;
use crate::capabilities::capability::test_now;
use crate::core::{Actor, Association, EventAction, EventKind, MemoryRepo, Subject, SubjectKind};

fn comment(kind: SubjectKind, who: &str, association: Association, body: &str) -> Event {
    let person = Actor::user(who);
    let mut event = Event::new(EventKind::IssueComment, EventAction::Created, "o/r")
        .sent_by(person.clone())
        .on(Subject::new(kind, 42, Actor::user("author")).node("D_42"))
        .with_comment(7, body, None)
        .by(association);
    event.at_ms = Some(1_000);
    event
}

async fn run(event: &Event) -> Plan {
    let store = crate::machinery::store::SqliteStore::open("sqlite::memory:")
        .await
        .unwrap();
    Nominate::new(&ReviewRules::default())
        .run(event, &MemoryRepo::default(), &store, test_now())
        .await
        .unwrap()
}

fn recorded(plan: &Plan) -> Vec<(ActivityKind, u64, Nomination)> {
    plan.state
        .iter()
        .filter_map(|change| match change {
            StateChange::Record(a) => Some((
                a.kind,
                a.number,
                serde_json::from_str(&a.detail).unwrap(),
            )),
            _ => None,
        })
        .collect()
}

fn replies(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply { body, .. } | Action::DiscussionReply { body, .. } => {
                Some(body.as_str())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_member_nominates_with_a_reason_and_is_answered_once() {
    let plan = run(&comment(
        SubjectKind::Issue,
        "robscott",
        Association::Member,
        "Worth a look.\n/gep nominate the retry budget @everyone\n",
    ))
    .await;
    assert_eq!(
        recorded(&plan),
        [(
            ActivityKind::Nominated,
            42,
            Nomination {
                item: "issue".into(),
                by: "robscott".into(),
                reason: "the retry budget @everyone".into(),
                comment: 7,
            }
        )]
    );
    let said = replies(&plan);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("On the agenda of the next meeting: the retry budget @\u{2060}everyone."), "{}", said[0]);
    assert!(said[0].contains("`/gep nominate cancel`"), "{}", said[0]);
}

#[tokio::test]
async fn owners_collaborators_and_leads_may_and_others_get_one_refusal() {
    for association in [Association::Owner, Association::Collaborator] {
        let plan = run(&comment(SubjectKind::PullRequest, "x", association, "/gep nominate")).await;
        assert_eq!(recorded(&plan).len(), 1);
        assert_eq!(recorded(&plan)[0].2.item, "pull_request");
    }
    // A lead by the repository's rules, whatever GitHub calls them here.
    let lead = run(&comment(SubjectKind::Issue, "mikemorris", Association::Contributor, "/gep nominate")).await;
    assert_eq!(recorded(&lead).len(), 1);
    for association in [
        Association::Contributor,
        Association::FirstTimer,
        Association::None,
        Association::of(""),
    ] {
        let plan = run(&comment(
            SubjectKind::Issue,
            "passer-by",
            association.clone(),
            "/gep nominate please\n/gep nominate cancel\n/gep nominate again",
        ))
        .await;
        assert!(recorded(&plan).is_empty(), "{association}");
        let said = replies(&plan);
        assert_eq!(said.len(), 1, "{association}: {said:?}");
        assert!(
            said[0].contains("is for GEP leads, members of the organization and collaborators"),
            "{}",
            said[0]
        );
    }
}

#[tokio::test]
async fn the_last_word_of_a_comment_counts_and_a_discussion_is_answered_in_place() {
    let plan = run(&comment(
        SubjectKind::Discussion,
        "robscott",
        Association::Member,
        "/gep nominate first\n/gep nominate cancel\n",
    ))
    .await;
    let recorded = recorded(&plan);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].0, ActivityKind::NominationCancelled);
    assert_eq!(recorded[0].2.item, "discussion");
    assert!(matches!(
        plan.actions.as_slice(),
        [Action::DiscussionReply { node_id, body, .. }]
            if node_id == "D_42" && body == "Taken off the next meeting's agenda."
    ));
    // A comment without the command, or a bot's, is not this capability's.
    let nominate = Nominate::new(&ReviewRules::default());
    assert!(!nominate.wants(&comment(SubjectKind::Issue, "x", Association::Member, "/gep status")));
    let mut by_bot = comment(SubjectKind::Issue, "x", Association::Member, "/gep nominate");
    by_bot.comment = Some(Comment::new(7, "/gep nominate".into(), None, Actor { login: "gep-bot[bot]".into(), kind: "Bot".into() }, String::new()));
    assert!(!nominate.wants(&by_bot));
}

#[tokio::test]
async fn a_long_reason_is_kept_short() {
    let long = "why ".repeat(5_000);
    let plan = run(&comment(
        SubjectKind::Issue,
        "robscott",
        Association::Member,
        &format!("/gep nominate {long}"),
    ))
    .await;
    let kept = &recorded(&plan)[0].2.reason;
    assert_eq!(kept.chars().count(), MAX_REASON);
    assert!(long.starts_with(kept.as_str()));
}
