//! The agenda before each meeting, as timed work through the store: two replicas (each a
//! scheduler and a worker) on one store, restarted in the middle, with a clock that moves only
//! when the test moves it. Each meeting gets one comment, written at its first pass and edited at
//! its refresh; nothing is written twice.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::DateTime;
use common::github::{FakeGitHub, requests_to};
use gep_bot::capabilities::agenda::{AgendaRules, Scheduler, Target};
use gep_bot::core::state::{Activity, ActivityKind, StateChange};
use gep_bot::machinery::github::{Credentials, Executor, GitHub};
use gep_bot::machinery::pipeline::worker::{Settings, Worker};
use gep_bot::machinery::store::{PgStore, SqliteStore, Store};
use gep_bot::products::calendar::{BUILTIN, Schedule};
use tokio::sync::{Notify, watch};

const REPO: &str = "kubernetes-sigs/gateway-api";
const ISSUE: u64 = 9;

/// The clock every replica reads: it moves only when the test sets it. One clock for the process,
/// so the tests here take turns.
static NOW: AtomicI64 = AtomicI64::new(0);
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn now() -> i64 {
    NOW.load(Ordering::SeqCst)
}

fn set_now(text: &str) {
    let at = DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_millis();
    NOW.store(at, Ordering::SeqCst);
}

/// One replica: a scheduler and a worker on `store`, writing to the GitHub at `api`.
struct Replica<S> {
    scheduler: Scheduler<S>,
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
}

fn replica<S: Store>(id: &str, store: Arc<S>, api: &str) -> Replica<S> {
    replica_writing_to(id, store, api, Target::Issue(ISSUE))
}

fn replica_writing_to<S: Store>(id: &str, store: Arc<S>, api: &str, target: Target) -> Replica<S> {
    let schedule = Arc::new(Schedule::parse(BUILTIN, "schedules/gamma.toml").unwrap());
    let queued = Arc::new(Notify::new());
    let credentials = Credentials::Token("ghp_test".into());
    let client = Arc::new(GitHub::new(api, credentials.clone(), Duration::ZERO));
    let worker = Worker {
        store: store.clone(),
        executor: Arc::new(Executor::GitHub(client.clone())),
        github: Some(client),
        capabilities: common::bot::capabilities(&credentials),
        settings: Settings {
            id: id.into(),
            backoff: Duration::from_millis(20),
            poll: Duration::from_millis(10),
            max_attempts: 5,
            ..Settings::default()
        },
        queued: queued.clone(),
        clock: now,
        observer: None,
    };
    let scheduler = Scheduler {
        store,
        schedule,
        rules: AgendaRules {
            repo: Some(REPO.into()),
            issue: Some(ISSUE),
            ..AgendaRules::default()
        },
        repo: REPO.into(),
        target,
        installation: None,
        clock: now,
        queued,
    };
    let (stop, stopped) = watch::channel(false);
    Replica {
        scheduler,
        stop,
        worker: tokio::spawn(worker.run(stopped)),
    }
}

impl<S: Store> Replica<S> {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.worker.await.unwrap();
    }
}

/// Waits until `ready` holds of the fake (10 s at most; the clock does not move meanwhile).
async fn until(github: &FakeGitHub, what: &str, ready: impl Fn(&FakeGitHub) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready(github) {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn agendas(github: &FakeGitHub, meeting: &str) -> Vec<String> {
    github.comments_marked(ISSUE, &format!("<!-- gep-bot:agenda-{meeting} -->"))
}

/// Waits until GitHub has had `count` requests `method` to a path containing `path`.
async fn until_requests(server: &wiremock::MockServer, method: &str, path: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests_to(server, method, path).await < count {
        assert!(Instant::now() < deadline, "no {method} {path}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn written_once_across_replicas_and_a_restart<S, F, Fut>(open: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let github = FakeGitHub::default();
    let server = github.serve().await;
    let api = server.uri();
    set_now("2026-12-01T12:00:00Z");
    let (a, b) = (
        replica("a", Arc::new(open().await), &api),
        replica("b", Arc::new(open().await), &api),
    );
    // Both replicas schedule the next two meetings' passes: the store keeps them once.
    assert_eq!(a.scheduler.tick().await.unwrap(), 4);
    assert_eq!(b.scheduler.tick().await.unwrap(), 0);
    // The meeting of 2026-12-01 16:00Z: its first pass is due at once (24 hours before has
    // passed), its refresh at 15:00Z.
    until(&github, "the first agenda", |g| {
        agendas(g, "2026-12-01T16:00Z").len() == 1
    })
    .await;
    let first = agendas(&github, "2026-12-01T16:00Z").remove(0);
    assert!(
        first.contains("## Agenda: Gateway API community meeting (with GAMMA), 2026-12-01"),
        "{first}"
    );
    assert!(
        first.contains("Slots: Monday 15:00 PT / Tuesday 08:00 PT"),
        "{first}"
    );
    assert!(
        first.contains("### New mesh work since the meeting of 2026-11-23\n\nNone."),
        "{first}"
    );

    // Both replicas restart before the refresh is due; the new ones schedule again: nothing new.
    a.stop().await;
    b.stop().await;
    let store = Arc::new(open().await);
    let (a, b) = (
        replica("a2", store.clone(), &api),
        replica("b2", Arc::new(open().await), &api),
    );
    assert_eq!(a.scheduler.tick().await.unwrap(), 0);
    assert_eq!(b.scheduler.tick().await.unwrap(), 0);

    // A mesh issue opened at 13:00Z; at 15:00Z the refresh edits the same comment to say so.
    let at = DateTime::parse_from_rfc3339("2026-12-01T13:00:00Z").unwrap();
    store
        .apply(&[StateChange::Record(Activity {
            repo: REPO.into(),
            kind: ActivityKind::MeshOpened,
            number: 77,
            detail: "issue".into(),
            at_ms: Some(at.timestamp_millis()),
        })])
        .await
        .unwrap();
    set_now("2026-12-01T15:00:00Z");
    until_requests(&server, "PATCH", "/issues/comments/", 1).await;
    let refreshed = agendas(&github, "2026-12-01T16:00Z");
    assert_eq!(refreshed.len(), 1);
    assert!(refreshed[0].contains("- issue #77\n"), "{}", refreshed[0]);

    // 2026-12-06 23:00Z: the next meeting's first pass, a comment of its own; the meeting after
    // it comes into view and is scheduled.
    set_now("2026-12-06T23:00:00Z");
    assert_eq!(a.scheduler.tick().await.unwrap(), 2);
    assert_eq!(b.scheduler.tick().await.unwrap(), 0);
    until(&github, "the second meeting's agenda", |g| {
        agendas(g, "2026-12-07T23:00Z").len() == 1
    })
    .await;
    a.stop().await;
    b.stop().await;
    assert_eq!(agendas(&github, "2026-12-01T16:00Z").len(), 1);
    assert_eq!(agendas(&github, "2026-12-07T23:00Z").len(), 1);
    assert_eq!(
        requests_to(&server, "POST", &format!("/issues/{ISSUE}/comments")).await,
        2,
        "one comment per meeting"
    );
    assert_eq!(
        requests_to(&server, "PATCH", "/issues/comments/").await,
        1,
        "only the refresh that had news wrote"
    );
}

#[tokio::test]
async fn an_agenda_is_written_once_per_meeting_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    written_once_across_replicas_and_a_restart(|| async { SqliteStore::open(&url).await.unwrap() })
        .await;
}

#[tokio::test]
async fn an_agenda_is_written_once_per_meeting_on_postgres() {
    let Some(url) = common::postgres_url("an_agenda_is_written_once_per_meeting_on_postgres")
    else {
        return;
    };
    let schema = common::unique_schema("agenda");
    written_once_across_replicas_and_a_restart(|| async {
        PgStore::open_in_schema(&url, &schema).await.unwrap()
    })
    .await;
}

/// In a discussion: the comment is added once through GraphQL and edited in place (every query
/// and mutation checked against GitHub's schema by the fake).
#[tokio::test]
async fn an_agenda_in_a_discussion_is_added_once_and_edited() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let github = FakeGitHub::default();
    github.state().discussions.insert(5, Vec::new());
    let server = github.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.unwrap());
    set_now("2026-12-01T12:00:00Z");
    let one = replica_writing_to("a", store.clone(), &server.uri(), Target::Discussion(5));
    assert_eq!(one.scheduler.tick().await.unwrap(), 4);
    let marked = |g: &FakeGitHub| -> Vec<String> {
        g.state().discussions[&5]
            .iter()
            .filter(|c| c.1.contains("<!-- gep-bot:agenda-2026-12-01T16:00Z -->"))
            .map(|c| c.1.clone())
            .collect()
    };
    until(&github, "the agenda in the discussion", |g| {
        marked(g).len() == 1
    })
    .await;
    let at = DateTime::parse_from_rfc3339("2026-12-01T13:00:00Z").unwrap();
    store
        .apply(&[StateChange::Record(Activity {
            repo: REPO.into(),
            kind: ActivityKind::MeshOpened,
            number: 78,
            detail: "pull_request".into(),
            at_ms: Some(at.timestamp_millis()),
        })])
        .await
        .unwrap();
    set_now("2026-12-01T15:00:00Z");
    until(&github, "the refreshed agenda", |g| {
        marked(g)
            .first()
            .is_some_and(|c| c.contains("- pull request #78"))
    })
    .await;
    one.stop().await;
    assert_eq!(
        github.state().discussions[&5].len(),
        1,
        "one comment, edited"
    );
}
