//! A worker: claims due jobs, has the capabilities plan on their deliveries, executes the plans,
//! and decides what a failure means: wait for a rate limit, retry with backoff and jitter, or keep
//! the job as dead after the last attempt. What a capability reads or plans is not its business.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rand::Rng;
use tokio::sync::{Notify, oneshot, watch};
use tracing::Instrument;

use chrono::DateTime;

use crate::capabilities::Capabilities;
use crate::core::state::StateChange;
use crate::core::{Event, ExecError};
use crate::machinery::github::executor::{Attempt, Outcome};
use crate::machinery::github::{Executor, GitHub, Repo};
use crate::machinery::store::{Job, Store};

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
    /// The most jobs one claim takes: run one after another under one lease, and completed
    /// together with the next claim, so a busy worker pays one statement and one commit for
    /// them all instead of two for each.
    pub batch: usize,
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
            batch: 16,
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "gep-bot".into())
}

pub struct Worker<S> {
    pub store: Arc<S>,
    pub executor: Arc<Executor>,
    /// What the capabilities read through (none: offline, every read empty). Dry-run reads as
    /// usual and only the executor prints instead of writing.
    pub github: Option<Arc<GitHub>>,
    pub capabilities: Arc<Capabilities>,
    pub settings: Settings,
    pub queued: Arc<Notify>,
    pub clock: fn() -> i64,
    /// Told of every event once its plan's state is stored (the dashboard refreshes on some).
    pub observer: Option<Observer>,
}

/// The name of the worker's thread (as `ps -L` and `/proc/PID/task/*/comm` show it).
pub const WORKER_THREAD: &str = "gep-bot-worker";

/// The worker thread's nice value. Under contention Linux gives a thread of nice 10 about a tenth
/// of the CPU time of one at 0 (weights 110 and 1024), so a saturated intake keeps nine tenths of
/// what the worker would take; when intake is idle the worker gets all it needs.
pub const WORKER_NICE: i32 = 10;

/// Runs the future `make` returns on a thread named [`WORKER_THREAD`] at [`WORKER_NICE`], with the
/// current (multi-threaded) runtime spawning its tasks and driving its IO and timers; the answer
/// resolves when the future has.
fn below_intake_thread<F: std::future::Future<Output = ()>>(
    make: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<oneshot::Receiver<()>> {
    let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    // A current-thread runtime drives its IO and timers only inside its own `block_on`: a
    // future run from another thread would wait on them for ever.
    if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(std::io::Error::other(
            "the worker's thread needs a multi-threaded tokio runtime",
        ));
    }
    let (stopped, finished) = oneshot::channel();
    std::thread::Builder::new()
        .name(WORKER_THREAD.into())
        .spawn(move || {
            if let Err(error) = below_intake() {
                tracing::warn!(%error, "the worker runs at intake's priority");
            }
            // Nothing else runs here: the worker's reads may block this thread, and so run
            // here, at the worker's priority, without a hop to the store's reader and back.
            crate::machinery::store::mark_reads_in_place();
            runtime.block_on(make());
            let _ = stopped.send(());
        })?;
    Ok(finished)
}

/// Lowers the calling thread's priority to [`WORKER_NICE`].
#[cfg(target_os = "linux")]
fn below_intake() -> std::io::Result<()> {
    // On Linux `setpriority(PRIO_PROCESS, tid, ...)` sets the nice value of that one thread (each
    // thread is a task of its own), not the process's: intake's threads keep theirs.
    // SAFETY: both calls take plain integers and touch no memory of ours.
    let tid = unsafe { libc::gettid() };
    // SAFETY: as above.
    let set = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WORKER_NICE) };
    if set == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the nice value is the whole process's: the worker keeps intake's priority.
#[cfg(not(target_os = "linux"))]
fn below_intake() -> std::io::Result<()> {
    Ok(())
}

/// Something told of each event the worker handles.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

impl<S: Store> Worker<S> {
    /// Runs until `shutdown` turns true; then gives back what it holds.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let lease = self.lease_ms();
        // Jobs claimed and not yet run, oldest first, and when they were claimed.
        let mut batch: VecDeque<Job> = VecDeque::new();
        let mut claimed_at = 0;
        // The jobs that finished since the last claim: completed with the next one (one commit
        // for all of them where the store can).
        let mut finished: Vec<(i64, i64)> = Vec::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = (self.clock)();
            if !batch.is_empty() && now >= claimed_at + lease / 2 {
                // The rest of the batch has waited half its lease (the jobs before it were
                // slow): given back, to this worker's next claim or another's, rather than run
                // as the lease runs out and another worker takes them too.
                tracing::warn!(
                    jobs = batch.len(),
                    "half the lease has passed: giving back the jobs not yet started"
                );
                batch.clear();
                self.give_back(&mut finished, now).await;
                continue;
            }
            if let Some(job) = batch.pop_front() {
                tokio::select! {
                    done = self.process(job) => finished.extend(done),
                    _ = shutdown.changed() => break,
                }
                continue;
            }
            let claimed = self
                .store
                .claim_after(
                    &finished,
                    &self.settings.id,
                    now,
                    lease,
                    self.settings.batch,
                )
                .await;
            match claimed {
                Ok(jobs) => {
                    count_done(std::mem::take(&mut finished).len());
                    if jobs.is_empty() {
                        tokio::select! {
                            _ = self.queued.notified() => {}
                            _ = tokio::time::sleep(self.settings.poll) => {}
                            _ = shutdown.changed() => {}
                        }
                    } else {
                        claimed_at = now;
                        batch.extend(jobs);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot claim jobs (nor record the last ones done: they are tried again)");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
        self.give_back(&mut finished, (self.clock)()).await;
    }

    /// Runs the worker ([`Worker::run`]) on a thread of its own, below the scheduling priority
    /// of the process's other threads; the answer resolves once it has stopped and given back
    /// what it held. Call it from within a multi-threaded tokio runtime: the worker's own future
    /// runs on its thread, while what it spawns (the connections of its HTTP and database
    /// clients, shared with intake) and its IO and timers are driven by that runtime's threads,
    /// at intake's priority, so no delivery waits behind a long job.
    ///
    /// Intake comes first when the machine is short of CPU: a delivery GitHub waits for (and
    /// gives up on after 10 s) matters more than a job that waits, durably stored, for a few
    /// milliseconds more. With CPU to spare the priority changes nothing, so an idle bot acts on a
    /// delivery as soon as it is stored.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> std::io::Result<oneshot::Receiver<()>>
    where
        S: 'static,
    {
        below_intake_thread(move || self.run(shutdown))
    }

    fn lease_ms(&self) -> i64 {
        self.settings.lease.as_millis() as i64
    }

    /// Records `finished` done, then releases every job this worker still holds (those not
    /// started, and on shutdown the one it was running) for the next claim, its own or another
    /// worker's. If the completion cannot be written, nothing is released: the finished jobs
    /// would run again at once, while their lease leaves time for a retry to record them.
    async fn give_back(&self, finished: &mut Vec<(i64, i64)>, now: i64) {
        if let Err(error) = self
            .store
            .claim_after(finished, &self.settings.id, now, self.lease_ms(), 0)
            .await
        {
            tracing::error!(%error, jobs = finished.len(), "cannot record finished jobs done; they run again when their lease ends");
            return;
        }
        count_done(std::mem::take(finished).len());
        match self.store.release(&self.settings.id).await {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "released claimed jobs for another worker"),
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "cannot release claimed jobs; their lease will expire")
            }
        }
    }

    /// Runs `job` and records how it failed; answers the job and when it finished if it
    /// succeeded (completed with the next claim).
    async fn process(&self, job: Job) -> Option<(i64, i64)> {
        let span = tracing::info_span!("job", delivery = %job.delivery_id, event = %job.event, attempt = job.attempts);
        self.process_in_span(job).instrument(span).await
    }

    async fn process_in_span(&self, job: Job) -> Option<(i64, i64)> {
        let result = guarded(self.run_job(&job)).await;
        let now = (self.clock)();
        let outcome = match result {
            Ok(()) => {
                metrics::histogram!("gep_bot_job_latency_seconds")
                    .record((now - job.received_ms) as f64 / 1000.0);
                return Some((job.id, now));
            }
            Err(ExecError::RateLimited {
                reason, secondary, ..
            }) if secondary && job.attempts >= self.settings.max_attempts => {
                let error = format!(
                    "a secondary rate limit on each of {} attempts: {reason}",
                    job.attempts
                );
                tracing::error!(%error, "job is dead; replay it after fixing the cause");
                self.store.bury(job.id, &error, now).await.map(|_| "dead")
            }
            Err(ExecError::RateLimited {
                wait,
                reason,
                secondary,
            }) => {
                // A secondary limit met again waits longer each time (GitHub: "wait an
                // exponentially increasing amount of time between retries").
                let wait = if secondary {
                    secondary_backoff(wait, job.attempts)
                } else {
                    wait
                };
                tracing::warn!(%reason, wait = ?wait, "rate limited; the job waits");
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
        None
    }

    async fn run_job(&self, job: &Job) -> Result<(), ExecError> {
        let event =
            Event::parse(&job.event, &job.body).map_err(|e| ExecError::Permanent(e.to_string()))?;
        let now = DateTime::from_timestamp_millis((self.clock)()).unwrap_or_default();
        // Claimed before: an earlier attempt may have written and died before recording it.
        let attempt = Attempt {
            delivery: &job.delivery_id,
            recovering: job.attempts > 1,
            since_ms: job.received_ms,
        };
        let mut done = job.done_actions.clone();
        let mut run = self
            .plan_and_run(&event, job, now, &attempt, &mut done)
            .await?;
        if let Some(observer) = &self.observer {
            observer(&event);
        }
        // GitHub refused a write for good, and the bot now remembers it: the plan is made once
        // more, to say so (a status comment naming the lead who cannot be asked); what it
        // shares with the first is done already. (A refusal that teaches nothing, suggestions
        // on a line the head moved away from, plans nothing again.)
        if run.replan && run.failure.is_none() {
            tracing::info!("planning again after a refusal");
            run = self
                .plan_and_run(&event, job, now, &attempt, &mut done)
                .await?;
        }
        match run.failure {
            None => Ok(()),
            Some(failure) => {
                if done.len() > job.done_actions.len() {
                    self.store.record_done_actions(job.id, &done).await?;
                }
                Err(failure)
            }
        }
    }

    /// Plans the event, records the plan's state, and tries every action not in `done` (adding
    /// each one done).
    async fn plan_and_run(
        &self,
        event: &Event,
        job: &Job,
        now: DateTime<chrono::Utc>,
        attempt: &Attempt<'_>,
        done: &mut Vec<String>,
    ) -> Result<Run, ExecError> {
        let reads = Repo {
            github: self.github.as_deref(),
            installation: event.installation,
        };
        let mut plan = self
            .capabilities
            .plan(event, reads, &*self.store, now)
            .await?;
        // What the payload did not date happened when GitHub delivered it.
        for change in &mut plan.state {
            if let StateChange::Record(activity) = change {
                activity.at_ms.get_or_insert(job.received_ms);
            }
        }
        self.store
            .apply(&plan.state)
            .await
            .map_err(|e| ExecError::Transient(e.to_string()))?;
        // Every action is tried, whatever another's outcome: they are independent. What a
        // failed job did is recorded, so its retry does only what is left.
        let mut run = Run::default();
        for action in &plan.actions {
            let key = action.key();
            if done.contains(&key) {
                tracing::info!(kind = action.kind(), "action done before; not repeated");
                continue;
            }
            match self
                .executor
                .execute(event.installation, action, attempt)
                .await
            {
                Ok(outcome) => {
                    tracing::info!(kind = action.kind(), "action done");
                    done.push(key);
                    let learnt = match outcome {
                        // Not in dry-run: nothing was written, so nothing is known to be on
                        // GitHub.
                        Outcome::Done if self.executor.writes() => action.effects(),
                        Outcome::Done => Vec::new(),
                        Outcome::Refused(why) => {
                            let learnt = action.refused(&why);
                            // What the bot learnt from it may change what the plan says.
                            run.replan |= !learnt.is_empty();
                            learnt
                        }
                    };
                    // Only advice for later plans: a store that cannot keep it costs one more
                    // idempotent write, never this job.
                    if let Err(error) = self.store.apply(&learnt).await {
                        tracing::warn!(%error, "cannot remember what the action wrote");
                    }
                }
                Err(error) => {
                    tracing::warn!(kind = action.kind(), %error, "action failed");
                    run.failure = Some(match run.failure {
                        Some(earlier) => earlier.graver(error),
                        None => error,
                    });
                }
            }
        }
        Ok(run)
    }
}

/// How one plan's actions went.
#[derive(Default)]
struct Run {
    /// The gravest failure, when any action failed.
    failure: Option<ExecError>,
    /// GitHub refused an action for good, and the bot remembers something of it.
    replan: bool,
}

fn count_done(jobs: usize) {
    metrics::counter!("gep_bot_jobs_total", "outcome" => "done").increment(jobs as u64);
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

/// The wait after the `attempt`-th secondary rate limit of a job: what GitHub asked, doubled
/// for every attempt before, at most an hour.
pub fn secondary_backoff(asked: Duration, attempt: i64) -> Duration {
    let exponent = attempt.clamp(1, 12) as u32 - 1;
    asked
        .max(Duration::from_secs(1))
        .saturating_mul(2u32.pow(exponent))
        .min(Duration::from_secs(3600))
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

    /// The name of the thread this runs on, (on Linux) its nice value, and whether it reads an
    /// SQLite store in place.
    fn this_thread() -> (Option<String>, Option<i64>, bool) {
        let name = std::thread::current().name().map(str::to_owned);
        let nice = std::fs::read_to_string("/proc/thread-self/stat")
            .ok()
            .and_then(|stat| {
                // After the name in parentheses: the state is field 3, the nice value field 19.
                let (_, fields) = stat.rsplit_once(')')?;
                fields.split_whitespace().nth(16)?.parse().ok()
            });
        (name, nice, crate::machinery::store::reads_in_place())
    }

    #[tokio::test]
    async fn a_current_thread_runtime_is_refused_rather_than_left_hanging() {
        let refused = below_intake_thread(|| async {}).unwrap_err();
        assert!(refused.to_string().contains("multi-threaded"), "{refused}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_worker_runs_below_intake_while_what_it_spawns_runs_on_the_runtime() {
        let (seen, saw) = oneshot::channel();
        let finished = below_intake_thread(move || async move {
            let own = this_thread();
            // A connection's task, as a pooled client spawns it.
            let spawned = tokio::spawn(async { this_thread() }).await.unwrap();
            // Timers work without a runtime of the thread's own.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = seen.send((own, spawned));
        })
        .unwrap();
        finished.await.unwrap();
        let (own, spawned) = saw.await.unwrap();
        assert_eq!(own.0.as_deref(), Some(WORKER_THREAD));
        assert_ne!(spawned.0.as_deref(), Some(WORKER_THREAD));
        assert!(own.2, "the worker's thread reads in place");
        assert!(!spawned.2, "the runtime's threads hand reads to the reader");
        if cfg!(target_os = "linux") {
            assert_eq!(own.1, Some(i64::from(WORKER_NICE)));
            assert_eq!(spawned.1, Some(0));
        }
    }

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
    fn a_secondary_rate_limit_met_again_waits_twice_as_long_up_to_an_hour() {
        let asked = Duration::from_secs(60);
        assert_eq!(secondary_backoff(asked, 1), asked);
        assert_eq!(secondary_backoff(asked, 2), Duration::from_secs(120));
        assert_eq!(secondary_backoff(asked, 4), Duration::from_secs(480));
        assert_eq!(secondary_backoff(asked, 9), Duration::from_secs(3600));
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
