//! `POST /webhook` through the router: verification, dedupe, durable storage, and never a 5xx for
//! bad input. Real bodies from `../shared/fixtures/octokit-webhooks`.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gep_bot::core::Event;
use gep_bot::machinery::pipeline::{self, Intake, Secrets, sign};
use gep_bot::machinery::store::{SqliteStore, Store};
use tokio::sync::Notify;
use tower::ServiceExt;

const SECRET: &[u8] = b"It's a Secret to Everybody";

async fn intake() -> Arc<Intake<SqliteStore>> {
    Arc::new(Intake {
        store: Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap()),
        secrets: Secrets::parse("previous-secret, It's a Secret to Everybody"),
        queued: Arc::new(Notify::new()),
        clock: || 1_000,
        bodies: Default::default(),
        last_failure: Default::default(),
    })
}

fn request(body: &[u8], headers: &[(&str, String)]) -> Request<Body> {
    let mut builder = Request::post("/webhook").header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Body::from(body.to_vec())).unwrap()
}

fn signed(event: &str, delivery: &str, body: &[u8]) -> Request<Body> {
    request(
        body,
        &[
            ("x-github-event", event.into()),
            ("x-github-delivery", delivery.into()),
            ("x-hub-signature-256", sign(SECRET, body)),
        ],
    )
}

async fn send(intake: &Arc<Intake<SqliteStore>>, request: Request<Body>) -> StatusCode {
    pipeline::router(intake.clone())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

async fn queued(intake: &Arc<Intake<SqliteStore>>) -> i64 {
    intake.store.counts().await.unwrap().queued
}

#[tokio::test]
async fn a_valid_signature_is_stored_and_accepted() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    assert_eq!(
        send(&intake, signed("issues", "d-1", &body)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(queued(&intake).await, 1);
    let job = intake
        .store
        .claim("t", 1_000, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.body, body, "the body is stored byte for byte");
    assert_eq!(job.event, "issues");
}

#[tokio::test]
async fn the_same_delivery_again_is_200_and_queues_nothing() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    assert_eq!(
        send(&intake, signed("issues", "d-1", &body)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&intake, signed("issues", "d-1", &body)).await,
        StatusCode::OK
    );
    assert_eq!(queued(&intake).await, 1);
}

#[tokio::test]
async fn a_rotated_secret_is_still_accepted() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    let request = request(
        &body,
        &[
            ("x-github-event", "issues".into()),
            ("x-github-delivery", "d-2".into()),
            ("x-hub-signature-256", sign(b"previous-secret", &body)),
        ],
    );
    assert_eq!(send(&intake, request).await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_401_and_stores_nothing() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    let wrong = request(
        &body,
        &[
            ("x-github-event", "issues".into()),
            ("x-github-delivery", "d-1".into()),
            ("x-hub-signature-256", sign(b"guess", &body)),
        ],
    );
    assert_eq!(send(&intake, wrong).await, StatusCode::UNAUTHORIZED);
    let missing = request(
        &body,
        &[
            ("x-github-event", "issues".into()),
            ("x-github-delivery", "d-1".into()),
        ],
    );
    assert_eq!(send(&intake, missing).await, StatusCode::UNAUTHORIZED);
    assert_eq!(intake.store.counts().await.unwrap().queued, 0);
}

#[tokio::test]
async fn without_a_configured_secret_every_delivery_is_401() {
    let intake = intake().await;
    let unconfigured = Arc::new(Intake {
        store: intake.store.clone(),
        secrets: Secrets::parse(""),
        queued: intake.queued.clone(),
        clock: intake.clock,
        bodies: Default::default(),
        last_failure: Default::default(),
    });
    let body = common::webhook_body("issues", "opened.payload.json");
    assert_eq!(
        send(&unconfigured, signed("issues", "d-1", &body)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn missing_event_or_delivery_headers_are_400() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    let no_event = request(
        &body,
        &[
            ("x-github-delivery", "d".into()),
            ("x-hub-signature-256", sign(SECRET, &body)),
        ],
    );
    assert_eq!(send(&intake, no_event).await, StatusCode::BAD_REQUEST);
    let no_delivery = request(
        &body,
        &[
            ("x-github-event", "issues".into()),
            ("x-hub-signature-256", sign(SECRET, &body)),
        ],
    );
    assert_eq!(send(&intake, no_delivery).await, StatusCode::BAD_REQUEST);
    assert_eq!(queued(&intake).await, 0);
}

#[tokio::test]
async fn a_signed_body_that_is_not_json_is_400() {
    let intake = intake().await;
    assert_eq!(
        send(&intake, signed("issues", "d-1", b"payload=%7B%7D")).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(queued(&intake).await, 0);
}

#[tokio::test]
async fn a_body_over_25_mib_is_413() {
    let intake = intake().await;
    let body = vec![b' '; 26 * 1024 * 1024];
    assert_eq!(
        send(&intake, signed("issues", "d-1", &body)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(queued(&intake).await, 0);
}

#[tokio::test]
async fn ping_is_acknowledged() {
    let intake = intake().await;
    let body = common::webhook_body("ping", "payload.json");
    assert!(
        send(&intake, signed("ping", "p-1", &body))
            .await
            .is_success()
    );
}

async fn get(intake: &Arc<Intake<SqliteStore>>, path: &str) -> (StatusCode, String) {
    let response = pipeline::router(intake.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn an_unsigned_request_names_no_metric_label() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    // Each value of a label is kept as long as the process lives: anyone could fill its memory.
    for n in 0..3 {
        let forged = request(
            &body,
            &[
                ("x-github-event", format!("forged-event-{n}")),
                ("x-github-delivery", format!("f-{n}")),
                ("x-hub-signature-256", sign(b"guess", &body)),
            ],
        );
        assert_eq!(send(&intake, forged).await, StatusCode::UNAUTHORIZED);
    }
    send(&intake, signed("issues", "s-1", &body)).await;
    let (_, metrics) = get(&intake, "/metrics").await;
    assert!(!metrics.contains("forged-event"), "{metrics}");
    assert!(
        metrics.contains(r#"gep_bot_deliveries_total{event="unknown",outcome="unauthorized"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gep_bot_deliveries_total{event="issues",outcome="accepted"}"#),
        "signed deliveries are counted by event: {metrics}"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    send(&intake, signed("issues", "d-1", &body)).await;
    for (path, expected) in [
        ("/healthz", "ok"),
        ("/readyz", "ready"),
        ("/metrics", "gep_bot_queue_depth 1"),
    ] {
        let (status, text) = get(&intake, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(text.contains(expected), "{path}: {text}");
    }
}

#[test]
fn every_real_webhook_body_parses_into_our_event_types() {
    let root = common::shared().join("fixtures/octokit-webhooks");
    let mut parsed = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let event = dir.file_name().unwrap().to_str().unwrap().to_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let body = std::fs::read(&file).unwrap();
            let parsed_event =
                Event::parse(&event, &body).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                !parsed_event.repo.is_empty()
                    || event.starts_with("installation")
                    || event == "ping",
                "{}",
                file.display()
            );
            if [
                "issues",
                "issue_comment",
                "pull_request",
                "discussion",
                "discussion_comment",
            ]
            .contains(&event.as_str())
            {
                assert!(parsed_event.subject.is_some(), "{}", file.display());
            }
            parsed += 1;
        }
    }
    assert!(parsed > 100, "only {parsed} bodies found");
}

#[tokio::test]
async fn a_header_that_is_not_text_or_a_delivery_id_no_uuid_could_be_is_400_saying_which() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    let router = pipeline::router(intake.clone());
    let answer = |request: Request<Body>| {
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let mut not_text = signed("issues", "d-1", &body);
    not_text.headers_mut().insert(
        "x-github-event",
        axum::http::HeaderValue::from_bytes(b"issu\xe9s").unwrap(),
    );
    let (status, text) = answer(not_text).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("X-GitHub-Event is not valid"), "{text}");
    let (status, text) = answer(signed("issues", &"d".repeat(10_000), &body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("X-GitHub-Delivery is 10000 bytes"), "{text}");
    let (status, _) = answer(signed(
        "issues",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        &body,
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queued(&intake).await, 1);
}

/// While another process holds SQLite's write lock (a backup, a second tool), nothing can be
/// committed: `/readyz` says so, a delivery is 503, and both recover when the lock is released.
#[tokio::test]
async fn readiness_follows_whether_a_delivery_can_be_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let intake = Arc::new(Intake::new(
        Arc::new(
            SqliteStore::open(&format!("sqlite://{}", path.display()))
                .await
                .unwrap(),
        ),
        Secrets::parse("It's a Secret to Everybody"),
    ));
    assert_eq!(get(&intake, "/readyz").await.0, StatusCode::OK);

    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (status, text) = get(&intake, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("commit"), "{text}");
    let body = common::webhook_body("issues", "opened.payload.json");
    assert_eq!(
        send(&intake, signed("issues", "locked-1", &body)).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);

    // Writes commit again, but a delivery failed a moment ago: still unready, saying why.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, text) = get(&intake, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("could not be stored"), "{text}");
    // A delivery stored clears it.
    assert_eq!(
        send(&intake, signed("issues", "after-1", &body)).await,
        StatusCode::ACCEPTED
    );
    let (status, text) = get(&intake, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn a_signed_unknown_event_name_is_counted_as_other_not_by_its_text() {
    let intake = intake().await;
    let body = common::webhook_body("issues", "opened.payload.json");
    let long_name = "x".repeat(8192);
    assert_eq!(
        send(&intake, signed(&long_name, "odd-1", &body)).await,
        StatusCode::ACCEPTED
    );
    let (_, metrics) = get(&intake, "/metrics").await;
    assert!(!metrics.contains("xxxxxxxx"), "the name became a label");
    assert!(
        metrics.contains(r#"gep_bot_deliveries_total{event="other",outcome="accepted"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_metric_the_readme_lists_is_declared_from_the_start() {
    let intake = intake().await;
    let (_, metrics) = get(&intake, "/metrics").await;
    let readme = std::fs::read_to_string(common::repo().join("docs/operations.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `GET /metrics`"))
        .unwrap();
    let listed: Vec<&str> = row
        .split('`')
        .filter(|s| s.starts_with("gep_bot_"))
        .map(|s| s.split('{').next().unwrap())
        .collect();
    assert!(listed.len() >= 8, "{row}");
    for name in listed {
        // The rate limit is unknown until GitHub first answers: no made-up value before.
        if name == "gep_bot_github_rate_limit_remaining" {
            continue;
        }
        assert!(
            metrics.contains(&format!("# HELP {name} ")),
            "{name} has no HELP line: {metrics}"
        );
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(name) && !l.starts_with('#')),
            "{name} has no series: {metrics}"
        );
    }
}
