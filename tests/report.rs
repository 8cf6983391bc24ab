//! `gep-bot report` on a store filled by replayed deliveries (GitHub's own webhook bodies from the
//! octokit fixtures, dated), against figures worked out by hand below.

mod common;

use std::time::Duration;

use common::bot::Bot;
use common::github::FakeGitHub;
use gep_bot::machinery::github::Credentials;
use serde_json::{Value, json};

const REPO: &str = "Codertocat/Hello-World";

fn fixture(event: &str, file: &str) -> Value {
    serde_json::from_slice(&common::webhook_body(event, file)).unwrap()
}

/// `issues.opened`, or `issues.closed` (octokit has no `closed` body: its `reopened` one, closed).
fn issue(action: &str, number: u64, title: &str, labels: &[&str], at: &str) -> Vec<u8> {
    let file = if action == "closed" {
        "reopened"
    } else {
        action
    };
    let mut body = fixture("issues", &format!("{file}.payload.json"));
    body["action"] = action.into();
    if action == "closed" {
        body["issue"]["state"] = "closed".into();
    }
    body["issue"]["number"] = number.into();
    body["issue"]["title"] = title.into();
    body["issue"]["body"] = "".into();
    body["issue"]["labels"] = labels.iter().map(|l| json!({ "name": l })).collect();
    body["issue"]["created_at"] = at.into();
    body["issue"]["closed_at"] = at.into();
    body["installation"] = json!({ "id": 7 });
    serde_json::to_vec(&body).unwrap()
}

fn pull_fields(body: &mut Value, number: u64) {
    let pr = &mut body["pull_request"];
    pr["number"] = number.into();
    pr["title"] = format!("GEP update {number}").into();
    pr["body"] = "".into();
    pr["user"] = json!({ "login": "robscott", "type": "User" });
    pr["head"]["sha"] = format!("h{number}").into();
    pr["labels"] = json!([]);
    body["installation"] = json!({ "id": 7 });
}

fn opened(number: u64, at: &str) -> Vec<u8> {
    let mut body = fixture("pull_request", "opened.payload.json");
    pull_fields(&mut body, number);
    body["pull_request"]["created_at"] = at.into();
    body["sender"] = json!({ "login": "robscott", "type": "User" });
    serde_json::to_vec(&body).unwrap()
}

fn approved(number: u64, lead: &str, at: &str) -> Vec<u8> {
    let mut body = fixture("pull_request_review", "submitted.payload.json");
    pull_fields(&mut body, number);
    body["review"]["user"] = json!({ "login": lead, "type": "User" });
    body["review"]["state"] = "approved".into();
    body["review"]["submitted_at"] = at.into();
    body["sender"] = json!({ "login": lead, "type": "User" });
    serde_json::to_vec(&body).unwrap()
}

fn report(bot: &Bot, from: &str, to: &str) -> Value {
    let out = common::on_store(
        &bot.database_url,
        &[
            "report", "--from", from, "--to", to, "--repo", REPO, "--format", "json",
        ],
    );
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn the_report_counts_meetings_mesh_work_and_review_turnaround_as_a_person_would() {
    let github = FakeGitHub::default();
    for (number, gep) in [(3949, 3949), (3950, 1731), (3951, 1748)] {
        github.state().pulls.insert(
            number,
            (
                "robscott".into(),
                format!("h{number}"),
                vec![format!("geps/gep-{gep}/index.md")],
            ),
        );
    }
    let server = github.serve().await;
    let bot = Bot::start(&server, Credentials::Token("ghp_test".into())).await;
    let deliveries: Vec<(&str, Vec<u8>)> = vec![
        // A mesh issue opened and closed in September; one not about mesh.
        (
            "issues",
            issue(
                "opened",
                101,
                "Mesh: retries for east-west traffic",
                &[],
                "2026-09-01T10:00:00Z",
            ),
        ),
        (
            "issues",
            issue(
                "opened",
                102,
                "Ingress: TLS passthrough",
                &[],
                "2026-09-02T10:00:00Z",
            ),
        ),
        (
            "issues",
            issue(
                "closed",
                101,
                "Mesh: retries",
                &["area/mesh"],
                "2026-09-20T10:00:00Z",
            ),
        ),
        // GEP pull request 3949: opened 09-03 00:00, quorum at the second lead's approval on
        // 09-05 12:00: 60 hours.
        ("pull_request", opened(3949, "2026-09-03T00:00:00Z")),
        (
            "pull_request_review",
            approved(3949, "howardjohn", "2026-09-04T00:00:00Z"),
        ),
        (
            "pull_request_review",
            approved(3949, "kflynn", "2026-09-05T12:00:00Z"),
        ),
        // 3950: opened 09-10 00:00, quorum 09-10 12:00: 12 hours.
        ("pull_request", opened(3950, "2026-09-10T00:00:00Z")),
        (
            "pull_request_review",
            approved(3950, "howardjohn", "2026-09-10T06:00:00Z"),
        ),
        (
            "pull_request_review",
            approved(3950, "LiorLieberman", "2026-09-10T12:00:00Z"),
        ),
        // 3951: one approval, no quorum.
        ("pull_request", opened(3951, "2026-09-15T00:00:00Z")),
        (
            "pull_request_review",
            approved(3951, "mikemorris", "2026-09-16T00:00:00Z"),
        ),
        // GitHub redelivers one: nothing counts twice.
        (
            "pull_request_review",
            approved(3950, "LiorLieberman", "2026-09-10T12:00:00Z"),
        ),
    ];
    for (i, (event, body)) in deliveries.iter().enumerate() {
        let (status, _) = bot.deliver(&format!("d-{i}"), event, body).await;
        assert_eq!(status, 202);
    }
    bot.drained(Duration::from_secs(20)).await;

    let september = report(&bot, "2026-09-01", "2026-10-01");
    // The shipped schedule in September 2026 (alternating weeks from 2025-08-04): Tuesdays
    // 09-08 and 09-22 at 08:00, Mondays 09-14 and 09-28 at 15:00.
    let slots = september["slots"].as_array().unwrap();
    let slot = |day: &str| {
        slots
            .iter()
            .find(|s| s["slot"].as_str().unwrap().starts_with(day))
            .unwrap_or_else(|| panic!("no {day} slot: {slots:?}"))
    };
    let (monday, tuesday) = (slot("Monday 15:00"), slot("Tuesday 08:00"));
    assert_eq!(
        (monday["held"].as_u64(), monday["cancelled"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (tuesday["held"].as_u64(), tuesday["cancelled"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        monday["meeting"],
        "Gateway API community meeting (with GAMMA)"
    );
    // 15:00 PDT is 22:00Z: 18:00 in New York, 07:00 in Tokyo, 08:00 in Sydney (AEST); midnight
    // in Berlin. 08:00 PDT is 15:00Z: 17:00 in Berlin, 20:30 in Kolkata; midnight in Tokyo.
    assert_eq!(
        monday["served"],
        json!([
            "America/Los_Angeles",
            "America/New_York",
            "America/Sao_Paulo",
            "Asia/Tokyo",
            "Australia/Sydney"
        ])
    );
    assert_eq!(
        tuesday["served"],
        json!([
            "America/Los_Angeles",
            "America/New_York",
            "America/Sao_Paulo",
            "Europe/London",
            "Europe/Berlin",
            "Asia/Kolkata"
        ])
    );
    assert_eq!(september["mesh"]["opened"], 1);
    assert_eq!(september["mesh"]["closed"], 1);
    assert_eq!(september["mesh"]["by_kind"]["issue"], json!([1, 1]));
    let review = &september["review"];
    assert_eq!(review["started"], 3);
    assert_eq!(
        review["reached_quorum"],
        json!([{ "pull": 3949, "hours": 60.0 }, { "pull": 3950, "hours": 12.0 }])
    );
    assert_eq!(review["median_hours"], 36.0);
    assert_eq!(review["p90_hours"], 60.0);

    // Only the first week: 3949's quorum (09-05) is in it, 3950's is not; the Tuesday meeting of
    // 09-08 is not (the period ends before it).
    let first_week = report(&bot, "2026-09-01", "2026-09-08");
    assert_eq!(
        first_week["review"]["reached_quorum"],
        json!([{ "pull": 3949, "hours": 60.0 }])
    );
    assert_eq!(first_week["slots"], json!([]));
    assert_eq!(first_week["mesh"]["closed"], 0);

    // The markdown says the same.
    let text = common::on_store(
        &bot.database_url,
        &[
            "report",
            "--from",
            "2026-09-01",
            "--to",
            "2026-10-01",
            "--repo",
            REPO,
        ],
    );
    assert!(text.contains("| Gateway API community meeting (with GAMMA) | Monday 15:00 America/Los_Angeles | 2 | 0 |"), "{text}");
    assert!(
        text.contains(
            "3 GEP pull requests began review; 2 reached quorum (median 36.0 h, p90 60.0 h"
        ),
        "{text}"
    );
    bot.stop().await;
}

#[test]
fn a_period_that_ends_before_it_starts_is_a_usage_error() {
    let out = std::process::Command::new(common::bin())
        .args(["report", "--from", "2026-09-01", "--to", "2026-09-01"])
        .output()
        .unwrap();
    let err = common::usage_error(&out);
    assert!(err.contains("is not after --from"), "{err}");
}
