//! `gep-bot replay`: the handlers on saved bodies, printing the plan.

mod common;

use std::process::Command;

fn replay(file: &std::path::Path, event: &str, format: &str) -> (i32, String) {
    let out = Command::new(common::bin())
        .args([
            "replay",
            file.to_str().unwrap(),
            "--event",
            event,
            "--format",
            format,
        ])
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
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["kind"], "add_labels");
    assert_eq!(lines[0]["labels"], serde_json::json!(["area/mesh"]));
    assert_eq!(lines[0]["target"]["number"], 5);
    let (_, human) = replay(&file, "issues", "human");
    assert_eq!(
        human.trim(),
        "add_labels Codertocat/Hello-World#5: area/mesh"
    );
}

#[test]
fn a_real_non_mesh_body_plans_nothing_and_a_missing_file_exits_two() {
    let file = common::shared().join("fixtures/octokit-webhooks/issues/opened.payload.json");
    let (code, out) = replay(&file, "issues", "human");
    assert_eq!((code, out.trim()), (0, "no actions"));
    let (code, _) = replay(std::path::Path::new("/no/such/body.json"), "issues", "json");
    assert_eq!(code, 2);
}
