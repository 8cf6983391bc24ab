//! `gep-bot status N --repo-dir DIR`: the status report, offline, on real GEPs.

mod common;

use std::process::Command;

fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::corpus(), dir.path().join("geps")).unwrap();
    dir
}

fn status(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::bin())
        .arg("status")
        .args(args)
        .arg("--repo-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_implementable_gep_says_what_experimental_requires() {
    let dir = checkout();
    let (code, out, _) = status(dir.path(), &["3949"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "GEP-3949: Mesh Resource");
    assert_eq!(lines[1], "Status: Implementable");
    assert!(lines[2].starts_with("Next: Experimental - needs "), "{out}");
    assert!(
        lines[2].ends_with("a feature name in metadata.yaml"),
        "{out}"
    );
    assert!(out.contains("Findings: 0 errors"), "{out}");
}

#[test]
fn json_carries_the_same_report() {
    let dir = checkout();
    let (code, out, _) = status(dir.path(), &["1686", "--format", "json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["number"], 1686);
    assert_eq!(report["title"], "Mesh conformance testing plan");
    assert_eq!(report["status"], "Standard");
    assert_eq!(report["next"][0]["status"], "Completed");
    assert!(report["findings"].is_array());
}

#[test]
fn a_declined_gep_is_final_and_its_errors_are_listed() {
    let dir = checkout();
    let (_, out, _) = status(dir.path(), &["1651"]);
    assert!(
        out.contains("Status: Declined\nNext: none (this status is final)"),
        "{out}"
    );
    assert!(out.contains("error[GEP010]"), "{out}");
}

#[test]
fn a_repo_dir_without_geps_exits_two_saying_where_it_looked() {
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = status(empty.path(), &["1686"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains(&format!("no {}/geps folder", empty.path().display())),
        "{err}"
    );
    assert!(err.contains("--repo-dir"), "{err}");
}

#[test]
fn an_unknown_gep_exits_one_with_a_reason() {
    let dir = checkout();
    let (code, out, err) = status(dir.path(), &["9999"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("GEP-9999 does not exist"), "{err}");
}

#[test]
fn an_unreadable_gep_folder_says_why_not_that_it_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let geps = dir.path().join("geps");
    std::fs::create_dir(&geps).unwrap();
    std::os::unix::fs::symlink("gep-2", geps.join("gep-2")).unwrap();
    let (code, _, err) = status(dir.path(), &["2"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("does not exist"), "{err}");
    assert!(
        err.contains("cannot read") && err.contains("symbolic links"),
        "{err}"
    );
}

#[test]
fn an_empty_template_is_a_usage_error_not_a_pass() {
    let dir = checkout();
    let (code, out, err) = status(dir.path(), &["1686", "--template", "/dev/null"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("would check nothing"), "{err}");
}
