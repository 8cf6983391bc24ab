//! `GET /geps` and `GET /geps.json`: the dashboard of `[dashboard] repo`, read through the API at
//! the default branch and kept in memory. A page view reads only that memory: no GitHub call, no
//! store query; answers carry an ETag and a matching `If-None-Match` is a 304.
//!
//! The [`Refresher`] rebuilds it at start, when a delivery says something it shows may have
//! changed (a push to the default branch touching `geps/`, `pkg/features/` or
//! `conformance/reports/`; pull request and review events; the mesh label on an issue), and every
//! 15 minutes (another replica may have taken the delivery; days pass). Each refresh lists the three
//! folders (conditional requests: a `304` costs no rate limit); when their tree SHAs are the ones
//! already read, nothing is read again but the open pull requests. Otherwise only blobs not read
//! before are fetched (a blob is named by its content), and a GEP's history only where its
//! `metadata.yaml` or folder changed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

use super::build::{self, History, Inputs, Pull};
use super::{Dashboard, Filter};
use crate::capabilities::graduation;
use crate::capabilities::mesh::{Matcher, MeshRules};
use crate::capabilities::review::{self, ReviewRules};
use crate::core::event::SubjectKind;
use crate::core::{Event, EventKind, ExecError, Trees};
use crate::domain::gep::{Features, Status};
use crate::domain::standing::readiness::Conformance;
use crate::domain::validate::{GepFiles, GepSet, SourceText, Template};
use crate::machinery::github::snapshot::Tree;
use crate::machinery::github::{GitHub, Repo};
use crate::machinery::store::{NewDelivery, Recorded, Store};

/// How often the dashboard is refreshed without being told to.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15 * 60);
/// Deliveries that come together (a merge: push, pull request closed, labels) refresh once.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Where the features and the conformance reports are, beside `geps/`.
pub const FEATURES_DIR: &str = "pkg/features";
pub const REPORTS_DIR: &str = "conformance/reports";
/// Commits of a GEP's metadata.yaml read back at most to find when its status began.
const HISTORY_READS: usize = 30;

/// One built dashboard, with its answers ready.
pub struct Page {
    pub dashboard: Dashboard,
    pub json: String,
    etag: String,
    /// The tree SHAs of `geps/`, `pkg/features/`, `conformance/reports/` it was built from.
    pub key: [String; 3],
    /// What `/gep status` cannot read per request: each implementation's newest report, and
    /// each GEP's history.
    pub conformance: Conformance,
    pub history: BTreeMap<u32, History>,
}

/// What the routes serve, and the refresher's doorbell.
pub struct Served {
    pub repo: String,
    geps_dir: String,
    mesh_label: String,
    page: RwLock<Option<Arc<Page>>>,
    /// Why there is no page yet (or why the last refresh failed).
    problem: Mutex<Option<String>>,
    wake: Notify,
}

/// What one refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// The folders' trees were the ones read before: only the pull requests were read again.
    pub unchanged: bool,
    /// Blobs fetched (files not read before).
    pub blobs_read: usize,
    /// GEPs whose history was read again.
    pub histories_read: usize,
}

impl Served {
    pub fn new(repo: &str, geps_dir: &str, mesh_label: &str) -> Arc<Served> {
        Arc::new(Served {
            repo: repo.to_owned(),
            geps_dir: geps_dir.to_owned(),
            mesh_label: mesh_label.to_owned(),
            page: RwLock::new(None),
            problem: Mutex::new(Some("not read yet".into())),
            wake: Notify::new(),
        })
    }

    pub fn page(&self) -> Option<Arc<Page>> {
        self.page.read().expect("page lock").clone()
    }

    /// The page of `repo`, when this is its dashboard and it has been read.
    pub fn page_of(&self, repo: &str) -> Option<Arc<Page>> {
        (self.repo == repo).then(|| self.page()).flatten()
    }

    pub fn say_problem(&self, problem: Option<String>) {
        *self.problem.lock().expect("problem lock") = problem;
    }

    /// Whether `event` may change what the dashboard shows.
    pub fn wants(&self, event: &Event) -> bool {
        if event.repo != self.repo {
            return false;
        }
        if let Some(push) = &event.push {
            let watched = [
                self.geps_dir.clone(),
                format!("{FEATURES_DIR}/"),
                format!("{REPORTS_DIR}/"),
            ];
            let watched: Vec<&str> = watched.iter().map(String::as_str).collect();
            return push.may_touch(&watched);
        }
        let on_pull = event
            .subject
            .as_ref()
            .is_some_and(|s| s.kind == SubjectKind::PullRequest);
        let mesh_label = event.label.as_deref() == Some(self.mesh_label.as_str());
        match event.kind {
            EventKind::PullRequest | EventKind::PullRequestReview => true,
            EventKind::IssueComment => {
                on_pull
                    && event
                        .comment
                        .as_ref()
                        .is_some_and(|c| c.commands.iter().any(review::is_review_command))
            }
            EventKind::Issues => mesh_label,
            _ => false,
        }
    }

    /// Rings the refresher when `event` may change the dashboard.
    pub fn observe(&self, event: &Event) {
        if self.wants(event) {
            self.wake.notify_one();
        }
    }
}

/// The routes. Without a configured repository they say how to configure one.
pub fn router(served: Option<Arc<Served>>) -> Router {
    Router::new()
        .route("/geps", get(html))
        .route("/geps.json", get(json))
        .with_state(served)
}

fn unavailable(served: Option<&Served>) -> Response {
    let Some(served) = served else {
        return (
            StatusCode::NOT_FOUND,
            "no dashboard here: set GEP_BOT_DASHBOARD_REPO (or [dashboard] repo) to OWNER/NAME\n",
        )
            .into_response();
    };
    let problem = served.problem.lock().expect("problem lock").clone();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "30")],
        format!(
            "the dashboard of {} is not read yet: {}\n",
            served.repo,
            problem.unwrap_or_else(|| "reading".into())
        ),
    )
        .into_response()
}

fn cached(headers: &HeaderMap, etag: &str, content_type: &'static str, body: String) -> Response {
    let tag = HeaderValue::from_str(etag).expect("a hex ETag");
    let cache = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if crate::machinery::edge::matches_etag(headers, &tag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

async fn html(
    State(served): State<Option<Arc<Served>>>,
    Query(filter): Query<Filter>,
    headers: HeaderMap,
) -> Response {
    let Some(page) = served.as_deref().and_then(Served::page) else {
        return unavailable(served.as_deref());
    };
    let etag = tag(&[
        page.etag.as_bytes(),
        b"html",
        format!("{filter:?}").as_bytes(),
    ]);
    cached(
        &headers,
        &etag,
        "text/html; charset=utf-8",
        page.dashboard.html_filtered(&filter),
    )
}

async fn json(
    State(served): State<Option<Arc<Served>>>,
    Query(filter): Query<Filter>,
    headers: HeaderMap,
) -> Response {
    let Some(page) = served.as_deref().and_then(Served::page) else {
        return unavailable(served.as_deref());
    };
    match filter.lead() {
        // One lead's queue, made for the asking.
        Some(lead) => {
            let etag = tag(&[page.etag.as_bytes(), b"lead", lead.as_bytes()]);
            let queue = serde_json::to_string(&page.dashboard.of_lead(lead)).unwrap_or_default();
            cached(&headers, &etag, "application/json", queue)
        }
        None => cached(&headers, &page.etag, "application/json", page.json.clone()),
    }
}

/// A strong ETag over `parts`.
fn tag(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    format!("\"{}\"", hex::encode(&hash.finalize()[..16]))
}

/// What was read, kept between refreshes.
#[derive(Default)]
struct Cache {
    installation: Option<Option<u64>>,
    /// Blob SHA -> text.
    blobs: HashMap<String, Arc<str>>,
    /// GEP -> (its metadata.yaml's blob SHA, the day it reached its status).
    since: HashMap<u32, (String, (Option<NaiveDate>, bool))>,
    /// GEP -> (its folder's tree SHA, the day it last changed).
    changed: HashMap<u32, (String, Option<NaiveDate>)>,
    parsed: Option<Parsed>,
}

/// The folders as read and parsed, for the key they were read at.
struct Parsed {
    key: [String; 3],
    set: GepSet,
    features: Option<Features>,
    conformance: Conformance,
    history: BTreeMap<u32, History>,
}

/// Keeps the dashboard of one repository up to date, reading through `github` and the store.
pub struct Refresher<S> {
    pub served: Arc<Served>,
    pub github: Arc<GitHub>,
    pub store: Arc<S>,
    pub review: ReviewRules,
    pub mesh: MeshRules,
    pub template: Template,
    pub stale_months: u32,
    /// Graduation nudges: the label's pattern (`[dashboard] ready_label`); empty: none.
    pub ready_label: String,
    /// Rung when timed work is stored, so an idle worker looks at once.
    pub queued: Option<Arc<Notify>>,
    cache: Cache,
}

impl<S: Store> Refresher<S> {
    pub fn new(
        served: Arc<Served>,
        github: Arc<GitHub>,
        store: Arc<S>,
        review: ReviewRules,
        mesh: MeshRules,
    ) -> Refresher<S> {
        Refresher {
            served,
            github,
            store,
            review,
            mesh,
            template: Template::builtin(),
            stale_months: super::STALE_MONTHS,
            ready_label: String::new(),
            queued: None,
            cache: Cache::default(),
        }
    }

    /// Refreshes now, then whenever rung or every [`REFRESH_EVERY`], until `stopped`.
    pub async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        loop {
            match self.refresh().await {
                Ok(done) => tracing::info!(
                    repo = %self.served.repo,
                    unchanged = done.unchanged,
                    blobs = done.blobs_read,
                    histories = done.histories_read,
                    "dashboard refreshed"
                ),
                Err(error) => {
                    tracing::warn!(repo = %self.served.repo, %error, "cannot refresh the dashboard")
                }
            }
            tokio::select! {
                _ = self.served.wake.notified() => {
                    tokio::select! {
                        _ = tokio::time::sleep(SETTLE) => {}
                        _ = stopped.changed() => return,
                    }
                }
                _ = tokio::time::sleep(REFRESH_EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// One refresh: the page is replaced only by a complete one; a failure keeps the last.
    pub async fn refresh(&mut self) -> Result<Refreshed, ExecError> {
        let outcome = self.rebuild().await;
        match &outcome {
            Ok(_) => self.served.say_problem(None),
            Err(error) => self.served.say_problem(Some(error.to_string())),
        }
        outcome
    }

    async fn rebuild(&mut self) -> Result<Refreshed, ExecError> {
        let repo = self.served.repo.clone();
        let installation = match self.cache.installation {
            Some(known) => known,
            None => {
                let found = self.github.installation_of(&repo).await?;
                self.cache.installation = Some(found);
                found
            }
        };
        let github = &*self.github;
        let geps_dir = self.served.geps_dir.trim_end_matches('/').to_owned();
        let geps = github
            .tree(installation, &repo, &geps_dir)
            .await?
            .ok_or_else(|| {
                ExecError::Permanent(format!("{repo} has no {geps_dir}/ on its default branch"))
            })?;
        let features = github.tree(installation, &repo, FEATURES_DIR).await?;
        let reports = github.tree(installation, &repo, REPORTS_DIR).await?;
        let sha = |tree: &Option<Tree>| tree.as_ref().map_or(String::new(), |t| t.sha.clone());
        let key = [geps.sha.clone(), sha(&features), sha(&reports)];
        let mut done = Refreshed {
            unchanged: true,
            blobs_read: 0,
            histories_read: 0,
        };
        if self.cache.parsed.as_ref().is_none_or(|p| p.key != key) {
            done.unchanged = false;
            let parsed = self
                .read_folders(
                    installation,
                    key.clone(),
                    &geps,
                    features,
                    reports,
                    &mut done,
                )
                .await?;
            self.cache.parsed = Some(parsed);
        }
        let parsed = self.cache.parsed.as_ref().expect("just read");
        let pulls = self.pulls(installation).await?;
        let mut mesh_issues = BTreeSet::new();
        for number in parsed.history.keys() {
            let memory = self
                .store
                .label_memory(&repo, u64::from(*number), &self.mesh.label)
                .await?;
            if memory.on {
                mesh_issues.insert(*number);
            }
        }
        let matcher = Matcher::new(&self.mesh)
            .map_err(|e| ExecError::Permanent(format!("the [mesh] rules: {e}")))?;
        let dashboard = build::build(&Inputs {
            repo: &repo,
            set: &parsed.set,
            template: &self.template,
            features: parsed.features.as_ref(),
            conformance: Some(&parsed.conformance),
            history: &parsed.history,
            pulls: &pulls,
            mesh_issues: &mesh_issues,
            matcher: &matcher,
            today: chrono::Utc::now().date_naive(),
            stale_months: self.stale_months,
        });
        let json = serde_json::to_string_pretty(&dashboard).expect("the dashboard is JSON") + "\n";
        // Nudges are a help: a store that cannot take them now costs this refresh none of its
        // page (the next refresh stores them).
        if let Err(error) = self.nudge(installation, &dashboard).await {
            tracing::warn!(repo = %repo, %error, "cannot store the graduation nudges");
        }
        let page = Page {
            etag: tag(&[json.as_bytes()]),
            json,
            dashboard,
            key,
            conformance: parsed.conformance.clone(),
            history: parsed.history.clone(),
        };
        *self.served.page.write().expect("page lock") = Some(Arc::new(page));
        Ok(done)
    }

    /// Stores, as timed work, the standing of each GEP the bot has something new to say of
    /// ([`graduation::Standing::to_say`]): the worker says it on the tracking issue. Each change
    /// is one delivery, stored once whichever replica refreshes and however often. Answers how
    /// many were new.
    async fn nudge(
        &self,
        installation: Option<u64>,
        dashboard: &super::Dashboard,
    ) -> Result<usize, ExecError> {
        if self.ready_label.is_empty() {
            return Ok(0);
        }
        let repo = &self.served.repo;
        let now = crate::machinery::pipeline::now_ms();
        let said = self.store.said(repo, graduation::ABOUT).await?;
        let mut stored = 0;
        for standing in dashboard.geps.iter().filter_map(|row| row.standing(repo)) {
            let said = said.get(&u64::from(standing.gep)).map(String::as_str);
            if !standing.to_say(said) {
                continue;
            }
            let (id, body) = (standing.delivery_id(said), standing.body(installation));
            let delivery = NewDelivery {
                id: &id,
                event: graduation::EVENT,
                body: &body,
            };
            let recorded = self.store.schedule(delivery, now, now).await?;
            if recorded == Recorded::New {
                stored += 1;
            }
        }
        if stored > 0 {
            tracing::info!(repo = %repo, stored, "graduation nudges stored");
            if let Some(queued) = &self.queued {
                queued.notify_one();
            }
        }
        Ok(stored)
    }

    /// The blobs of the files the dashboard reads, each fetched once ever.
    async fn blob(
        &mut self,
        installation: Option<u64>,
        sha: &str,
        done: &mut Refreshed,
    ) -> Result<Arc<str>, ExecError> {
        if let Some(text) = self.cache.blobs.get(sha) {
            return Ok(text.clone());
        }
        let text: Arc<str> = self
            .github
            .blob(installation, &self.served.repo, sha)
            .await?
            .into();
        done.blobs_read += 1;
        self.cache.blobs.insert(sha.to_owned(), text.clone());
        Ok(text)
    }

    async fn read_folders(
        &mut self,
        installation: Option<u64>,
        key: [String; 3],
        geps: &Tree,
        features: Option<Tree>,
        reports: Option<Tree>,
        done: &mut Refreshed,
    ) -> Result<Parsed, ExecError> {
        let geps_dir = self.served.geps_dir.trim_end_matches('/').to_owned();
        let mut wanted: HashSet<String> = HashSet::new();
        // The GEPs: gep-N/index.md and gep-N/metadata.yaml, and each folder's own SHA.
        let mut folders: BTreeMap<u32, GepFiles> = BTreeMap::new();
        let mut metadata_sha: BTreeMap<u32, String> = BTreeMap::new();
        let mut folder_sha: BTreeMap<u32, String> = BTreeMap::new();
        for entry in &geps.entries {
            let mut parts = entry.path.splitn(2, '/');
            let (Some(folder), rest) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some(number) = crate::domain::gep::folder_number(folder) else {
                continue;
            };
            let dir = format!("{geps_dir}/{folder}");
            let gep = folders.entry(number).or_insert_with(|| GepFiles {
                dir: dir.clone().into(),
                number: Some(number),
                index: None,
                metadata: None,
                checked: true,
            });
            match rest {
                None if entry.folder => {
                    folder_sha.insert(number, entry.sha.clone());
                }
                Some(name @ ("index.md" | "metadata.yaml")) if !entry.folder => {
                    wanted.insert(entry.sha.clone());
                    let text = self.blob(installation, &entry.sha, done).await?;
                    let source = Some(SourceText::new(format!("{dir}/{name}"), &*text));
                    if name == "index.md" {
                        gep.index = source;
                    } else {
                        gep.metadata = source;
                        metadata_sha.insert(number, entry.sha.clone());
                    }
                }
                _ => {}
            }
        }
        let set = GepSet {
            geps: folders
                .into_values()
                .filter(|g| g.index.is_some() || g.metadata.is_some())
                .collect(),
            only_files: None,
        };
        // pkg/features/*.go (not the tests), as `validate` reads a checkout's.
        let mut go = Vec::new();
        for entry in features.iter().flat_map(|t| &t.entries) {
            let top_level = !entry.path.contains('/');
            if top_level
                && !entry.folder
                && entry.path.ends_with(".go")
                && !entry.path.ends_with("_test.go")
            {
                wanted.insert(entry.sha.clone());
                go.push(self.blob(installation, &entry.sha, done).await?);
            }
        }
        let features = (!go.is_empty()).then(|| Features::from_go(go.iter().map(|t| &**t)));
        // conformance/reports/VERSION/IMPLEMENTATION/*.yaml.
        let mut texts = Vec::new();
        for entry in reports.iter().flat_map(|t| &t.entries) {
            let depth = entry.path.matches('/').count();
            let yaml = entry.path.ends_with(".yaml") || entry.path.ends_with(".yml");
            if !entry.folder && depth == 2 && yaml {
                wanted.insert(entry.sha.clone());
                let text = self.blob(installation, &entry.sha, done).await?;
                texts.push((entry.path.clone(), text));
            }
        }
        let conformance = Conformance::from_reports(texts.iter().map(|(p, t)| (p.as_str(), &**t)));
        // Blobs no longer in the folders are not kept.
        self.cache.blobs.retain(|sha, _| wanted.contains(sha));
        let mut history = BTreeMap::new();
        for gep in &set.geps {
            let Some(number) = gep.number else { continue };
            let (since, at_least) = match (metadata_sha.get(&number), build::metadata_status(gep)) {
                (Some(sha), Some(status)) => {
                    self.in_status_since(installation, number, sha, status, done)
                        .await?
                }
                _ => (None, false),
            };
            let changed = match folder_sha.get(&number) {
                Some(sha) => self.last_changed(installation, number, sha).await?,
                None => None,
            };
            history.insert(
                number,
                History {
                    in_status_since: since,
                    in_status_since_at_least: at_least,
                    last_changed: changed,
                },
            );
        }
        Ok(Parsed {
            key,
            set,
            features,
            conformance,
            history,
        })
    }

    /// The day GEP-`number` reached `status`: the oldest of the newest run of commits to its
    /// metadata.yaml that leave it in that status; and whether it is only a lower bound (every
    /// commit read states it: the file was made so). Read again only when that file changed.
    async fn in_status_since(
        &mut self,
        installation: Option<u64>,
        number: u32,
        metadata_sha: &str,
        status: Status,
        done: &mut Refreshed,
    ) -> Result<(Option<NaiveDate>, bool), ExecError> {
        if let Some((sha, since)) = self.cache.since.get(&number)
            && sha == metadata_sha
        {
            return Ok(*since);
        }
        done.histories_read += 1;
        let repo = &self.served.repo;
        let path = format!("{}gep-{number}/metadata.yaml", self.served.geps_dir);
        let commits = self
            .github
            .commits_touching(installation, repo, &path)
            .await?;
        let reads = Repo {
            github: Some(&self.github),
            installation,
        };
        let mut since = None;
        let mut at_least = true;
        for commit in commits.iter().take(HISTORY_READS) {
            let text = reads.file_at(repo, &path, &commit.sha).await?;
            let then = text
                .as_deref()
                .and_then(crate::capabilities::lifecycle::metadata_status);
            if then != Some(status) {
                at_least = false;
                break;
            }
            since = day(&commit.date);
        }
        let since = (since, at_least && since.is_some());
        self.cache
            .since
            .insert(number, (metadata_sha.to_owned(), since));
        Ok(since)
    }

    /// The day of the newest commit that changed GEP-`number`'s folder.
    async fn last_changed(
        &mut self,
        installation: Option<u64>,
        number: u32,
        folder_sha: &str,
    ) -> Result<Option<NaiveDate>, ExecError> {
        if let Some((sha, changed)) = self.cache.changed.get(&number)
            && sha == folder_sha
        {
            return Ok(*changed);
        }
        let path = format!("{}gep-{number}", self.served.geps_dir);
        let commits = self
            .github
            .commits_touching(installation, &self.served.repo, &path)
            .await?;
        let changed = commits.first().and_then(|c| day(&c.date));
        self.cache
            .changed
            .insert(number, (folder_sha.to_owned(), changed));
        Ok(changed)
    }

    /// The open pull requests per GEP they touch, with their lead-review standing from the store
    /// (by the leads the repository names).
    async fn pulls(
        &self,
        installation: Option<u64>,
    ) -> Result<BTreeMap<u32, Vec<Pull>>, ExecError> {
        let repo = &self.served.repo;
        let open = self.github.open_pulls(installation, repo).await?;
        let mut by_gep: BTreeMap<u32, Vec<Pull>> = BTreeMap::new();
        if open.is_empty() {
            return Ok(by_gep);
        }
        let reads = Repo {
            github: Some(&self.github),
            installation,
        };
        let rules = self.review.of_repository(repo, &reads).await?;
        for pull in open {
            let number = pull.number;
            let geps: BTreeSet<u32> = pull
                .paths
                .iter()
                .filter_map(|p| build::gep_of(p, &self.served.geps_dir))
                .collect();
            if geps.is_empty() {
                continue;
            }
            let state = self.store.review(repo, number).await?;
            let standing = review::standing(state.as_ref(), &rules);
            let state = state.unwrap_or_default();
            let approved = state.is_approved(&rules);
            let pull = Pull {
                number,
                url: format!("https://github.com/{repo}/pull/{number}"),
                review: standing,
                pending: if approved {
                    Vec::new()
                } else {
                    state
                        .pending(&rules, &pull.author)
                        .into_iter()
                        .map(str::to_owned)
                        .collect()
                },
                opened: day(&pull.created_at),
                concerns: state
                    .concerns
                    .iter()
                    .filter(|c| c.open)
                    .map(|c| build::OpenConcern {
                        name: c.name.clone(),
                        raised_by: c.raised_by.clone(),
                    })
                    .collect(),
            };
            for gep in geps {
                by_gep.entry(gep).or_default().push(pull.clone());
            }
        }
        Ok(by_gep)
    }
}

/// The GEPs whose metadata.yaml states another status in `after` than in `before`, as activity.
pub fn status_changes(
    repo: &str,
    before: &GepSet,
    after: &GepSet,
    now_ms: i64,
) -> Vec<crate::core::state::StateChange> {
    let statuses = |set: &GepSet| -> BTreeMap<u32, Status> {
        set.geps
            .iter()
            .filter_map(|g| Some((g.number?, build::metadata_status(g)?)))
            .collect()
    };
    let (was, is) = (statuses(before), statuses(after));
    is.iter()
        .filter_map(|(number, status)| {
            let old = was.get(number)?;
            (old != status).then(|| {
                crate::core::state::StateChange::Record(crate::core::state::Activity {
                    repo: repo.to_owned(),
                    kind: crate::core::state::ActivityKind::StatusChanged,
                    number: u64::from(*number),
                    detail: format!("{old} -> {status}"),
                    at_ms: Some(now_ms),
                })
            })
        })
        .collect()
}

/// The day of an RFC 3339 timestamp.
fn day(timestamp: &str) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .ok()
        .map(|t| t.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn push(git_ref: &str, forced: bool, commits: usize, paths: &[&str]) -> Event {
        let commits: Vec<_> = (0..commits)
            .map(|i| {
                let modified: Vec<&str> = if i == 0 { paths.to_vec() } else { vec![] };
                json!({ "added": [], "removed": [], "modified": modified })
            })
            .collect();
        let body = json!({
            "ref": git_ref,
            "forced": forced,
            "commits": commits,
            "repository": { "full_name": "kubernetes-sigs/gateway-api", "default_branch": "main" },
            "sender": { "login": "robscott", "type": "User" },
        });
        Event::parse("push", &serde_json::to_vec(&body).unwrap()).unwrap()
    }

    fn served() -> Arc<Served> {
        Served::new("kubernetes-sigs/gateway-api", "geps/", "area/mesh")
    }

    #[test]
    fn a_push_to_the_default_branch_touching_what_it_shows_refreshes() {
        let served = served();
        for path in [
            "geps/gep-1731/index.md",
            "pkg/features/httproute.go",
            "conformance/reports/v1.3.0/envoy-gateway/report.yaml",
        ] {
            assert!(
                served.wants(&push("refs/heads/main", false, 1, &[path])),
                "{path}"
            );
        }
        assert!(!served.wants(&push("refs/heads/main", false, 1, &["site-src/index.md"])));
        assert!(!served.wants(&push("refs/heads/main", false, 1, &["pkg/featuresx.go"])));
        // Another branch, or a tag.
        assert!(!served.wants(&push(
            "refs/heads/release-1.3",
            false,
            1,
            &["geps/gep-1/index.md"]
        )));
        assert!(!served.wants(&push(
            "refs/tags/v1.3.0",
            false,
            1,
            &["geps/gep-1/index.md"]
        )));
    }

    #[test]
    fn a_push_whose_paths_may_not_all_be_listed_refreshes() {
        let served = served();
        // Forced: commits left the branch, and what they changed is listed nowhere.
        assert!(served.wants(&push("refs/heads/main", true, 1, &["README.md"])));
        // GitHub lists at most 20 commits.
        assert!(served.wants(&push("refs/heads/main", false, 20, &["README.md"])));
        assert!(!served.wants(&push("refs/heads/main", false, 19, &["README.md"])));
    }

    #[test]
    fn another_repositorys_events_do_not_refresh() {
        let served = Served::new("someone/else", "geps/", "area/mesh");
        assert!(!served.wants(&push("refs/heads/main", false, 1, &["geps/gep-1/index.md"])));
    }

    #[test]
    fn a_status_that_differs_from_the_last_read_is_a_change() {
        let gep = |number: u32, status: &str| GepFiles {
            dir: format!("geps/gep-{number}").into(),
            number: Some(number),
            index: None,
            metadata: Some(SourceText::new(
                format!("geps/gep-{number}/metadata.yaml"),
                format!("number: {number}\nstatus: {status}\n"),
            )),
            checked: true,
        };
        let set = |geps| GepSet {
            geps,
            only_files: None,
        };
        let before = set(vec![gep(1, "Experimental"), gep(2, "Provisional")]);
        let after = set(vec![
            gep(1, "Standard"),
            gep(2, "Provisional"),
            gep(3, "Provisional"),
        ]);
        let changes = status_changes("o/r", &before, &after, 42);
        assert_eq!(
            changes,
            [crate::core::state::StateChange::Record(
                crate::core::state::Activity {
                    repo: "o/r".into(),
                    kind: crate::core::state::ActivityKind::StatusChanged,
                    number: 1,
                    detail: "Experimental -> Standard".into(),
                    at_ms: Some(42),
                }
            )]
        );
    }

    #[test]
    fn etags_differ_with_what_they_tag() {
        assert_ne!(tag(&[b"a", b"bc"]), tag(&[b"ab", b"c"]));
        assert_eq!(tag(&[b"x"]), tag(&[b"x"]));
        assert!(tag(&[b"x"]).starts_with('"') && tag(&[b"x"]).ends_with('"'));
    }
}
