//! Inputs built to make the bot do unbounded work, each answered with a clear result or error and
//! no panic. (Time and memory for each are printed by `cargo bench --bench bounded_work`; these
//! tests hold the answers.)

mod common;
#[path = "../benches/support/hostile_inputs.rs"]
mod hostile_inputs;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gep_bot::core::{Event, EventError};
use gep_bot::domain::validate::{GepFiles, GepSet, Options, SourceText, Template, validate};
use gep_bot::machinery::pipeline::{self, Intake, Secrets, sign};
use gep_bot::machinery::store::{SqliteStore, Store};
use gep_bot::products::calendar::{Schedule, ics, meetings, occurrences};
use tower::ServiceExt;

const SECRET: &str = "bounded";

async fn deliver(event: &str, body: Vec<u8>) -> (StatusCode, String, Arc<Intake<SqliteStore>>) {
    let intake = Arc::new(Intake::new(
        Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap()),
        Secrets::parse(SECRET),
    ));
    let request = Request::post("/webhook")
        .header("x-github-event", event)
        .header("x-github-delivery", "bounded-1")
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let response = pipeline::router(intake.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let text = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned(), intake)
}

/// A real `issue_comment` body whose comment is `text`.
pub fn comment_payload(text: &str) -> Vec<u8> {
    let mut body: serde_json::Value = serde_json::from_slice(&common::webhook_body(
        "issue_comment",
        "created.payload.json",
    ))
    .unwrap();
    body["comment"]["body"] = text.into();
    serde_json::to_vec(&body).unwrap()
}

/// 10,000 `/gep` lines in 1 MB: the event carries at most 20 different commands.
#[tokio::test]
async fn a_one_megabyte_comment_of_ten_thousand_gep_lines() {
    let lines = hostile_inputs::ten_thousand_commands();
    assert!(lines.len() >= 1_000_000);
    let body = comment_payload(&lines);
    let (status, _, _) = deliver("issue_comment", body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let event = Event::parse("issue_comment", &body).unwrap();
    assert_eq!(
        event.comment.unwrap().commands.len(),
        gep_bot::domain::commands::MAX_PER_COMMENT
    );
}

/// JSON nested 100,000 deep: well-formed, so stored (the check is iterative: no stack is at
/// risk); the worker's parse refuses it at the first bracket as no event, saying so.
#[tokio::test]
async fn a_webhook_nested_one_hundred_thousand_deep() {
    let body = hostile_inputs::nested_array();
    let (status, text, intake) = deliver("issues", body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    assert_eq!(intake.store.counts().await.unwrap().queued, 1);
    let error = Event::parse("issues", &body).unwrap_err();
    assert!(matches!(error, EventError::WrongShape(_)), "{error}");
    // Deep inside a field the event reads: refused there, as not the shape.
    let deep = format!(
        r#"{{"action":"opened","issue":{{"number":1,"title":"t","body":{}{}}}}}"#,
        r#"{"a":"#.repeat(100_000),
        "}".repeat(100_000)
    );
    assert!(Event::parse("issues", deep.as_bytes()).is_err());
}

/// A 20 MB JSON array: well-formed and under the 25 MiB limit, so it is stored; the worker then
/// reads it as no event and says so (the job is kept as dead with that reason).
#[tokio::test]
async fn a_twenty_megabyte_json_array() {
    let body = hostile_inputs::twenty_megabyte_array();
    assert!(body.len() > 20_000_000 && body.len() < pipeline::MAX_BODY);
    let (status, _, intake) = deliver("issues", body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(intake.store.counts().await.unwrap().queued, 1);
    let error = Event::parse("issues", &body).unwrap_err();
    assert!(matches!(error, EventError::WrongShape(_)), "{error}");
}

/// A GEP whose index.md is 50 MB (the largest real one is 99 KB): validated to the end.
#[test]
fn a_fifty_megabyte_index_md() {
    let real = std::fs::read_to_string(common::corpus().join("gep-713/index.md")).unwrap();
    let metadata = std::fs::read_to_string(common::corpus().join("gep-713/metadata.yaml")).unwrap();
    let index = hostile_inputs::fifty_megabyte_index(&real);
    let set = GepSet {
        geps: vec![GepFiles {
            dir: "geps/gep-713".into(),
            number: Some(713),
            index: Some(SourceText::new("geps/gep-713/index.md", index)),
            metadata: Some(SourceText::new("geps/gep-713/metadata.yaml", metadata)),
            checked: true,
        }],
        only_files: None,
    };
    let findings = validate(&set, &Template::builtin(), &Options::default());
    // The same findings as the real GEP's, and one more per repeated heading at most.
    assert!(findings.len() < 10_000, "{}", findings.len());
}

/// A billion laughs in metadata.yaml: one finding that names it, no expansion.
#[test]
fn a_yaml_alias_bomb_in_metadata() {
    let set = GepSet {
        geps: vec![GepFiles {
            dir: "geps/gep-7".into(),
            number: Some(7),
            index: None,
            metadata: Some(SourceText::new(
                "geps/gep-7/metadata.yaml",
                hostile_inputs::alias_bomb(),
            )),
            checked: true,
        }],
        only_files: None,
    };
    let findings = validate(&set, &Template::builtin(), &Options::default());
    let yaml: Vec<_> = findings
        .iter()
        .filter(|f| f.file.ends_with("metadata.yaml"))
        .collect();
    assert_eq!(yaml.len(), 1, "{findings:?}");
    assert!(yaml[0].message.contains("aliases"), "{yaml:?}");
    assert!(!yaml[0].hint.contains("indentation"), "{yaml:?}");
}

/// 100,000 cancelled meetings: read, expanded and written as a feed, every one an EXDATE.
#[test]
fn a_schedule_of_one_hundred_thousand_exceptions() {
    let text = hostile_inputs::schedule_with_exceptions(100_000);
    let schedule = Schedule::parse(&text, "many.toml").unwrap();
    let feed = ics::feed(&schedule);
    let unfolded = feed.replace("\r\n ", "");
    let exdates = unfolded
        .lines()
        .filter(|l| l.starts_with("EXDATE"))
        .map(|l| l.split(':').nth(1).unwrap().split(',').count())
        .sum::<usize>();
    assert_eq!(exdates, 100_000);
    let from = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let year = from + chrono::Duration::days(365);
    assert!(meetings(&schedule, from, year).is_empty(), "all cancelled");
    let listed = occurrences(&schedule, from, year);
    assert_eq!(listed.len(), 52);
    assert!(
        listed
            .iter()
            .all(|m| m.status == gep_bot::products::calendar::Status::Cancelled)
    );
}
