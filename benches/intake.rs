//! Webhook intake under load, against an axum hello-world route measured in the same run.
//!
//! Starts the real `gep-bot serve` (release build, SQLite, dry-run so workers run but send
//! nothing) and, in this process, a hello-world axum server; drives both with the same load
//! generator (signed `issues` deliveries from the real fixture, unique delivery ids) and prints:
//! - throughput with 32 connections for 5 s each, as a ratio to hello-world (target >= 0.5x);
//! - ack latency p50/p99 at a fixed 2,000 deliveries/s for 5 s (target p99 <= 5 ms);
//! - the server's peak RSS under that load (target <= 60 MB), beside hello-world's process.
//!
//! With `GEP_BOT_TEST_DATABASE_URL=postgres://...` the same runs on PostgreSQL too, and the two
//! backends are printed side by side.
//!
//! Run: `cargo bench --bench intake`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gep_bot::pipeline::sign;

const SECRET: &str = "bench-secret";

fn shared() -> PathBuf {
    std::env::var_os("GEP_BOT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
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

async fn send(client: &reqwest::Client, target: &Target) -> Duration {
    let mut request = client.post(&target.url).body(target.body.as_ref().clone());
    if target.signed {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        request = request
            .header("x-github-event", "issues")
            .header("x-github-delivery", format!("bench-{id}"))
            .header("x-hub-signature-256", target.signature.as_str());
    }
    let started = Instant::now();
    let response = request.send().await.expect("server answers");
    assert!(response.status().is_success(), "{}", response.status());
    started.elapsed()
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
                    send(&client, &target).await;
                    done.fetch_add(1, Ordering::Relaxed);
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
    let count = per_second * duration.as_secs();
    let interval = Duration::from_secs(1) / per_second as u32;
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let (client, target) = (client.clone(), target.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(start + interval * i as u32).await;
                send(&client, &target).await
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count as usize);
    for task in tasks {
        all.push(task.await.unwrap());
    }
    all.sort();
    all
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn start_bot(port: u16, db: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gep-bot"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GEP_BOT_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEP_BOT_DATABASE_URL", db)
        .env("GEP_BOT_WEBHOOK_SECRET", SECRET)
        .env("GEP_BOT_DRY_RUN", "1")
        .env("GEP_BOT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gep-bot starts")
}

/// What one backend measured.
struct Figures {
    backend: &'static str,
    throughput: f64,
    p50: Duration,
    p99: Duration,
    peak_rss_kb: u64,
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    backend: &'static str,
    db: &str,
    body: &[u8],
    signature: &str,
) -> Figures {
    let port = free_port();
    let mut bot = start_bot(port, db);
    let intake = Target {
        url: format!("http://127.0.0.1:{port}/webhook"),
        body: Arc::new(body.to_vec()),
        signature: Arc::new(signature.to_owned()),
        signed: true,
    };
    let figures = runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "gep-bot did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        throughput(&intake, 8, Duration::from_millis(500)).await;
        let rate = throughput(&intake, 32, WINDOW).await;
        let latencies = latencies(&intake, 2000, WINDOW).await;
        Figures {
            backend,
            throughput: rate,
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            peak_rss_kb: 0,
        }
    });
    let figures = Figures {
        peak_rss_kb: rss_kb(bot.id(), "VmHWM:"),
        ..figures
    };
    bot.kill().ok();
    bot.wait().ok();
    figures
}

const WINDOW: Duration = Duration::from_secs(5);

fn main() {
    let body = std::fs::read(shared().join("fixtures/octokit-webhooks/issues/opened.payload.json"))
        .expect("fixture");
    let signature = sign(SECRET.as_bytes(), &body);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // The baseline: hello-world on axum, served from threads of its own.
    let hello_port = free_port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app =
                axum::Router::new().route("/hello", axum::routing::post(|| async { "hello" }));
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", hello_port))
                .await
                .unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let hello = Target {
        url: format!("http://127.0.0.1:{hello_port}/hello"),
        body: Arc::new(body.clone()),
        signature: Arc::new(String::new()),
        signed: false,
    };
    let (hello_rps, hello_p50, hello_p99) = runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        throughput(&hello, 8, Duration::from_millis(500)).await;
        let rate = throughput(&hello, 32, WINDOW).await;
        let lat = latencies(&hello, 2000, WINDOW).await;
        (rate, percentile(&lat, 0.50), percentile(&lat, 0.99))
    });

    let dir = tempfile::tempdir().unwrap();
    let mut results = vec![measure(
        &runtime,
        "sqlite",
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        &body,
        &signature,
    )];
    match std::env::var("GEP_BOT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("bench_{}", std::process::id());
            runtime
                .block_on(gep_bot::store::PgStore::open_in_schema(&url, &schema))
                .expect("PostgreSQL schema");
            let separator = if url.contains('?') { '&' } else { '?' };
            let db = format!("{url}{separator}options=-c%20search_path%3D{schema}");
            results.push(measure(&runtime, "postgres", &db, &body, &signature));
        }
        _ => println!(
            "postgres: skipped (set GEP_BOT_TEST_DATABASE_URL=postgres://... to measure it too)"
        ),
    }

    println!(
        "hello-world: {hello_rps:.0}/s with 32 connections; at 2000/s p50 {hello_p50:?} p99 {hello_p99:?}"
    );
    println!(
        "{:<9} {:>12} {:>8} {:>12} {:>12} {:>10} {:>10}",
        "backend", "deliveries/s", "ratio", "p50@2000/s", "p99@2000/s", "p99 ratio", "peak RSS"
    );
    for f in &results {
        println!(
            "{:<9} {:>12.0} {:>7.2}x {:>12.2?} {:>12.2?} {:>9.1}x {:>7.1} MB",
            f.backend,
            f.throughput,
            f.throughput / hello_rps,
            f.p50,
            f.p99,
            f.p99.as_secs_f64() / hello_p99.as_secs_f64(),
            f.peak_rss_kb as f64 / 1024.0
        );
    }
    println!("targets: ratio >= 0.5x, p99 <= 5 ms at 2000/s, peak RSS <= 60 MB");
}
