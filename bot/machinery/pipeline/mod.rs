//! The webhook pipeline (SPEC section 5): deliveries are verified, deduplicated and stored before
//! they are acknowledged; workers take them from the store, run the handlers and execute the plans.
//! No GitHub call happens inside a request, so GitHub's 10-second limit is never at risk.

pub mod body;
mod signature;
pub mod worker;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::Notify;

pub use signature::{Secrets, sign};

use crate::machinery::store::{NewDelivery, Recorded, Store};

pub use crate::core::event::MAX_BODY;
/// GitHub's delivery ids are UUIDs (36 bytes); a longer one is refused rather than stored.
const MAX_DELIVERY_ID: usize = 200;
/// A delivery not stored within this is answered 503, so GitHub marks it failed and it can be
/// redelivered, instead of timing out at GitHub's 10 seconds with no answer at all.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Intake<S> {
    pub store: Arc<S>,
    pub secrets: Secrets,
    /// Wakes the workers when a job is queued.
    pub queued: Arc<Notify>,
    pub clock: fn() -> i64,
    /// Memory the bodies being received may take together.
    pub bodies: body::Budget,
    /// When a delivery last failed to be stored, for readiness.
    pub last_failure: LastFailure,
}

impl<S> Intake<S> {
    /// An intake over `store` with `secrets`, the real clock, the default body budget and a
    /// notifier no worker listens to (tests and benchmarks of intake alone).
    pub fn new(store: Arc<S>, secrets: Secrets) -> Intake<S> {
        Intake {
            store,
            secrets,
            queued: Default::default(),
            clock: now_ms,
            bodies: Default::default(),
            last_failure: Default::default(),
        }
    }
}

/// How long a delivery that could not be stored keeps `/readyz` unready (unless one is stored
/// meanwhile): long enough for a load balancer's next probe to see it.
const UNREADY_AFTER_FAILURE_MS: i64 = 10_000;

/// When the last delivery that could not be stored failed (Unix ms; 0: none since one was).
#[derive(Debug, Default)]
pub struct LastFailure(std::sync::atomic::AtomicI64);

impl LastFailure {
    fn set(&self, at_ms: i64) {
        self.0.store(at_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Milliseconds since the last failure, when it is recent.
    fn recent(&self, now_ms: i64) -> Option<i64> {
        let at = self.0.load(std::sync::atomic::Ordering::Relaxed);
        let ago = now_ms - at;
        (at != 0 && ago < UNREADY_AFTER_FAILURE_MS).then_some(ago)
    }
}

/// Unix milliseconds now: the edge's clock, passed into the store.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The process-wide metrics recorder (Prometheus text at `/metrics`), with every metric the
/// README lists declared (HELP) and at zero from the start: a dashboard or an alert on a rate
/// sees the series before its first event.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
            declare_metrics();
            handle
        })
        .clone()
}

fn declare_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "gep_bot_deliveries_total",
        "Webhook deliveries answered, by event (the bot's known names, `other`, or `unknown` before the signature is checked) and outcome"
    );
    describe_counter!(
        "gep_bot_jobs_total",
        "Jobs finished, by outcome: done, retry, rate_limited, dead"
    );
    describe_counter!(
        "gep_bot_github_calls_total",
        "Calls to GitHub, by HTTP status"
    );
    describe_counter!(
        "gep_bot_connections_refused_total",
        "Connections past the cap: answered 503, or closed at once past the spare ones"
    );
    describe_gauge!("gep_bot_queue_depth", "Jobs waiting to run");
    describe_gauge!("gep_bot_jobs_running", "Jobs claimed by a worker now");
    describe_gauge!(
        "gep_bot_jobs_dead",
        "Jobs kept as dead, for `gep-bot requeue`"
    );
    describe_gauge!(
        "gep_bot_github_rate_limit_remaining",
        "GitHub's X-RateLimit-Remaining on the last answer"
    );
    describe_histogram!(
        "gep_bot_job_latency_seconds",
        "Time from a delivery's arrival to its job's completion"
    );
    for outcome in ["accepted", "duplicate", "bad_request", "unavailable"] {
        metrics::counter!("gep_bot_deliveries_total", "event" => "issues", "outcome" => outcome)
            .absolute(0);
    }
    metrics::counter!("gep_bot_deliveries_total", "event" => "unknown", "outcome" => "unauthorized")
        .absolute(0);
    for outcome in ["done", "retry", "rate_limited", "dead"] {
        metrics::counter!("gep_bot_jobs_total", "outcome" => outcome).absolute(0);
    }
    metrics::counter!("gep_bot_github_calls_total", "status" => "200").absolute(0);
    for how in ["503", "closed"] {
        metrics::counter!("gep_bot_connections_refused_total", "how" => how).absolute(0);
    }
    // Registered, not observed: an empty summary (count 0) until the first job ends.
    let _ = metrics::histogram!("gep_bot_job_latency_seconds");
    for gauge in [
        "gep_bot_queue_depth",
        "gep_bot_jobs_running",
        "gep_bot_jobs_dead",
    ] {
        metrics::gauge!(gauge).set(0.0);
    }
}

/// `POST /webhook`, and the operations' routes ([`operations`]).
pub fn router<S: Store>(intake: Arc<Intake<S>>) -> Router {
    Router::new()
        .route("/webhook", post(webhook::<S>))
        .with_state(intake.clone())
        .merge(operations(intake))
}

/// `GET /healthz`, `GET /readyz`, `GET /metrics`: on the public port, and alone on the admin
/// listener (`GEP_BOT_ADMIN_LISTEN`).
pub fn operations<S: Store>(intake: Arc<Intake<S>>) -> Router {
    // Installed before the first request, so nothing counted is lost.
    metrics_handle();
    Router::new()
        .route("/readyz", get(ready::<S>))
        .route("/metrics", get(metrics::<S>))
        .with_state(intake)
        .route("/healthz", get(|| async { "ok" }))
}

async fn webhook<S: Store>(
    State(intake): State<Arc<Intake<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The event names a metric label once the signature shows GitHub sent it. Before that the
    // header is anyone's text, and every label value a process sees is kept until it exits.
    const UNVERIFIED: &str = "unknown";
    let outcome = |event: &str, status: StatusCode, outcome: &'static str, message: &str| {
        let event = match event {
            UNVERIFIED => UNVERIFIED,
            signed => crate::core::event::metric_label(signed),
        };
        metrics::counter!("gep_bot_deliveries_total", "event" => event.to_owned(), "outcome" => outcome).increment(1);
        // A refused request's connection is not kept: its client may be no GitHub at all.
        let close = (status.is_client_error() || status.is_server_error())
            .then_some([(header::CONNECTION, HeaderValue::from_static("close"))]);
        (status, close, message.to_owned()).into_response()
    };
    // The signature first, before anything reads the body.
    if intake.secrets.is_empty() {
        tracing::warn!("webhook refused: no secret configured (set GEP_BOT_WEBHOOK_SECRET)");
        body::drain(&headers, body).await;
        return outcome(
            UNVERIFIED,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no webhook secret is configured\n",
        );
    }
    let Some(signature) = header(&headers, "x-hub-signature-256") else {
        body::drain(&headers, body).await;
        return outcome(
            UNVERIFIED,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing X-Hub-Signature-256\n",
        );
    };
    let received = match body::read(&headers, body, &intake.bodies, body::DEADLINE).await {
        Ok(received) => received,
        Err(refused) => {
            let mut response = outcome(
                UNVERIFIED,
                refused.status(),
                refused.outcome(),
                &refused.message(),
            );
            if refused == body::Refused::Busy {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(body::RETRY_AFTER_SECONDS),
                );
            }
            return response;
        }
    };
    let body = &received.bytes;
    if !intake.secrets.verify(signature, body) {
        tracing::warn!("webhook refused: signature does not match any configured secret");
        return outcome(
            UNVERIFIED,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "signature does not match\n",
        );
    }
    for name in ["X-GitHub-Event", "X-GitHub-Delivery"] {
        if headers.contains_key(name) && header(&headers, name).is_none() {
            return outcome(
                UNVERIFIED,
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("{name} is not valid: GitHub sends printable ASCII there\n"),
            );
        }
    }
    if let Some(delivery) = header(&headers, "x-github-delivery")
        && delivery.len() > MAX_DELIVERY_ID
    {
        return outcome(
            UNVERIFIED,
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!(
                "X-GitHub-Delivery is {} bytes; GitHub's are UUIDs (at most {MAX_DELIVERY_ID} taken)\n",
                delivery.len()
            ),
        );
    }
    let (Some(event), Some(delivery)) = (
        header(&headers, "x-github-event"),
        header(&headers, "x-github-delivery"),
    ) else {
        return outcome(
            header(&headers, "x-github-event").unwrap_or(UNVERIFIED),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "missing X-GitHub-Event or X-GitHub-Delivery\n",
        );
    };
    // The bot's own timed work is scheduled by the bot, never delivered.
    if event.starts_with(crate::core::event::SCHEDULED_PREFIX) {
        return outcome(
            event,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "X-GitHub-Event names the bot's own scheduled work, which no webhook delivers\n",
        );
    }
    // Well-formedness only (nesting deeper than 128 is refused as well); the worker parses the
    // event and keeps one of the wrong shape as dead, saying so.
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        return outcome(
            event,
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("the body is not JSON: {error}\n"),
        );
    }
    let record = intake.store.record(
        NewDelivery {
            id: delivery,
            event,
            body,
        },
        (intake.clock)(),
    );
    match tokio::time::timeout(STORE_TIMEOUT, record).await {
        Ok(Ok(Recorded::New)) => {
            intake.last_failure.set(0);
            intake.queued.notify_one();
            tracing::info!(delivery, event, "delivery stored");
            outcome(event, StatusCode::ACCEPTED, "accepted", "stored\n")
        }
        Ok(Ok(Recorded::Duplicate)) => {
            tracing::info!(delivery, event, "delivery seen before: nothing runs twice");
            outcome(event, StatusCode::OK, "duplicate", "already stored\n")
        }
        Ok(Err(error)) => {
            intake.last_failure.set((intake.clock)());
            tracing::error!(delivery, %error, "delivery not stored");
            outcome(
                event,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot store the delivery; redeliver it later\n",
            )
        }
        Err(_) => {
            intake.last_failure.set((intake.clock)());
            tracing::error!(delivery, "delivery not stored within {STORE_TIMEOUT:?}");
            outcome(
                event,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is too slow; redeliver it later\n",
            )
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().filter(|v| !v.is_empty())
}

/// Ready while a delivery can be stored: none failed to be in the last few seconds, and a
/// one-row write commits now.
async fn ready<S: Store>(State(intake): State<Arc<Intake<S>>>) -> Response {
    let unready = |message: String| (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    if let Some(ago) = intake.last_failure.recent((intake.clock)()) {
        return unready(format!(
            "a delivery could not be stored {:.1} s ago\n",
            ago as f64 / 1000.0
        ));
    }
    match tokio::time::timeout(Duration::from_secs(2), intake.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(error)) => unready(format!("the database cannot store a delivery: {error}\n")),
        Err(_) => unready("the database did not commit a write within 2 s\n".to_owned()),
    }
}

async fn metrics<S: Store>(State(intake): State<Arc<Intake<S>>>) -> Response {
    if let Ok(counts) = intake.store.counts().await {
        metrics::gauge!("gep_bot_queue_depth").set(counts.queued as f64);
        metrics::gauge!("gep_bot_jobs_running").set(counts.running as f64);
        metrics::gauge!("gep_bot_jobs_dead").set(counts.dead as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        metrics_handle().render(),
    )
        .into_response()
}
