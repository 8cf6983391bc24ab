//! Where connections from the internet arrive. `axum::serve` reads request headers for as long
//! as a client likes and accepts every connection until the process runs out of descriptors, so
//! `serve` runs its own accept loop over hyper:
//!
//! - a connection whose request headers have not all arrived within `header_timeout` is closed
//!   (this also closes a keep-alive connection idle for that long: hyper times the wait for each
//!   request's headers, and GitHub opens a connection per delivery anyway);
//! - at most `max_connections` are served at once. Past that, up to [`SPARE`] more are answered by
//!   a small router that still says `/healthz` (the process is alive), `/readyz` 503 (send traffic
//!   elsewhere) and 503 with `Retry-After` to everything else, and then closed; past those, a
//!   connection is closed as soon as it is accepted, so descriptors are never exhausted.
//!
//! Bodies are the routes' business: the webhook reads its body under a deadline and a memory
//! budget (`pipeline::body`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections answered by the overload router beyond `max_connections`.
pub const SPARE: usize = 64;
/// How long the overload router waits for a request's headers.
const SPARE_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long in-flight requests may take to finish once the process is told to stop.
const DRAIN: Duration = Duration::from_secs(20);
/// What an overloaded server asks clients to wait before trying again.
const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (`GEP_BOT_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Time a client has to send a request's headers (`GEP_BOT_HEADER_TIMEOUT_MS`).
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(5),
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then lets in-flight
/// requests finish (at most 20 s, `DRAIN`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let served = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let spare = Arc::new(Semaphore::new(SPARE));
    let overloaded = overload_router();
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was taken: keep going,
                    // after a pause so a persistent error does not spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (permit, router, header_timeout) = if let Ok(p) = served.clone().try_acquire_owned() {
            (p, app.clone(), limits.header_timeout)
        } else if let Ok(p) = spare.clone().try_acquire_owned() {
            metrics::counter!("gep_bot_connections_refused_total", "how" => "503").increment(1);
            (p, overloaded.clone(), SPARE_HEADER_TIMEOUT)
        } else {
            metrics::counter!("gep_bot_connections_refused_total", "how" => "closed").increment(1);
            tracing::debug!(%peer, "connection closed: at the connection cap and its spare");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut builder = builder.clone();
        builder.header_read_timeout(header_timeout);
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.into_service()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN:?}: stopping anyway");
    }
    Ok(())
}

/// What a connection past the cap is answered.
fn overload_router() -> Router {
    let unavailable = |message: &'static str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS)),
                (header::CONNECTION, HeaderValue::from_static("close")),
            ],
            message,
        )
            .into_response()
    };
    Router::new()
        .route(
            "/healthz",
            get(|| async { ([(header::CONNECTION, "close")], "ok") }),
        )
        .route(
            "/readyz",
            get(move || async move { unavailable("at the connection cap\n") }),
        )
        .fallback(move || async move {
            unavailable("too many connections; try again in a few seconds\n")
        })
}

/// `If-None-Match` holds `*` or a list of tags; a weak `W/` tag compares equal too (RFC 9110 13.1.2).
pub fn matches_etag(headers: &axum::http::HeaderMap, etag: &axum::http::HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(axum::http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}
