//! `gep-bot validate` as a contributor and CI run it: formats and exit codes.

mod common;

use std::process::{Command, Output};

fn validate(args: &[&str]) -> Output {
    Command::new(common::bin())
        .arg("validate")
        .args(args)
        .output()
        .expect("gep-bot runs")
}

fn gep_dir(root: &std::path::Path, n: u32, status: &str) -> std::path::PathBuf {
    let dir = root.join(format!("geps/gep-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.md"),
        format!("---\ntitle: \"GEP-{n}: Mesh things\"\n---\n\n* Issue: [#{n}](https://github.com/o/r/issues/{n})\n* Status: {status}\n\n## TLDR\n\nMesh things.\n\n## Goals\n\n* one\n\n## Non-Goals\n\n* two\n\n## Introduction\n\nWhat.\n\n## Purpose\n\nWhy.\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("metadata.yaml"),
        format!("apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: {n}\nname: Mesh things\nstatus: Provisional\nauthors:\n  - mikemorris\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_clean_folder_exits_zero_with_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    gep_dir(tmp.path(), 10, "Provisional");
    let out = validate(&[tmp.path().join("geps").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0 errors, 0 warnings in 1 GEP"
    );
}

#[test]
fn errors_exit_one_and_point_at_the_line_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = gep_dir(tmp.path(), 11, "Implementable");
    let path = dir.to_str().unwrap();

    let human = validate(&[path]);
    assert_eq!(human.status.code(), Some(1));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("error[GEP010]: GEP-11: Status is \"Implementable\" here but \"Provisional\" in metadata.yaml"), "{text}");
    assert!(text.contains("index.md:6:1"), "{text}");
    assert!(text.contains("6 | * Status: Implementable"), "{text}");

    let json = validate(&[path, "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&json.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["code"], "GEP010");
    assert_eq!(first["line"], 6);

    let github = validate(&[path, "--format", "github"]);
    let text = String::from_utf8_lossy(&github.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error file=") && l.contains(",line=6,col=1,title=GEP010::")),
        "{text}"
    );
}

#[test]
fn warnings_alone_exit_zero_unless_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = gep_dir(tmp.path(), 12, "Provisional");
    let index = dir.join("index.md");
    let text = std::fs::read_to_string(&index)
        .unwrap()
        .replace("Why.", "(What is out of scope for this proposal.) Why.");
    std::fs::write(&index, text.replace("## Non-Goals\n\n* two\n\n", "")).unwrap();
    let path = dir.to_str().unwrap();
    let out = validate(&[path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning[GEP011]"));
    let strict = validate(&[path, "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn a_single_file_reports_only_its_own_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = gep_dir(tmp.path(), 13, "Implementable");
    std::fs::write(dir.join("metadata.yaml"), "kind: Wrong\n").unwrap();
    let out = validate(&[dir.join("index.md").to_str().unwrap(), "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() > 0);
    assert!(text.lines().all(|l| l.contains("index.md")), "{text}");
}

#[test]
fn run_where_there_is_no_geps_folder_it_says_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(common::bin())
        .arg("validate")
        .current_dir(empty.path())
        .output()
        .unwrap();
    let err = common::usage_error(&out);
    assert!(
        err.contains("geps: no such file or directory (run it in a checkout"),
        "{err}"
    );
}

#[test]
fn a_missing_path_or_template_is_a_one_line_usage_error() {
    let err = common::usage_error(&validate(&["/no/such/geps"]));
    assert!(
        err.contains("/no/such/geps: no such file or directory"),
        "{err}"
    );

    let tmp = tempfile::tempdir().unwrap();
    gep_dir(tmp.path(), 14, "Provisional");
    let out = validate(&[
        tmp.path().join("geps").to_str().unwrap(),
        "--template",
        "/no/template.md",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = validate(&["--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn upstream_template_validates_itself_through_the_command_line() {
    let template = common::corpus().join("gep-696/index.md");
    let out = validate(&[
        template.to_str().unwrap(),
        "--template",
        template.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_real_corpus_has_errors_and_says_where() {
    let out = validate(&[common::corpus().to_str().unwrap(), "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gep-1651/index.md,line=6,col=1,title=GEP010::GEP-1651: Status is \"Provisional\" here but \"Declined\" in metadata.yaml"), "{text}");
}

use common::git;

#[test]
fn with_a_base_only_what_the_change_introduces_is_an_error_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // At the base the GEP already leaves a placeholder: an old gap.
    let dir = gep_dir(root, 10, "Provisional");
    let index = dir.join("index.md");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        format!("{text}\n## Notes\n\n(Outcomes this proposal leaves for later but should not rule out.)\n"),
    )
    .unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    git(root, &["checkout", "-q", "-b", "work"]);
    let run = |format: &str| {
        Command::new(common::bin())
            .current_dir(root)
            .args(["validate", "--base", "main", "--format", format])
            .output()
            .unwrap()
    };
    // A typo fixed: the old placeholder is a notice, and the command passes.
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace("Mesh things.", "Mesh things, fixed.")).unwrap();
    let out = run("human");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "note[GEP013]: template placeholder left in the document (already so at main)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 errors, 0 warnings, 1 notice in 1 GEP"),
        "{stdout}"
    );
    assert!(stdout.contains("1 finding already so at main"), "{stdout}");
    // An H1 written by the change: an error, as a workflow annotation too.
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace("## TLDR", "# Mesh things\n\n## TLDR")).unwrap();
    let out = run("github");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("::error file=geps/gep-10/index.md,line=8,col=1,title=GEP005::"),
        "{stdout}"
    );
    assert!(
        stdout.contains("::notice file=geps/gep-10/index.md"),
        "{stdout}"
    );
    // A GEP added and not yet committed is the change's own as well.
    gep_dir(root, 11, "Standard");
    let out = run("json");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"file\":\"geps/gep-11/index.md\""),
        "{stdout}"
    );
}

#[test]
fn a_base_that_is_no_commit_or_no_checkout_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    gep_dir(tmp.path(), 10, "Provisional");
    let run = || {
        Command::new(common::bin())
            .current_dir(tmp.path())
            .args(["validate", "--base", "main"])
            .output()
            .unwrap()
    };
    let err = common::usage_error(&run());
    assert!(err.contains("--base needs a git checkout"), "{err}");
    git(tmp.path(), &["init", "-q", "-b", "trunk"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "base"]);
    let err = common::usage_error(&run());
    assert!(
        err.contains("--base main: no such commit or branch"),
        "{err}"
    );
}

#[test]
fn a_gep_folder_whose_number_does_not_fit_is_named_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    gep_dir(tmp.path(), 14, "Provisional");
    std::fs::create_dir_all(tmp.path().join("geps/gep-99999999999999999999")).unwrap();
    for path in ["geps", "geps/gep-99999999999999999999"] {
        let err = common::usage_error(&validate(&[tmp.path().join(path).to_str().unwrap()]));
        assert!(
            err.contains("gep-99999999999999999999: a GEP number is"),
            "{err}"
        );
        assert!(!err.contains("no gep-N folders"), "{err}");
    }
}

#[test]
fn an_empty_template_is_a_usage_error_not_a_silent_pass() {
    let tmp = tempfile::tempdir().unwrap();
    gep_dir(tmp.path(), 14, "Provisional");
    let err = common::usage_error(&validate(&[
        tmp.path().join("geps").to_str().unwrap(),
        "--template",
        "/dev/null",
    ]));
    assert!(
        err.contains("/dev/null") && err.contains("would check nothing"),
        "{err}"
    );
}

/// The README tells a newcomer what `validate` says of the shared copy of upstream's GEPs, and
/// that it is expected: it must say what the command really prints.
#[test]
fn the_readme_quotes_what_validate_says_of_the_real_corpus() {
    let out = validate(&[common::corpus().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.trim_end().lines().last().unwrap();
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let quoted = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        quoted.contains(&format!("\"{summary}\"")),
        "README.md should quote {summary:?}"
    );
}
