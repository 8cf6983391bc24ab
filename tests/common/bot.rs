//! A bot wired as `serve` wires it (store, intake, worker), against a given GitHub.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gep_bot::capabilities::{Capabilities, Setup};
use gep_bot::machinery::config::Config;
use gep_bot::machinery::github::{Credentials, Executor, GitHub};
use gep_bot::machinery::pipeline::worker::{Settings, Worker};
use gep_bot::machinery::pipeline::{self, Intake, Secrets, now_ms, sign};
use gep_bot::machinery::store::{SqliteStore, Store};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;
use wiremock::MockServer;

pub const SECRET: &[u8] = b"e2e-secret";

/// The capabilities with their default rules, publishing as `credentials` can.
pub fn capabilities(credentials: &Credentials) -> Arc<Capabilities> {
    Arc::new(Capabilities::new(&Setup::new(&Config::default(), Some(credentials))).unwrap())
}

pub struct Bot {
    pub intake: Arc<Intake<SqliteStore>>,
    /// The store's address (for a command run on it).
    pub database_url: String,
    stop: watch::Sender<bool>,
    /// The worker's thread: `serve`'s worker runs on a thread of its own, where it reads the
    /// store in place, and so does this one (on a runtime of its own, since the tests' runtimes
    /// have one thread).
    worker: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Bot {
    /// A bot dropped without [`Bot::stop`] stops its worker all the same.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Runs `worker` as `serve` does, on a thread marked to read the store in place.
fn worker_thread(
    worker: Worker<SqliteStore>,
    stopped: watch::Receiver<bool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(gep_bot::machinery::pipeline::worker::WORKER_THREAD.into())
        .spawn(move || {
            gep_bot::machinery::store::mark_reads_in_place();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(worker.run(stopped));
        })
        .unwrap()
}

impl Bot {
    pub async fn start(github: &MockServer, credentials: Credentials) -> Bot {
        Bot::start_with(github, credentials, true).await
    }

    /// `start`, choosing whether repeated reads are conditional (a benchmark's baseline).
    pub async fn start_with(
        github: &MockServer,
        credentials: Credentials,
        conditional: bool,
    ) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bot.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        let queued = Arc::new(Notify::new());
        let intake = Arc::new(Intake {
            store: store.clone(),
            secrets: Secrets::parse("e2e-secret"),
            queued: queued.clone(),
            clock: now_ms,
            bodies: Default::default(),
            last_failure: Default::default(),
        });
        let mut client = GitHub::new(&github.uri(), credentials.clone(), Duration::ZERO);
        if !conditional {
            client = client.without_conditional_requests();
        }
        let client = Arc::new(client);
        let worker = Worker {
            store,
            executor: Arc::new(Executor::GitHub(client.clone())),
            github: Some(client),
            capabilities: capabilities(&credentials),
            settings: Settings {
                id: "e2e".into(),
                backoff: Duration::from_millis(20),
                poll: Duration::from_millis(20),
                max_attempts: 5,
                ..Settings::default()
            },
            queued,
            clock: now_ms,
            observer: None,
        };
        let (stop, stopped) = watch::channel(false);
        Bot {
            intake,
            database_url: url,
            stop,
            worker: Some(worker_thread(worker, stopped)),
            _dir: dir,
        }
    }

    pub async fn deliver(&self, id: &str, event: &str, body: &[u8]) -> (StatusCode, Duration) {
        let request = Request::post("/webhook")
            .header("x-github-event", event)
            .header("x-github-delivery", id)
            .header("x-hub-signature-256", sign(SECRET, body))
            .body(Body::from(body.to_vec()))
            .unwrap();
        let started = Instant::now();
        let status = pipeline::router(self.intake.clone())
            .oneshot(request)
            .await
            .unwrap()
            .status();
        (status, started.elapsed())
    }

    /// Waits until every job is done (or dead).
    pub async fn drained(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let counts = self.intake.store.counts().await.unwrap();
            if counts.queued == 0 && counts.running == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "jobs still pending after {limit:?}: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        self.stop.send(true).unwrap();
        let worker = self.worker.take().expect("stopped once");
        tokio::task::spawn_blocking(move || worker.join().unwrap())
            .await
            .unwrap();
    }
}
