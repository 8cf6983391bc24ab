//! What a GEP's standing plans on its tracking issue: ready, no longer ready, arrived.

use super::*;
use crate::capabilities::capability::test_now;
use crate::core::MemoryRepo;
use crate::machinery::store::{SqliteStore, Store};

fn criterion(criterion: &str, met: bool, detail: &str) -> Criterion {
    Criterion {
        criterion: criterion.into(),
        met,
        detail: detail.into(),
    }
}

fn standing(status: &str, next: Option<&str>, met: bool) -> Standing {
    Standing {
        repo: "kubernetes-sigs/gateway-api".into(),
        gep: 2645,
        title: "GEP-2645: UDPRoute @everyone".into(),
        status: status.into(),
        next: next.map(Into::into),
        criteria: next.map_or_else(Vec::new, |_| {
            vec![
                criterion("features GA", true, "UDPRoute"),
                criterion("at least 3 implementations pass each feature", met, "UDPRoute (3)"),
            ]
        }),
    }
}

fn event(standing: &Standing) -> Event {
    Event::parse(EVENT, &standing.body(Some(7))).unwrap()
}

/// The plan for `standing`, the store remembering `labels_on` on its issue.
async fn plan_with(standing: &Standing, labels_on: &[&str]) -> Plan {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let on: Vec<StateChange> = labels_on
        .iter()
        .map(|label| StateChange::LabelOn {
            repo: standing.repo.clone(),
            number: 2645,
            label: (*label).into(),
        })
        .collect();
    store.apply(&on).await.unwrap();
    Graduation::new(READY_LABEL)
        .with_agenda(true)
        .run(&event(standing), &MemoryRepo::default(), &store, test_now())
        .await
        .unwrap()
}

fn comment(plan: &Plan) -> &str {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::CreateComment {
                issue: 2645,
                marker,
                body,
                ..
            } if marker == "<!-- gep-bot:graduation -->" => Some(body.as_str()),
            _ => None,
        })
        .expect("the marked comment on the tracking issue")
}

fn labels(plan: &Plan) -> (Vec<&str>, Vec<&str>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for action in &plan.actions {
        match action {
            Action::AddLabels { labels, .. } => added.extend(labels.iter().map(String::as_str)),
            Action::RemoveLabel { label, .. } => removed.push(label.as_str()),
            _ => {}
        }
    }
    (added, removed)
}

#[tokio::test]
async fn a_ready_gep_gets_the_comment_the_label_and_a_place_on_the_agenda() {
    let ready = standing("Standard", Some("Completed"), true);
    assert!(ready.ready());
    let plan = plan_with(&ready, &[]).await;
    let body = comment(&plan);
    assert!(
        body.starts_with("**GEP-2645 (GEP-2645: UDPRoute @\u{2060}everyone) meets every criterion of Completed**"),
        "{body}"
    );
    assert!(body.contains("- [x] at least 3 implementations pass each feature: UDPRoute (3)\n"), "{body}");
    assert!(
        body.contains("sets `status: Completed` in this GEP's `metadata.yaml`. The next community meeting's agenda lists it."),
        "{body}"
    );
    assert!(body.contains("the label `gep/ready-for-completed` follows it"), "{body}");
    assert_eq!(labels(&plan), (vec!["gep/ready-for-completed"], vec![]));
    assert!(matches!(
        plan.state.as_slice(),
        [
            StateChange::Said { number: 2645, about, digest, .. },
            StateChange::Record(Activity { kind: ActivityKind::ReadyToGraduate, number: 2645, detail, at_ms: None, .. }),
        ] if detail == "Completed" && about == ABOUT && *digest == ready.digest()
    ));
}

#[tokio::test]
async fn a_gep_no_longer_ready_says_what_is_missing_and_loses_the_label() {
    let short = standing("Standard", Some("Completed"), false);
    let plan = plan_with(&short, &["gep/ready-for-completed"]).await;
    let body = comment(&plan);
    assert!(body.contains("no longer meets every criterion of Completed"), "{body}");
    assert!(body.contains("- [ ] at least 3 implementations"), "{body}");
    assert!(!body.contains("may propose"), "{body}");
    assert_eq!(labels(&plan), (vec![], vec!["gep/ready-for-completed"]));
    assert!(
        matches!(plan.state.as_slice(), [StateChange::Said { digest, .. }] if *digest == short.digest())
    );
}

#[tokio::test]
async fn a_gep_that_reached_the_status_it_was_ready_for_is_said_to_be_there() {
    // Ready for Standard, then moved to Standard: its label comes off, the comment says so and
    // what Completed needs.
    let moved = standing("Standard", Some("Completed"), false);
    let plan = plan_with(&moved, &["gep/ready-for-standard"]).await;
    let body = comment(&plan);
    assert!(body.starts_with("**GEP-2645 (GEP-2645: UDPRoute @\u{2060}everyone) is Standard now.**\n\nFor Completed:\n"), "{body}");
    assert_eq!(
        labels(&plan),
        (vec![], vec!["gep/ready-for-completed", "gep/ready-for-standard"])
    );
    // At the last status, nothing is judged: the comment says where it is.
    let completed = standing("Completed", None, false);
    let plan = plan_with(&completed, &["gep/ready-for-completed"]).await;
    assert!(comment(&plan).contains("is Completed now."), "{}", comment(&plan));
    assert_eq!(labels(&plan), (vec![], vec!["gep/ready-for-completed"]));
}

#[test]
fn each_change_is_one_delivery_and_the_same_facts_are_said_once() {
    let ready = standing("Standard", Some("Completed"), true);
    let short = standing("Standard", Some("Completed"), false);
    let (r, s) = (ready.digest(), short.digest());
    // Ready and never said: to say; said: nothing more.
    assert!(ready.to_say(None));
    assert!(!ready.to_say(Some(&r)));
    // Not ready and never spoken of: nothing; spoken of (ready before): to say.
    assert!(!short.to_say(None));
    assert!(short.to_say(Some(&r)));
    assert!(!short.to_say(Some(&s)));
    // Ready again after that: a delivery other than the first.
    assert!(ready.to_say(Some(&s)));
    assert_ne!(ready.delivery_id(Some(&s)), ready.delivery_id(None));
    assert_eq!(ready.delivery_id(None), ready.clone().delivery_id(None));
    assert!(
        ready
            .delivery_id(None)
            .starts_with("graduation:kubernetes-sigs/gateway-api:2645:")
    );
    let mut more = ready.clone();
    more.criteria[1].detail = "UDPRoute (4)".into();
    assert_ne!(more.digest(), r);
    assert!(more.to_say(Some(&r)));
    assert_eq!(EventKind::of(EVENT), EventKind::Graduation);
    // The timed event carries the standing back; no label pattern, no nudges.
    assert!(Graduation::new(READY_LABEL).wants(&event(&ready)));
    assert!(!Graduation::new("").wants(&event(&ready)));
    assert_eq!(
        Graduation::new("ready/{status}").label_for("Experimental").as_deref(),
        Some("ready/experimental")
    );
}
