//! Webhook intake under load, against an axum hello-world route measured in the same run.
//!
//! Starts the real `gep-bot serve` (release build, SQLite, dry-run so workers run but send
//! nothing) and a hello-world axum server, each a process of its own; drives both from this
//! process with the same load generator (signed `issues` deliveries from the real fixture, each
//! with a delivery id of its own: a time-based GUID as GitHub makes them; `INTAKE_BENCH_IDS=random`
//! sends random ones, the worst case for a dedupe index, `counter` sends `bench-N` as earlier
//! runs did) and prints:
//! - throughput with 32 connections for 5 s each, as a ratio to hello-world (target >= 0.5x;
//!   hello-world runs first and last, and the ratio is to the mean of the two);
//! - ack latency p50/p99 at a fixed 2,000 deliveries/s for 5 s (target p99 <= 5 ms), once the
//!   bot's worker has run the backlog the throughput window left (the time it took is printed
//!   under the table): the latency at that rate, not at that rate plus a worker running tens
//!   of thousands of queued jobs flat out beside it, as the runs before measured;
//! - the server's peak RSS under that load (target <= 60 MB), beside hello-world's process;
//! - the server's CPU time per request while throughput is measured: the load generator shares
//!   the machine's cores, so this is what each server costs apart from it;
//! - the jobs the bot's worker finished in that window (from its `/metrics`): the worker runs
//!   beside intake and shares its CPU, so a store whose worker keeps up takes fewer deliveries.
//!
//! With `GEP_BOT_TEST_DATABASE_URL=postgres://...` the same runs on PostgreSQL too, over TCP
//! and, when the server runs on this machine, over its Unix socket, all printed side by side,
//! each after a `CHECKPOINT` that lets the server recycle the WAL of the runs before (with a line
//! saying how many WAL segments the server had to make while measured: see `measure_postgres`;
//! the first row comes after a warm-up of the server's WAL, `warm_wal`), and beside them the
//! server's own floor: a one-row commit alone at 2,000/s (`commit_floor`). Each server is
//! stopped with SIGTERM, as a deployment stops it, so the jobs its worker held are given back.
//!
//! Two more references, both the bot's own webhook route (signature, headers, JSON check,
//! answer):
//! - "no store": over a store that keeps nothing. It is what intake costs before anything is
//!   stored, so the gap between it and a backend is the store's.
//! - "append": over a store that only writes each body (LZ4, one `pwrite` into a file that starts
//!   over every 64 MiB): no dedupe, no job, no index. No store that keeps deliveries does less,
//!   so its ratio bounds what any durable intake reaches on the machine the bench runs on.
//! - "append+jobs": "append" with the bot's own worker (`Worker::spawn`, its thread and priority,
//!   dry-run, no GitHub) running a job for every body, handed to it from memory: a store that
//!   costs nothing but the write, under the same jobs as the bot's. Its ratio to "append" is what
//!   running the jobs beside intake leaves of the ceiling, whatever the store; the rest of the
//!   gap between it and a bot row is the store's. (Its RSS is the queue of bodies in memory.)
//!
//! Every server runs in a process of its own with tokio's default runtime, as `gep-bot serve`
//! does: the references are this benchmark run again with
//! `INTAKE_BENCH_SERVE=hello|nothing|append|append+jobs:PORT`.
//!
//! Under the table, each server's CPU per request by kind of thread (the bot's: tokio's, the
//! SQLite writer, checkpointer and reader, the worker) and the bytes it wrote per request.
//!
//! Run: `cargo bench --bench intake`; `INTAKE_BENCH_ONLY=sqlite,pg tcp` measures those rows
//! only (with hello-world, for the ratios): what a profiling run wants.
//! `INTAKE_BENCH_BASELINE=PATH` (another build's `gep-bot`, e.g. of the last commit) measures it
//! on SQLite (and PostgreSQL over TCP) by turns with this one and prints the ratio: what a change
//! to the store did. Name its rows ("sqlite base", "pg tcp base") in `INTAKE_BENCH_ONLY` too.
//! `INTAKE_BENCH_TURNS=N` measures the store rows (append, append+jobs, SQLite, PostgreSQL) N
//! times in turns, every second turn in the reverse order, and prints each turn's ratios and
//! their means: a ratio between rows measured once each moves with this VM's drift (`TURNS`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gep_bot::core::state::StateChange;
use gep_bot::core::state::{LabelMemory, ReviewState};
use gep_bot::machinery::pipeline::{Intake, Secrets, sign};
use gep_bot::machinery::store::{Counts, Job, NewDelivery, Recorded, Store, StoreError};

#[path = "support/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../tests/common/serve.rs"]
mod serve;
// `bin` and `repo` are what `serve` (the tests' own) starts the bot with.
use process::{bin, free_port, listening, percentile, repo, shared, status_kb};

const SECRET: &str = "bench-secret";

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    cpu_time_in(format!("/proc/{pid}/stat"))
}

/// CPU time (user + system) from a `stat` file of `/proc` (a process's or one thread's).
fn cpu_time_in(stat: impl AsRef<std::path::Path>) -> Duration {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15, in clock ticks of 1/100 s on Linux.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time so far of each of a process's threads, by thread id, with its name.
fn thread_times(pid: u32) -> Vec<(u32, String, Duration)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse::<u32>().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let time = cpu_time_in(task.path().join("stat"));
            Some((tid, name.trim().to_owned(), time))
        })
        .collect()
}

/// The CPU time each kind of thread (threads of one name together) used between two
/// [`thread_times`], largest first.
fn by_thread(
    before: &[(u32, String, Duration)],
    after: &[(u32, String, Duration)],
) -> Vec<(String, Duration)> {
    let mut names: Vec<(String, Duration)> = Vec::new();
    for (tid, name, time) in after {
        let earlier = before
            .iter()
            .find(|(other, _, _)| other == tid)
            .map_or(Duration::ZERO, |(_, _, time)| *time);
        let used = time.saturating_sub(earlier);
        match names.iter_mut().find(|(other, _)| other == name) {
            Some((_, total)) => *total += used,
            None => names.push((name.clone(), used)),
        }
    }
    names.sort_by_key(|(_, time)| std::cmp::Reverse(*time));
    names
}

/// Bytes a process has passed to `write` and its kin so far (`wchar` of `/proc/PID/io`): files
/// and sockets alike, so a store's writes (WAL, checkpoint copies, sub-journals) with the small
/// answers every row sends.
fn written(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("wchar: ")?.trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Clone)]
struct Target {
    url: String,
    body: Arc<Vec<u8>>,
    signature: Arc<String>,
    signed: bool,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
/// Requests refused (not 2xx) or cut off, in the row being measured: counted and printed, not a
/// panic, so one row's overload does not lose the others' figures.
static REFUSED: AtomicU64 = AtomicU64::new(0);
/// What a refused request counts as among the latencies: at least as bad as any answer.
const REFUSED_LATENCY: Duration = Duration::from_secs(10);

/// How the bench's delivery ids are made (`INTAKE_BENCH_IDS`).
#[derive(Clone, Copy, PartialEq)]
enum Ids {
    /// As GitHub makes them (the default): time-based (version 1) GUIDs, as in the example
    /// `58474f00-b361-11eb-836d-0e4f3503ccbe` of a hook delivery's `guid` in GitHub's REST
    /// description. The first field is the clock's low 32 bits, so ids made one after another
    /// sort one after another (for 7 minutes, then the field wraps).
    GitHub,
    /// `random`: version 4 GUIDs, which a dedupe index takes anywhere (the worst case).
    Random,
    /// `counter`: `bench-N`, as earlier runs sent.
    Counter,
}

/// The `X-GitHub-Delivery` of the `n`th delivery.
fn delivery_id(n: u64) -> String {
    // Read once: this runs for every request, on the cores the servers measured share.
    static IDS: std::sync::LazyLock<Ids> =
        std::sync::LazyLock::new(|| match std::env::var("INTAKE_BENCH_IDS").as_deref() {
            Ok("counter") => Ids::Counter,
            Ok("random") => Ids::Random,
            _ => Ids::GitHub,
        });
    // splitmix64: well-mixed 64 bits from a counter, a different value for each input.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (time, low) = match *IDS {
        Ids::Counter => return format!("bench-{n}"),
        Ids::Random => (mix(2 * n), mix(2 * n + 1)),
        Ids::GitHub => {
            // 100 ns ticks since 1582-10-15, one more than the last id's if the clock has not
            // moved on (unique); one clock sequence and node for the run, as one host's.
            static LAST: AtomicU64 = AtomicU64::new(0);
            const GREGORIAN_TO_UNIX: u64 = 0x01B2_1DD2_1381_4000;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                / 100
                + GREGORIAN_TO_UNIX;
            let ticks = LAST
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                    Some(now.max(last + 1))
                })
                .map_or(now, |last| now.max(last + 1));
            (ticks, mix(u64::from(std::process::id())))
        }
    };
    let version: u64 = if *IDS == Ids::GitHub { 1 } else { 4 };
    format!(
        "{:08x}-{:04x}-{:x}{:03x}-{:04x}-{:012x}",
        time & 0xffff_ffff,
        (time >> 32) & 0xffff,
        version,
        (time >> 48) & 0xfff,
        (low >> 48) & 0x3fff | 0x8000,
        low & 0xffff_ffff_ffff
    )
}

async fn send(client: &reqwest::Client, target: &Target) -> Duration {
    let mut request = client.post(&target.url).body(target.body.as_ref().clone());
    if target.signed {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        request = request
            .header("x-github-event", "issues")
            .header("x-github-delivery", delivery_id(id))
            .header("x-hub-signature-256", target.signature.as_str());
    }
    let started = Instant::now();
    match request.send().await {
        Ok(response) if response.status().is_success() => started.elapsed(),
        _ => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            REFUSED_LATENCY
        }
    }
}

/// Requests per second with `connections` clients sending back to back for `duration`.
async fn throughput(target: &Target, connections: usize, duration: Duration) -> f64 {
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, target, done) = (client.clone(), target.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    if send(&client, &target).await != REFUSED_LATENCY {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / duration.as_secs_f64()
}

/// Latencies at a fixed rate (open loop: requests start on schedule whatever the answers do).
async fn latencies(target: &Target, per_second: u64, duration: Duration) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let target = target.clone();
    open_loop(per_second, duration, move |_| {
        let (client, target) = (client.clone(), target.clone());
        async move { Some(send(&client, &target).await) }
    })
    .await
    .expect("every request is timed")
}

/// Starts `timed(i)` for i = 0, 1, ... at `per_second` for `duration`, each on schedule whatever
/// the ones before did, and answers what they timed, sorted: `None` if any answered `None`.
async fn open_loop<F>(
    per_second: u64,
    duration: Duration,
    timed: impl Fn(u64) -> F,
) -> Option<Vec<Duration>>
where
    F: std::future::Future<Output = Option<Duration>> + Send + 'static,
{
    let count = per_second * duration.as_secs();
    let interval = Duration::from_secs(1) / per_second as u32;
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let timed = timed(i);
            tokio::spawn(async move {
                tokio::time::sleep_until(start + interval * i as u32).await;
                timed.await
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count as usize);
    for task in tasks {
        all.push(task.await.ok()??);
    }
    all.sort();
    Some(all)
}

fn start_bot(db: &str, port: u16) -> Child {
    start_bot_from(process::bin(), db, port)
}

/// [`start_bot`] by the `gep-bot` at `program`.
fn start_bot_from(program: &str, db: &str, port: u16) -> Child {
    process::serve_from(program, db, port, SECRET)
        .env("GEP_BOT_DRY_RUN", "1")
        .spawn()
        .expect("gep-bot starts")
}

/// CPU time used so far by this machine's PostgreSQL server processes (named `postgres`): the
/// share of a request a PostgreSQL row spends outside the bot, on the same two cores.
fn database_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|name| name.trim() == "postgres")
        })
        .map(cpu_time)
        .sum()
}

/// What one backend measured.
struct Figures {
    name: &'static str,
    /// The turn it was measured in (see [`TURNS`]).
    turn: usize,
    run: Run,
    peak_rss_kb: u64,
    /// Requests refused or cut off while measuring (the connection cap answers 503 when a
    /// stalled store lets connections pile up).
    refused: u64,
}

/// Whether this run measures the row `name`: every row, or those `INTAKE_BENCH_ONLY` names
/// (and hello-world, which the ratios need).
fn wants(name: &str) -> bool {
    let only = std::env::var("INTAKE_BENCH_ONLY").unwrap_or_default();
    name == "hello" || only.is_empty() || only.split(',').any(|row| row.trim() == name)
}

/// Starts a server on a free port, drives it, and reads its peak RSS.
fn measure(
    runtime: &tokio::runtime::Runtime,
    name: &'static str,
    start: impl FnOnce(u16) -> Child,
    body: &[u8],
    signature: &str,
) -> Option<Figures> {
    if !wants(name) {
        return None;
    }
    let port = free_port();
    REFUSED.store(0, Ordering::Relaxed);
    let mut server = start(port);
    let target = Target {
        url: format!("http://127.0.0.1:{port}/webhook"),
        body: Arc::new(body.to_vec()),
        signature: Arc::new(signature.to_owned()),
        signed: name != "hello",
    };
    let figures = runtime.block_on(async {
        listening(port, name).await;
        Figures {
            name,
            turn: 0,
            run: rate_and_latencies(&target, server.id(), port).await,
            peak_rss_kb: 0,
            refused: REFUSED.load(Ordering::Relaxed),
        }
    });
    let figures = Figures {
        peak_rss_kb: status_kb(&server.id().to_string(), "VmHWM:"),
        ..figures
    };
    // As a deployment stops it: a bot stopped so gives back the jobs its worker still holds.
    // Killed outright, it left them claimed until their lease ran out (2 minutes), and the next
    // row on the same PostgreSQL schema waited that long for its backlog to run (measured: 115 s
    // instead of 15).
    if runtime
        .block_on(serve::terminate(&mut server, Duration::from_secs(10)))
        .is_none()
    {
        server.kill().ok();
    }
    server.wait().ok();
    Some(figures)
}

const WINDOW: Duration = Duration::from_secs(5);

/// A reference store that answers every delivery "stored". With a file, it keeps each body and
/// nothing else: compressed as the SQLite store compresses it, written with one `pwrite` into a
/// file that starts over every 64 MiB (so its pages stay in the page cache and none is allocated
/// twice). No dedupe, no job, no index, no lock beyond a mutex: the least a store that keeps
/// deliveries must do, so its ratio is the most a durable intake can reach on this machine.
struct Reference {
    bodies: Option<std::sync::Mutex<Bodies>>,
    /// "append+jobs": each body appended is queued for the bot's real worker as well, kept
    /// (compressed) in memory, so the worker reads nothing back.
    jobs: Option<std::sync::Mutex<Queue>>,
}

/// The jobs of "append+jobs": queued in arrival order, claimed from the front.
#[derive(Default)]
struct Queue {
    waiting: std::collections::VecDeque<Job>,
    running: i64,
    next_id: i64,
}

struct Bodies {
    file: std::fs::File,
    at: u64,
}

const BODIES_WRAP: u64 = 64 << 20;

impl Store for Reference {
    async fn schedule(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        _: i64,
    ) -> Result<Recorded, StoreError> {
        self.record(delivery, now_ms).await
    }
    async fn record(
        &self,
        delivery: NewDelivery<'_>,
        received_ms: i64,
    ) -> Result<Recorded, StoreError> {
        use std::os::unix::fs::FileExt;
        if let Some(bodies) = &self.bodies {
            let packed = lz4_flex::compress_prepend_size(delivery.body);
            let mut bodies = bodies.lock().unwrap();
            if bodies.at > BODIES_WRAP {
                bodies.at = 0;
            }
            let at = bodies.at;
            bodies
                .file
                .write_all_at(&packed, at)
                .map_err(|error| StoreError::Write(error.to_string()))?;
            bodies.at += packed.len() as u64;
            drop(bodies);
            if let Some(jobs) = &self.jobs {
                let mut jobs = jobs.lock().unwrap();
                jobs.next_id += 1;
                let job = Job {
                    id: jobs.next_id,
                    delivery_id: delivery.id.to_owned(),
                    event: delivery.event.to_owned(),
                    body: packed,
                    attempts: 1,
                    received_ms,
                    done_actions: Vec::new(),
                };
                jobs.waiting.push_back(job);
            }
        }
        Ok(Recorded::New)
    }
    async fn claim_after(
        &self,
        finished: &[(i64, i64)],
        _: &str,
        _: i64,
        _: i64,
        most: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let Some(jobs) = &self.jobs else {
            return Ok(Vec::new());
        };
        let claimed: Vec<Job> = {
            let mut jobs = jobs.lock().unwrap();
            jobs.running -= finished.len() as i64;
            let take = most.min(jobs.waiting.len());
            jobs.running += take as i64;
            jobs.waiting.drain(..take).collect()
        };
        // Unpacked here, as a store's claim unpacks what it read.
        claimed
            .into_iter()
            .map(|job| {
                let body = lz4_flex::decompress_size_prepended(&job.body)
                    .map_err(|error| StoreError::Body(error.to_string()))?;
                Ok(Job { body, ..job })
            })
            .collect()
    }
    async fn retry(&self, _: i64, _: i64, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn bury(&self, _: i64, _: &str, _: i64) -> Result<(), StoreError> {
        Ok(())
    }
    async fn release(&self, _: &str) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn requeue_dead(&self, _: i64) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn label_memory(&self, _: &str, _: u64, _: &str) -> Result<LabelMemory, StoreError> {
        Ok(LabelMemory::default())
    }
    async fn apply(&self, _: &[StateChange]) -> Result<(), StoreError> {
        Ok(())
    }
    async fn review(&self, _: &str, _: u64) -> Result<Option<ReviewState>, StoreError> {
        Ok(None)
    }
    async fn said(
        &self,
        _: &str,
        _: &str,
    ) -> Result<std::collections::BTreeMap<u64, String>, StoreError> {
        Ok(Default::default())
    }
    async fn record_done_actions(&self, _: i64, _: &[String]) -> Result<(), StoreError> {
        Ok(())
    }
    async fn activity(
        &self,
        _: &str,
        _: i64,
        _: i64,
    ) -> Result<Vec<gep_bot::core::state::Activity>, StoreError> {
        Ok(Vec::new())
    }
    async fn counts(&self) -> Result<Counts, StoreError> {
        Ok(self.jobs.as_ref().map_or_else(Counts::default, |jobs| {
            let jobs = jobs.lock().unwrap();
            Counts {
                queued: jobs.waiting.len() as i64,
                running: jobs.running,
                dead: 0,
            }
        }))
    }
    async fn prune(&self, _: i64, _: u32) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Another build of `gep-bot` (its path) to measure beside this one: rows "sqlite" and "sqlite
/// base" (and "pg tcp" and "pg tcp base") by turns, and the ratio of each pair.
const BASELINE: &str = "INTAKE_BENCH_BASELINE";

/// How many times the store rows (append, append+jobs, SQLite, PostgreSQL, a baseline build) are
/// measured, in turns: each turn runs them all, every second turn in the reverse order, and each
/// row counts by its mean over the turns. This VM's speed drifts within a run (hello-world moved
/// from 52k/s first to 36k/s last in one run), so a ratio between two rows measured once each is
/// partly the drift between their places; in turns, each row has the same places on average.
/// (Measured with builds taking turns in the order this, other, this, other, the last row was
/// the fastest in 5 runs of 5, whichever build it was: a row measured second in each pair gained
/// 9-16% from its place alone.) Even in turns, the same build against itself measured 1.19x
/// once: on this 2-core VM a ratio within ~20% of 1 is not a finding; the CPU per request by
/// thread, printed under the table, moves less. One turn unless set, two with [`BASELINE`]: the
/// order this, other, other, this.
const TURNS: &str = "INTAKE_BENCH_TURNS";

/// A row measured in each turn: how its server starts (given the turn, for a file of its own,
/// and a port), and, for a PostgreSQL row, the server's URL (a `CHECKPOINT` before each measure).
struct Row<'a> {
    name: &'static str,
    start: Box<dyn Fn(usize, u16) -> Child + 'a>,
    postgres: Option<&'a str>,
}

/// Names the reference server a child process of this benchmark is to be: `hello:PORT`,
/// `nothing:PORT`, `append:PORT` or `append+jobs:PORT`.
const SERVE: &str = "INTAKE_BENCH_SERVE";

/// The child's side: serves a reference until killed.
fn serve_reference(spec: &str) {
    let (kind, port) = spec.split_once(':').expect("KIND:PORT");
    let dir = tempfile::tempdir().unwrap();
    let bodies = || Bodies {
        file: std::fs::File::create(dir.path().join("bodies")).unwrap(),
        at: 0,
    };
    let store = |bodies: Option<Bodies>, jobs: bool| {
        Some(Arc::new(Reference {
            bodies: bodies.map(std::sync::Mutex::new),
            jobs: jobs.then(Default::default),
        }))
    };
    let store = match kind {
        "hello" => None,
        "nothing" => store(None, false),
        "append" => store(Some(bodies()), false),
        "append+jobs" => store(Some(bodies()), true),
        other => panic!("unknown reference server {other}"),
    };
    let queued = Arc::new(tokio::sync::Notify::new());
    let app = match &store {
        None => axum::Router::new().route("/webhook", axum::routing::post(|| async { "hello" })),
        Some(store) => gep_bot::machinery::pipeline::router(Arc::new(Intake {
            store: store.clone(),
            secrets: Secrets::parse(SECRET),
            queued: queued.clone(),
            clock: gep_bot::machinery::pipeline::now_ms,
            bodies: Default::default(),
            last_failure: Default::default(),
        })),
    };
    let port: u16 = port.parse().expect("port");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            // The bot's own worker as `gep-bot serve --dry-run` runs it (its thread, its
            // priority), with nothing to read from GitHub.
            let (_stop, stopped) = tokio::sync::watch::channel(false);
            if let Some(store) = store.filter(|store| store.jobs.is_some()) {
                let config = gep_bot::machinery::config::Config::default();
                let capabilities = gep_bot::capabilities::Capabilities::new(
                    &gep_bot::capabilities::Setup::new(&config, None),
                )
                .unwrap();
                gep_bot::machinery::pipeline::worker::Worker {
                    store,
                    executor: Arc::new(gep_bot::machinery::github::Executor::DryRun),
                    github: None,
                    capabilities: Arc::new(capabilities),
                    settings: Default::default(),
                    queued,
                    clock: gep_bot::machinery::pipeline::now_ms,
                    observer: None,
                }
                .spawn(stopped)
                .expect("the worker's thread starts");
            }
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            // The accept loop `gep-bot serve` uses, so every row pays the same for connections.
            gep_bot::machinery::edge::serve(
                listener,
                app,
                gep_bot::machinery::edge::Limits::default(),
                std::future::pending(),
            )
            .await
            .unwrap();
        });
}

fn start_reference(kind: &str, port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(SERVE, format!("{kind}:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the reference server starts")
}

/// Jobs finished so far by the server on `port`, from its `/metrics` (none for a reference
/// server, which has no such counter).
async fn jobs_done(port: u16) -> Option<f64> {
    serve::metric(
        &reqwest::Client::new(),
        port,
        "gep_bot_jobs_total{outcome=\"done\"}",
    )
    .await
}

/// What the throughput window and the fixed-rate run measured of one server.
struct Run {
    /// Requests per second with 32 connections.
    throughput: f64,
    /// Jobs the server's workers finished per second in the same window (the bot's rows): what
    /// the deliveries taken cost afterwards is not in the throughput, so it is shown beside it.
    jobs: Option<f64>,
    /// PostgreSQL's server processes' CPU time per request in the same window (zero for the
    /// rows that do not use it, give or take its background work).
    database_per_request: Duration,
    /// The server's CPU time per request during the throughput window.
    cpu_per_request: Duration,
    /// The same by kind of thread (threads of one name together), largest first.
    threads_per_request: Vec<(String, Duration)>,
    /// Bytes the server passed to `write` and its kin per request in the same window.
    written_per_request: f64,
    /// What the throughput window left queued, and how long the bot's worker took to run it
    /// (see [`drain`]).
    drained: Option<Drained>,
    /// Ack latencies at 2,000 deliveries/s, once that backlog has run.
    p50: Duration,
    p99: Duration,
}

/// Throughput, the jobs finished meanwhile, and the server's (`pid`) CPU time and bytes written
/// per request, then latencies at 2,000/s, against `target`.
async fn rate_and_latencies(target: &Target, pid: u32, port: u16) -> Run {
    throughput(target, 8, Duration::from_millis(500)).await;
    let cpu_before = cpu_time(pid);
    let threads_before = thread_times(pid);
    let written_before = written(pid);
    let database_before = database_cpu();
    let jobs_before = jobs_done(port).await;
    let rate = throughput(target, 32, WINDOW).await;
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let threads = by_thread(&threads_before, &thread_times(pid));
    let written = written(pid).saturating_sub(written_before);
    let database = database_cpu().saturating_sub(database_before);
    let jobs = jobs_done(port)
        .await
        .zip(jobs_before)
        .map(|(after, before)| (after - before) / WINDOW.as_secs_f64());
    let drained = drain(port).await;
    let latencies = latencies(target, 2000, WINDOW).await;
    let requests = rate * WINDOW.as_secs_f64();
    Run {
        throughput: rate,
        jobs,
        database_per_request: database.div_f64(requests),
        cpu_per_request: cpu.div_f64(requests),
        threads_per_request: threads
            .into_iter()
            .map(|(name, time)| (name, time.div_f64(requests)))
            .collect(),
        written_per_request: written as f64 / requests,
        drained,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

/// The longest [`drain`] waits.
const DRAIN_AT_MOST: Duration = Duration::from_secs(180);

/// A backlog a bot's worker ran.
struct Drained {
    /// Jobs queued or running when [`drain`] began.
    jobs: f64,
    /// Until none was left; `None` if some still were after [`DRAIN_AT_MOST`].
    took: Option<Duration>,
}

/// Waits until the bot on `port` has no job waiting or running (its `/metrics`): the backlog
/// the throughput window left, run by its worker alone. `None` for a server with no queue
/// (the references).
async fn drain(port: u16) -> Option<Drained> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut jobs = None;
    while started.elapsed() < DRAIN_AT_MOST {
        let queued = serve::metric(&client, port, "gep_bot_queue_depth").await?;
        let running = serve::metric(&client, port, "gep_bot_jobs_running").await?;
        let left = queued + running;
        let jobs = *jobs.get_or_insert(left);
        if left == 0.0 {
            return Some(Drained {
                jobs,
                took: Some(started.elapsed()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    jobs.map(|jobs| Drained { jobs, took: None })
}

/// A connection to `url` of the bench's own, outside the bot (plain, as the server on this
/// machine allows), or `None` when it cannot be made.
async fn admin(url: &str) -> Option<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(client)
}

/// The server's WAL segment files, when this role may list them (a superuser or `pg_monitor`).
async fn wal_segments(url: &str) -> Option<i64> {
    let client = admin(url).await?;
    let row = client
        .query_one("SELECT count(*) FROM pg_ls_waldir()", &[])
        .await
        .ok()?;
    Some(row.get(0))
}

/// What [`warm_wal`] writes: more than a PostgreSQL row writes while measured (~4.5 KB of WAL a
/// delivery, ~60,000 deliveries in its windows).
const WARM_WAL_MB: i64 = 320;

/// Before the first PostgreSQL row, writes [`WARM_WAL_MB`] of WAL (uncompressed values in a
/// table of `schema`, dropped after) and checkpoints: the server then keeps that much in
/// recycled segments (it sizes what it keeps by the WAL written between checkpoints), as one
/// that has run under this load for a while does, or one with `min_wal_size` set so (README).
/// Without it, the first row on a server fresh from a restart made 16 new segments and its p99
/// at 2,000/s was 21 ms; the rows after, on the same server, made none (3-5 ms). Says what it
/// did, for the notes under the table.
async fn warm_wal(url: &str, schema: &str) -> String {
    let Some(client) = admin(url).await else {
        return "  WAL         not warmed (no connection)".to_owned();
    };
    let table = format!("{schema}.warm_wal");
    let warm = format!(
        "CREATE TABLE {table} (b bytea);
         ALTER TABLE {table} ALTER COLUMN b SET STORAGE EXTERNAL;
         INSERT INTO {table} SELECT convert_to(repeat('x', 8000), 'UTF8')
             FROM generate_series(1, {WARM_WAL_MB} * 1024 * 1024 / 8000);
         DROP TABLE {table};
         CHECKPOINT;"
    );
    let started = Instant::now();
    match client.batch_execute(&warm).await {
        Ok(()) => format!(
            "  WAL         warmed before the first row: {WARM_WAL_MB} MB written and checkpointed in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Err(error) => format!("  WAL         not warmed ({error})"),
    }
}

/// A PostgreSQL row measured from a settled server, and what its WAL did meanwhile.
///
/// Before the row, a `CHECKPOINT` (a superuser's or `pg_checkpoint`'s): the WAL the runs before
/// wrote is recycled into segments ready for the next, as a server that has run under its load
/// for a while keeps them. Without it, every 16 MB the row writes past what the server had made
/// is a new segment, zero-filled by whichever backend needs it inside its commit: measured here,
/// that was most of the p99 at 2,000/s (21-38 ms with new segments, 5-9 ms without). A server
/// that sees bursts after quiet keeps its segments with `min_wal_size`. The line printed says
/// whether the checkpoint ran and how many segments the server made during the row (none for a
/// row `INTAKE_BENCH_ONLY` leaves out).
fn measure_postgres(
    runtime: &tokio::runtime::Runtime,
    name: &'static str,
    url: &str,
    start: impl FnOnce(u16) -> Child,
    body: &[u8],
    signature: &str,
) -> (Option<Figures>, Option<String>) {
    let checkpoint = runtime.block_on(async {
        let Some(client) = admin(url).await else {
            return "no checkpoint before it (no connection)".to_owned();
        };
        match client.batch_execute("CHECKPOINT").await {
            Ok(()) => "checkpoint before it".to_owned(),
            Err(error) => format!("no checkpoint before it ({error})"),
        }
    });
    let before = runtime.block_on(wal_segments(url));
    let figures = measure(runtime, name, start, body, signature);
    let after = runtime.block_on(wal_segments(url));
    let made = match before.zip(after) {
        Some((before, after)) => format!(
            "the server's WAL grew by {} segments of 16 MB while measured",
            after - before
        ),
        None => "the server's WAL segments could not be counted (pg_ls_waldir)".to_owned(),
    };
    let note = figures
        .is_some()
        .then(|| format!("  {name:<11} {checkpoint}; {made}"));
    (figures, note)
}

/// Connections the floor's commits go through, taken in turn: at 2,000/s each has a commit
/// every 8 ms, so a commit waits for the one before it on its connection only when the server
/// stalls.
const FLOOR_CONNECTIONS: usize = 16;

/// The server's own floor for a PostgreSQL row's p99: a one-row `INSERT`, each committed alone
/// (fsynced, as the bot's intake commits are), sent from this process over the bot's URL at
/// 2,000/s for the same [`WINDOW`], latency from each statement's start to its answer. No HTTP,
/// no bot, no grouping: what a commit alone takes on this server and disk at that rate. A bot's
/// p99 under this one is the bot's to mend; a p99 that this floor reaches too is the server's.
/// `None` when the bench cannot connect or write in `schema`.
async fn commit_floor(url: &str, schema: &str, per_second: u64) -> Option<Vec<Duration>> {
    let mut clients = Vec::with_capacity(FLOOR_CONNECTIONS);
    for _ in 0..FLOOR_CONNECTIONS {
        clients.push(admin(url).await?);
    }
    let table = format!("{schema}.commit_floor");
    clients[0]
        .batch_execute(&format!("CREATE TABLE IF NOT EXISTS {table} (n bigint)"))
        .await
        .ok()?;
    let insert = format!("INSERT INTO {table} VALUES ($1)");
    let mut statements = Vec::with_capacity(FLOOR_CONNECTIONS);
    for client in &clients {
        statements.push(client.prepare(&insert).await.ok()?);
    }
    let connections: Arc<Vec<_>> = Arc::new(clients.into_iter().zip(statements).collect());
    open_loop(per_second, WINDOW, move |i| {
        let connections = connections.clone();
        async move {
            let (client, insert) = &connections[i as usize % connections.len()];
            let started = Instant::now();
            client.execute(insert, &[&(i as i64)]).await.ok()?;
            Some(started.elapsed())
        }
    })
    .await
}

/// The database of `url` through the server's Unix socket, when the server (asked over TCP)
/// names a socket folder this machine has: the server runs here.
async fn unix_socket_url(url: &str) -> Option<String> {
    let client = admin(url).await?;
    let folders: String = client
        .query_one("SHOW unix_socket_directories", &[])
        .await
        .ok()?
        .get(0);
    let folder = folders
        .split(',')
        .map(str::trim)
        .find(|folder| std::path::Path::new(folder).is_dir())?;
    // postgres://user@host:port/db?... with the host a percent-encoded folder and no port.
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    let folder = percent_encoding::utf8_percent_encode(folder, percent_encoding::NON_ALPHANUMERIC);
    Some(format!(
        "{scheme}://{}{folder}/{path}",
        user.unwrap_or_default()
    ))
}

fn main() {
    if let Ok(spec) = std::env::var(SERVE) {
        return serve_reference(&spec);
    }
    let body = std::fs::read(shared().join("fixtures/octokit-webhooks/issues/opened.payload.json"))
        .expect("fixture");
    let signature = sign(SECRET.as_bytes(), &body);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut results: Vec<Figures> = [("hello", "hello"), ("no store", "nothing")]
        .into_iter()
        .filter_map(|(name, kind)| {
            measure(
                &runtime,
                name,
                |port| start_reference(kind, port),
                &body,
                &signature,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // Each row and turn on a file of its own.
    let sqlite = |row: usize, turn: usize| {
        format!(
            "sqlite://{}",
            dir.path().join(format!("bench-{row}-{turn}.db")).display()
        )
    };
    let postgres = std::env::var("GEP_BOT_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let schema = format!("bench_{}", std::process::id());
    let base_build = std::env::var(BASELINE).ok().filter(|path| !path.is_empty());
    let mut rows: Vec<Row> = ["append", "append+jobs"]
        .into_iter()
        .map(|kind| Row {
            name: kind,
            start: Box::new(move |_, port| start_reference(kind, port)),
            postgres: None,
        })
        .collect();
    rows.push(Row {
        name: "sqlite",
        start: Box::new(|turn, port| start_bot(&sqlite(0, turn), port)),
        postgres: None,
    });
    if let Some(program) = &base_build {
        rows.push(Row {
            name: "sqlite base",
            start: Box::new(move |turn, port| start_bot_from(program, &sqlite(1, turn), port)),
            postgres: None,
        });
    }
    // What the PostgreSQL server did around its rows, printed under the table.
    let mut server_notes = Vec::new();
    // The server's one-row commits at 2,000/s, sorted: the floor of the PostgreSQL rows' p99.
    let mut floor: Option<Vec<Duration>> = None;
    if let Some(url) = &postgres {
        runtime
            .block_on(gep_bot::machinery::store::PgStore::open_in_schema(
                url, &schema,
            ))
            .expect("PostgreSQL schema");
        if wants("pg tcp") || wants("pg unix") {
            server_notes.push(runtime.block_on(warm_wal(url, &schema)));
        }
        if wants("pg tcp") {
            floor = runtime.block_on(commit_floor(url, &schema, 2000));
            server_notes.push(match &floor {
                Some(all) => format!(
                    "  {:<11} a one-row INSERT committed alone at 2000/s over TCP from the bench \
                     (the server's floor for a row's p99): p50 {:.2?}, p99 {:.2?}, max {:.2?}",
                    "pg commit",
                    percentile(all, 0.50),
                    percentile(all, 0.99),
                    all[all.len() - 1]
                ),
                None => "  pg commit   not measured (the bench could not write in its schema)"
                    .to_owned(),
            });
        }
        let tcp = gep_bot::machinery::store::PgStore::url_in_schema(url, &schema);
        if let Some(program) = &base_build {
            let tcp = tcp.clone();
            rows.push(Row {
                name: "pg tcp base",
                start: Box::new(move |_, port| start_bot_from(program, &tcp, port)),
                postgres: Some(url),
            });
        }
        rows.push(Row {
            name: "pg tcp",
            start: Box::new(move |_, port| start_bot(&tcp, port)),
            postgres: Some(url),
        });
        match runtime.block_on(unix_socket_url(url)) {
            Some(unix) => {
                let unix = gep_bot::machinery::store::PgStore::url_in_schema(&unix, &schema);
                rows.push(Row {
                    name: "pg unix",
                    start: Box::new(move |_, port| start_bot(&unix, port)),
                    postgres: Some(url),
                });
            }
            None => println!(
                "pg unix: skipped (the server names no Unix socket folder this machine has)"
            ),
        }
    } else {
        println!(
            "postgres: skipped (set GEP_BOT_TEST_DATABASE_URL=postgres://... to measure it too)"
        );
    }
    let turns = std::env::var(TURNS)
        .ok()
        .map(|turns| {
            turns
                .parse::<usize>()
                .ok()
                .filter(|&turns| turns > 0)
                .expect("INTAKE_BENCH_TURNS: a count of 1 or more")
        })
        .unwrap_or(if base_build.is_some() { 2 } else { 1 });
    for turn in 0..turns {
        let mut order: Vec<&Row> = rows.iter().collect();
        if turn % 2 == 1 {
            order.reverse();
        }
        for row in order {
            let start = |port| (row.start)(turn, port);
            let figures = match row.postgres {
                Some(url) => {
                    let (figures, note) =
                        measure_postgres(&runtime, row.name, url, start, &body, &signature);
                    server_notes.extend(note);
                    figures
                }
                None => measure(&runtime, row.name, start, &body, &signature),
            };
            results.extend(figures.map(|figures| Figures { turn, ..figures }));
        }
    }
    if let Some(url) = &postgres {
        // The deliveries stored while measuring are of no use to anyone: leave the database
        // as it was.
        runtime
            .block_on(gep_bot::machinery::store::PgStore::drop_schema(
                url, &schema,
            ))
            .expect("the benchmark's schema is dropped");
    }
    // Hello-world again, last: between runs on this VM it moved by half (40k-60k/s), so the
    // ratios are taken against the mean of a first and a last measure, both printed.
    results.extend(measure(
        &runtime,
        "hello",
        |port| start_reference("hello", port),
        &body,
        &signature,
    ));
    let hellos: Vec<&Figures> = results.iter().filter(|f| f.name == "hello").collect();
    let baseline = hellos.iter().map(|f| f.run.throughput).sum::<f64>() / hellos.len() as f64;
    let baseline_p99 =
        hellos.iter().map(|f| f.run.p99.as_secs_f64()).sum::<f64>() / hellos.len() as f64;
    println!(
        "{:<11} {:>12} {:>8} {:>8} {:>10} {:>10} {:>12} {:>12} {:>10} {:>10} {:>8}",
        "server",
        "requests/s",
        "ratio",
        "jobs/s",
        "CPU/req",
        "db CPU/req",
        "p50@2000/s",
        "p99@2000/s",
        "p99 ratio",
        "peak RSS",
        "refused"
    );
    for f in &results {
        println!(
            "{:<11} {:>12.0} {:>7.2}x {:>8} {:>8.1}us {:>8.1}us {:>12.2?} {:>12.2?} {:>9.1}x {:>7.1} MB {:>8}",
            f.name,
            f.run.throughput,
            f.run.throughput / baseline,
            f.run
                .jobs
                .map_or_else(|| "-".to_owned(), |jobs| format!("{jobs:.0}")),
            f.run.cpu_per_request.as_secs_f64() * 1e6,
            f.run.database_per_request.as_secs_f64() * 1e6,
            f.run.p50,
            f.run.p99,
            f.run.p99.as_secs_f64() / baseline_p99,
            f.peak_rss_kb as f64 / 1024.0,
            f.refused
        );
    }
    println!(
        "hello = axum hello-world, measured first and last; ratios are to the mean of the two \
         ({baseline:.0}/s, p99 {:.0} us); no store = the webhook route storing nothing (intake's ceiling); \
         append = the route writing each compressed body and nothing else (a durable store's ceiling); \
         append+jobs = append, with the bot's worker running a job for each body (the ceiling with the jobs run beside intake); \
         jobs/s = jobs the bot's workers finished while throughput was measured; \
         CPU/req = the server's CPU time (all its threads) per request while measuring throughput; \
         db CPU/req = PostgreSQL's processes' in the same window",
        baseline_p99 * 1e6
    );
    println!(
        "where each server's CPU went, per request, by thread (and bytes written per request):"
    );
    for f in results.iter().filter(|f| f.name != "hello") {
        let threads: Vec<String> = f
            .run
            .threads_per_request
            .iter()
            .filter(|(_, time)| !time.is_zero())
            .map(|(name, time)| format!("{name} {:.1}us", time.as_secs_f64() * 1e6))
            .collect();
        println!(
            "  {:<11} {} ({:.1} KB written)",
            f.name,
            threads.join(", "),
            f.run.written_per_request / 1024.0
        );
    }
    println!("the backlog the throughput window left, run by the worker before the 2000/s run:");
    // The rows with a worker (the references have none: their jobs/s is 0).
    for f in results
        .iter()
        .filter(|f| f.run.jobs.is_some_and(|jobs| jobs > 0.0))
    {
        let Some(drained) = &f.run.drained else {
            continue;
        };
        println!(
            "  {:<11} {:.0} jobs {}",
            f.name,
            drained.jobs,
            match drained.took {
                Some(took) => format!("in {:.1} s", took.as_secs_f64()),
                None => format!("not all run in {} s", DRAIN_AT_MOST.as_secs()),
            }
        );
    }
    if !server_notes.is_empty() {
        println!("the PostgreSQL server around its rows:");
        for note in &server_notes {
            println!("{note}");
        }
    }
    // A row measured more than once (in turns) counts by its mean: of all turns, or of one.
    let mean_in = |name: &str, turn: Option<usize>| {
        let rows: Vec<f64> = results
            .iter()
            .filter(|f| f.name == name && turn.is_none_or(|turn| f.turn == turn))
            .map(|f| f.run.throughput)
            .collect();
        (!rows.is_empty()).then(|| rows.iter().sum::<f64>() / rows.len() as f64)
    };
    let mean = |name: &str| mean_in(name, None);
    // The ratios between rows that the targets and comparisons name: (what, of what, what the
    // ratio is for).
    const RATIOS: [(&str, &str, &str); 7] = [
        ("sqlite", "append", "target >= 0.8x"),
        (
            "append+jobs",
            "append",
            "the worker's share, with a store that costs nothing",
        ),
        (
            "sqlite",
            "append+jobs",
            "the store's share, with the jobs run beside intake",
        ),
        ("sqlite", "sqlite base", "this build against the baseline"),
        ("pg tcp", "pg tcp base", "this build against the baseline"),
        ("pg tcp", "sqlite", "target >= 0.8x"),
        ("pg unix", "sqlite", "target >= 0.8x"),
    ];
    if turns > 1 {
        // Each turn's own ratios: how far apart the turns are is how far a ratio can be trusted.
        for turn in 0..turns {
            let ratios: Vec<String> = RATIOS
                .iter()
                .filter_map(|&(this, of, _)| {
                    let (this_rate, of_rate) =
                        (mean_in(this, Some(turn))?, mean_in(of, Some(turn))?);
                    Some(format!("{this} / {of} {:.2}x", this_rate / of_rate))
                })
                .collect();
            println!("turn {}: {}", turn + 1, ratios.join(", "));
        }
    }
    let over = if turns > 1 {
        format!(" (the means of {turns} turns)")
    } else {
        String::new()
    };
    for (this, of, what) in RATIOS {
        let (Some(this_rate), Some(of_rate)) = (mean(this), mean(of)) else {
            continue;
        };
        // A PostgreSQL row against SQLite: its p99 in each turn, beside the server's floor.
        let p99 = if this.starts_with("pg") && of == "sqlite" {
            let floor = floor.as_deref().map_or_else(String::new, |all| {
                format!("; a commit alone: p99 {:.2?}", percentile(all, 0.99))
            });
            let p99s: Vec<String> = results
                .iter()
                .filter(|f| f.name == this)
                .map(|f| format!("{:.2?}", f.run.p99))
                .collect();
            format!(
                "; p99 at 2000/s {} (target <= 5 ms{floor})",
                p99s.join(", ")
            )
        } else {
            String::new()
        };
        let against = if of.ends_with(" base") {
            format!(": {}", base_build.as_deref().unwrap_or_default())
        } else {
            String::new()
        };
        println!(
            "{this} / {of}: {:.2}x throughput{over} ({what}{against}){p99}",
            this_rate / of_rate
        );
    }
    println!("targets for sqlite: ratio >= 0.5x, p99 <= 5 ms at 2000/s, peak RSS <= 60 MB");
}
