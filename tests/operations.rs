//! Operating the bot: structured logs that follow a delivery and never show a secret,
//! `gep-bot doctor`, which says in one line each what is wrong, and `gep-bot requeue`, which
//! runs the dead jobs again.

mod common;

use common::serve;

use std::process::Command;
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghp_doNotLogThisTokenAnywhere0000";
const SECRET: &str = "webhook-secret-never-logged";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_delivery_id_and_never_a_secret() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!([{ "name": "area/mesh" }])),
        )
        .mount(&github)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut bot = serve::command(port, &db, &github.uri(), SECRET)
        .env("GEP_BOT_GITHUB_TOKEN", TOKEN)
        .env("GEP_BOT_LOG_FORMAT", "json")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    serve::wait_until_answers(&client, port, "/healthz").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = common::issue_body(3, "GAMMA sidecar routing", 7);
    assert_eq!(
        serve::deliver(
            &client,
            port,
            SECRET,
            "issues",
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            body
        )
        .await,
        202
    );
    while github.received_requests().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no label call");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    bot.kill().unwrap();
    bot.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(TOKEN), "the GitHub token was logged");
    assert!(!text.contains(SECRET), "the webhook secret was logged");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let done = lines
        .iter()
        .find(|l| l["fields"]["message"] == "action done")
        .unwrap_or_else(|| panic!("no 'action done' line in {text}"));
    assert_eq!(
        done["span"]["delivery"],
        "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
    assert_eq!(done["fields"]["kind"], "add_labels");
    let stored = lines
        .iter()
        .find(|l| l["fields"]["message"] == "delivery stored")
        .unwrap();
    assert_eq!(
        stored["fields"]["delivery"],
        "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
}

fn doctor(env: &[(&str, String)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("doctor.db").display());
    gep_bot("doctor", &db, env)
}

/// `gep-bot SUBCOMMAND` from the repository, on the database `db`, with no configuration file
/// and no GitHub credentials but those in `env`; its exit code and standard output.
fn gep_bot(subcommand: &str, db: &str, env: &[(&str, String)]) -> (i32, String) {
    let mut command = Command::new(common::bin());
    command
        .arg(subcommand)
        .current_dir(common::repo())
        .env("GEP_BOT_DATABASE_URL", db)
        .env_remove("GEP_BOT_CONFIG")
        .env_remove("GEP_BOT_GITHUB_TOKEN")
        .env_remove("GEP_BOT_APP_ID")
        .env_remove("GEP_BOT_PRIVATE_KEY_PATH");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_when_everything_answers() {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "resources": { "core": { "limit": 5000, "used": 1, "remaining": 4999, "reset": 1691591363 } },
            "rate": { "limit": 5000, "used": 1, "remaining": 4999, "reset": 1691591363 }
        })))
        .mount(&github)
        .await;
    let uri = github.uri();
    let (code, out) = tokio::task::spawn_blocking(move || {
        doctor(&[
            ("GEP_BOT_WEBHOOK_SECRET", "s".into()),
            ("GEP_BOT_GITHUB_TOKEN", TOKEN.into()),
            ("GEP_BOT_GITHUB_API_URL", uri),
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ok    GitHub: token accepted; 4999 of 5000 requests left this hour"),
        "{out}"
    );
    assert!(out.contains("ok    database: sqlite://"), "{out}");
    assert!(!out.contains(TOKEN));
}

/// The README's quick start (no secret, no credentials, embedded store) is ready: exit 0.
#[test]
fn doctor_passes_the_readme_quick_start() {
    let (code, out) = doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("note  webhook secret"), "{out}");
    assert!(
        out.contains("ok    schedule: ")
            && out.contains("ok    template: the check run applies `geps/gep-696/index.md`"),
        "doctor says which schedule and template are in use: {out}"
    );
}

#[test]
fn doctor_says_in_one_line_each_what_is_wrong() {
    let (code, out) = doctor(&[
        ("GEP_BOT_APP_ID", "12345".into()),
        ("GEP_BOT_PRIVATE_KEY_PATH", "/no/such/key.pem".into()),
        (
            "GEP_BOT_DATABASE_URL",
            "postgres://bot:hunter2@127.0.0.1:1/gep".into(),
        ),
    ]);
    assert_eq!(code, 1);
    let failures: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failures.len(), 2, "{out}");
    assert!(
        failures[0].starts_with("FAIL  database: postgres://***@127.0.0.1:1/gep"),
        "{out}"
    );
    assert!(
        failures[1]
            .starts_with("FAIL  GitHub credentials: cannot read the App key /no/such/key.pem"),
        "{out}"
    );
    // No secret is what a local try has: said, not failed.
    assert!(
        out.contains(
            "note  webhook secret: not set: webhooks are answered 401 (fine for a local try"
        ),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "a password was printed");
}

/// A job refused until its last attempt is dead; `gep-bot doctor` counts it and says what to do;
/// once the cause is fixed, `gep-bot requeue` queues it again for the workers, from the
/// configured database, and leaves the others alone.
#[tokio::test]
async fn requeue_queues_the_dead_jobs_again() {
    use gep_bot::machinery::store::{NewDelivery, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    for id in ["d-dead", "d-queued"] {
        let delivery = NewDelivery {
            id,
            event: "issues",
            body: b"{}",
        };
        store.record(delivery, 1_000).await.unwrap();
    }
    let job = store.claim("w", 2_000, 60_000).await.unwrap().unwrap();
    assert_eq!(job.delivery_id, "d-dead");
    store
        .bury(job.id, "403 Resource not accessible by integration", 3_000)
        .await
        .unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.queued, counts.dead), (1, 1));

    // The operator sees them in `doctor` (and in /metrics), with what to do.
    let (_, doctor) = gep_bot("doctor", &url, &[]);
    let database = doctor.lines().find(|l| l.contains("database:")).unwrap();
    assert!(
        database.ends_with(
            "jobs: 1 queued, 0 running, 1 dead (`gep-bot requeue` runs the dead ones again once their cause is fixed)"
        ),
        "{doctor}"
    );

    let (code, stdout) = gep_bot("requeue", &url, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("queued 1 dead job(s) again in sqlite://"),
        "{stdout}"
    );
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.queued, counts.dead), (2, 0));
    // Queued to run now (the real clock), after the job that was waiting all along.
    let later = gep_bot::machinery::pipeline::now_ms() + 1;
    let first = store.claim("w", later, 60_000).await.unwrap().unwrap();
    let second = store.claim("w", later, 60_000).await.unwrap().unwrap();
    assert_eq!(first.delivery_id, "d-queued");
    assert_eq!(
        (second.delivery_id.as_str(), second.attempts),
        ("d-dead", 1)
    );
}

/// An installed binary has no checkout around it: `serve` started in an empty directory, with
/// only environment variables, comes up and serves the shipped calendar built into it.
#[tokio::test]
async fn serve_in_an_empty_directory_serves_the_built_in_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut child = common::serve::command(port, &db, "http://127.0.0.1:9", "s3cret")
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    common::serve::wait_until_answers(&client, port, "/healthz").await;
    let feed = client
        .get(format!("http://127.0.0.1:{port}/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let text = feed.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR"), "{text}");
    assert!(text.contains("X-WR-CALNAME"), "{text}");
    child.kill().unwrap();
    child.wait().unwrap();
    // And `gep-bot calendar` there too.
    let out = std::process::Command::new(common::bin())
        .args([
            "calendar",
            "--list",
            "--from",
            "2022-10-30",
            "--to",
            "2022-11-10",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2022-11-01"));
}

/// One process serves an SQLite file: a second `serve` on the same database exits at once,
/// saying which process holds it, before it touches the queue; on the same port it stops at
/// the port, before the database.
#[tokio::test]
async fn a_second_serve_on_the_same_sqlite_file_exits_at_once_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let port = common::serve::free_port();
    let mut first = common::serve::command(port, &db, "http://127.0.0.1:9", "s3cret")
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    common::serve::wait_until_answers(&client, port, "/healthz").await;
    let second = common::serve::command(
        common::serve::free_port(),
        &db,
        "http://127.0.0.1:9",
        "s3cret",
    )
    .stderr(std::process::Stdio::piped())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("served by another gep-bot (pid {})", first.id())),
        "{stderr}"
    );
    let other_db = format!("sqlite://{}", dir.path().join("other.db").display());
    let same_port = common::serve::command(port, &other_db, "http://127.0.0.1:9", "s3cret")
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&same_port.stderr);
    assert_eq!(same_port.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(
        !dir.path().join("other.db").exists(),
        "the database was not touched"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock goes with the process, however it ended.
    let port = common::serve::free_port();
    let mut again = common::serve::command(port, &db, "http://127.0.0.1:9", "s3cret")
        .spawn()
        .unwrap();
    common::serve::wait_until_answers(&client, port, "/healthz").await;
    again.kill().unwrap();
    again.wait().unwrap();
}

/// The threads of a running process by name, with each one's nice value (`/proc`, Linux).
#[cfg(target_os = "linux")]
fn threads_and_nice(pid: u32) -> Vec<(String, i64)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let task = task.unwrap().path();
            let name = std::fs::read_to_string(task.join("comm")).unwrap();
            let stat = std::fs::read_to_string(task.join("stat")).unwrap();
            // After the name in parentheses: the state is field 3, the nice value field 19.
            let (_, fields) = stat.rsplit_once(')').unwrap();
            let nice = fields.split_whitespace().nth(16).unwrap().parse().unwrap();
            (name.trim().to_owned(), nice)
        })
        .collect()
}

/// When the machine is short of CPU, intake (which GitHub waits for) comes before the worker
/// (whose jobs wait, stored): the worker has a thread of its own at nice 10, the rest stays at 0.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_worker_runs_on_a_thread_of_its_own_below_intakes_priority() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let child = serve::KillOnDrop(
        serve::command(port, &db, "http://127.0.0.1:9", SECRET)
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    serve::wait_until_answers(&client, port, "/healthz").await;
    let threads = threads_and_nice(child.0.id());
    let workers: Vec<_> = threads
        .iter()
        .filter(|(name, _)| name == "gep-bot-worker")
        .collect();
    assert_eq!(workers.len(), 1, "one worker thread: {threads:?}");
    assert_eq!(workers[0].1, 10, "{threads:?}");
    let intake: Vec<_> = threads
        .iter()
        .filter(|(name, _)| name == "tokio-rt-worker")
        .collect();
    assert!(!intake.is_empty(), "{threads:?}");
    assert!(intake.iter().all(|(_, nice)| *nice == 0), "{threads:?}");
}
