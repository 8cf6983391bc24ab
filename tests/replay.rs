//! `gep-bot replay`: the handlers on saved bodies, printing the plan.

mod common;

use common::github::FakeGitHub;

use std::process::Command;

fn replay(file: &std::path::Path, event: &str, format: &str) -> (i32, String) {
    replay_with(file, event, format, &[])
}

/// `gep-bot replay` with `env` set, in an empty directory (no `bot.toml`).
fn replay_with(
    file: &std::path::Path,
    event: &str,
    format: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let out = Command::new(common::bin())
        .args([
            "replay",
            file.to_str().unwrap(),
            "--event",
            event,
            "--format",
            format,
        ])
        .env_remove("GEP_BOT_GITHUB_TOKEN")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_mesh_issue_replays_as_one_add_labels_action_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("issue.json");
    std::fs::write(
        &file,
        common::issue_body(5, "GAMMA: service mesh routing", 7),
    )
    .unwrap();
    let (code, out) = replay(&file, "issues", "json");
    assert_eq!(code, 0);
    let (lines, state): (Vec<serde_json::Value>, Vec<serde_json::Value>) = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .partition(|l| l["kind"] != "record");
    assert_eq!(lines.len(), 1, "{out}");
    // After the action, what the store would remember: a mesh issue opened, dated by the payload.
    assert_eq!(state.len(), 1, "{out}");
    assert_eq!(state[0]["activity"], "mesh_opened");
    assert_eq!(state[0]["at_ms"], 1_557_933_618_000_i64);
    assert_eq!(lines[0]["kind"], "add_labels");
    assert_eq!(lines[0]["labels"], serde_json::json!(["area/mesh"]));
    assert_eq!(lines[0]["target"]["number"], 5);
    let (_, human) = replay(&file, "issues", "human");
    let human: Vec<&str> = human.trim().lines().collect();
    assert_eq!(human[0], "add_labels Codertocat/Hello-World#5: area/mesh");
    assert!(
        human[1].starts_with("remember: {\"kind\":\"record\""),
        "{human:?}"
    );
    assert_eq!(human.len(), 2);
}

#[test]
fn a_real_non_mesh_body_plans_nothing_and_a_missing_file_exits_two() {
    let file = common::shared().join("fixtures/octokit-webhooks/issues/opened.payload.json");
    let (code, out) = replay(&file, "issues", "human");
    assert_eq!((code, out.trim()), (0, "no actions"));
    let (code, _) = replay(std::path::Path::new("/no/such/body.json"), "issues", "json");
    assert_eq!(code, 2);
}

#[test]
fn a_body_that_is_not_json_exits_two_saying_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.json");
    std::fs::write(&file, "{\"action\": \"opened\"").unwrap();
    let out = Command::new(common::bin())
        .args(["replay", file.to_str().unwrap(), "--event", "issues"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = common::usage_error(&out);
    assert!(
        stderr.contains("cut.json: the body is not JSON: EOF"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("EOF while parsing").count(), 1, "{stderr}");
}

/// With a token, replay reads what the handlers need from GitHub (here a fake one), so a GEP pull
/// request replays as the template result the worker would publish (a token cannot write check
/// runs: a `gep/template` commit status), and nothing is written to GitHub.
#[tokio::test]
async fn a_gep_pull_request_replays_as_its_check_run_when_github_can_be_read() {
    let github = FakeGitHub::default();
    {
        let mut state = github.state();
        let files = ["index.md", "metadata.yaml"].map(|f| format!("geps/gep-3949/{f}"));
        for (sha, file) in [("h1", &files[0]), ("h1", &files[1]), ("base", &files[1])] {
            let text = std::fs::read_to_string(common::corpus().join(&file["geps/".len()..]));
            state
                .files
                .insert((sha.into(), file.clone()), text.unwrap());
        }
        state
            .pulls
            .insert(12, ("someone".into(), "h1".into(), files.to_vec()));
    }
    let server = github.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pull.json");
    std::fs::write(&file, common::pull_request_body(12, "opened", "h1", "base")).unwrap();
    let uri = server.uri();
    let (code, out) = tokio::task::spawn_blocking(move || {
        let env = [
            ("GEP_BOT_GITHUB_TOKEN", "ghp_test"),
            ("GEP_BOT_GITHUB_API_URL", uri.as_str()),
        ];
        replay_with(&file, "pull_request", "json", &env)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let kinds: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|l| l["kind"].as_str().map(String::from))
        .collect();
    assert!(kinds.contains(&"set_commit_status".to_string()), "{out}");
    assert!(out.contains("\"context\":\"gep/template\""), "{out}");
    assert!(!kinds.contains(&"create_check_run".to_string()), "{out}");
    let received = server.received_requests().await.unwrap();
    assert!(
        received.iter().all(|r| r.method.as_str() == "GET"),
        "replay only reads: {:?}",
        received
            .iter()
            .map(|r| (r.method.as_str(), r.url.path()))
            .collect::<Vec<_>>()
    );
    assert!(github.state().check_runs.is_empty());
}

/// GEP-3949 promoted to Experimental with no feature name, as the fake GitHub serves it.
fn a_failing_gep_pull_request(github: &FakeGitHub) {
    let mut state = github.state();
    let files = ["index.md", "metadata.yaml"].map(|f| format!("geps/gep-3949/{f}"));
    for file in &files {
        let text = std::fs::read_to_string(common::corpus().join(&file["geps/".len()..])).unwrap();
        state
            .files
            .insert(("base".into(), file.clone()), text.clone());
        let promoted = text
            .replace("status: Implementable", "status: Experimental")
            .replace("* Status: Implementable", "* Status: Experimental");
        state.files.insert(("h1".into(), file.clone()), promoted);
    }
    state
        .pulls
        .insert(12, ("someone".into(), "h1".into(), files.to_vec()));
}

/// The kinds of a plan's actions, with what tells them apart: the check run's conclusion, the
/// comment's marker, the status's context.
fn described(action: &serde_json::Value) -> String {
    let kind = action["kind"].as_str().unwrap_or_default();
    match kind {
        "create_check_run" => format!("{kind} {}", action["conclusion"].as_str().unwrap()),
        "create_comment" => format!("{kind} {}", action["marker"].as_str().unwrap()),
        "set_commit_status" => format!(
            "{kind} {} {}",
            action["context"].as_str().unwrap(),
            action["state"].as_str().unwrap()
        ),
        _ => kind.to_owned(),
    }
}

#[tokio::test]
async fn serve_in_dry_run_with_credentials_reads_github_logs_the_plan_and_writes_nothing() {
    let github = FakeGitHub::default();
    a_failing_gep_pull_request(&github);
    let server = github.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let log = dir.path().join("serve.log");
    let mut child = common::serve::command(port, &db, &server.uri(), "s3cret")
        .env("GEP_BOT_DRY_RUN", "1")
        .env("GEP_BOT_LOG_FORMAT", "json")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    common::serve::wait_until_answers(&client, port, "/healthz").await;
    let body = common::pull_request_body(12, "opened", "h1", "base");
    let status =
        common::serve::deliver(&client, port, "s3cret", "pull_request", "d-1", body.clone()).await;
    assert_eq!(status, 202);
    common::serve::wait_until_drained(&client, port, std::time::Duration::from_secs(20)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let logged: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "dry-run: not sent")
        .map(|l| {
            let action = l["fields"]["action"].as_str().unwrap().to_owned();
            described(&serde_json::from_str(&action).unwrap())
        })
        .collect();
    for expected in [
        "set_commit_status gep/template failure",
        "create_comment <!-- gep-bot:lead-review -->",
        "set_commit_status gep/lead-review pending",
    ] {
        assert!(
            logged.iter().any(|l| l == expected),
            "{expected} not in {logged:?}"
        );
    }
    let received = server.received_requests().await.unwrap();
    assert!(
        received.iter().all(|r| r.method.as_str() == "GET"),
        "dry-run writes nothing: {:?}",
        received
            .iter()
            .map(|r| (r.method.as_str(), r.url.path()))
            .collect::<Vec<_>>()
    );
    assert!(received.iter().any(|r| {
        r.url
            .path()
            .ends_with("/contents/geps/gep-3949/metadata.yaml")
    }));

    // Replay with the same credentials plans the same.
    let file = dir.path().join("pull.json");
    std::fs::write(&file, body).unwrap();
    let uri = server.uri();
    let (code, out) = tokio::task::spawn_blocking(move || {
        let env = [
            ("GEP_BOT_GITHUB_TOKEN", "ghp_test"),
            ("GEP_BOT_GITHUB_API_URL", uri.as_str()),
        ];
        replay_with(&file, "pull_request", "json", &env)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let replayed: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        // The state changes replay prints after the actions are not actions.
        .filter(|l| {
            !matches!(
                l["kind"].as_str(),
                Some("save_review" | "suppress_label" | "allow_label" | "record")
            )
        })
        .map(|l| described(&l))
        .collect();
    let mut logged_sorted = logged.clone();
    logged_sorted.sort();
    let mut replayed_sorted = replayed;
    replayed_sorted.sort();
    assert_eq!(logged_sorted, replayed_sorted);
}

/// A person running a command sees its result, not the libraries' info lines (sqlx announced
/// each migration with a source path on standard error).
#[test]
fn replay_writes_nothing_to_stderr_when_all_is_well() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("issue.json");
    std::fs::write(&file, common::issue_body(5, "service mesh", 7)).unwrap();
    let out = Command::new(common::bin())
        .args(["replay", file.to_str().unwrap(), "--event", "issues"])
        .env_remove("GEP_BOT_LOG")
        .env_remove("GEP_BOT_GITHUB_TOKEN")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    // Only the command's own word (that it is offline), no log line of any library.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().all(|l| l.starts_with("gep-bot: offline")),
        "{stderr}"
    );
}
