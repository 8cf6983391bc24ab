//! One request to GitHub: authentication, pacing of writes per installation, the answer sorted
//! into what the worker does next (done, wait for a rate limit, retry, give up), and the paging of
//! lists. Every read and write goes through here; nothing here knows what a capability wants.
//!
//! octocrab owns the HTTP client and who the bot is to GitHub: the App's JWT, each
//! installation's token (fetched, cached, fetched again on a 401), a personal token, the API
//! version header. What stays ours, on top of its raw requests (`build_request` + `execute`, which
//! hand back the whole answer with its headers):
//! - no retry behind our back: its `retry` feature is not compiled (it re-sends a POST at once,
//!   duplicate comments); the worker retries, honouring `Retry-After` and `X-RateLimit-*`;
//! - pacing of writes and read slots per installation, and holding an installation back while
//!   GitHub asks it to wait;
//! - conditional requests through our own ETag cache: octocrab's cache middleware keys answers by
//!   address alone (a file read raw and as JSON would collide) and is unbounded;
//! - `Link` paging, the raw media type for files, GraphQL with rate limits said in a 200;
//! - bodies as `serde_json::Value`, never octocrab's typed models (strict about nulls).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt as _;
use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use serde_json::Value;
use std::sync::Arc;

use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::auth::Credentials;
use crate::core::ExecError;

/// The REST API version every request names (GitHub answers the oldest one without it).
/// octocrab sends it (`[package.metadata.github-api]` of its own manifest); a test pins that it
/// is this one, once.
pub const API_VERSION: &str = "2022-11-28";
/// JSON answers, GitHub's media type.
pub const JSON: &str = "application/vnd.github+json";
/// A file's own bytes from the contents API (the JSON form stops at 1 MB).
pub const RAW: &str = "application/vnd.github.raw+json";
/// What the ETag cache keeps at most, in bytes of answer bodies, and the largest answer it keeps:
/// files are read raw now and may be many megabytes, so a count of entries bounds nothing.
const ETAG_CACHE_BYTES: usize = 32 * 1024 * 1024;
const ETAG_CACHE_LARGEST: usize = 1024 * 1024;

/// One request's parts.
pub(super) struct Exchange<'a> {
    pub method: Method,
    pub url: &'a str,
    /// How errors name the request.
    pub what: &'a str,
    pub body: Option<Value>,
    pub write: bool,
    pub accept: &'static str,
}

impl<'a> Exchange<'a> {
    /// A read of `url` in the media type `accept`.
    pub fn get(url: &'a str, what: &'a str, accept: &'static str) -> Exchange<'a> {
        Exchange {
            method: Method::GET,
            url,
            what,
            body: None,
            write: false,
            accept,
        }
    }
}

/// A successful answer (fresh, or the cached one a 304 confirmed).
pub(super) struct Answer {
    pub text: String,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn json(&self) -> Value {
        if self.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.text).unwrap_or(Value::Null)
        }
    }
}

/// The `next` address of a `Link` header, if the list goes on.
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// GitHub's GraphQL endpoint for a REST API base: `https://api.github.com/graphql`, but on GitHub
/// Enterprise Server, whose REST base is `https://HOST/api/v3`, `https://HOST/api/graphql`.
pub(super) fn graphql_endpoint(api: &str) -> String {
    match api.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{api}/graphql"),
    }
}

pub struct GitHub {
    /// octocrab as the App (signing with its JWT) or as the token.
    client: Arc<Octocrab>,
    /// One octocrab per installation, made from the App's, each holding its installation's
    /// token: kept, since a new one starts with no token.
    installations: std::sync::Mutex<HashMap<u64, Arc<Octocrab>>>,
    /// `scheme://host[:port]` of the API: requests go out as paths below it, the only form
    /// octocrab signs for any host (it signs absolute addresses for api.github.com alone).
    origin: String,
    pub(super) api: String,
    /// Where GraphQL queries go (not always `api` + `/graphql`: see `graphql_endpoint`).
    pub(super) graphql: String,
    pub(super) credentials: Credentials,
    pub(super) write_interval: Duration,
    /// When each installation last wrote: writes are paced per installation.
    pub(super) last_write: Mutex<HashMap<u64, Instant>>,
    /// The validator and body of each GET answered with one, per installation, media type
    /// and address.
    pub(super) etags: EtagCache,
    conditional: bool,
    /// Reads one installation may have in flight at once (GitHub's own SDK allows 10).
    read_concurrency: usize,
    read_slots: std::sync::Mutex<HashMap<u64, Arc<Semaphore>>>,
    /// Installations GitHub asked to wait (a rate limit), and until when: no request of theirs
    /// is sent meanwhile, so reads made side by side do not all meet the limit.
    held: std::sync::Mutex<HashMap<u64, (Instant, String)>>,
}

/// Reads one installation has in flight at once unless configured (`GEP_BOT_READ_CONCURRENCY`).
pub const READ_CONCURRENCY: usize = 8;

type EtagKey = (Option<u64>, &'static str, String);

/// The validator and body of each GET answered with one, and the bytes they take.
#[derive(Default)]
pub(super) struct Etags {
    entries: HashMap<EtagKey, (String, String)>,
    bytes: usize,
}

type EtagCache = std::sync::Mutex<Etags>;

impl GitHub {
    /// The same client with at most `reads` reads in flight per installation (1: one at a time).
    pub fn with_read_concurrency(mut self, reads: usize) -> GitHub {
        self.read_concurrency = reads.max(1);
        self
    }

    /// The same client asking nothing conditionally (a benchmark's baseline).
    pub fn without_conditional_requests(mut self) -> GitHub {
        self.conditional = false;
        self
    }

    /// [`GitHub::connect`] to an address known to be good (a test's stand-in).
    ///
    /// # Panics
    /// On an address that is not one: `connect` says so instead.
    pub fn new(api: &str, credentials: Credentials, write_interval: Duration) -> GitHub {
        GitHub::connect(api, credentials, write_interval).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A client of the API at `api` (`https://api.github.com`, a GitHub Enterprise Server's
    /// `https://HOST/api/v3`, a stand-in's address). Fails on an address that is not one.
    pub fn connect(
        api: &str,
        credentials: Credentials,
        write_interval: Duration,
    ) -> Result<GitHub, ExecError> {
        let api = api.trim_end_matches('/');
        let uri: http::Uri = api
            .parse()
            .map_err(|e| ExecError::Permanent(format!("GitHub API address {api}: {e}")))?;
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ExecError::Permanent(format!(
                "GitHub API address {api}: give scheme and host, e.g. https://api.github.com"
            )));
        };
        let origin = format!("{scheme}://{host}");
        let builder = Octocrab::builder()
            .base_uri(origin.as_str())
            .map_err(|e| ExecError::Permanent(format!("GitHub API address {api}: {e}")))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .set_write_timeout(Some(Duration::from_secs(30)));
        let built = match &credentials {
            Credentials::Token(token) => builder.personal_token(token.clone()).build(),
            Credentials::App { app_id, key } => builder.app(AppId(*app_id), key.clone()).build(),
        };
        let client = built.map_err(|e| ExecError::Permanent(format!("the GitHub client: {e}")))?;
        Ok(GitHub {
            client: Arc::new(client),
            installations: std::sync::Mutex::default(),
            origin,
            api: api.to_owned(),
            graphql: graphql_endpoint(api),
            credentials,
            write_interval,
            last_write: Mutex::new(HashMap::new()),
            etags: std::sync::Mutex::default(),
            conditional: true,
            read_concurrency: READ_CONCURRENCY,
            read_slots: std::sync::Mutex::default(),
            held: std::sync::Mutex::default(),
        })
    }

    pub async fn whoami(&self) -> Result<String, ExecError> {
        match &self.credentials {
            Credentials::Token(_) => {
                let limits = self
                    .send(None, Method::GET, "/rate_limit", None, false)
                    .await?;
                let core = &limits["resources"]["core"];
                Ok(format!(
                    "token accepted; {} of {} requests left this hour",
                    core["remaining"], core["limit"]
                ))
            }
            Credentials::App { app_id, .. } => {
                let app = self.as_app("/app").await?;
                Ok(format!(
                    "App {} ({}) accepted the key",
                    app["name"].as_str().unwrap_or("?"),
                    app_id
                ))
            }
        }
    }

    /// Whether the bot is a GitHub App (else a token).
    pub fn is_app(&self) -> bool {
        matches!(self.credentials, Credentials::App { .. })
    }

    /// A GET as the App itself (its JWT, not an installation's token), as JSON.
    pub(super) async fn as_app(&self, path: &str) -> Result<Value, ExecError> {
        if !self.is_app() {
            return Err(ExecError::Permanent(format!(
                "GET {path} needs a GitHub App"
            )));
        }
        let url = format!("{}{path}", self.api);
        let request = Exchange::get(&url, path, JSON);
        let answer = self.request(&self.client, None, request).await?;
        Ok(answer.json())
    }

    /// A GET of `what` (a path under the API) in the raw media type: a file's own bytes.
    pub(super) async fn get_raw(
        &self,
        installation: Option<u64>,
        what: &str,
    ) -> Result<String, ExecError> {
        let url = format!("{}{what}", self.api);
        let request = Exchange::get(&url, what, RAW);
        Ok(self.exchange(installation, request).await?.text)
    }

    pub(super) async fn send_unless_missing(
        &self,
        installation: Option<u64>,
        method: Method,
        path: &str,
        write: bool,
    ) -> Result<Option<Value>, ExecError> {
        match self.send(installation, method, path, None, write).await {
            Err(ExecError::Permanent(message)) if message.starts_with("404") => Ok(None),
            other => other.map(Some),
        }
    }

    /// Every item of a paginated list, up to `max_pages` pages of 100, following the `Link`
    /// header's `next` as GitHub asks (page numbers are not every list's cursor).
    pub(super) async fn pages(
        &self,
        installation: Option<u64>,
        path: &str,
        max_pages: u32,
    ) -> Result<Vec<Value>, ExecError> {
        let mut all = Vec::new();
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{path}{separator}per_page=100", self.api);
        for _ in 0..max_pages {
            let request = Exchange::get(&url, path, JSON);
            let answer = self.exchange(installation, request).await?;
            let Value::Array(items) = answer.json() else {
                break;
            };
            all.extend(items);
            match next_link(&answer.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(all)
    }

    pub(super) async fn send(
        &self,
        installation: Option<u64>,
        method: Method,
        path: &str,
        body: Option<Value>,
        write: bool,
    ) -> Result<Value, ExecError> {
        let url = format!("{}{path}", self.api);
        self.send_to(installation, method, &url, path, body, write)
            .await
    }

    /// One request to `url` (`what` in errors), as JSON.
    pub(super) async fn send_to(
        &self,
        installation: Option<u64>,
        method: Method,
        url: &str,
        what: &str,
        body: Option<Value>,
        write: bool,
    ) -> Result<Value, ExecError> {
        let request = Exchange {
            method,
            url,
            what,
            body,
            write,
            accept: JSON,
        };
        Ok(self.exchange(installation, request).await?.json())
    }

    /// One request: auth, pacing for writes, a conditional request for a GET answered before
    /// (GitHub does not count a `304 Not Modified` against the rate limit), and the answer
    /// sorted into what the worker does.
    /// One request of an installation: none while GitHub has asked the installation to wait;
    /// a read waits for one of the installation's read slots; a rate limit holds the
    /// installation for as long as GitHub asked.
    pub(super) async fn exchange(
        &self,
        installation: Option<u64>,
        exchange: Exchange<'_>,
    ) -> Result<Answer, ExecError> {
        let key = installation.unwrap_or(0);
        self.held_back(key)?;
        let _slot = if exchange.write {
            None
        } else {
            let slot = self.read_slot(key);
            Some(
                slot.acquire_owned()
                    .await
                    .expect("read slots are never closed"),
            )
        };
        // Asked again: another read may have met a limit while this one waited for a slot.
        self.held_back(key)?;
        let answer = self.exchange_now(installation, exchange).await;
        if let Err(error) = &answer {
            self.hold(installation, error);
        }
        answer
    }

    fn read_slot(&self, installation: u64) -> Arc<Semaphore> {
        self.read_slots
            .lock()
            .expect("read slots")
            .entry(installation)
            .or_insert_with(|| Arc::new(Semaphore::new(self.read_concurrency)))
            .clone()
    }

    /// Holds `installation` back for as long as a rate limit asks.
    pub(super) fn hold(&self, installation: Option<u64>, error: &ExecError) {
        if let ExecError::RateLimited { wait, reason, .. } = error {
            let until = Instant::now() + *wait;
            let mut held = self.held.lock().expect("held installations");
            let entry = held
                .entry(installation.unwrap_or(0))
                .or_insert((until, reason.clone()));
            if entry.0 < until {
                *entry = (until, reason.clone());
            }
        }
    }

    /// An error instead of a request, while GitHub has asked the installation to wait: the
    /// job waits as long as is left (like a primary limit: a known time, not an attempt).
    fn held_back(&self, installation: u64) -> Result<(), ExecError> {
        let mut held = self.held.lock().expect("held installations");
        match held.get(&installation) {
            Some((until, reason)) if *until > Instant::now() => Err(ExecError::RateLimited {
                wait: *until - Instant::now(),
                reason: format!("held back: {reason}"),
                secondary: false,
            }),
            Some(_) => {
                held.remove(&installation);
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn exchange_now(
        &self,
        installation: Option<u64>,
        exchange: Exchange<'_>,
    ) -> Result<Answer, ExecError> {
        let client = self.client_for(installation)?;
        self.request(&client, installation, exchange).await
    }

    /// The octocrab that speaks for `installation`: the token's own, or the installation's
    /// (made once, from the App's).
    fn client_for(&self, installation: Option<u64>) -> Result<Arc<Octocrab>, ExecError> {
        if let Credentials::Token(_) = self.credentials {
            return Ok(self.client.clone());
        }
        let id = installation.ok_or_else(|| {
            ExecError::Permanent("the event names no installation: is the App installed?".into())
        })?;
        let mut clients = self.installations.lock().expect("installation clients");
        if let Some(client) = clients.get(&id) {
            return Ok(client.clone());
        }
        let client = self
            .client
            .installation(InstallationId(id))
            .map_err(|e| ExecError::Permanent(format!("installation {id}: {e}")))?;
        let client = Arc::new(client);
        clients.insert(id, client.clone());
        Ok(client)
    }

    /// One request through `client`: pacing for writes, a conditional request for a GET
    /// answered before (GitHub does not count a `304 Not Modified` against the rate limit), and
    /// the answer sorted into what the worker does.
    async fn request(
        &self,
        client: &Octocrab,
        installation: Option<u64>,
        exchange: Exchange<'_>,
    ) -> Result<Answer, ExecError> {
        let Exchange {
            method,
            url,
            what,
            body,
            write,
            accept,
        } = exchange;
        let path = self.path_of(url)?;
        if write {
            self.pace(installation.unwrap_or(0)).await;
        }
        let cache_key = (self.conditional && method == Method::GET)
            .then(|| (installation, accept, url.to_owned()));
        let cached = cache_key.as_ref().and_then(|key| {
            self.etags
                .lock()
                .expect("etag cache")
                .entries
                .get(key)
                .cloned()
        });
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::ACCEPT, accept);
        if let Some((etag, _)) = &cached {
            request = request.header(http::header::IF_NONE_MATCH, etag.as_str());
        }
        // octocrab adds the API version header, the JSON content type and the credentials.
        let request = client
            .build_request(request, body.as_ref())
            .map_err(|e| ExecError::Permanent(format!("{method} {what}: {e}")))?;
        // Boxed: octocrab's future is large (its tower stack, the token fetch inside), and
        // every read a capability gathers side by side would carry it inline.
        let response = Box::pin(client.execute(request))
            .await
            .map_err(|e| failed(e, &format!("{method} {what}")))?;
        let status = response.status();
        metrics::counter!("gep_bot_github_calls_total", "status" => status.as_u16().to_string())
            .increment(1);
        let headers = response.headers().clone();
        if let Some(remaining) = header_number(&headers, "x-ratelimit-remaining") {
            metrics::gauge!("gep_bot_github_rate_limit_remaining").set(remaining as f64);
        }
        if status == StatusCode::NOT_MODIFIED
            && let Some((_, text)) = cached
        {
            return Ok(Answer { text, headers });
        }
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ExecError::Transient(format!("{method} {what}: {e}")))?
            .to_bytes();
        let text = String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        if status.is_success() {
            if let (Some(key), Some(etag)) = (cache_key, headers.get("etag"))
                && let Ok(etag) = etag.to_str()
            {
                let mut etags = self.etags.lock().expect("etag cache");
                // A bound, not an eviction policy: the reads that repeat are few and small.
                if text.len() <= ETAG_CACHE_LARGEST {
                    if etags.bytes + text.len() > ETAG_CACHE_BYTES {
                        *etags = Etags::default();
                    }
                    etags.bytes += text.len() + etag.len();
                    if let Some((old_tag, old)) =
                        etags.entries.insert(key, (etag.to_owned(), text.clone()))
                    {
                        etags.bytes -= old.len() + old_tag.len();
                    }
                }
            }
            return Ok(Answer { text, headers });
        }
        if status == StatusCode::UNAUTHORIZED && installation.is_some() {
            // octocrab fetched a new installation token and asked once more, still refused
            // (revoked early?): the worker's next attempt starts from a new token again.
            return Err(ExecError::Transient(format!("401 {method} {what}")));
        }
        Err(classify(
            status,
            &headers,
            &text,
            &format!("{method} {what}"),
            Utc::now(),
        ))
    }

    /// `url` as a path below the API's origin: the form octocrab sends with our credentials.
    fn path_of<'u>(&self, url: &'u str) -> Result<&'u str, ExecError> {
        url.strip_prefix(self.origin.as_str())
            .filter(|path| path.starts_with('/'))
            .ok_or_else(|| {
                ExecError::Permanent(format!("{url} is not an address of {}", self.origin))
            })
    }

    /// Waits until this installation may write again.
    pub(super) async fn pace(&self, installation: u64) {
        if self.write_interval.is_zero() {
            return;
        }
        let mut last = self.last_write.lock().await;
        if let Some(previous) = last.get(&installation) {
            tokio::time::sleep_until(*previous + self.write_interval).await;
        }
        last.insert(installation, Instant::now());
    }
}

/// What a request that had no answer of its own means: GitHub refusing the installation token
/// it needed (sorted like any answer, with its headers), or no answer at all (try again).
fn failed(error: octocrab::Error, what: &str) -> ExecError {
    match error {
        octocrab::Error::GitHub { source, .. } => classify(
            source.status_code,
            source.headers.as_ref().unwrap_or(&HeaderMap::new()),
            &source.message,
            &format!("installation token for {what}"),
            Utc::now(),
        ),
        octocrab::Error::JWT { source, .. } => {
            ExecError::Permanent(format!("cannot sign the App JWT: {source}"))
        }
        other => ExecError::Transient(format!("{what}: {other}")),
    }
}

/// Sorts a failed response: rate limits (with how long to wait from `now`), server trouble, or
/// a refusal.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    what: &str,
    now: DateTime<Utc>,
) -> ExecError {
    // What GitHub says is wrong: its answer's `message` (and `errors`, for a validation), else
    // the answer's start.
    let snippet: String = match serde_json::from_str::<Value>(body) {
        Ok(answer) if answer["message"].is_string() => {
            let mut said = answer["message"].as_str().unwrap_or_default().to_owned();
            if let Some(errors) = answer.get("errors") {
                said.push_str(&format!(" {errors}"));
            }
            said.chars().take(300).collect()
        }
        _ => body.chars().take(200).collect(),
    };
    if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(seconds) = header_number(headers, "retry-after") {
            return ExecError::RateLimited {
                wait: Duration::from_secs(seconds),
                reason: format!("{status} {what}: Retry-After {seconds}s"),
                secondary: true,
            };
        }
        if header_number(headers, "x-ratelimit-remaining") == Some(0)
            && let Some(reset) = header_number(headers, "x-ratelimit-reset")
        {
            let wait = (reset as i64 - now.timestamp()).max(1) as u64;
            return ExecError::RateLimited {
                wait: Duration::from_secs(wait),
                reason: format!("{status} {what}: rate limit until {reset}"),
                secondary: false,
            };
        }
        if body.to_lowercase().contains("secondary rate limit")
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            // GitHub asks for at least a minute when it gives no time.
            return ExecError::RateLimited {
                wait: Duration::from_secs(60),
                reason: format!("{status} {what}: secondary rate limit"),
                secondary: true,
            };
        }
    }
    if status.is_server_error() {
        return ExecError::Transient(format!("{} {what}: {snippet}", status.as_u16()));
    }
    ExecError::Permanent(format!("{} {what}: {snippet}", status.as_u16()))
}

/// The `key` text of each object in a JSON list (empty when `list` is not a list).
pub(super) fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[key].as_str().map(String::from))
        .collect()
}

pub(super) fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Everything but RFC 3986's unreserved characters is escaped in a path segment or query value.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Data (a label, a file path's segment, a ref, a SHA) made one path segment or query value:
/// it cannot add a segment, a query or a fragment, and `.` or `..` cannot climb out of the
/// path (URL parsing would resolve them).
pub(super) fn encode(text: &str) -> String {
    if text == "." || text == ".." {
        return text.replace('.', "%2E");
    }
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_and_rate_limit_reset_become_waits() {
        let e = classify(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after", "3")]),
            "",
            "x",
            Utc::now(),
        );
        assert!(matches!(e, ExecError::RateLimited { wait, .. } if wait == Duration::from_secs(3)));
        // The wait is counted from the `now` given, not the machine's clock.
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let e = classify(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000030"),
            ]),
            "",
            "x",
            now,
        );
        assert!(
            matches!(e, ExecError::RateLimited { wait, .. } if wait == Duration::from_secs(30))
        );
        let e = classify(
            StatusCode::FORBIDDEN,
            &headers(&[]),
            "You have exceeded a secondary rate limit",
            "x",
            Utc::now(),
        );
        assert!(
            matches!(e, ExecError::RateLimited { wait, .. } if wait == Duration::from_secs(60))
        );
    }

    #[test]
    fn server_errors_are_transient_and_refusals_permanent() {
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &headers(&[]), "", "x", Utc::now()),
            ExecError::Transient(_)
        ));
        assert!(matches!(
            classify(
                StatusCode::FORBIDDEN,
                &headers(&[]),
                "Resource not accessible",
                "x",
                Utc::now()
            ),
            ExecError::Permanent(_)
        ));
        assert!(matches!(
            classify(
                StatusCode::UNPROCESSABLE_ENTITY,
                &headers(&[]),
                "",
                "x",
                Utc::now()
            ),
            ExecError::Permanent(_)
        ));
    }

    /// A stand-in GitHub that answers every GET after `delay` and notes how many requests it
    /// had in flight at most; one path answers a secondary rate limit.
    async fn counting_github(
        delay: Duration,
    ) -> (
        String,
        Arc<std::sync::atomic::AtomicUsize>,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let seen = Arc::new(AtomicUsize::new(0));
        let (now2, most2, seen2) = (now.clone(), most.clone(), seen.clone());
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (now, most, seen) = (now2.clone(), most2.clone(), seen2.clone());
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                if uri.path() == "/limited" {
                    return (
                        axum::http::StatusCode::FORBIDDEN,
                        [("retry-after", "30")],
                        "You have exceeded a secondary rate limit.",
                    )
                        .into_response();
                }
                let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(in_flight, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                now.fetch_sub(1, Ordering::SeqCst);
                axum::Json(serde_json::json!([])).into_response()
            }
        });
        use axum::response::IntoResponse as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}"), most, seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_installation_has_at_most_its_read_slots_in_flight() {
        for (slots, most_allowed) in [(2, 2), (8, 8)] {
            let (api, most, _) = counting_github(Duration::from_millis(100)).await;
            let github = GitHub::new(&api, Credentials::Token("t".into()), Duration::ZERO)
                .with_read_concurrency(slots);
            let paths: Vec<String> = (0..12).map(|i| format!("/r/{i}")).collect();
            let reads = paths.iter().map(|path| github.pages(Some(7), path, 1));
            futures::future::try_join_all(reads).await.unwrap();
            let most = most.load(std::sync::atomic::Ordering::SeqCst);
            assert!(most <= most_allowed, "{most} in flight with {slots} slots");
            assert!(
                most >= slots.min(4),
                "{most} in flight with {slots} slots: not side by side"
            );
        }
    }

    #[tokio::test]
    async fn a_rate_limit_on_one_read_holds_back_every_read_of_that_installation() {
        let (api, _, seen) = counting_github(Duration::ZERO).await;
        let github = GitHub::new(&api, Credentials::Token("t".into()), Duration::ZERO);
        let limited = github.pages(Some(7), "/limited", 1).await.unwrap_err();
        assert!(
            matches!(
                limited,
                ExecError::RateLimited {
                    secondary: true,
                    ..
                }
            ),
            "{limited}"
        );
        // Another read of the same installation is not sent: it waits what is left.
        let held = github.pages(Some(7), "/other", 1).await.unwrap_err();
        assert!(
            matches!(&held, ExecError::RateLimited { wait, secondary: false, .. } if *wait > Duration::from_secs(25)),
            "{held}"
        );
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another installation reads as usual.
        github.pages(Some(8), "/other", 1).await.unwrap();
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// What a stand-in GitHub saw: each request's method, path and headers.
    type Seen = Arc<std::sync::Mutex<Vec<(String, String, axum::http::HeaderMap)>>>;

    /// A stand-in GitHub that notes every request and answers what `answer` gives for its
    /// method, path and how many requests came before it.
    async fn noting_github(answer: fn(&str, &str, usize) -> (u16, Value)) -> (String, Seen) {
        use axum::response::IntoResponse as _;
        let seen: Seen = Arc::default();
        let noted = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap| {
                let noted = noted.clone();
                async move {
                    let before = {
                        let mut noted = noted.lock().unwrap();
                        noted.push((method.to_string(), uri.path().to_owned(), headers));
                        noted.len() - 1
                    };
                    let (status, body) = answer(method.as_str(), uri.path(), before);
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(body),
                    )
                        .into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}"), seen)
    }

    fn count(seen: &Seen, method: &str, path: &str) -> usize {
        let seen = seen.lock().unwrap();
        seen.iter()
            .filter(|(m, p, _)| m == method && p == path)
            .count()
    }

    mod app_key {
        include!("../../../tests/common/app_key.rs");
    }

    /// An App whose key openssl makes for the test.
    fn throwaway_app() -> Credentials {
        let dir = tempfile::tempdir().unwrap();
        let pem = std::fs::read(app_key::throwaway_app_key(dir.path())).unwrap();
        Credentials::App {
            app_id: 12345,
            key: jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
        }
    }

    fn token_answer(with_permissions: bool) -> Value {
        let expires = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let mut token = serde_json::json!({ "token": "ghs_t", "expires_at": expires });
        if with_permissions {
            token["permissions"] = serde_json::json!({ "issues": "write" });
        }
        token
    }

    /// What octocrab sends for us is pinned: our media type once (a file raw), the API version
    /// once, the token; and a POST that fails is sent once (its retry is not compiled in: the
    /// worker retries, honouring GitHub's waits).
    #[tokio::test]
    async fn octocrab_sends_our_headers_once_and_retries_nothing() {
        let (api, seen) = noting_github(|_, path, _| match path {
            "/fails" => (502, serde_json::json!({ "message": "Bad Gateway" })),
            _ => (200, serde_json::json!("text")),
        })
        .await;
        let github = GitHub::new(&api, Credentials::Token("ghp_t".into()), Duration::ZERO);
        github
            .get_raw(Some(1), "/repos/o/r/contents/a.md")
            .await
            .unwrap();
        {
            let seen = seen.lock().unwrap();
            let headers = &seen[0].2;
            let all = |name: &str| -> Vec<&str> {
                headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap())
                    .collect()
            };
            assert_eq!(all("accept"), [RAW]);
            assert_eq!(all("x-github-api-version"), [API_VERSION]);
            assert_eq!(all("authorization"), ["Bearer ghp_t"]);
        }
        let failed = github
            .send(
                Some(1),
                Method::POST,
                "/fails",
                Some(serde_json::json!({})),
                true,
            )
            .await
            .unwrap_err();
        assert!(matches!(failed, ExecError::Transient(_)), "{failed}");
        assert_eq!(count(&seen, "POST", "/fails"), 1, "sent once, not retried");
    }

    /// octocrab owns installation tokens: fetched once and kept; when GitHub refuses one (401),
    /// octocrab fetches another and asks once more, and a second 401 is ours to retry later.
    #[tokio::test]
    async fn an_installation_token_is_kept_and_a_refused_one_is_fetched_again_once() {
        let (api, seen) = noting_github(|method, path, _| match (method, path) {
            ("POST", "/app/installations/7/access_tokens") => (201, token_answer(true)),
            (_, "/revoked") => (401, serde_json::json!({ "message": "Bad credentials" })),
            _ => (200, serde_json::json!({ "ok": true })),
        })
        .await;
        let github = GitHub::new(&api, throwaway_app(), Duration::ZERO);
        let tokens = || count(&seen, "POST", "/app/installations/7/access_tokens");
        github
            .send(Some(7), Method::GET, "/a", None, false)
            .await
            .unwrap();
        github
            .send(Some(7), Method::GET, "/b", None, false)
            .await
            .unwrap();
        assert_eq!(tokens(), 1, "one token for both reads");
        let refused = github
            .send(Some(7), Method::GET, "/revoked", None, false)
            .await
            .unwrap_err();
        assert!(matches!(refused, ExecError::Transient(_)), "{refused}");
        assert_eq!(
            count(&seen, "GET", "/revoked"),
            2,
            "asked again once, not more"
        );
        assert_eq!(tokens(), 2, "with a new token");
        let seen = seen.lock().unwrap();
        let asked = seen.iter().find(|(_, p, _)| p == "/a").unwrap();
        assert_eq!(asked.2["authorization"], "Bearer ghs_t");
    }

    /// octocrab's token model needs `permissions`, which GitHub's REST description leaves
    /// optional and GitHub always sends: pinned, so that a change either way is seen.
    #[tokio::test]
    async fn a_token_answer_without_permissions_is_refused_by_octocrab() {
        let (api, _) = noting_github(|method, _, _| match method {
            "POST" => (201, token_answer(false)),
            _ => (200, serde_json::json!({})),
        })
        .await;
        let github = GitHub::new(&api, throwaway_app(), Duration::ZERO);
        let refused = github
            .send(Some(7), Method::GET, "/a", None, false)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("permissions"), "{refused}");
    }

    /// A renamed repository answers 301 with its new address: followed, with the credentials,
    /// as reqwest did before octocrab (its `follow-redirect` feature).
    #[tokio::test]
    async fn a_moved_repository_is_followed_to_its_new_address() {
        use axum::response::IntoResponse as _;
        let app = axum::Router::new()
            .route(
                "/repos/old/r/labels",
                axum::routing::get(|| async {
                    (
                        axum::http::StatusCode::MOVED_PERMANENTLY,
                        [("location", "/repositories/42/labels")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/repositories/42/labels",
                axum::routing::get(|headers: axum::http::HeaderMap| async move {
                    let token = headers["authorization"].to_str().unwrap().to_owned();
                    axum::Json(serde_json::json!([{ "name": token }]))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let github = GitHub::new(
            &format!("http://{address}"),
            Credentials::Token("ghp_t".into()),
            Duration::ZERO,
        );
        let labels = github
            .pages(Some(1), "/repos/old/r/labels", 1)
            .await
            .unwrap();
        assert_eq!(labels, [serde_json::json!({ "name": "Bearer ghp_t" })]);
    }
}
