//! Turns actions into GitHub calls, or into log lines in dry-run.
//!
//! Plain `reqwest` rather than octocrab: the executor must see every response's status and its
//! `Retry-After` / `X-RateLimit-*` headers to honour rate limits, must never retry a POST behind
//! our back (octocrab's default retry duplicates comments), and reads few enough endpoints that
//! typed models would only add ways to fail on an unexpected null. Retries are the worker's job.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::action::{Action, LabelTarget};
use super::event::Actor;
use crate::review::Happening;

/// What the lead review needs of a pull request beyond the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub author: String,
    pub head_sha: String,
    pub labels: Vec<String>,
}

/// GitHub takes at most 50 annotations in one check-run request; later updates append.
const MAX_ANNOTATIONS: usize = 50;

/// Why an action did not happen, and so what the worker does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// GitHub asked us to wait (primary or secondary rate limit): run again after `wait`.
    #[error("rate limited for {wait:?}: {reason}")]
    RateLimited { wait: Duration, reason: String },
    /// May work on another attempt (5xx, network, timeouts).
    #[error("transient: {0}")]
    Transient(String),
    /// Will not work however often it is tried (4xx, bad configuration).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// How the bot authenticates to GitHub.
#[derive(Clone)]
pub enum Credentials {
    /// A token (development, or a GitHub Actions token).
    Token(String),
    /// A GitHub App: a JWT signed with the App's key buys installation tokens.
    App {
        app_id: u64,
        key: jsonwebtoken::EncodingKey,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::App { app_id, .. } => {
                write!(f, "App {{ app_id: {app_id}, key: <redacted> }}")
            }
        }
    }
}

pub enum Executor {
    /// Plans are logged and nothing is sent (no credentials, or `GEP_BOT_DRY_RUN=1`).
    DryRun,
    GitHub(Box<GitHub>),
}

impl Executor {
    pub async fn execute(
        &self,
        installation: Option<u64>,
        action: &Action,
    ) -> Result<(), ExecError> {
        match self {
            Executor::DryRun => {
                let json = serde_json::to_string(action).unwrap_or_default();
                tracing::info!(action = %json, "dry-run: not sent");
                Ok(())
            }
            Executor::GitHub(github) => github.execute(installation, action).await,
        }
    }

    /// A pull request's author, head commit and labels.
    pub async fn pull_request(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<PullRequestInfo, ExecError> {
        match self {
            Executor::DryRun => Err(ExecError::Permanent(
                "dry-run reads nothing from GitHub".into(),
            )),
            Executor::GitHub(github) => github.pull_request(installation, repo, number).await,
        }
    }

    /// A pull request's reviews and comments in the order they happened (to rebuild its review).
    pub async fn review_history(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Happening>, ExecError> {
        match self {
            Executor::DryRun => Ok(Vec::new()),
            Executor::GitHub(github) => github.review_history(installation, repo, number).await,
        }
    }

    /// The open pull requests that change a file under `folder` (a path without its trailing
    /// slash), most recently updated first.
    pub async fn open_pulls_touching(
        &self,
        installation: Option<u64>,
        repo: &str,
        folder: &str,
    ) -> Result<Vec<u64>, ExecError> {
        match self {
            Executor::DryRun => Ok(Vec::new()),
            Executor::GitHub(github) => {
                github.open_pulls_touching(installation, repo, folder).await
            }
        }
    }

    /// A file's text at a commit (the default branch when `at` is empty), or `None` where it does
    /// not exist.
    pub async fn file_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        match self {
            Executor::DryRun => Ok(None),
            Executor::GitHub(github) => github.file_at(installation, repo, path, at).await,
        }
    }

    /// The names in a folder at a commit (empty where it does not exist).
    pub async fn folder_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Vec<String>, ExecError> {
        match self {
            Executor::DryRun => Ok(Vec::new()),
            Executor::GitHub(github) => github.folder_at(installation, repo, path, at).await,
        }
    }

    /// The paths a pull request changes (a read the mesh handler needs).
    pub async fn pull_request_files(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, ExecError> {
        match self {
            Executor::DryRun => Ok(Vec::new()),
            Executor::GitHub(github) => github.pull_request_files(installation, repo, number).await,
        }
    }
}

/// Open pull requests per GraphQL page, each with its first `PULL_FILES_PAGE` changed paths
/// (50 x 100 nodes: well inside GitHub's limit of 500,000 per query).
const OPEN_PULLS_PAGE: u32 = 50;
const PULL_FILES_PAGE: u32 = 100;
/// Pages read at most: 1,000 open pull requests, most recently updated first.
const OPEN_PULLS_MAX_PAGES: u32 = 20;
const OPEN_PULLS_QUERY: &str = "query($owner: String!, $name: String!, $first: Int!, $files: Int!, $after: String) { repository(owner: $owner, name: $name) { pullRequests(states: OPEN, first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) { pageInfo { hasNextPage endCursor } nodes { number files(first: $files) { totalCount nodes { path } } } } } }";

pub struct GitHub {
    http: reqwest::Client,
    api: String,
    /// Where GraphQL queries go (not always `api` + `/graphql`: see `graphql_endpoint`).
    graphql: String,
    credentials: Credentials,
    write_interval: Duration,
    /// When each installation last wrote: writes are paced per installation.
    last_write: Mutex<HashMap<u64, Instant>>,
    tokens: Mutex<HashMap<u64, (String, DateTime<Utc>)>>,
}

/// A comment of the bot's, as GitHub has it now.
struct FoundComment {
    id: u64,
    body: String,
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: DateTime<Utc>,
}

impl GitHub {
    pub fn new(api: &str, credentials: Credentials, write_interval: Duration) -> GitHub {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gep-bot/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a TLS backend is compiled in");
        let api = api.trim_end_matches('/');
        GitHub {
            http,
            api: api.to_owned(),
            graphql: graphql_endpoint(api),
            credentials,
            write_interval,
            last_write: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn execute(&self, installation: Option<u64>, action: &Action) -> Result<(), ExecError> {
        match action {
            Action::AddLabels {
                repo,
                target: LabelTarget::Issue { number },
                labels,
            } => {
                let path = format!("/repos/{repo}/issues/{number}/labels");
                self.send(
                    installation,
                    Method::POST,
                    &path,
                    Some(json!({ "labels": labels })),
                    true,
                )
                .await
                .map(drop)
            }
            Action::AddLabels {
                repo,
                target: LabelTarget::Discussion { node_id, .. },
                labels,
            } => {
                let ids = self.label_ids(installation, repo, labels).await?;
                let mutation = "mutation($id: ID!, $labels: [ID!]!) { addLabelsToLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId } }";
                self.graphql(
                    installation,
                    mutation,
                    json!({ "id": node_id, "labels": ids }),
                    true,
                )
                .await
                .map(drop)
            }
            Action::RemoveLabel {
                repo,
                target: LabelTarget::Issue { number },
                label,
            } => {
                let path = format!("/repos/{repo}/issues/{number}/labels/{}", encode(label));
                // Already gone (404): the action's goal holds.
                self.send_unless_missing(installation, Method::DELETE, &path, true)
                    .await
                    .map(drop)
            }
            Action::RemoveLabel {
                repo,
                target: LabelTarget::Discussion { node_id, .. },
                label,
            } => {
                let ids = self
                    .label_ids(installation, repo, std::slice::from_ref(label))
                    .await?;
                let mutation = "mutation($id: ID!, $labels: [ID!]!) { removeLabelsFromLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId } }";
                self.graphql(
                    installation,
                    mutation,
                    json!({ "id": node_id, "labels": ids }),
                    true,
                )
                .await
                .map(drop)
            }
            Action::CreateComment {
                repo,
                issue,
                marker,
                body,
            } => {
                let text = format!("{marker}\n{body}");
                match self
                    .find_comment(installation, repo, *issue, marker)
                    .await?
                {
                    // Already says it (a redelivery, a retry, an event that changed nothing):
                    // no write, so none waits for this installation's pacing.
                    Some(found) if found.body == text => Ok(()),
                    Some(found) => self.edit_comment(installation, repo, found.id, &text).await,
                    None => self.post_comment(installation, repo, *issue, &text).await,
                }
            }
            Action::UpdateComment {
                repo,
                comment_id,
                body,
            } => {
                self.edit_comment(installation, repo, *comment_id, body)
                    .await
            }
            Action::Reply { repo, issue, body } => {
                self.post_comment(installation, repo, *issue, body).await
            }
            Action::SetCommitStatus {
                repo,
                sha,
                context,
                state,
                description,
            } => {
                let current = self.commit_status(installation, repo, sha, context).await?;
                if current.as_ref().is_some_and(|current| {
                    current["state"] == state.as_str()
                        && current["description"] == description.as_str()
                }) {
                    // GitHub keeps every status set (up to 1,000 a context on a commit): one
                    // that says the same again would only use up a paced write.
                    return Ok(());
                }
                let path = format!("/repos/{repo}/statuses/{sha}");
                let body =
                    json!({ "state": state, "context": context, "description": description });
                self.send(installation, Method::POST, &path, Some(body), true)
                    .await
                    .map(drop)
            }
            Action::CreateCheckRun {
                repo,
                head_sha,
                name,
                conclusion,
                title,
                summary,
                annotations,
            } => {
                let existing = self
                    .send(
                        installation,
                        Method::GET,
                        &format!(
                            "/repos/{repo}/commits/{head_sha}/check-runs?check_name={}",
                            encode(name)
                        ),
                        None,
                        false,
                    )
                    .await?;
                let id = existing["check_runs"]
                    .get(0)
                    .and_then(|run| run["id"].as_u64());
                let mut batches = annotations.chunks(MAX_ANNOTATIONS);
                let first: &[_] = batches.next().unwrap_or(&[]);
                let output = json!({ "title": title, "summary": summary, "annotations": first });
                let body = json!({ "name": name, "head_sha": head_sha, "status": "completed", "conclusion": conclusion, "output": output });
                // The same SHA checked again (a re-run, a redelivery) updates its run: no duplicate.
                let run = match id {
                    Some(id) => {
                        self.send(
                            installation,
                            Method::PATCH,
                            &format!("/repos/{repo}/check-runs/{id}"),
                            Some(body),
                            true,
                        )
                        .await?
                    }
                    None => {
                        self.send(
                            installation,
                            Method::POST,
                            &format!("/repos/{repo}/check-runs"),
                            Some(body),
                            true,
                        )
                        .await?
                    }
                };
                let id = run["id"]
                    .as_u64()
                    .or(id)
                    .ok_or_else(|| ExecError::Transient("check run without an id".into()))?;
                for batch in batches {
                    let output =
                        json!({ "title": title, "summary": summary, "annotations": batch });
                    self.send(
                        installation,
                        Method::PATCH,
                        &format!("/repos/{repo}/check-runs/{id}"),
                        Some(json!({ "output": output })),
                        true,
                    )
                    .await?;
                }
                Ok(())
            }
            Action::UpdateCheckRun {
                repo,
                check_run_id,
                conclusion,
                title,
                summary,
            } => {
                let body = json!({ "status": "completed", "conclusion": conclusion, "output": { "title": title, "summary": summary } });
                self.send(
                    installation,
                    Method::PATCH,
                    &format!("/repos/{repo}/check-runs/{check_run_id}"),
                    Some(body),
                    true,
                )
                .await
                .map(drop)
            }
        }
    }

    /// Whether GitHub accepts our credentials: the App's name, or the token's rate limit.
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
            Credentials::App { app_id, key } => {
                let jwt = app_jwt(*app_id, key, Utc::now())?;
                let response = self
                    .http
                    .get(format!("{}/app", self.api))
                    .bearer_auth(jwt)
                    .header("Accept", "application/vnd.github+json")
                    .send()
                    .await
                    .map_err(|e| ExecError::Transient(format!("GET /app: {e}")))?;
                let status = response.status();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                if !status.is_success() {
                    return Err(classify(status, &headers, &text, "GET /app"));
                }
                let app: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                Ok(format!(
                    "App {} ({}) accepted the key",
                    app["name"].as_str().unwrap_or("?"),
                    app_id
                ))
            }
        }
    }

    async fn post_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        issue: u64,
        body: &str,
    ) -> Result<(), ExecError> {
        let path = format!("/repos/{repo}/issues/{issue}/comments");
        self.send_comment(installation, Method::POST, &path, body)
            .await
    }

    async fn edit_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<(), ExecError> {
        let path = format!("/repos/{repo}/issues/comments/{id}");
        self.send_comment(installation, Method::PATCH, &path, body)
            .await
    }

    async fn send_comment(
        &self,
        installation: Option<u64>,
        method: Method,
        path: &str,
        body: &str,
    ) -> Result<(), ExecError> {
        self.send(
            installation,
            method,
            path,
            Some(json!({ "body": body })),
            true,
        )
        .await
        .map(drop)
    }

    /// The bot's comment carrying `marker` on an issue, if it wrote one.
    async fn find_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        issue: u64,
        marker: &str,
    ) -> Result<Option<FoundComment>, ExecError> {
        let comments = self
            .pages(
                installation,
                &format!("/repos/{repo}/issues/{issue}/comments"),
                50,
            )
            .await?;
        let bots_only = matches!(self.credentials, Credentials::App { .. });
        Ok(marked_comment(comments, marker, bots_only))
    }

    /// The latest status `context` has on commit `sha`, if it has one: GitHub's combined status
    /// lists each context's latest (the first 100 contexts; past them, none is found and the
    /// status is set again, which is harmless).
    async fn commit_status(
        &self,
        installation: Option<u64>,
        repo: &str,
        sha: &str,
        context: &str,
    ) -> Result<Option<Value>, ExecError> {
        let path = format!("/repos/{repo}/commits/{sha}/status?per_page=100");
        // A commit GitHub does not know: the write that follows says why.
        let Some(mut combined) = self
            .send_unless_missing(installation, Method::GET, &path, false)
            .await?
        else {
            return Ok(None);
        };
        let Value::Array(statuses) = combined["statuses"].take() else {
            return Ok(None);
        };
        Ok(statuses.into_iter().find(|s| s["context"] == context))
    }

    async fn file_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        let url = contents_url(repo, path, at);
        let Some(file) = self
            .send_unless_missing(installation, Method::GET, &url, false)
            .await?
        else {
            return Ok(None);
        };
        let encoded: String = file["content"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| ExecError::Permanent(format!("{path} at {at}: not base64: {e}")))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    async fn folder_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Vec<String>, ExecError> {
        let url = contents_url(repo, path, at);
        let listing = self
            .send_unless_missing(installation, Method::GET, &url, false)
            .await?;
        Ok(listing.map_or_else(Vec::new, |listing| strings(&listing, "name")))
    }

    /// `send`, with GitHub's 404 as `None`: for what may not exist, or be gone already.
    async fn send_unless_missing(
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

    /// Every item of a paginated list, up to `max_pages` pages of 100.
    async fn pages(
        &self,
        installation: Option<u64>,
        path: &str,
        max_pages: u32,
    ) -> Result<Vec<Value>, ExecError> {
        let mut all = Vec::new();
        for page in 1..=max_pages {
            let list = self
                .send(
                    installation,
                    Method::GET,
                    &format!("{path}?per_page=100&page={page}"),
                    None,
                    false,
                )
                .await?;
            let Some(items) = list.as_array() else { break };
            all.extend(items.iter().cloned());
            if items.len() < 100 {
                break;
            }
        }
        Ok(all)
    }

    async fn label_ids(
        &self,
        installation: Option<u64>,
        repo: &str,
        labels: &[String],
    ) -> Result<Vec<String>, ExecError> {
        let (owner, name) = owner_and_name(repo)?;
        let query = "query($owner: String!, $name: String!, $label: String!) { repository(owner: $owner, name: $name) { label(name: $label) { id } } }";
        let mut ids = Vec::new();
        for label in labels {
            let data = self
                .graphql(
                    installation,
                    query,
                    json!({ "owner": owner, "name": name, "label": label }),
                    false,
                )
                .await?;
            let id = data["repository"]["label"]["id"].as_str().ok_or_else(|| {
                ExecError::Permanent(format!(
                    "label `{label}` does not exist in {repo}: create it"
                ))
            })?;
            ids.push(id.to_owned());
        }
        Ok(ids)
    }

    async fn graphql(
        &self,
        installation: Option<u64>,
        query: &str,
        variables: Value,
        write: bool,
    ) -> Result<Value, ExecError> {
        let response = self
            .send_to(
                installation,
                Method::POST,
                &self.graphql,
                "/graphql",
                Some(json!({ "query": query, "variables": variables })),
                write,
            )
            .await?;
        if let Some(errors) = response.get("errors").filter(|e| !e.is_null()) {
            let text = errors.to_string();
            if text.contains("RATE_LIMITED") {
                return Err(ExecError::RateLimited {
                    wait: Duration::from_secs(60),
                    reason: text,
                });
            }
            return Err(ExecError::Permanent(format!("GraphQL: {text}")));
        }
        Ok(response["data"].clone())
    }

    async fn pull_request(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<PullRequestInfo, ExecError> {
        let pr = self
            .send(
                installation,
                Method::GET,
                &format!("/repos/{repo}/pulls/{number}"),
                None,
                false,
            )
            .await?;
        Ok(PullRequestInfo {
            author: pr["user"]["login"].as_str().unwrap_or_default().to_owned(),
            head_sha: pr["head"]["sha"].as_str().unwrap_or_default().to_owned(),
            labels: strings(&pr["labels"], "name"),
        })
    }

    async fn review_history(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Happening>, ExecError> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let mut timed: Vec<(String, Happening)> = Vec::new();
        for review in self
            .pages(
                installation,
                &format!("/repos/{repo}/pulls/{number}/reviews"),
                30,
            )
            .await?
        {
            let (author, state) = (text(&review["user"]["login"]), text(&review["state"]));
            let happening = if state == "DISMISSED" {
                Happening::ReviewDismissed { author }
            } else {
                Happening::Review { author, state }
            };
            timed.push((text(&review["submitted_at"]), happening));
        }
        for comment in self
            .pages(
                installation,
                &format!("/repos/{repo}/issues/{number}/comments"),
                30,
            )
            .await?
        {
            let author = Actor {
                login: text(&comment["user"]["login"]),
                kind: text(&comment["user"]["type"]),
            };
            let happening = Happening::Comment {
                author,
                body: text(&comment["body"]),
                previous_body: None,
                url: text(&comment["html_url"]),
            };
            timed.push((text(&comment["created_at"]), happening));
        }
        // RFC 3339 UTC timestamps sort as text; the sort is stable for equal times.
        timed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(timed.into_iter().map(|(_, h)| h).collect())
    }

    /// Every open pull request with the paths it changes, through GraphQL: one request per
    /// `OPEN_PULLS_PAGE` pull requests, where REST would take one per pull request. A pull
    /// request with more changed files than one GraphQL page holds has them all listed by REST,
    /// unless the first page already shows it touches `folder`.
    async fn open_pulls_touching(
        &self,
        installation: Option<u64>,
        repo: &str,
        folder: &str,
    ) -> Result<Vec<u64>, ExecError> {
        let (owner, name) = owner_and_name(repo)?;
        let prefix = format!("{folder}/");
        let touches = |paths: &[String]| paths.iter().any(|p| p.starts_with(&prefix));
        let mut found = Vec::new();
        let mut after = Value::Null;
        for _ in 0..OPEN_PULLS_MAX_PAGES {
            let data = self
                .graphql(
                    installation,
                    OPEN_PULLS_QUERY,
                    json!({ "owner": owner, "name": name, "first": OPEN_PULLS_PAGE, "files": PULL_FILES_PAGE, "after": after }),
                    false,
                )
                .await?;
            let pulls = &data["repository"]["pullRequests"];
            for pull in pulls["nodes"].as_array().into_iter().flatten() {
                let Some(number) = pull["number"].as_u64() else {
                    continue;
                };
                let files = &pull["files"];
                let listed = strings(&files["nodes"], "path");
                // No count (GitHub gives up on files for some huge pull requests): ask REST.
                let unlisted = files["totalCount"]
                    .as_u64()
                    .is_none_or(|total| total > listed.len() as u64);
                let mut touching = touches(&listed);
                if !touching && unlisted {
                    let every = self.pull_request_files(installation, repo, number).await?;
                    touching = touches(&every);
                }
                if touching {
                    found.push(number);
                }
            }
            let page = &pulls["pageInfo"];
            if page["hasNextPage"].as_bool() != Some(true) {
                return Ok(found);
            }
            after = page["endCursor"].clone();
        }
        tracing::warn!(
            repo,
            pages = OPEN_PULLS_MAX_PAGES,
            "more open pull requests than read; the oldest were not looked at"
        );
        Ok(found)
    }

    async fn pull_request_files(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, ExecError> {
        // GitHub lists at most 3,000 files of a pull request.
        let files = self
            .pages(
                installation,
                &format!("/repos/{repo}/pulls/{number}/files"),
                30,
            )
            .await?;
        // A renamed file is changed at both paths: its old one is gone (a renamed GEP folder is
        // judged against the GEP it was).
        let mut paths = Vec::with_capacity(files.len());
        for file in &files {
            paths.extend(file["filename"].as_str().map(str::to_owned));
            paths.extend(file["previous_filename"].as_str().map(str::to_owned));
        }
        Ok(paths)
    }

    /// A REST request to `path` under the API base.
    async fn send(
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

    /// One request to `url` (`what` in errors): auth, pacing for writes, and the response sorted
    /// into what the worker does.
    async fn send_to(
        &self,
        installation: Option<u64>,
        method: Method,
        url: &str,
        what: &str,
        body: Option<Value>,
        write: bool,
    ) -> Result<Value, ExecError> {
        let token = self.token(installation).await?;
        if write {
            self.pace(installation.unwrap_or(0)).await;
        }
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ExecError::Transient(format!("{method} {what}: {e}")))?;
        let status = response.status();
        metrics::counter!("gep_bot_github_calls_total", "status" => status.as_u16().to_string())
            .increment(1);
        let headers = response.headers().clone();
        if let Some(remaining) = header_number(&headers, "x-ratelimit-remaining") {
            metrics::gauge!("gep_bot_github_rate_limit_remaining").set(remaining as f64);
        }
        let text = response
            .text()
            .await
            .map_err(|e| ExecError::Transient(format!("{method} {what}: {e}")))?;
        if status.is_success() {
            return Ok(if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            });
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(id) = installation
        {
            // The installation token may have been revoked early: fetch a new one next time.
            self.tokens.lock().await.remove(&id);
            return Err(ExecError::Transient(format!("401 {method} {what}")));
        }
        Err(classify(
            status,
            &headers,
            &text,
            &format!("{method} {what}"),
        ))
    }

    /// Waits until this installation may write again.
    async fn pace(&self, installation: u64) {
        if self.write_interval.is_zero() {
            return;
        }
        let mut last = self.last_write.lock().await;
        if let Some(previous) = last.get(&installation) {
            tokio::time::sleep_until(*previous + self.write_interval).await;
        }
        last.insert(installation, Instant::now());
    }

    async fn token(&self, installation: Option<u64>) -> Result<String, ExecError> {
        let (app_id, key) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::App { app_id, key } => (*app_id, key),
        };
        let installation = installation.ok_or_else(|| {
            ExecError::Permanent("the event names no installation: is the App installed?".into())
        })?;
        let mut tokens = self.tokens.lock().await;
        if let Some((token, expires)) = tokens.get(&installation)
            && *expires - chrono::Duration::minutes(5) > Utc::now()
        {
            return Ok(token.clone());
        }
        let jwt = app_jwt(app_id, key, Utc::now())?;
        let response = self
            .http
            .post(format!(
                "{}/app/installations/{installation}/access_tokens",
                self.api
            ))
            .bearer_auth(jwt)
            .header("Accept", "application/vnd.github+json")
            .send()
            .await
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        let status = response.status();
        metrics::counter!("gep_bot_github_calls_total", "status" => status.as_u16().to_string())
            .increment(1);
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &text, "installation token"));
        }
        let issued: InstallationToken = serde_json::from_str(&text)
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        tokens.insert(installation, (issued.token.clone(), issued.expires_at));
        Ok(issued.token)
    }
}

/// A JWT for the App, valid ten minutes (GitHub's maximum), issued a minute in the past for clock drift.
pub fn app_jwt(
    app_id: u64,
    key: &jsonwebtoken::EncodingKey,
    now: DateTime<Utc>,
) -> Result<String, ExecError> {
    #[derive(serde::Serialize)]
    struct Claims {
        iat: i64,
        exp: i64,
        iss: String,
    }
    let claims = Claims {
        iat: now.timestamp() - 60,
        exp: now.timestamp() + 540,
        iss: app_id.to_string(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        key,
    )
    .map_err(|e| ExecError::Permanent(format!("cannot sign the App JWT: {e}")))
}

/// Sorts a failed response: rate limits (with how long to wait), server trouble, or a refusal.
pub fn classify(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    what: &str,
) -> ExecError {
    let snippet: String = body.chars().take(200).collect();
    if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(seconds) = header_number(headers, "retry-after") {
            return ExecError::RateLimited {
                wait: Duration::from_secs(seconds),
                reason: format!("{status} {what}: Retry-After {seconds}s"),
            };
        }
        if header_number(headers, "x-ratelimit-remaining") == Some(0)
            && let Some(reset) = header_number(headers, "x-ratelimit-reset")
        {
            let wait = (reset as i64 - Utc::now().timestamp()).max(1) as u64;
            return ExecError::RateLimited {
                wait: Duration::from_secs(wait),
                reason: format!("{status} {what}: rate limit until {reset}"),
            };
        }
        if body.to_lowercase().contains("secondary rate limit")
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            // GitHub asks for at least a minute when it gives no time.
            return ExecError::RateLimited {
                wait: Duration::from_secs(60),
                reason: format!("{status} {what}: secondary rate limit"),
            };
        }
    }
    if status.is_server_error() {
        return ExecError::Transient(format!("{} {what}: {snippet}", status.as_u16()));
    }
    ExecError::Permanent(format!("{} {what}: {snippet}", status.as_u16()))
}

/// The first of `comments` that carries `marker`. The marker is plain text anyone can paste
/// into a comment of their own, so an App (`bots_only`) takes only comments written by a bot
/// account, as its own are: otherwise a person's comment, posted first with the marker, would
/// be edited over, or the edit refused and the bot's status never published. A token
/// (development) writes as a person, so there every author counts.
fn marked_comment(comments: Vec<Value>, marker: &str, bots_only: bool) -> Option<FoundComment> {
    comments.into_iter().find_map(|mut c| {
        if bots_only && c["user"]["type"] != "Bot" {
            return None;
        }
        let Value::String(body) = c["body"].take() else {
            return None;
        };
        let id = c["id"].as_u64()?;
        body.contains(marker).then_some(FoundComment { id, body })
    })
}

/// GitHub's GraphQL endpoint for a REST API base: `https://api.github.com/graphql`, but on GitHub
/// Enterprise Server, whose REST base is `https://HOST/api/v3`, `https://HOST/api/graphql`.
fn graphql_endpoint(api: &str) -> String {
    match api.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{api}/graphql"),
    }
}

/// `owner/name` split in two, as GraphQL asks for a repository.
fn owner_and_name(repo: &str) -> Result<(&str, &str), ExecError> {
    repo.split_once('/')
        .ok_or_else(|| ExecError::Permanent(format!("bad repository name {repo}")))
}

/// The `key` text of each object in a JSON list (empty when `list` is not a list).
fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[key].as_str().map(String::from))
        .collect()
}

fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The contents API's address for a path at a commit, or on the default branch when `at` is empty.
fn contents_url(repo: &str, path: &str, at: &str) -> String {
    if at.is_empty() {
        format!("/repos/{repo}/contents/{path}")
    } else {
        format!("/repos/{repo}/contents/{path}?ref={}", encode(at))
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn an_app_edits_only_a_bots_comment_however_many_carry_its_marker() {
        let marker = "<!-- gep-bot:lead-review -->";
        let comments = || {
            vec![
                json!({ "id": 1, "body": format!("{marker}\nplanted"), "user": { "login": "mallory", "type": "User" } }),
                json!({ "id": 2, "body": "unrelated", "user": { "login": "gep-bot[bot]", "type": "Bot" } }),
                json!({ "id": 3, "body": format!("{marker}\nstatus"), "user": { "login": "gep-bot[bot]", "type": "Bot" } }),
            ]
        };
        let found = marked_comment(comments(), marker, true).unwrap();
        assert_eq!(
            (found.id, found.body.as_str()),
            (3, "<!-- gep-bot:lead-review -->\nstatus")
        );
        assert_eq!(marked_comment(comments(), marker, false).unwrap().id, 1);
        assert!(marked_comment(comments()[..2].to_vec(), marker, true).is_none());
    }

    #[test]
    fn graphql_goes_where_github_and_github_enterprise_serve_it() {
        assert_eq!(
            graphql_endpoint("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_endpoint("https://github.example.com/api/v3"),
            "https://github.example.com/api/graphql"
        );
        assert_eq!(
            graphql_endpoint("http://127.0.0.1:4010"),
            "http://127.0.0.1:4010/graphql"
        );
    }

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
        );
        assert!(matches!(e, ExecError::RateLimited { wait, .. } if wait == Duration::from_secs(3)));
        let reset = (Utc::now().timestamp() + 30).to_string();
        let e = classify(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ]),
            "",
            "x",
        );
        assert!(
            matches!(e, ExecError::RateLimited { wait, .. } if wait.as_secs() >= 29 && wait.as_secs() <= 30)
        );
        let e = classify(
            StatusCode::FORBIDDEN,
            &headers(&[]),
            "You have exceeded a secondary rate limit",
            "x",
        );
        assert!(
            matches!(e, ExecError::RateLimited { wait, .. } if wait == Duration::from_secs(60))
        );
    }

    #[test]
    fn server_errors_are_transient_and_refusals_permanent() {
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &headers(&[]), "", "x"),
            ExecError::Transient(_)
        ));
        assert!(matches!(
            classify(
                StatusCode::FORBIDDEN,
                &headers(&[]),
                "Resource not accessible",
                "x"
            ),
            ExecError::Permanent(_)
        ));
        assert!(matches!(
            classify(StatusCode::UNPROCESSABLE_ENTITY, &headers(&[]), "", "x"),
            ExecError::Permanent(_)
        ));
    }
}
