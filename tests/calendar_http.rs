//! `/calendar.ics` and `/calendar` through the router, and the page in a real browser.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use gep_bot::products::calendar::{Schedule, http};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The example schedule (the shipped one's first series, with a move and cancellations), with the
/// clock stopped on Monday 2022-10-31: the next meeting is Tuesday 2022-11-01 15:00 PDT, which is
/// 22:00Z and Wednesday 07:00 in Tokyo.
fn calendar() -> Arc<http::Calendar> {
    calendar_of("schedules/example.toml", "2022-10-31T12:00:00Z")
}

fn calendar_of(file: &str, now: &str) -> Arc<http::Calendar> {
    let schedule = Schedule::load(&common::repo().join(file)).unwrap();
    let now = utc(now);
    Arc::new(http::Calendar::new(schedule, None, Arc::new(move || now)))
}

async fn get(uri: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    http::router(calendar())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn text(response: axum::response::Response) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_feed_is_served_as_text_calendar_with_a_strong_etag() {
    let response = get("/calendar.ics", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let body = text(response).await;
    assert_eq!(body, calendar().feed());
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_without_a_body() {
    let etag = get("/calendar.ics", &[]).await.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    let response = get("/calendar.ics", &[("if-none-match", &etag)]).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()[header::ETAG], etag.as_str());
    assert!(text(response).await.is_empty());
    let listed = format!("\"other\", W/{etag}");
    assert_eq!(
        get("/calendar.ics", &[("if-none-match", &listed)])
            .await
            .status(),
        StatusCode::NOT_MODIFIED
    );
    let stale = get("/calendar.ics", &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_page_lists_the_next_meetings_and_subscribe_links() {
    let response = get(
        "/calendar",
        &[("host", "bot.example.org"), ("x-forwarded-proto", "https")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = text(response).await;
    assert!(
        html.contains(
            "<time datetime=\"2022-11-01T22:00:00Z\">Tuesday 2022-11-01 15:00 PDT</time>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<time datetime=\"2022-11-08T16:00:00Z\">"),
        "{html}"
    );
    assert_eq!(html.matches("<time ").count(), 8);
    assert!(html.contains("href=\"webcal://bot.example.org/calendar.ics\""));
    assert!(html.contains("https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fbot%2Eexample%2Eorg%2Fcalendar%2Eics"));
    assert!(html.contains("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fbot%2Eexample%2Eorg%2Fcalendar%2Eics"));
    // The moved Thanksgiving meeting is listed with its reason.
    assert!(html.contains("moved: Thanksgiving week"));
}

/// The shipped schedule in April 2024, when GAMMA folded into the community meeting: each listed
/// meeting says which meeting it is.
#[tokio::test]
async fn the_page_says_which_meeting_each_date_belongs_to() {
    let request = Request::get("/calendar").body(Body::empty()).unwrap();
    let response = http::router(calendar_of("schedules/gamma.toml", "2024-03-25T12:00:00Z"))
        .oneshot(request)
        .await
        .unwrap();
    let html = text(response).await;
    let items: Vec<&str> = html.lines().filter(|l| l.contains("<li><time")).collect();
    assert_eq!(items.len(), 8, "{html}");
    assert!(
        items[0].contains("2024-04-02T15:00:00Z") && items[0].contains(">GAMMA meeting</span>"),
        "{}",
        items[0]
    );
    assert!(
        items[1].contains("2024-04-22T22:00:00Z")
            && items[1].contains(">Gateway API community meeting (with GAMMA)</span>"),
        "{}",
        items[1]
    );
    // The first Tuesday of May, and no Monday in its week.
    assert!(items[3].contains("2024-05-07T15:00:00Z"), "{}", items[3]);
    assert!(!html.contains("2024-05-06T22:00:00Z"), "{html}");
}

#[tokio::test]
async fn request_headers_that_are_no_host_or_scheme_never_reach_the_links() {
    let response = get(
        "/calendar",
        &[
            ("host", "evil.example\"><script>alert(1)</script>"),
            ("x-forwarded-proto", "javascript:alert(1)//"),
        ],
    )
    .await;
    assert_eq!(
        response.headers()[header::VARY],
        "host, x-forwarded-proto",
        "the page depends on both"
    );
    let html = text(response).await;
    assert!(!html.contains("javascript:"), "{html}");
    assert!(!html.contains("evil.example"), "{html}");
    assert!(
        html.contains("href=\"webcal://localhost/calendar.ics\""),
        "{html}"
    );
    assert!(html.contains("url=http%3A%2F%2Flocalhost"), "{html}");

    let with_port = text(get("/calendar", &[("host", "127.0.0.1:8080")]).await).await;
    assert!(with_port.contains("href=\"webcal://127.0.0.1:8080/calendar.ics\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_next_meeting_in_the_visitors_time_zone() {
    let Some(chromium) = common::chromium() else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, http::router(calendar())).into_future());
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{address}/calendar");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let output = tokio::task::spawn_blocking(move || {
        common::chromium_run(
            chromium,
            &[("TZ", "Asia/Tokyo"), ("LANG", "en_US.UTF-8")],
            &[&profile_arg, "--lang=en-US", "--dump-dom", &url],
        )
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("<strong id=\"zone\">Asia/Tokyo</strong>"),
        "{dom}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let first = dom
        .split("<time datetime=\"2022-11-01T22:00:00Z\">")
        .nth(1)
        .and_then(|rest| rest.split("</time>").next())
        .unwrap_or_else(|| panic!("no first meeting in {dom}"));
    assert!(first.contains("Wednesday"), "{first}");
    assert!(first.contains("November 2"), "{first}");
    assert!(first.contains("07:00"), "{first}");
}
