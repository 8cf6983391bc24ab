//! A GitHub that keeps state, for end-to-end tests of handlers that read what they wrote:
//! comments (created, listed, edited), labels, commit statuses, pull requests and their files.
//! It answers as the REST API does, with the same paths, status codes and body shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub author: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub comments: Vec<Comment>,
    pub labels: BTreeMap<u64, BTreeSet<String>>,
    /// (sha, context, state, description), in the order they were set.
    pub statuses: Vec<(String, String, String, String)>,
    /// number -> (author, head sha, changed files)
    pub pulls: BTreeMap<u64, (String, String, Vec<String>)>,
    /// (commit, path) -> text: the repository's files at each commit.
    pub files: BTreeMap<(String, String), String>,
    pub check_runs: Vec<CheckRun>,
    pub next_id: u64,
    /// Answers given once instead of the normal one, in order.
    pub failures: Vec<Failure>,
    /// Requests that are not GitHub's (no operation, a body off its schema), and why.
    pub untrue: Vec<String>,
    /// The default branch's history, oldest first: (commit SHA, committer date, paths changed).
    /// A path's text at a commit is `files[(sha, path)]`.
    pub history: Vec<(String, String, Vec<String>)>,
    /// Pull request number -> the reviewers requested on it, in the order asked.
    pub requested_reviewers: BTreeMap<u64, Vec<String>>,
    /// Logins (lower case) that are not collaborators of the repository: GitHub refuses a review
    /// request that names one, whole, with a 422.
    pub not_collaborators: Vec<String>,
    /// Pull request number -> the reviews posted on it (as GitHub answers them), oldest first.
    pub reviews: BTreeMap<u64, Vec<Value>>,
    /// Discussion number -> its comments (node id, body), oldest first.
    pub discussions: BTreeMap<u64, Vec<(String, String)>>,
    /// Writes (POST, PATCH, DELETE) are applied at once and answered this much later: a process
    /// killed meanwhile wrote without knowing it.
    pub write_delay: Option<std::time::Duration>,
}

impl Drop for State {
    /// The last holder of the fake (the test, or its server) lets go: a request the bot sent
    /// that GitHub does not describe fails the test.
    fn drop(&mut self) {
        if !self.untrue.is_empty() && !std::thread::panicking() {
            panic!("requests GitHub does not describe: {:#?}", self.untrue);
        }
    }
}

/// One answer the fake gives instead of the normal one: to the `skip + 1`-th request whose
/// method is `method` and whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Failure {
    pub method: &'static str,
    pub path: String,
    pub skip: usize,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Failure {
    /// GitHub's secondary rate limit: 403, with how long to wait.
    pub fn secondary_rate_limit(method: &'static str, path: &str, skip: usize) -> Failure {
        Failure {
            method,
            path: path.into(),
            skip,
            status: 403,
            headers: vec![("retry-after", "1".into())],
            body: json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub name: String,
    pub conclusion: String,
    pub title: String,
    pub summary: String,
    pub annotations: Vec<Value>,
    /// How many requests wrote it (a create, then updates).
    pub writes: usize,
}

/// The installation token the fake issues to its App; check runs take no other credential.
pub const INSTALLATION_TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
/// The fake App's id: its check runs carry it.
pub const FAKE_APP_ID: &str = "12345";

#[derive(Clone, Default)]
pub struct FakeGitHub(pub Arc<Mutex<State>>);

impl FakeGitHub {
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    pub fn labels(&self, number: u64) -> Vec<String> {
        self.state()
            .labels
            .get(&number)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn comments_on(&self, number: u64) -> Vec<Comment> {
        self.state()
            .comments
            .iter()
            .filter(|c| c.issue == number)
            .cloned()
            .collect()
    }

    /// The bodies of the comments on `number` that carry `marker` (the bot's own, found as the
    /// bot finds them).
    pub fn comments_marked(&self, number: u64, marker: &str) -> Vec<String> {
        self.comments_on(number)
            .into_iter()
            .filter(|c| c.body.contains(marker))
            .map(|c| c.body)
            .collect()
    }

    /// A mock server that answers every request from this fake.
    pub async fn serve(&self) -> wiremock::MockServer {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(self.clone())
            .mount(&server)
            .await;
        server
    }

    pub fn last_status(&self, context: &str) -> Option<(String, String)> {
        self.state()
            .statuses
            .iter()
            .rev()
            .find(|s| s.1 == context)
            .map(|s| (s.2.clone(), s.3.clone()))
    }
}

/// How many `method` requests `server` received whose path contains `path`.
pub async fn requests_to(server: &wiremock::MockServer, method: &str, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == method && r.url.path().contains(path))
        .count()
}

/// Waits until `server` has heard nothing new for a second (30 s at most): the bot's background
/// work (timed writes after a refresh) is done.
pub async fn settled(server: &wiremock::MockServer) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut heard = server.received_requests().await.unwrap().len();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = server.received_requests().await.unwrap().len();
        if now == heard {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "GitHub still hears the bot"
        );
        heard = now;
    }
}

fn comment_json(c: &Comment, repo: &str) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_{}", c.id),
        "html_url": format!("https://github.com/{repo}/pull/{}#issuecomment-{}", c.issue, c.id),
        "body": c.body,
        "user": { "login": c.author, "type": if c.author.ends_with("[bot]") { "Bot" } else { "User" } },
        "created_at": format!("2026-11-26T10:{:02}:00Z", c.id % 60),
    })
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.answer(request);
        let delay = self.state().write_delay;
        match delay {
            Some(delay) if request.method.as_str() != "GET" => answer.set_delay(delay),
            _ => answer,
        }
    }
}

impl FakeGitHub {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let path: Vec<&str> = request.url.path().trim_matches('/').split('/').collect();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let method = request.method.as_str();
        // Every request is one GitHub describes, or the test that sent it fails.
        let judged = super::openapi::check_request(request);
        let mut state = self.0.lock().unwrap();
        if let Err(why) = judged {
            state.untrue.push(why.clone());
            return ResponseTemplate::new(422).set_body_json(json!({ "message": why }));
        }
        let not_found = ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" }));
        let failing = state.failures.iter_mut().position(|f| {
            f.method == method && request.url.path().contains(&f.path) && {
                let now = f.skip == 0;
                f.skip = f.skip.saturating_sub(1);
                now
            }
        });
        if let Some(index) = failing {
            let failure = state.failures.remove(index);
            let mut answer = ResponseTemplate::new(failure.status).set_body_json(failure.body);
            for (name, value) in failure.headers {
                answer = answer.insert_header(name, value.as_str());
            }
            return answer;
        }
        if let ("POST", ["graphql"]) = (method, path.as_slice()) {
            return graphql(&mut state, &body);
        }
        // An App's installation token: the only credential that may write check runs.
        if let ("POST", ["app", "installations", _, "access_tokens"]) = (method, path.as_slice()) {
            let expires = (chrono::Utc::now() + chrono::Duration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            return ResponseTemplate::new(201)
                // As GitHub's documented example answers: with the token's permissions, which
                // the description leaves optional but GitHub always sends (octocrab needs them).
                .set_body_json(json!({
                    "token": INSTALLATION_TOKEN,
                    "expires_at": expires,
                    "permissions": { "checks": "write", "contents": "read", "issues": "write", "pull_requests": "write" },
                    "repository_selection": "all"
                }));
        }
        let ["repos", owner, name, rest @ ..] = path.as_slice() else {
            return not_found;
        };
        // The App's installation on a repository: asked with the App's JWT, not a token.
        if let ("GET", ["installation"]) = (method, rest) {
            let by_jwt = request
                .headers
                .get("authorization")
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.starts_with("Bearer ey"));
            if !by_jwt {
                return ResponseTemplate::new(401).set_body_json(json!({
                    "message": "A JSON web token could not be decoded"
                }));
            }
            return ResponseTemplate::new(200).set_body_json(json!({
                "id": 1, "account": { "login": owner }, "app_id": FAKE_APP_ID.parse::<u64>().unwrap()
            }));
        }
        let by_app = request
            .headers
            .get("authorization")
            .is_some_and(|a| a.as_bytes() == format!("Bearer {INSTALLATION_TOKEN}").as_bytes());
        if matches!(
            (method, rest),
            ("POST", ["check-runs"]) | ("PATCH", ["check-runs", _])
        ) && !by_app
        {
            return ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "You must authenticate via a GitHub App." }));
        }
        let page = |items: Vec<Value>| page_of(request, items);
        let repo = format!("{owner}/{name}");
        match (method, rest) {
            ("GET", ["contents", path @ ..]) => {
                let at = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "ref")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let path = path.join("/");
                let raw = request
                    .headers
                    .get("accept")
                    .is_some_and(|a| a.as_bytes() == b"application/vnd.github.raw+json");
                if let Some(text) = state.files.get(&(at.clone(), path.clone())) {
                    if raw {
                        return conditional(
                            request,
                            text.as_bytes().to_vec(),
                            "text/plain; charset=utf-8",
                        );
                    }
                    // GitHub: the JSON form of a file "returns blobs up to 1 MB in size".
                    if text.len() > 1024 * 1024 {
                        return ResponseTemplate::new(403).set_body_json(json!({
                            "message": "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.",
                            "errors": [{ "resource": "Blob", "field": "data", "code": "too_large" }]
                        }));
                    }
                    use base64::Engine as _;
                    let content = base64::engine::general_purpose::STANDARD.encode(text);
                    return conditional_json(
                        request,
                        json!({ "type": "file", "path": path, "encoding": "base64", "content": content }),
                    );
                }
                let names = folder(&state, &at, &path);
                if names.is_empty() {
                    return not_found;
                }
                // The contents API lists at most 1,000 entries of a folder.
                let entries: Vec<Value> = names
                    .iter()
                    .take(1000)
                    .map(|n| json!({ "name": n, "type": "dir" }))
                    .collect();
                conditional_json(request, Value::Array(entries))
            }
            ("GET", ["git", "trees", tree]) => {
                let tree = percent_encoding::percent_decode_str(tree)
                    .decode_utf8_lossy()
                    .into_owned();
                let (commit, path) = tree.split_once(':').unwrap_or((&tree, ""));
                let at = if commit == "HEAD" { "" } else { commit };
                let recursive = request.url.query_pairs().any(|(k, _)| k == "recursive");
                if recursive {
                    let Some((sha, entries)) = recursive_tree(&state, at, path) else {
                        return not_found;
                    };
                    return conditional_json(
                        request,
                        json!({ "sha": sha, "tree": entries, "truncated": false }),
                    );
                }
                let names = folder(&state, at, path);
                if names.is_empty() {
                    return not_found;
                }
                let entries: Vec<Value> = names
                    .iter()
                    .map(|n| json!({ "path": n, "mode": "040000", "type": "tree" }))
                    .collect();
                conditional_json(
                    request,
                    json!({ "sha": "0", "tree": entries, "truncated": false }),
                )
            }
            ("GET", ["git", "blobs", sha]) => {
                let raw = request
                    .headers
                    .get("accept")
                    .is_some_and(|a| a.as_bytes() == b"application/vnd.github.raw+json");
                let Some(text) = state.files.values().find(|t| blob_sha(t) == *sha) else {
                    return not_found;
                };
                if raw {
                    return conditional(
                        request,
                        text.as_bytes().to_vec(),
                        "text/plain; charset=utf-8",
                    );
                }
                use base64::Engine as _;
                let content = base64::engine::general_purpose::STANDARD.encode(text);
                conditional_json(
                    request,
                    json!({ "sha": sha, "size": text.len(), "encoding": "base64", "content": content }),
                )
            }
            ("GET", ["commits"]) => {
                let path = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "path")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let under = format!("{}/", path.trim_end_matches('/'));
                let commits: Vec<Value> = state
                    .history
                    .iter()
                    .rev()
                    .filter(|(_, _, paths)| {
                        path.is_empty() || paths.iter().any(|p| *p == path || p.starts_with(&under))
                    })
                    .map(|(sha, date, _)| {
                        json!({ "sha": sha, "commit": { "committer": { "date": date }, "message": "" } })
                    })
                    .collect();
                page(commits)
            }
            ("GET", ["commits", sha, "check-runs"]) => {
                let query = |key: &str| {
                    request
                        .url
                        .query_pairs()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.into_owned())
                };
                let (name, app) = (query("check_name"), query("app_id"));
                // Newest first; every run here is the fake App's.
                let runs: Vec<Value> = state
                    .check_runs
                    .iter()
                    .rev()
                    .filter(|r| r.head_sha == *sha && name.as_ref().is_none_or(|n| *n == r.name))
                    .filter(|_| app.as_ref().is_none_or(|a| a == FAKE_APP_ID))
                    .map(|r| {
                        json!({ "id": r.id, "name": r.name, "head_sha": r.head_sha,
                            "status": "completed", "conclusion": r.conclusion,
                            "app": { "id": FAKE_APP_ID.parse::<u64>().unwrap() },
                            "output": { "title": r.title, "summary": r.summary,
                                "annotations_count": r.annotations.len() } })
                    })
                    .collect();
                conditional_json(
                    request,
                    json!({ "total_count": runs.len(), "check_runs": runs }),
                )
            }
            ("POST", ["check-runs"]) => {
                state.next_id += 1;
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                let run = CheckRun {
                    id: state.next_id,
                    head_sha: text(&body["head_sha"]),
                    name: text(&body["name"]),
                    conclusion: text(&body["conclusion"]),
                    title: text(&body["output"]["title"]),
                    summary: text(&body["output"]["summary"]),
                    annotations: body["output"]["annotations"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                    writes: 1,
                };
                let id = run.id;
                state.check_runs.push(run);
                ResponseTemplate::new(201).set_body_json(json!({ "id": id }))
            }
            ("PATCH", ["check-runs", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let Some(run) = state.check_runs.iter_mut().find(|r| r.id == id) else {
                    return not_found;
                };
                run.writes += 1;
                if let Some(conclusion) = body["conclusion"].as_str() {
                    run.conclusion = conclusion.to_owned();
                }
                if let Some(title) = body["output"]["title"].as_str() {
                    run.title = title.to_owned();
                }
                if let Some(summary) = body["output"]["summary"].as_str() {
                    run.summary = summary.to_owned();
                }
                // GitHub: "Each time you update the check run, annotations are appended to the
                // list of annotations that already exist for the check run."
                run.annotations.extend(
                    body["output"]["annotations"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
                ResponseTemplate::new(200).set_body_json(json!({ "id": id }))
            }
            ("GET", ["pulls"]) => page(
                state
                    .pulls
                    .keys()
                    .rev()
                    .map(|n| json!({ "number": n, "state": "open" }))
                    .collect(),
            ),
            ("GET", ["pulls", n, "files"]) => {
                let files = state
                    .pulls
                    .get(&n.parse().unwrap_or(0))
                    .map(|p| p.2.clone())
                    .unwrap_or_default();
                page(
                    files
                        .iter()
                        .map(|f| json!({ "filename": f, "status": "modified" }))
                        .collect(),
                )
            }
            ("GET", ["pulls", n, "reviews"]) => {
                let reviews = state.reviews.get(&n.parse().unwrap_or(0));
                page(reviews.cloned().unwrap_or_default())
            }
            ("POST", ["pulls", n, "requested_reviewers"]) => {
                let number: u64 = n.parse().unwrap_or(0);
                let asked: Vec<String> = body["reviewers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect();
                if asked
                    .iter()
                    .any(|login| state.not_collaborators.contains(&login.to_lowercase()))
                {
                    // GitHub's answer, word for word.
                    return ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the Codertocat/Hello-World repository.",
                        "documentation_url": "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request",
                        "status": "422"
                    }));
                }
                state
                    .requested_reviewers
                    .entry(number)
                    .or_default()
                    .extend(asked);
                let reviewers: Vec<Value> = state.requested_reviewers[&number]
                    .iter()
                    .map(|login| json!({ "login": login, "type": "User" }))
                    .collect();
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "number": number, "requested_reviewers": reviewers }))
            }
            ("POST", ["pulls", n, "reviews"]) => {
                state.next_id += 1;
                let review = json!({
                    "id": state.next_id,
                    "user": { "login": "gep-bot[bot]", "type": "Bot" },
                    "body": body["body"],
                    "state": if body["event"] == "COMMENT" { "COMMENTED" } else { "PENDING" },
                    "commit_id": body["commit_id"],
                    "submitted_at": "2026-12-07T12:00:00Z",
                    "comments": body["comments"],
                });
                let number = n.parse().unwrap_or(0);
                state
                    .reviews
                    .entry(number)
                    .or_default()
                    .push(review.clone());
                ResponseTemplate::new(200).set_body_json(review)
            }
            ("GET", ["pulls", n]) => {
                let number: u64 = n.parse().unwrap_or(0);
                let Some((author, sha, _)) = state.pulls.get(&number).cloned() else {
                    return not_found;
                };
                let labels: Vec<Value> = state
                    .labels
                    .get(&number)
                    .into_iter()
                    .flatten()
                    .map(|l| json!({ "name": l }))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "number": number, "user": { "login": author, "type": "User" }, "head": { "sha": sha }, "labels": labels
                }))
            }
            ("GET", ["issues", n, "comments"]) => {
                let number: u64 = n.parse().unwrap_or(0);
                let list: Vec<Value> = state
                    .comments
                    .iter()
                    .filter(|c| c.issue == number)
                    .map(|c| comment_json(c, &repo))
                    .collect();
                page(list)
            }
            ("POST", ["issues", n, "comments"]) => {
                state.next_id += 1;
                let comment = Comment {
                    id: state.next_id,
                    issue: n.parse().unwrap_or(0),
                    body: body["body"].as_str().unwrap_or_default().to_owned(),
                    author: "gep-bot[bot]".into(),
                };
                let answer = comment_json(&comment, &repo);
                state.comments.push(comment);
                ResponseTemplate::new(201).set_body_json(answer)
            }
            ("PATCH", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let Some(comment) = state.comments.iter_mut().find(|c| c.id == id) else {
                    return not_found;
                };
                comment.body = body["body"].as_str().unwrap_or_default().to_owned();
                let answer = comment_json(comment, &repo);
                ResponseTemplate::new(200).set_body_json(answer)
            }
            ("GET", ["issues", n, "labels"]) => page(
                state
                    .labels
                    .get(&n.parse().unwrap_or(0))
                    .into_iter()
                    .flatten()
                    .map(|l| json!({ "name": l }))
                    .collect(),
            ),
            ("POST", ["issues", n, "labels"]) => {
                let set = state.labels.entry(n.parse().unwrap_or(0)).or_default();
                for label in body["labels"].as_array().into_iter().flatten() {
                    set.insert(label.as_str().unwrap_or_default().to_owned());
                }
                let list: Vec<Value> = set.iter().map(|l| json!({ "name": l })).collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("DELETE", ["issues", n, "labels", label]) => {
                let label = percent_encoding::percent_decode_str(label)
                    .decode_utf8_lossy()
                    .into_owned();
                let set = state.labels.entry(n.parse().unwrap_or(0)).or_default();
                if set.remove(&label) {
                    let list: Vec<Value> = set.iter().map(|l| json!({ "name": l })).collect();
                    ResponseTemplate::new(200).set_body_json(list)
                } else {
                    ResponseTemplate::new(404)
                        .set_body_json(json!({ "message": "Label does not exist" }))
                }
            }
            ("GET", ["commits", sha, "status"]) => {
                // The combined status: each context's latest, newest first.
                let mut seen = BTreeSet::new();
                let latest: Vec<Value> = state
                    .statuses
                    .iter()
                    .rev()
                    .filter(|s| s.0 == *sha && seen.insert(s.1.clone()))
                    .map(|s| json!({ "context": s.1, "state": s.2, "description": s.3 }))
                    .collect();
                conditional_json(
                    request,
                    json!({ "sha": sha, "total_count": latest.len(), "statuses": latest }),
                )
            }
            ("POST", ["statuses", sha]) => {
                let entry = (
                    sha.to_string(),
                    body["context"].as_str().unwrap_or_default().to_owned(),
                    body["state"].as_str().unwrap_or_default().to_owned(),
                    body["description"].as_str().unwrap_or_default().to_owned(),
                );
                state.statuses.push(entry);
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "state": body["state"], "context": body["context"] }))
            }
            _ => not_found,
        }
    }
}

/// One page of a REST list, as `per_page` (default 30, at most 100) and `page` (from 1) ask,
/// with GitHub's `Link` header naming the next page while there is one.
fn page_of(request: &Request, items: Vec<Value>) -> ResponseTemplate {
    let query = |key: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = query("per_page").unwrap_or(30).min(100);
    let page = query("page").unwrap_or(1).max(1);
    let more = items.len() > page * per_page;
    let list: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let answer = conditional_json(request, Value::Array(list));
    if !more {
        return answer;
    }
    // wiremock's URL names no port; the Host header does, as GitHub's Link would.
    let host = request
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut next = request.url.clone();
    let (name, port) = host.split_once(':').unwrap_or((host, "80"));
    next.set_host(Some(name)).unwrap();
    next.set_port(port.parse().ok()).unwrap();
    next.set_query(None);
    let kept: Vec<(String, String)> = request
        .url
        .query_pairs()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .extend_pairs(kept)
        .append_pair("per_page", &per_page.to_string())
        .append_pair("page", &(page + 1).to_string());
    answer.insert_header("link", format!("<{next}>; rel=\"next\"").as_str())
}

/// The names directly under `path` at commit `at` (`""`: the default branch).
fn folder(state: &State, at: &str, path: &str) -> Vec<String> {
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let mut names: Vec<String> = state
        .files
        .keys()
        .filter(|(sha, p)| sha == at && p.starts_with(&prefix))
        .filter_map(|(_, p)| p[prefix.len()..].split('/').next().map(String::from))
        .collect();
    names.dedup();
    names
}

/// A file's SHA, named by its content as git names blobs.
pub fn blob_sha(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..20])
}

/// Every file and folder under `path` at `at`, as the git trees API lists them recursively, and
/// the folder's own SHA (from everything under it, so it changes exactly when that does).
fn recursive_tree(state: &State, at: &str, path: &str) -> Option<(String, Vec<Value>)> {
    use sha2::Digest as _;
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let files: BTreeMap<&str, String> = state
        .files
        .iter()
        .filter(|((sha, p), _)| sha == at && p.starts_with(&prefix))
        .map(|((_, p), text)| (&p[prefix.len()..], blob_sha(text)))
        .collect();
    if files.is_empty() {
        return None;
    }
    let folder_sha = |folder: &str| {
        let mut hash = sha2::Sha256::new();
        for (p, sha) in &files {
            if folder.is_empty() || p.starts_with(&format!("{folder}/")) {
                hash.update(format!("{p} {sha}\n"));
            }
        }
        hex::encode(&hash.finalize()[..20])
    };
    let mut folders = BTreeSet::new();
    for p in files.keys() {
        let parts: Vec<&str> = p.split('/').collect();
        for depth in 1..parts.len() {
            folders.insert(parts[..depth].join("/"));
        }
    }
    let mut entries: Vec<Value> = folders
        .iter()
        .map(|f| json!({ "path": f, "mode": "040000", "type": "tree", "sha": folder_sha(f) }))
        .collect();
    entries.extend(
        files
            .iter()
            .map(|(p, sha)| json!({ "path": p, "mode": "100644", "type": "blob", "sha": sha })),
    );
    Some((folder_sha(""), entries))
}

/// How many `304 Not Modified` the fakes of this process answered.
pub static NOT_MODIFIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A GET answer with an `ETag`, or `304 Not Modified` when the request's `If-None-Match`
/// names it (GitHub does not count those against the rate limit).
fn conditional(request: &Request, body: Vec<u8>, content_type: &str) -> ResponseTemplate {
    use sha2::Digest as _;
    let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)[..8]));
    let matches = request
        .headers
        .get("if-none-match")
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if matches {
        NOT_MODIFIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return ResponseTemplate::new(304).insert_header("etag", etag.as_str());
    }
    ResponseTemplate::new(200)
        .insert_header("etag", etag.as_str())
        .set_body_raw(body, content_type)
}

fn conditional_json(request: &Request, value: Value) -> ResponseTemplate {
    conditional(
        request,
        serde_json::to_vec(&value).unwrap(),
        "application/json; charset=utf-8",
    )
}

/// The GraphQL queries the bot sends that read: open pull requests with their changed files,
/// newest first (here: highest number first), paged by cursor as GitHub does.
fn graphql(state: &mut State, body: &Value) -> ResponseTemplate {
    let query = body["query"].as_str().unwrap_or_default();
    let variables = &body["variables"];
    let answer = |data: Value| ResponseTemplate::new(200).set_body_json(json!({ "data": data }));
    // Discussions: a discussion's comments by number, a comment added, a comment edited.
    if query.contains("discussion(number:") {
        let number = variables["number"].as_u64().unwrap_or(0);
        let discussion = state.discussions.get(&number).map(|comments| {
            let nodes: Vec<Value> = comments
                .iter()
                .rev()
                .take(100)
                .rev()
                .map(|(id, body)| json!({ "id": id, "body": body, "author": { "__typename": "User", "login": "octocat" } }))
                .collect();
            json!({ "id": format!("D_{number}"), "comments": { "nodes": nodes } })
        });
        return answer(json!({ "repository": { "discussion": discussion } }));
    }
    if query.contains("addDiscussionComment") {
        let number: u64 = variables["id"]
            .as_str()
            .and_then(|id| id.strip_prefix("D_"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        state.next_id += 1;
        let id = format!("DC_{}", state.next_id);
        let text = variables["body"].as_str().unwrap_or_default().to_owned();
        state
            .discussions
            .entry(number)
            .or_default()
            .push((id.clone(), text));
        return answer(json!({ "addDiscussionComment": { "comment": { "id": id } } }));
    }
    if query.contains("updateDiscussionComment") {
        let id = variables["id"].as_str().unwrap_or_default();
        let text = variables["body"].as_str().unwrap_or_default();
        for comments in state.discussions.values_mut() {
            for comment in comments.iter_mut().filter(|c| c.0 == id) {
                comment.1 = text.to_owned();
            }
        }
        return answer(json!({ "updateDiscussionComment": { "comment": { "id": id } } }));
    }
    if !query.contains("pullRequests(states: OPEN") {
        return ResponseTemplate::new(200).set_body_json(
            json!({ "errors": [{ "message": "the fake does not answer this query" }] }),
        );
    }
    let number = |key: &str| variables[key].as_u64().unwrap_or(0) as usize;
    let (first, files) = (number("first").min(100), number("files").min(100));
    // A cursor is the position after which the page starts.
    let start = variables["after"]
        .as_str()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let open: Vec<(&u64, &String, &Vec<String>)> = state
        .pulls
        .iter()
        .rev()
        .map(|(n, p)| (n, &p.0, &p.2))
        .collect();
    let nodes: Vec<Value> = open
        .iter()
        .skip(start)
        .take(first)
        .map(|(n, author, paths)| {
            let listed: Vec<Value> = paths
                .iter()
                .take(files)
                .map(|p| json!({ "path": p }))
                .collect();
            json!({
                "number": n,
                "createdAt": "2026-11-02T10:00:00Z",
                "author": { "login": author },
                "files": { "totalCount": paths.len(), "nodes": listed }
            })
        })
        .collect();
    let end = start + nodes.len();
    ResponseTemplate::new(200).set_body_json(json!({ "data": { "repository": { "pullRequests": {
        "pageInfo": { "hasNextPage": end < open.len(), "endCursor": end.to_string() },
        "nodes": nodes,
    } } } }))
}
