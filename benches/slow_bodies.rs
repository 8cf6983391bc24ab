//! Memory under unsigned clients that send large bodies slowly (the webhook can check a
//! signature only once a body is in, so until then the bytes are anyone's).
//!
//! Starts the real `gep-bot serve` (release build, SQLite, dry-run) and 60 clients, each declaring
//! a 20 MiB body and sending it at 4 MiB/s, starting over whenever refused, for 12 s. Prints the
//! server's RSS idle, at its peak and 3 s after the clients stop, twice in one run: with the
//! default body budget (100 MiB) and with a budget so large it bounds nothing (2,000 MiB), the
//! baseline that shows what the budget buys. Targets: peak <= 300 MB with the default budget, and
//! back near idle afterwards.
//!
//! Run: `cargo bench --bench slow_bodies`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/process.rs"]
mod process;
use process::{free_port, status_kb};

const CLIENTS: usize = 60;
const BODY: usize = 20 << 20;
const RATE_PER_CLIENT: usize = 4 << 20;
const ATTACK: Duration = Duration::from_secs(12);

fn start_bot(db: &str, port: u16, budget_mb: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gep-bot"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GEP_BOT_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEP_BOT_DATABASE_URL", db)
        .env("GEP_BOT_WEBHOOK_SECRET", "bench-secret")
        .env("GEP_BOT_DRY_RUN", "1")
        .env("GEP_BOT_LOG", "error")
        .env("GEP_BOT_BODY_BUDGET_MB", budget_mb.to_string())
        .env("GEP_BOT_MAX_CONNECTIONS", "512")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gep-bot starts")
}

fn wait_until_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gep-bot did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// One client: sends a slow unsigned body, and again whenever the server answers or closes.
fn client(port: u16, stop: Arc<AtomicBool>, refused: Arc<AtomicU64>) {
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: bot\r\nX-GitHub-Event: issues\r\n\
         X-GitHub-Delivery: slow\r\nX-Hub-Signature-256: sha256=00\r\n\
         Content-Length: {BODY}\r\n\r\n"
    );
    let chunk = vec![b' '; RATE_PER_CLIENT / 10];
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let _ = stream.set_nonblocking(false);
        if stream.write_all(head.as_bytes()).is_err() {
            continue;
        }
        let mut sent = 0;
        while sent < BODY && !stop.load(Ordering::Relaxed) {
            // An early answer (503) means the server will not read the body.
            stream.set_nonblocking(true).unwrap();
            let mut peek = [0; 16];
            let answered = matches!(stream.read(&mut peek), Ok(n) if n > 0);
            stream.set_nonblocking(false).unwrap();
            if answered {
                refused.fetch_add(1, Ordering::Relaxed);
                // A refused client waits a little, as `Retry-After` asks, but not long.
                std::thread::sleep(Duration::from_millis(500));
                break;
            }
            let n = chunk.len().min(BODY - sent);
            if stream.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

struct Figures {
    budget_mb: usize,
    idle_kb: u64,
    peak_kb: u64,
    after_kb: u64,
    refused: u64,
}

fn measure(budget_mb: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut bot = start_bot(&db, port, budget_mb);
    wait_until_up(port);
    let idle_kb = status_kb(&bot.id().to_string(), "VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, refused) = (stop.clone(), refused.clone());
            std::thread::spawn(move || client(port, stop, refused))
        })
        .collect();
    let start = Instant::now();
    let mut peak_kb = 0;
    while start.elapsed() < ATTACK {
        peak_kb = peak_kb.max(status_kb(&bot.id().to_string(), "VmRSS:"));
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    std::thread::sleep(Duration::from_secs(3));
    let after_kb = status_kb(&bot.id().to_string(), "VmRSS:");
    let _ = bot.kill();
    let _ = bot.wait();
    Figures {
        budget_mb,
        idle_kb,
        peak_kb,
        after_kb,
        refused: refused.load(Ordering::Relaxed),
    }
}

fn main() {
    let rows = [measure(100), measure(2000)];
    println!(
        "{CLIENTS} unsigned clients, {} MiB bodies at {} MiB/s each, {ATTACK:?}",
        BODY >> 20,
        RATE_PER_CLIENT >> 20
    );
    println!(
        "{:>16} {:>10} {:>10} {:>10} {:>12} {:>12} {:>10}",
        "budget", "idle MB", "peak MB", "after MB", "peak/idle", "after/idle", "503s"
    );
    for f in &rows {
        println!(
            "{:>13} MiB {:>10.1} {:>10.1} {:>10.1} {:>11.1}x {:>11.2}x {:>10}",
            f.budget_mb,
            f.idle_kb as f64 / 1024.0,
            f.peak_kb as f64 / 1024.0,
            f.after_kb as f64 / 1024.0,
            f.peak_kb as f64 / f.idle_kb.max(1) as f64,
            f.after_kb as f64 / f.idle_kb.max(1) as f64,
            f.refused,
        );
    }
    println!(
        "peak with the default budget / without a bound: {:.2}x",
        rows[0].peak_kb as f64 / rows[1].peak_kb.max(1) as f64
    );
}
