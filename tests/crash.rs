//! The real binary killed with SIGKILL while GitHub holds its answers, then started again on the
//! same database: every delivery stored before the kill is processed, and every label is added
//! exactly once (GitHub's own state, kept by the mock, is the judge).

mod common;

use common::serve;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "crash-secret";

/// What reached GitHub: label calls per issue. While `hold` is set, GitHub applies the call but
/// the answer never arrives in time (the bot is killed waiting for it).
#[derive(Default)]
struct Labels {
    calls_per_issue: Mutex<HashMap<u64, u32>>,
    calls: Mutex<u32>,
    hold: AtomicBool,
}

struct Github(Arc<Labels>);

impl Respond for Github {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let this = &self.0;
        *this.calls.lock().unwrap() += 1;
        let number = common::issue_number(request.url.path());
        *this
            .calls_per_issue
            .lock()
            .unwrap()
            .entry(number)
            .or_insert(0) += 1;
        let template =
            ResponseTemplate::new(200).set_body_json(serde_json::json!([{ "name": "area/mesh" }]));
        if this.hold.load(Ordering::SeqCst) {
            template.set_delay(Duration::from_secs(30))
        } else {
            template
        }
    }
}

/// A GitHub that applies label calls but holds its answers (until `hold` is cleared).
async fn held_github() -> (MockServer, Arc<Labels>) {
    let github = MockServer::start().await;
    let labels = Arc::new(Labels::default());
    labels.hold.store(true, Ordering::SeqCst);
    Mock::given(method("POST"))
        .respond_with(Github(labels.clone()))
        .mount(&github)
        .await;
    (github, labels)
}

/// Waits until the bot has made its first call to GitHub (it now waits on the held answer).
async fn first_call_reached(labels: &Labels) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while *labels.calls.lock().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the bot never called GitHub");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_loses_nothing_and_repeats_nothing() {
    let (github, labels) = held_github().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let port = serve::free_port();
    let client = reqwest::Client::new();

    let mut first = serve::command(port, &db, &github.uri(), SECRET)
        .spawn()
        .unwrap();
    serve::wait_until_answers(&client, port, "/healthz").await;
    let mesh: Vec<u64> = (1..=10).collect();
    for number in 1..=20u64 {
        let title = if mesh.contains(&number) {
            "GAMMA: mesh routing"
        } else {
            "Docs typo"
        };
        let body = common::issue_body(number, title, 7);
        let id = format!("crash-{number}");
        assert_eq!(
            serve::deliver(&client, port, SECRET, "issues", &id, body).await,
            202
        );
    }
    // The bot is now waiting on GitHub's held answer: kill it mid-flight.
    first_call_reached(&labels).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    labels.hold.store(false, Ordering::SeqCst);

    let mut second = serve::command(port, &db, &github.uri(), SECRET)
        .spawn()
        .unwrap();
    serve::wait_until_answers(&client, port, "/healthz").await;
    serve::wait_until_drained(&client, port, Duration::from_secs(30)).await;
    assert_eq!(
        serve::metric(&client, port, "gep_bot_jobs_dead").await,
        Some(0.0)
    );
    second.kill().unwrap();
    second.wait().unwrap();

    let per_issue = labels.calls_per_issue.lock().unwrap().clone();
    let mut labelled: Vec<u64> = per_issue.keys().copied().collect();
    labelled.sort();
    assert_eq!(
        labelled, mesh,
        "every mesh issue labelled, no other: nothing lost"
    );
    // The one call in flight at the kill is made again (adding a present label is a no-op on
    // GitHub); every call that finished before the kill is not repeated.
    let repeated: Vec<_> = per_issue.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2),
        "{per_issue:?}"
    );
    assert_eq!(*labels.calls.lock().unwrap(), 10 + repeated.len() as u32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_gives_claimed_jobs_back() {
    use gep_bot::machinery::store::{SqliteStore, Store};
    let (github, labels) = held_github().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("term.db").display());
    let port = serve::free_port();
    let client = reqwest::Client::new();
    let mut bot = serve::command(port, &db, &github.uri(), SECRET)
        .spawn()
        .unwrap();
    serve::wait_until_answers(&client, port, "/healthz").await;
    let body = common::issue_body(1, "GAMMA: mesh routing", 7);
    assert_eq!(
        serve::deliver(&client, port, SECRET, "issues", "term-1", body).await,
        202
    );
    // The worker has claimed the job and waits on GitHub's held answer.
    first_call_reached(&labels).await;
    let exit = serve::terminate(&mut bot, Duration::from_secs(10))
        .await
        .expect("gep-bot stops on SIGTERM");
    assert!(exit.success(), "{exit:?}");
    let store = SqliteStore::open(&db).await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running),
        (1, 0),
        "the claimed job is queued again for the next start"
    );
}

/// `/gep help` asked on issues 1..=40 and mesh issues 41..=60 opened, ten of each delivered
/// twice, while a GitHub that answers each write 30 ms after making it is served by a bot
/// killed (SIGKILL) three times at random points. Every reply and every label call is made
/// exactly once: a job that ran before looks on GitHub for what it may have written.
async fn effects_exactly_once_across_kills(db: &str) {
    use common::github::FakeGitHub;
    use rand::Rng as _;
    let github = FakeGitHub::default();
    github.state().write_delay = Some(Duration::from_millis(30));
    let server = github.serve().await;
    let port = serve::free_port();
    let client = reqwest::Client::new();
    // A killed process's jobs go to the next one when their lease ends (on PostgreSQL; the
    // embedded store takes them back at start).
    let spawn = || {
        serve::KillOnDrop(
            serve::command(port, db, &server.uri(), SECRET)
                .env("GEP_BOT_LEASE_MS", "1500")
                .spawn()
                .unwrap(),
        )
    };
    let mut bot = spawn();
    serve::wait_until_answers(&client, port, "/healthz").await;
    let (helped, labelled) = (1..=40u64, 41..=60u64);
    let mut deliveries: Vec<(&str, String, Vec<u8>)> = Vec::new();
    for number in helped.clone() {
        let body = common::comment_body(number, "octocat", "/gep help");
        deliveries.push((
            "issue_comment",
            format!("help-{number}"),
            serde_json::to_vec(&body).unwrap(),
        ));
    }
    for number in labelled.clone() {
        let body = common::issue_body(number, "GAMMA: mesh routing", 7);
        deliveries.push(("issues", format!("mesh-{number}"), body));
    }
    for (event, id, body) in &deliveries {
        let status = serve::deliver(&client, port, SECRET, event, id, body.clone()).await;
        assert_eq!(status, 202, "{id}");
    }
    let mut rng = rand::rng();
    for kill in 0..3 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..500))).await;
        drop(bot); // SIGKILL
        bot = spawn();
        serve::wait_until_answers(&client, port, "/healthz").await;
        // Redeliveries of what was acknowledged before: stored once, answered 200.
        for (event, id, body) in deliveries.iter().skip(kill * 5).take(5) {
            let status = serve::deliver(&client, port, SECRET, event, id, body.clone()).await;
            assert_eq!(status, 200, "{id} redelivered");
        }
    }
    serve::wait_until_drained(&client, port, Duration::from_secs(60)).await;
    assert_eq!(
        serve::metric(&client, port, "gep_bot_jobs_dead").await,
        Some(0.0)
    );
    drop(bot);
    for number in helped {
        let replies = github.comments_marked(number, "<!-- gep-bot:reply ");
        assert_eq!(replies.len(), 1, "issue {number}: {replies:#?}");
        assert!(replies[0].contains("/gep help"), "{}", replies[0]);
    }
    let requests = server.received_requests().await.unwrap();
    for number in labelled {
        let calls = requests
            .iter()
            .filter(|r| {
                r.method.as_str() == "POST"
                    && r.url.path().ends_with("/labels")
                    && common::issue_number(r.url.path()) == number
            })
            .count();
        assert_eq!(calls, 1, "issue {number}: label calls");
        assert_eq!(github.labels(number), ["area/mesh"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_labels_are_written_exactly_once_across_kills_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kills.db").display());
    effects_exactly_once_across_kills(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_labels_are_written_exactly_once_across_kills_on_postgres() {
    use gep_bot::machinery::store::PgStore;
    let Some(url) = common::postgres_url("kills") else {
        return;
    };
    let schema = common::unique_schema("kills");
    PgStore::open_in_schema(&url, &schema).await.unwrap();
    effects_exactly_once_across_kills(&PgStore::url_in_schema(&url, &schema)).await;
}
