//! A worker: claims due jobs, runs the handlers on their deliveries, executes the plans, and
//! decides what a failure means: wait for a rate limit, retry with backoff and jitter, or keep the
//! job as dead after the last attempt.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rand::Rng;
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::github::executor::{ExecError, Executor};

use crate::checks;
use crate::commands::{self, Command};
use crate::github::Action;
use crate::github::{Event, Plan, StateChange, Subject};
use crate::mesh::{self, Matcher, MeshRules};
use crate::review::{self, PullRequest, ReviewRules, ReviewState};
use crate::status;
use crate::store::{Job, Store};
use crate::validate::{self, SourceText, Template};

#[derive(Debug, Clone)]
pub struct Settings {
    pub id: String,
    /// Attempts before a job is dead (rate-limit waits do not count as failures).
    pub max_attempts: i64,
    /// The first retry's delay; each further one doubles it, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claim holds before another worker may take the job (this one died).
    pub lease: Duration,
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            id: format!("{}-{}", hostname(), std::process::id()),
            max_attempts: 8,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(1),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "gep-bot".into())
}

/// What the handlers are configured with.
pub struct Handlers {
    pub mesh: MeshRules,
    pub matcher: Matcher,
    pub review: ReviewRules,
    /// The GEP template `/gep status` applies.
    pub template: Template,
    /// Where the check run finds the repository's template, and more section names.
    pub checks: checks::CheckRules,
}

impl Handlers {
    pub fn new(
        mesh: MeshRules,
        review: ReviewRules,
        checks: checks::CheckRules,
    ) -> Result<Handlers, mesh::BadPattern> {
        let matcher = Matcher::new(&mesh)?;
        Ok(Handlers {
            mesh,
            matcher,
            review,
            template: Template::builtin(),
            checks,
        })
    }
}

pub struct Worker<S> {
    pub store: Arc<S>,
    pub executor: Arc<Executor>,
    pub handlers: Arc<Handlers>,
    pub settings: Settings,
    pub queued: Arc<Notify>,
    pub clock: fn() -> i64,
}

impl<S: Store> Worker<S> {
    /// Runs until `shutdown` turns true; then gives back what it holds.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = (self.clock)();
            match self
                .store
                .claim(
                    &self.settings.id,
                    now,
                    self.settings.lease.as_millis() as i64,
                )
                .await
            {
                Ok(Some(job)) => {
                    tokio::select! {
                        _ = self.process(job) => {}
                        _ = shutdown.changed() => break,
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.queued.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot claim a job");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
        match self.store.release(&self.settings.id).await {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "released claimed jobs for another worker"),
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "cannot release claimed jobs; their lease will expire")
            }
        }
    }

    async fn process(&self, job: Job) {
        let span = tracing::info_span!("job", delivery = %job.delivery_id, event = %job.event, attempt = job.attempts);
        self.process_in_span(job).instrument(span).await
    }

    async fn process_in_span(&self, job: Job) {
        let result = guarded(self.run_job(&job)).await;
        let now = (self.clock)();
        let outcome = match result {
            Ok(()) => {
                metrics::histogram!("gep_bot_job_latency_seconds")
                    .record((now - job.received_ms) as f64 / 1000.0);
                self.store.complete(job.id, now).await.map(|_| "done")
            }
            Err(ExecError::RateLimited { wait, reason }) => {
                tracing::warn!(%reason, "rate limited; the job waits");
                let at = now + wait.as_millis() as i64 + jitter(Duration::from_secs(1));
                self.store
                    .retry(job.id, at, &reason)
                    .await
                    .map(|_| "rate_limited")
            }
            Err(ExecError::Transient(error)) if job.attempts < self.settings.max_attempts => {
                let delay = backoff(&self.settings, job.attempts);
                tracing::warn!(%error, retry_in = ?delay, "will retry");
                self.store
                    .retry(job.id, now + delay.as_millis() as i64, &error)
                    .await
                    .map(|_| "retry")
            }
            Err(ExecError::Transient(error) | ExecError::Permanent(error)) => {
                tracing::error!(%error, "job is dead; replay it after fixing the cause");
                self.store.bury(job.id, &error, now).await.map(|_| "dead")
            }
        };
        match outcome {
            Ok(outcome) => {
                metrics::counter!("gep_bot_jobs_total", "outcome" => outcome).increment(1)
            }
            Err(error) => {
                tracing::error!(%error, "cannot record the job's outcome; it will run again")
            }
        }
    }

    async fn run_job(&self, job: &Job) -> Result<(), ExecError> {
        let event =
            Event::parse(&job.event, &job.body).map_err(|e| ExecError::Permanent(e.to_string()))?;
        let plan = self.plan(&event).await?;
        self.store
            .apply(&plan.state)
            .await
            .map_err(|e| ExecError::Transient(e.to_string()))?;
        for action in &plan.actions {
            self.executor.execute(event.installation, action).await?;
            tracing::info!(kind = action.kind(), "action done");
        }
        Ok(())
    }

    /// Gathers what the handlers need (stored state, a pull request's files and review), then
    /// asks them. Reads only: nothing is executed (`gep-bot replay` prints what this returns).
    pub async fn plan(&self, event: &Event) -> Result<Plan, ExecError> {
        let Some(subject) = &event.subject else {
            return Ok(Plan::default());
        };
        let transient = |e: crate::store::StoreError| ExecError::Transient(e.to_string());
        let rules = &self.handlers.mesh;
        let suppressed = self
            .store
            .is_suppressed(&event.repo, subject.number, &rules.label)
            .await
            .map_err(transient)?;
        let mesh_wants_files = event.name == "pull_request"
            && matches!(
                event.action.as_str(),
                "opened" | "synchronize" | "reopened" | "edited"
            )
            && !rules.paths.is_empty()
            && !subject.labels.contains(&rules.label)
            && !suppressed
            && !event.sender.is_bot();
        let review = review::concerns_review(event);
        let files = if mesh_wants_files || review {
            self.executor
                .pull_request_files(event.installation, &event.repo, subject.number)
                .await?
        } else {
            Vec::new()
        };
        let context = mesh::Context {
            state: mesh::IssueState {
                label_suppressed: suppressed,
            },
            changed_paths: &files,
        };
        let mut plan = mesh::plan(event, rules, &self.handlers.matcher, &context);
        if let Some(number) = status_request(event) {
            plan.extend(self.gep_status(event, subject, number).await?);
        }
        let gep_pull = self.handlers.review.touches_geps(&files);
        if checks::wants(event, &files, &self.handlers.review.geps_dir) {
            plan.extend(self.check(event, &files).await?);
        }
        if review && gep_pull {
            plan.extend(self.review(event, subject, files).await?);
        }
        Ok(plan)
    }

    /// `/gep status [N]`: the report on GEP-N as the default branch has it, with the open pull
    /// requests that touch it, in one comment edited on the next request.
    async fn gep_status(
        &self,
        event: &Event,
        subject: &Subject,
        number: u32,
    ) -> Result<Plan, ExecError> {
        let dir = &self.handlers.review.geps_dir;
        let (installation, repo) = (event.installation, event.repo.as_str());
        let folder = format!("{dir}gep-{number}");
        let read = async |name: &str| -> Result<Option<SourceText>, ExecError> {
            let path = format!("{folder}/{name}");
            Ok(self
                .executor
                .file_at(installation, repo, &path, "")
                .await?
                .map(|t| SourceText::new(path, t)))
        };
        let (index, metadata) = (read("index.md").await?, read("metadata.yaml").await?);
        let report = if index.is_none() && metadata.is_none() {
            None
        } else {
            let set = validate::GepSet {
                geps: vec![validate::GepFiles {
                    dir: folder.clone().into(),
                    number: Some(number),
                    index,
                    metadata,
                    checked: true,
                }],
                only_files: None,
            };
            let known = self
                .executor
                .folder_at(installation, repo, dir.trim_end_matches('/'), "")
                .await?
                .iter()
                .filter_map(|name| crate::gep::folder_number(name))
                .collect();
            status::report(&set, number, &self.handlers.template, &known)
        };
        let mut pulls = Vec::new();
        for pull in self
            .executor
            .open_pulls_touching(installation, repo, &folder)
            .await?
        {
            let review = match self
                .store
                .review(repo, pull)
                .await
                .map_err(|e| ExecError::Transient(e.to_string()))?
            {
                Some(state) => {
                    let rules = &self.handlers.review;
                    let word = if state.is_approved(rules) {
                        "lead-approved"
                    } else {
                        "lead review pending"
                    };
                    format!("{word}, {}/{} approvals", state.approvals(), rules.quorum)
                }
                None => "lead review not started".into(),
            };
            pulls.push(status::OpenPull {
                number: pull,
                review,
            });
        }
        let mut plan = Plan::default();
        plan.actions.push(Action::CreateComment {
            repo: repo.to_owned(),
            issue: subject.number,
            marker: Action::marker(&format!("gep-status-{number}")),
            body: status::reply(number, report.as_ref(), &pulls),
        });
        Ok(plan)
    }

    /// The GEP check run: the changed GEPs read at the head commit and at the base.
    async fn check(&self, event: &Event, files: &[String]) -> Result<Plan, ExecError> {
        let (Some(head), Some(base)) = (&event.head_sha, &event.base_sha) else {
            return Ok(Plan::default());
        };
        let reads = crate::github::InstallationReads {
            executor: &self.executor,
            installation: event.installation,
        };
        let pull = checks::PullRequestTrees {
            repo: &event.repo,
            head_sha: head,
            base_sha: base,
            changed_paths: files,
        };
        let dir = &self.handlers.review.geps_dir;
        let gathered = checks::gather(&reads, &pull, dir, &self.handlers.checks).await?;
        Ok(checks::plan(&checks::Input {
            repo: &event.repo,
            head_sha: head,
            change: checks::Change {
                head: &gathered.head,
                base: &gathered.base,
                known_head: &gathered.known_head,
                known_base: &gathered.known_base,
                template: &gathered.template,
            },
        }))
    }

    /// The lead review's plan: the pull request as GitHub has it, and its review as stored, or
    /// rebuilt from GitHub's reviews and comments when the store has none.
    async fn review(
        &self,
        event: &Event,
        subject: &Subject,
        files: Vec<String>,
    ) -> Result<Plan, ExecError> {
        let rules = &self.handlers.review;
        let pr = match (&event.head_sha, event.name.as_str()) {
            (Some(sha), "pull_request" | "pull_request_review") => PullRequest {
                repo: event.repo.clone(),
                number: subject.number,
                author: subject.author.login.clone(),
                head_sha: sha.clone(),
                labels: subject.labels.clone(),
                changed_paths: files,
            },
            _ => {
                let info = self
                    .executor
                    .pull_request(event.installation, &event.repo, subject.number)
                    .await?;
                PullRequest {
                    repo: event.repo.clone(),
                    number: subject.number,
                    author: info.author,
                    head_sha: info.head_sha,
                    labels: info.labels,
                    changed_paths: files,
                }
            }
        };
        let stored = self
            .store
            .review(&event.repo, subject.number)
            .await
            .map_err(|e| ExecError::Transient(e.to_string()))?;
        let rebuilt = stored.is_none();
        let state = match stored {
            Some(state) => state,
            None => {
                let history = self
                    .executor
                    .review_history(event.installation, &event.repo, subject.number)
                    .await?;
                ReviewState::rebuild(&history, &pr, rules)
            }
        };
        let mut plan = review::plan(event, &pr, rules, &state);
        // A rebuilt state is saved even when the event changed nothing, so the next event reads it.
        let saved = plan
            .state
            .iter()
            .any(|c| matches!(c, StateChange::SaveReview { .. }));
        if rebuilt && !saved {
            plan.state.push(StateChange::SaveReview {
                repo: pr.repo.clone(),
                number: pr.number,
                state,
            });
        }
        Ok(plan)
    }
}

/// The GEP a comment asks about with `/gep status [N]` (in issue N when no number is given).
fn status_request(event: &Event) -> Option<u32> {
    let comment = event.comment.as_ref().filter(|c| !c.author.is_bot())?;
    if event.name != "issue_comment" || !matches!(event.action.as_str(), "created" | "edited") {
        return None;
    }
    let issue = event.subject.as_ref()?.number;
    commands::added(&comment.body, comment.previous_body.as_deref())
        .into_iter()
        .find_map(|command| match command {
            Command::GepStatus(n) => u32::try_from(n.unwrap_or(issue)).ok(),
            _ => None,
        })
}

/// Runs a job's work, turning a panic into a permanent failure: the job is kept as dead with
/// what the panic said, and the worker, which runs every job of this process, goes on. (Without
/// it one delivery that trips a bug would stop all work while intake kept answering 202, and
/// again after each restart, since the job would be queued again.)
async fn guarded(work: impl Future<Output = Result<(), ExecError>>) -> Result<(), ExecError> {
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("no message");
            Err(ExecError::Permanent(format!(
                "a handler panicked: {message}"
            )))
        })
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, then a random half of it
/// added back so retries from many jobs spread out.
pub fn backoff(settings: &Settings, attempt: i64) -> Duration {
    let exponent = attempt.clamp(1, 20) as u32 - 1;
    let full = settings
        .backoff
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(settings.max_backoff);
    full / 2 + Duration::from_millis(jitter(full / 2) as u64)
}

fn jitter(up_to: Duration) -> i64 {
    let max = up_to.as_millis() as i64;
    if max == 0 {
        0
    } else {
        rand::rng().random_range(0..=max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_is_a_permanent_failure_that_says_why() {
        let index = 7;
        let outcome = guarded(async move {
            let empty: Vec<u8> = Vec::new();
            let _ = empty[index];
            Ok(())
        })
        .await;
        match outcome {
            Err(ExecError::Permanent(message)) => {
                assert!(message.starts_with("a handler panicked: "), "{message}");
                assert!(message.contains("index out of bounds"), "{message}");
            }
            other => panic!("expected a permanent failure, got {other:?}"),
        }
        let fine = guarded(async { Ok(()) }).await;
        assert!(fine.is_ok());
        let failed = guarded(async { Err(ExecError::Transient("502".into())) }).await;
        assert!(matches!(failed, Err(ExecError::Transient(m)) if m == "502"));
    }

    #[test]
    fn backoff_doubles_stays_within_its_jitter_and_is_capped() {
        let settings = Settings {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            ..Settings::default()
        };
        for _ in 0..50 {
            let first = backoff(&settings, 1);
            assert!(
                first >= Duration::from_secs(1) && first <= Duration::from_secs(2),
                "{first:?}"
            );
            let third = backoff(&settings, 3);
            assert!(
                third >= Duration::from_secs(4) && third <= Duration::from_secs(8),
                "{third:?}"
            );
            let late = backoff(&settings, 30);
            assert!(
                late >= Duration::from_secs(30) && late <= Duration::from_secs(60),
                "{late:?}"
            );
        }
    }
}
