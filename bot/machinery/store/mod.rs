//! The durable store behind the webhook pipeline: deliveries (deduplicated by
//! `X-GitHub-Delivery`), the jobs that process them (attempts, run-after, a claim lease, the last
//! error, dead), and the per-issue state the handlers need.
//!
//! [`Store`] is the seam: SQLite is the embedded default; a Postgres implementation claims with
//! `FOR UPDATE SKIP LOCKED` behind the same trait, and nothing above it changes. Times are Unix
//! milliseconds passed in by the caller, so the store never reads a clock.

mod body;
mod postgres;
mod sql;
mod sqlite;

use std::future::Future;

pub use postgres::PgStore;
#[cfg(test)]
pub use sqlite::reads_in_place;
pub use sqlite::{ServeClaim, SqliteStore, mark_reads_in_place, without_memory_statistics};

use crate::core::state::StateChange;
use crate::core::state::{Activity, ActivityKind, LabelMemory, ReviewState};

/// Which store a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`, `sqlite:PATH`, `sqlite::memory:`: the embedded store.
    Sqlite,
    /// `postgres://...` or `postgresql://...`: shared by replicas.
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

/// A database URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// What capabilities read of the store, as any store answers it (a store error may pass: the
/// job is retried).
impl<S: Store> crate::core::Remembered for S {
    async fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> Result<LabelMemory, crate::core::ExecError> {
        Ok(Store::label_memory(self, repo, number, label).await?)
    }

    async fn review(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Option<ReviewState>, crate::core::ExecError> {
        Ok(Store::review(self, repo, number).await?)
    }

    async fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Activity>, crate::core::ExecError> {
        Ok(Store::activity(self, repo, from_ms, to_ms).await?)
    }
}

/// A store that cannot answer now may answer on a later attempt: the job is retried.
impl From<StoreError> for crate::core::ExecError {
    fn from(error: StoreError) -> Self {
        crate::core::ExecError::Transient(error.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database: {}", with_causes(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A database URL or schema this build cannot use, and what to do.
    #[error("database: {0}")]
    Config(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migrations: {0}")]
    SqliteMigrate(#[from] rusqlite_migration::Error),
    #[error("cannot start the database's thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("stored delivery is not readable: {0}")]
    Body(String),
    /// A write that failed with others in its transaction (each is told the same message).
    #[error("database write failed: {0}")]
    Write(String),
    /// Another process serves the SQLite file.
    #[error("{0}")]
    Claimed(String),
    #[error("stored review state is not readable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
}

/// An error and what caused it, in one line: tokio-postgres says "error performing TLS
/// handshake" and keeps why ("invalid peer certificate: UnknownIssuer") in its source.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !line.ends_with(&text) {
            line = format!("{line}: {text}");
        }
        cause = next.source();
    }
    line
}

/// A delivery as received, before it is stored.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored with a job queued for it.
    New,
    /// That delivery id was stored before: nothing queued.
    Duplicate,
}

/// An activity row as both stores read it back: (kind, number, detail, at_ms).
pub fn activity_of(
    repo: &str,
    kind: &str,
    number: i64,
    detail: String,
    at_ms: i64,
) -> Option<Activity> {
    Some(Activity {
        repo: repo.to_owned(),
        kind: ActivityKind::parse(kind)?,
        number: number as u64,
        detail,
        at_ms: Some(at_ms),
    })
}

/// A claimed job with its delivery.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub delivery_id: String,
    pub event: String,
    pub body: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub received_ms: i64,
    /// The keys of the actions an earlier attempt did (`record_done_actions`): this one does
    /// only what is left. Read with the claim, so a job costs no read of its own for them.
    pub done_actions: Vec<String>,
}

/// The keys `record_done_actions` stored, as both stores keep them (joined by commas; none is
/// empty).
pub fn done_actions_of(keys: Option<&str>) -> Vec<String> {
    keys.map_or_else(Vec::new, |keys| {
        keys.split(',').map(str::to_owned).collect()
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
}

pub trait Store: Send + Sync + 'static {
    /// Stores a delivery and queues its job in one transaction, unless the id was seen before.
    fn record(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        self.schedule(delivery, now_ms, now_ms)
    }

    /// `record`, with the job due at `run_after_ms` (timed work: the agenda before a meeting).
    /// The id is the dedupe key, so replicas scheduling the same work store it once.
    fn schedule(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        run_after_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Takes the next job that is due (or whose lease expired: its worker died) for `lease_ms`.
    fn claim(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send {
        async move {
            let claimed = self.claim_after(&[], worker, now_ms, lease_ms, 1).await?;
            Ok(claimed.into_iter().next())
        }
    }

    /// Completes `finished` (job ids, each with when it finished), then claims up to `most` jobs
    /// as `claim` does, oldest first, all under the same lease: in one commit. A worker's loop
    /// pays a statement and a commit for a batch of jobs, not two for each. `finished` is done
    /// once this answers `Ok`; with `most` 0 it only completes.
    fn claim_after(
        &self,
        finished: &[(i64, i64)],
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        most: usize,
    ) -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;

    /// Records one job done: `claim_after` completing it and claiming nothing (the worker
    /// completes its jobs with its next claim; this is for a job by itself).
    fn complete(
        &self,
        job_id: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.claim_after(&[(job_id, now_ms)], "", now_ms, 0, 0)
                .await
                .map(drop)
        }
    }

    /// Puts a job back to run again at `run_after_ms`.
    fn retry(
        &self,
        job_id: i64,
        run_after_ms: i64,
        error: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps a job that will not succeed as dead: visible in metrics, replayable.
    fn bury(
        &self,
        job_id: i64,
        error: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives back the jobs a worker holds (on shutdown) so another can take them at once.
    fn release(&self, worker: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Queues dead jobs again (after an outage is fixed).
    fn requeue_dead(&self, now_ms: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// What the bot remembers of `label` on the issue.
    fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> impl Future<Output = Result<LabelMemory, StoreError>> + Send;

    /// Records a plan's state changes, in order and in one transaction: all of them or none.
    fn apply(&self, changes: &[StateChange])
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records the keys of every action the job has done so far (the whole set); the job's next
    /// claim reads them (`Job::done_actions`).
    fn record_done_actions(
        &self,
        job_id: i64,
        keys: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A pull request's lead review, if one was stored.
    fn review(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Option<ReviewState>, StoreError>> + Send;

    /// The digest of what the bot last said `about` each issue of the repository that it said
    /// something of ([`StateChange::Said`]), by issue: one read for a whole refresh.
    fn said(
        &self,
        repo: &str,
        about: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<u64, String>, StoreError>> + Send;

    /// A repository's activity in `[from_ms, to_ms)`, in time order.
    fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<Activity>, StoreError>> + Send;

    fn counts(&self) -> impl Future<Output = Result<Counts, StoreError>> + Send;

    /// Deletes up to `limit` deliveries (and their finished jobs) received before `before_ms`,
    /// oldest first; answers how many. Queued and running jobs are kept whatever their age.
    fn prune(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Tells `queued` whenever another process queues a job in this store, so this process's
    /// worker takes it at once instead of at its next poll (within one process, intake tells
    /// the worker itself). Answers once that holds, or once it is known it cannot (logged; the
    /// worker polls). The embedded store has no other process.
    fn wake_on_queued(
        &self,
        queued: std::sync::Arc<tokio::sync::Notify>,
    ) -> impl Future<Output = ()> + Send {
        let _ = queued;
        async {}
    }

    /// Whether a delivery can be stored now (readiness): a one-row write that commits, so a full
    /// disk or a read-only database is unready, not only an unreachable one.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Deletes every delivery [`Store::prune`] would, `batch` at a time: deliveries arriving
/// meanwhile wait for one batch at most, never for the whole (a first prune after the retention
/// was shortened can find tens of thousands).
pub async fn prune_in_batches<S: Store>(
    store: &S,
    before_ms: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    let batch = batch.max(1);
    let mut total = 0;
    loop {
        let deleted = store.prune(before_ms, batch).await?;
        total += deleted;
        if deleted < u64::from(batch) {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://bot:s3cret@db:5432/gep"),
            "postgres://***@db:5432/gep"
        );
        assert_eq!(redact("sqlite://gep-bot.db"), "sqlite://gep-bot.db");
    }

    #[test]
    fn a_url_names_its_store_or_is_refused_without_its_password() {
        assert_eq!(Backend::of("sqlite://gep-bot.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of("postgresql://db/gep").unwrap(),
            Backend::Postgres
        );
        let refused = Backend::of("mysql://bot:s3cret@db/gep")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("mysql://***@db/gep"), "{refused}");
        assert!(!refused.contains("s3cret"));
    }
}
