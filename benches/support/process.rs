//! What the benchmarks read of the processes they run: ports, memory, the shared fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared` (or `GEP_BOT_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("GEP_BOT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// This build's `gep-bot`.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gep-bot")
}

/// The repository's folder (where `serve` finds `gep-templates/` and `schedules/`).
pub fn repo() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A memory figure of process `pid` in KB, from `/proc/PID/status`: `VmRSS:` (now) or `VmHWM:`
/// (its peak); `pid` may be `"self"`'s number or any child's.
pub fn status_kb(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The median of `runs` timings of `f`.
pub fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> std::time::Duration {
    let mut samples: Vec<std::time::Duration> = (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `gep-bot serve` (this build) on `127.0.0.1:port` over the store `db`, taking deliveries
/// signed with `secret`, logging warnings only; the caller adds the rest and spawns it.
pub fn serve(db: &str, port: u16, secret: &str) -> std::process::Command {
    serve_from(bin(), db, port, secret)
}

/// [`serve`] by the `gep-bot` at `program` (another build, to compare with this one).
pub fn serve_from(program: &str, db: &str, port: u16, secret: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command
        .arg("serve")
        .current_dir(repo())
        .env("GEP_BOT_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEP_BOT_DATABASE_URL", db)
        .env("GEP_BOT_WEBHOOK_SECRET", secret)
        .env("GEP_BOT_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// Waits (20 s at most) until something listens on `port`.
pub async fn listening(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "{what} did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The `p` quantile (0..1) of `sorted`.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}
