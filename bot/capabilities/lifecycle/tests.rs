//! Table tests: (a label event on a GEP's tracking issue, the GEP's status, the label's memory)
//! -> plan.

use super::*;
use crate::core::Actor;
use crate::core::event::Subject;

/// `issues.<action>` with the label `label` on issue 1686, which then carries `labels` (the
/// end-to-end test delivers GitHub's own bodies).
fn event(action: &str, label: &str, labels: &[&str]) -> Event {
    let robot = Actor::user("k8s-triage-robot");
    Event::named("issues", action, "kubernetes-sigs/gateway-api")
        .in_installation(7)
        .sent_by(robot.clone())
        .on(Subject::new(SubjectKind::Issue, 1686, robot)
            .node("I_1686")
            .titled("GEP: Mesh conformance testing plan")
            .labelled(labels))
        .with_label(label)
}

fn run(event: &Event, gep: Gep, memory: LabelMemory) -> Plan {
    plan(event, &LifecycleRules::default(), gep, memory)
}

fn frozen_label_added(plan: &Plan) -> bool {
    plan.actions.iter().any(|a| {
        matches!(a, Action::AddLabels { labels, target: LabelTarget::Issue { number: 1686 }, .. }
            if labels == &["lifecycle/frozen"])
    })
}

fn comment(plan: &Plan) -> Option<&str> {
    plan.actions.iter().find_map(|a| match a {
        Action::CreateComment { body, marker, .. } if marker.contains(MARKER_KIND) => {
            Some(body.as_str())
        }
        _ => None,
    })
}

#[test]
fn a_stale_tracking_issue_of_a_moving_gep_is_frozen_with_one_comment_saying_why() {
    for stale in ["lifecycle/stale", "lifecycle/rotten"] {
        let event = event("labeled", stale, &[stale, "kind/gep"]);
        let plan = run(
            &event,
            Gep::Status(Status::Experimental),
            LabelMemory::default(),
        );
        assert!(frozen_label_added(&plan), "{stale}: {plan:?}");
        let why = comment(&plan).expect("a comment");
        assert!(
            why.contains("GEP-1686") && why.contains("Experimental"),
            "{why}"
        );
        assert!(why.contains(stale), "{why}");
        assert_eq!(plan.actions.len(), 2, "{plan:?}");
    }
}

#[test]
fn every_status_but_declined_withdrawn_completed_is_alive() {
    for status in Status::ALL {
        let plan = run(
            &event("labeled", "lifecycle/stale", &["lifecycle/stale"]),
            Gep::Status(status),
            LabelMemory::default(),
        );
        let ended = matches!(
            status,
            Status::Declined | Status::Withdrawn | Status::Completed
        );
        assert_eq!(frozen_label_added(&plan), !ended, "{status}: {plan:?}");
        assert_eq!(plan.actions.is_empty(), ended, "{status}");
    }
}

#[test]
fn an_issue_already_frozen_or_tracking_no_gep_is_left_alone() {
    let stale = event(
        "labeled",
        "lifecycle/rotten",
        &["lifecycle/rotten", "lifecycle/frozen"],
    );
    assert!(
        run(
            &stale,
            Gep::Status(Status::Provisional),
            LabelMemory::default()
        )
        .is_empty()
    );
    // The payload is older than the bot's own label (a second stale label queued behind it).
    let stale = event("labeled", "lifecycle/rotten", &["lifecycle/rotten"]);
    let on = LabelMemory {
        on: true,
        suppressed: false,
    };
    assert!(run(&stale, Gep::Status(Status::Provisional), on).is_empty());
    assert!(run(&stale, Gep::None, LabelMemory::default()).is_empty());
    assert!(run(&stale, Gep::Unreadable, LabelMemory::default()).is_empty());
    let other = event("labeled", "kind/bug", &["kind/bug"]);
    assert!(
        run(
            &other,
            Gep::Status(Status::Provisional),
            LabelMemory::default()
        )
        .is_empty()
    );
}

#[test]
fn unfreezing_is_remembered_and_the_bot_does_not_freeze_again() {
    let plan = run(
        &event("unlabeled", "lifecycle/frozen", &[]),
        Gep::None,
        LabelMemory::default(),
    );
    assert!(plan.actions.is_empty());
    assert!(plan.state.iter().any(|s| matches!(s,
        StateChange::SuppressLabel { number: 1686, label, .. } if label == "lifecycle/frozen")));
    let suppressed = LabelMemory {
        suppressed: true,
        on: false,
    };
    let stale = event("labeled", "lifecycle/stale", &["lifecycle/stale"]);
    assert!(run(&stale, Gep::Status(Status::Experimental), suppressed).is_empty());
}

#[test]
fn a_frozen_label_seen_is_remembered() {
    let plan = run(
        &event("labeled", "lifecycle/frozen", &["lifecycle/frozen"]),
        Gep::None,
        LabelMemory::default(),
    );
    assert!(plan.actions.is_empty());
    assert!(plan.state.iter().any(|s| matches!(s,
        StateChange::LabelOn { number: 1686, label, .. } if label == "lifecycle/frozen")));
}

#[test]
fn for_prow_the_comment_asks_lifecycle_frozen_and_no_label_is_written() {
    let rules = LifecycleRules {
        freeze_by: FreezeBy::Comment,
        ..LifecycleRules::default()
    };
    let plan = plan(
        &event("labeled", "lifecycle/stale", &["lifecycle/stale"]),
        &rules,
        Gep::Status(Status::Implementable),
        LabelMemory::default(),
    );
    assert!(!frozen_label_added(&plan), "{plan:?}");
    let body = comment(&plan).expect("a comment");
    assert_eq!(body.lines().next(), Some("/lifecycle frozen"), "{body}");
}

#[test]
fn switched_off_it_does_nothing() {
    let rules = LifecycleRules {
        enabled: false,
        ..LifecycleRules::default()
    };
    let plan = plan(
        &event("labeled", "lifecycle/stale", &["lifecycle/stale"]),
        &rules,
        Gep::Status(Status::Experimental),
        LabelMemory::default(),
    );
    assert!(plan.is_empty());
}

#[test]
fn the_status_is_read_from_metadata_yaml() {
    let text = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n\
                number: 1686\nname: Mesh conformance testing plan\nstatus: Standard\n";
    assert_eq!(metadata_status(text), Some(Status::Standard));
    assert_eq!(metadata_status("status: Sideways\n"), None);
    assert_eq!(metadata_status(": not yaml ["), None);
}
