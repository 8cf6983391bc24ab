//! Table tests: (event, state) -> plan.

use super::*;
use crate::core::Actor;
use crate::core::event::{Comment, Subject};
use crate::core::state::{Activity, ActivityKind};

fn person() -> Actor {
    Actor::user("octocat")
}

fn event(name: &str, action: &str, kind: SubjectKind, title: &str, labels: &[&str]) -> Event {
    Event::named(name, action, "kubernetes-sigs/gateway-api")
        .in_installation(7)
        .sent_by(person())
        .on(Subject::new(kind, 42, person())
            .node("D_42")
            .titled(title)
            .labelled(labels))
}

fn comment(mut event: Event, body: &str, previous: Option<&str>) -> Event {
    event.comment = Some(Comment::new(
        9,
        body.into(),
        previous.map(String::from),
        person(),
        String::new(),
    ));
    event
}

fn run(event: &Event, state: IssueState, paths: &[String]) -> Plan {
    let rules = MeshRules::default();
    let matcher = Matcher::new(&rules).unwrap();
    plan(
        event,
        &rules,
        &matcher,
        &Context {
            state,
            changed_paths: paths.to_vec(),
        },
    )
}

fn add_label(target: LabelTarget) -> Action {
    Action::AddLabels {
        repo: "kubernetes-sigs/gateway-api".into(),
        target,
        labels: vec!["area/mesh".into()],
    }
}

fn issue_target() -> LabelTarget {
    LabelTarget::Issue { number: 42 }
}

#[test]
fn a_mesh_issue_gets_the_label_once() {
    let e = event(
        "issues",
        "opened",
        SubjectKind::Issue,
        "HTTPRoute retries for service mesh",
        &[],
    );
    assert_eq!(
        run(&e, IssueState::default(), &[]).actions,
        [add_label(issue_target())]
    );
    let labelled = event(
        "issues",
        "edited",
        SubjectKind::Issue,
        "HTTPRoute retries for service mesh",
        &["area/mesh"],
    );
    assert!(run(&labelled, IssueState::default(), &[]).is_empty());
}

#[test]
fn a_non_mesh_issue_gets_nothing() {
    let e = event(
        "issues",
        "opened",
        SubjectKind::Issue,
        "We are enmeshed in TLS details",
        &[],
    );
    assert!(run(&e, IssueState::default(), &[]).is_empty());
}

#[test]
fn a_pull_request_is_mesh_by_its_changed_paths() {
    let e = event(
        "pull_request",
        "synchronize",
        SubjectKind::PullRequest,
        "Add weight test",
        &[],
    );
    let paths = ["conformance/tests/mesh/weight.go".to_string()];
    assert_eq!(
        run(&e, IssueState::default(), &paths).actions,
        [add_label(issue_target())]
    );
    assert!(run(&e, IssueState::default(), &["site/index.md".to_string()]).is_empty());
}

#[test]
fn discussions_are_labelled_by_node_id() {
    let e = event(
        "discussion",
        "created",
        SubjectKind::Discussion,
        "GAMMA roadmap",
        &[],
    );
    let target = LabelTarget::Discussion {
        number: 42,
        node_id: "D_42".into(),
    };
    assert_eq!(
        run(&e, IssueState::default(), &[]).actions,
        [add_label(target)]
    );
}

#[test]
fn a_label_a_person_removed_is_remembered_and_never_readded() {
    let mut removed = event("issues", "unlabeled", SubjectKind::Issue, "mesh", &[]);
    removed.label = Some("area/mesh".into());
    let plan = run(&removed, IssueState::default(), &[]);
    assert!(plan.actions.is_empty());
    assert_eq!(
        plan.state,
        [
            StateChange::SuppressLabel {
                repo: "kubernetes-sigs/gateway-api".into(),
                number: 42,
                label: "area/mesh".into()
            },
            StateChange::LabelOff {
                repo: "kubernetes-sigs/gateway-api".into(),
                number: 42,
                label: "area/mesh".into()
            }
        ]
    );
    let edited = event("issues", "edited", SubjectKind::Issue, "mesh again", &[]);
    assert!(
        run(
            &edited,
            IssueState {
                label_suppressed: true,
                ..IssueState::default()
            },
            &[]
        )
        .is_empty()
    );
}

#[test]
fn area_mesh_command_adds_and_allows_the_label_again() {
    let e = comment(
        event("issue_comment", "created", SubjectKind::Issue, "TLS", &[]),
        "/area mesh",
        None,
    );
    let plan = run(
        &e,
        IssueState {
            label_suppressed: true,
            ..IssueState::default()
        },
        &[],
    );
    assert_eq!(plan.actions, [add_label(issue_target())]);
    assert!(matches!(plan.state[..], [StateChange::AllowLabel { .. }]));
}

#[test]
fn remove_area_mesh_removes_and_suppresses() {
    let e = comment(
        event(
            "issue_comment",
            "created",
            SubjectKind::Issue,
            "mesh",
            &["area/mesh"],
        ),
        "/remove-area mesh",
        None,
    );
    let plan = run(&e, IssueState::default(), &[]);
    assert_eq!(
        plan.actions,
        [Action::RemoveLabel {
            repo: "kubernetes-sigs/gateway-api".into(),
            target: issue_target(),
            label: "area/mesh".into()
        }]
    );
    assert!(matches!(
        plan.state[..],
        [StateChange::SuppressLabel { .. }]
    ));
}

#[test]
fn a_comment_of_many_area_commands_writes_the_label_once_as_its_last_one_asks() {
    let repeated = comment(
        event("issue_comment", "created", SubjectKind::Issue, "TLS", &[]),
        &"/area mesh\n".repeat(50),
        None,
    );
    let plan = run(&repeated, IssueState::default(), &[]);
    assert_eq!(plan.actions, [add_label(issue_target())]);
    assert!(matches!(plan.state[..], [StateChange::AllowLabel { .. }]));

    let changed_mind = comment(
        event("issue_comment", "created", SubjectKind::Issue, "TLS", &[]),
        &("/area mesh\n/remove-area mesh\n".repeat(20) + "/area mesh\n"),
        None,
    );
    let plan = run(&changed_mind, IssueState::default(), &[]);
    assert_eq!(plan.actions, [add_label(issue_target())]);
    assert!(matches!(plan.state[..], [StateChange::AllowLabel { .. }]));
}

#[test]
fn an_edited_comment_runs_only_new_commands_and_quotes_do_nothing() {
    let e = comment(
        event("issue_comment", "edited", SubjectKind::Issue, "x", &[]),
        "/area mesh\nmore",
        Some("/area mesh"),
    );
    assert!(run(&e, IssueState::default(), &[]).is_empty());
    let quoted = comment(
        event("issue_comment", "created", SubjectKind::Issue, "x", &[]),
        "> /area mesh\n",
        None,
    );
    assert!(run(&quoted, IssueState::default(), &[]).is_empty());
}

#[test]
fn bots_are_ignored() {
    let mut e = event("issues", "opened", SubjectKind::Issue, "service mesh", &[]);
    e.sender = Actor {
        login: "gep-bot[bot]".into(),
        kind: "Bot".into(),
    };
    assert!(run(&e, IssueState::default(), &[]).is_empty());
    let mut c = event("issue_comment", "created", SubjectKind::Issue, "x", &[]);
    let bot = Actor {
        login: "other[bot]".into(),
        kind: "Bot".into(),
    };
    c.comment = Some(Comment::new(
        9,
        "/area mesh".into(),
        None,
        bot,
        String::new(),
    ));
    assert!(run(&c, IssueState::default(), &[]).is_empty());
}

mod gathering {
    use super::*;
    use crate::core::{MemoryPull, MemoryRepo};
    use crate::machinery::store::{SqliteStore, Store};

    fn pull_request(labels: &[&str]) -> Event {
        let mut e = event(
            "pull_request",
            "opened",
            SubjectKind::PullRequest,
            "Conformance tests",
            labels,
        );
        e.head_sha = Some("h".into());
        e
    }

    fn repo_with_mesh_paths() -> MemoryRepo {
        let mut repo = MemoryRepo::default();
        repo.pulls.insert(
            42,
            MemoryPull {
                files: vec!["conformance/tests/mesh/httproute-weight.go".into()],
                ..MemoryPull::default()
            },
        );
        repo
    }

    #[tokio::test]
    async fn a_pull_request_is_labelled_by_its_paths_read_only_when_they_can_decide() {
        let rules = MeshRules::default();
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let repo = repo_with_mesh_paths();
        let plan = Mesh::new(&rules).unwrap().run(&pull_request(&[]), &repo, &store, crate::capabilities::capability::test_now())
            .await
            .unwrap();
        assert_eq!(plan.actions, [add_label(LabelTarget::Issue { number: 42 })]);
        assert_eq!(repo.reads(), 1);
        // Already labelled: nothing to decide, nothing read.
        let repo = repo_with_mesh_paths();
        let plan = Mesh::new(&rules).unwrap().run(&pull_request(&["area/mesh"]), &repo, &store, crate::capabilities::capability::test_now())
        .await
        .unwrap();
        assert!(plan.actions.is_empty());
        assert_eq!(repo.reads(), 0);
    }

    #[tokio::test]
    async fn a_label_a_person_removed_is_read_from_the_store_and_not_added_back() {
        let rules = MeshRules::default();
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        store
            .apply(&[StateChange::SuppressLabel {
                repo: "kubernetes-sigs/gateway-api".into(),
                number: 42,
                label: "area/mesh".into(),
            }])
            .await
            .unwrap();
        let repo = repo_with_mesh_paths();
        let plan = Mesh::new(&rules).unwrap().run(&pull_request(&[]), &repo, &store, crate::capabilities::capability::test_now())
            .await
            .unwrap();
        assert!(plan.actions.is_empty(), "{plan:?}");
        assert_eq!(repo.reads(), 0);
    }
}

#[test]
fn a_label_the_bot_wrote_since_the_payload_is_not_written_again() {
    // A backlog of deliveries made before the bot's label: their payloads show none.
    let opened = event("issues", "opened", SubjectKind::Issue, "mesh routing", &[]);
    assert_eq!(
        run(&opened, IssueState::default(), &[]).actions,
        [add_label(issue_target())]
    );
    let known = IssueState {
        label_on: true,
        ..IssueState::default()
    };
    let again = run(&opened, known.clone(), &[]);
    assert!(again.actions.is_empty(), "{again:?}");
    // What is remembered is only that a mesh issue was opened (for the report).
    assert!(matches!(
        again.state[..],
        [StateChange::Record(Activity {
            kind: ActivityKind::MeshOpened,
            ..
        })]
    ));
    // `/remove-area mesh` still removes it: the bot knows it is there.
    let e = comment(
        event("issue_comment", "created", SubjectKind::Issue, "mesh", &[]),
        "/remove-area mesh",
        None,
    );
    assert!(matches!(
        run(&e, known, &[]).actions[..],
        [Action::RemoveLabel { .. }]
    ));
}

#[test]
fn a_label_a_person_put_on_is_remembered_as_on() {
    let mut labeled = event("issues", "labeled", SubjectKind::Issue, "x", &["area/mesh"]);
    labeled.label = Some("area/mesh".into());
    let plan = run(&labeled, IssueState::default(), &[]);
    assert!(plan.actions.is_empty());
    assert!(matches!(
        plan.state[..],
        [
            StateChange::LabelOn { .. },
            StateChange::Record(Activity {
                kind: ActivityKind::MeshOpened,
                ..
            })
        ]
    ));
}

#[test]
fn mesh_items_opened_and_closed_are_recorded_with_the_payloads_time() {
    let mut opened = event("issues", "opened", SubjectKind::Issue, "mesh routing", &[]);
    opened.at_ms = Some(1_700_000_000_000);
    let plan = run(&opened, IssueState::default(), &[]);
    assert!(plan.state.contains(&StateChange::Record(Activity {
        repo: "kubernetes-sigs/gateway-api".into(),
        kind: ActivityKind::MeshOpened,
        number: 42,
        detail: "issue".into(),
        at_ms: Some(1_700_000_000_000),
    })));
    let closed = event(
        "pull_request",
        "closed",
        SubjectKind::PullRequest,
        "x",
        &["area/mesh"],
    );
    assert!(matches!(
        run(&closed, IssueState::default(), &[]).state[..],
        [StateChange::Record(Activity { kind: ActivityKind::MeshClosed, ref detail, .. })] if detail == "pull_request"
    ));
    // Not about mesh: nothing recorded.
    let other = event("issues", "opened", SubjectKind::Issue, "ingress", &[]);
    assert!(run(&other, IssueState::default(), &[]).is_empty());
    let closed = event("issues", "closed", SubjectKind::Issue, "x", &[]);
    assert!(run(&closed, IssueState::default(), &[]).is_empty());
}
