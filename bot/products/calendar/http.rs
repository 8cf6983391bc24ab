//! The calendar's HTTP routes: `GET /calendar.ics` (the feed, cacheable, with a strong ETag) and
//! `GET /calendar` (the page). The feed is rendered once; the page needs the current time, which
//! comes from the clock the router is given.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::ics;
use super::page::{self, FeedUrl};
use super::schedule::Schedule;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct Calendar {
    schedule: Schedule,
    feed: String,
    etag: HeaderValue,
    public_url: Option<String>,
    clock: Clock,
}

impl Calendar {
    /// `public_url` is where the bot is reached from outside (`https://bot.example.org`); without
    /// it the subscribe links are built from the request's `Host`.
    pub fn new(schedule: Schedule, public_url: Option<String>, clock: Clock) -> Calendar {
        let feed = ics::feed(&schedule);
        let digest = Sha256::digest(feed.as_bytes());
        let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
            .expect("hex is a valid header value");
        Calendar {
            schedule,
            feed,
            etag,
            public_url,
            clock,
        }
    }

    pub fn feed(&self) -> &str {
        &self.feed
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
}

pub fn router(calendar: Arc<Calendar>) -> Router {
    Router::new()
        .route("/calendar.ics", get(feed))
        .route("/calendar", get(page))
        .with_state(calendar)
}

async fn feed(State(calendar): State<Arc<Calendar>>, headers: HeaderMap) -> Response {
    let cache = [
        (header::ETAG, calendar.etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
    ];
    if crate::machinery::edge::matches_etag(&headers, &calendar.etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        )],
        calendar.feed.clone(),
    )
        .into_response()
}

async fn page(State(calendar): State<Arc<Calendar>>, headers: HeaderMap) -> Response {
    let base = match &calendar.public_url {
        Some(url) => url.clone(),
        None => request_base(&headers),
    };
    let feed_url = FeedUrl(format!("{}/calendar.ics", base.trim_end_matches('/')));
    let html = page::render(&calendar.schedule, (calendar.clock)(), &feed_url);
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        html,
    )
        .into_response();
    if calendar.public_url.is_none() {
        // The links come from these headers: a shared cache must not hand one host's page to
        // another.
        response.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("host, x-forwarded-proto"),
        );
    }
    response
}

/// Where the request says the bot is, when no public URL is configured: `Host` and
/// `X-Forwarded-Proto`, each used only if it is what those headers may hold (a host name or
/// address with an optional port; `http` or `https`). They are the client's text, and they end
/// up in the page's links.
fn request_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").map(HeaderValue::as_bytes) {
        Some(b"https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}
