//! Operating the bot: structured logs that follow a delivery and never show a secret, and
//! `gep-bot doctor`, which says in one line each what is wrong.

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
    let mut command = Command::new(common::bin());
    command
        .arg("doctor")
        .current_dir(common::repo())
        .env(
            "GEP_BOT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("doctor.db").display()),
        )
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
    assert_eq!(failures.len(), 3, "{out}");
    assert!(
        failures[0].starts_with("FAIL  webhook secret: GEP_BOT_WEBHOOK_SECRET is not set"),
        "{out}"
    );
    assert!(
        failures[1].starts_with("FAIL  database: postgres://***@127.0.0.1:1/gep"),
        "{out}"
    );
    assert!(
        failures[2]
            .starts_with("FAIL  GitHub credentials: cannot read the App key /no/such/key.pem"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "a password was printed");
}
