//! The real `gep-bot serve` as a child process: a free port, the command with a test's settings,
//! waiting until it answers, and reading its metrics.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped: a failing test leaves no `gep-bot serve` behind.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `gep-bot serve` child with its port and the folder its database is in.
pub struct Running {
    pub child: KillOnDrop,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// Stops `child` as a deployment does, with SIGTERM, and waits for it to exit (at most
/// `limit`): its exit status, or `None` if it is still running then.
pub async fn terminate(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|status| status.success());
    let deadline = Instant::now() + limit;
    while sent && Instant::now() < deadline {
        if let Some(exit) = child.try_wait().ok().flatten() {
            return Some(exit);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gep-bot serve` on `port` with `db`, a webhook secret and a token for the GitHub at `github`;
/// writes unpaced and retries quick, as tests want. Output is discarded unless the caller says.
pub fn command(port: u16, db: &str, github: &str, secret: &str) -> Command {
    let mut command = Command::new(super::bin());
    command
        .arg("serve")
        .current_dir(super::repo())
        .env("GEP_BOT_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEP_BOT_DATABASE_URL", db)
        .env("GEP_BOT_WEBHOOK_SECRET", secret)
        .env("GEP_BOT_GITHUB_TOKEN", "ghp_0123456789abcdefTestTokenOnly")
        .env("GEP_BOT_GITHUB_API_URL", github)
        .env("GEP_BOT_WRITE_INTERVAL_MS", "0")
        .env("GEP_BOT_RETRY_BASE_MS", "50")
        .env_remove("GEP_BOT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Waits until `path` answers 2xx (20 s at most).
pub async fn wait_until_answers(client: &reqwest::Client, port: u16, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "gep-bot on {port} did not answer {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One value of `/metrics`.
pub async fn metric(client: &reqwest::Client, port: u16, name: &str) -> Option<f64> {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// Sends one signed delivery the way GitHub does; returns the status code.
pub async fn deliver(
    client: &reqwest::Client,
    port: u16,
    secret: &str,
    event: &str,
    id: &str,
    body: Vec<u8>,
) -> u16 {
    let signature = gep_bot::machinery::pipeline::sign(secret.as_bytes(), &body);
    client
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-github-event", event)
        .header("x-github-delivery", id)
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .expect("gep-bot answers")
        .status()
        .as_u16()
}

/// Waits until no job is queued or running (as `/metrics` counts them, across replicas).
pub async fn wait_until_drained(client: &reqwest::Client, port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let queued = metric(client, port, "gep_bot_queue_depth").await;
        let running = metric(client, port, "gep_bot_jobs_running").await;
        if queued == Some(0.0) && running == Some(0.0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still pending: queued {queued:?}, running {running:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
