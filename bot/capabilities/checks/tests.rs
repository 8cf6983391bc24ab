//! Table tests of the check run: (files at head, statuses at base) -> check run.

use super::*;
use std::collections::BTreeSet;

use crate::domain::gep::Status;
use crate::domain::validate::{GepFiles, GepSet, SourceText, Template};

const METADATA: &str = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 42\nname: Mesh retries\nstatus: STATUS\nauthors:\n  - keithmattix\nFEATURES";

fn index(status: &str, body: &str) -> String {
    format!(
        "---\ntitle: \"GEP-42: Mesh retries\"\n---\n\n* Issue: [#42](https://github.com/o/r/issues/42)\n* Status: {status}\n\n## TLDR\n\nRetries.\n\n## Goals\n\n* a\n\n## Non-Goals\n\n* b\n\n## Introduction/Overview\n\nc\n\n## Purpose (Why and Who)\n\nd\n{body}"
    )
}

fn gep(number: u32, status: &str, body: &str, features: &str) -> GepFiles {
    let dir = format!("geps/gep-{number}");
    GepFiles {
        dir: dir.clone().into(),
        number: Some(number),
        index: Some(SourceText::new(
            format!("{dir}/index.md"),
            index(status, body).replace("42", &number.to_string()),
        )),
        metadata: Some(SourceText::new(
            format!("{dir}/metadata.yaml"),
            METADATA
                .replace("42", &number.to_string())
                .replace("STATUS", status)
                .replace("FEATURES", features),
        )),
        checked: true,
    }
}

fn head(status: &str, body: &str, features: &str) -> GepSet {
    GepSet {
        geps: vec![gep(42, status, body, features)],
        only_files: None,
    }
}

/// The check run of a pull request taking `base` to `head`.
fn judge(head: &GepSet, base: &GepSet) -> (String, String, Vec<Annotation>, String) {
    let template = Template::builtin();
    let known = |set: &GepSet| set.geps.iter().filter_map(|g| g.number).collect();
    let plan = plan(&Input {
        repo: "o/r",
        pull: 42,
        head_sha: "abc",
        change: Change {
            head,
            base,
            known_head: &known(head),
            known_base: &known(base),
            template: &template,
            features_head: None,
            features_base: None,
        },
    });
    match &plan.actions[..] {
        [
            Action::CreateCheckRun {
                conclusion,
                title,
                annotations,
                name,
                head_sha,
                summary,
                ..
            },
        ] => {
            assert_eq!((name.as_str(), head_sha.as_str()), (CHECK_NAME, "abc"));
            (
                conclusion.clone(),
                title.clone(),
                annotations.clone(),
                summary.clone(),
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A pull request on GEP-42 from a base at `base` status (none: the pull request adds it).
fn run(set: &GepSet, base: Option<Status>, _changed: &[&str]) -> (String, String, Vec<Annotation>) {
    let base = GepSet {
        geps: base
            .map(|status| gep(42, status.as_str(), "", ""))
            .into_iter()
            .collect(),
        only_files: None,
    };
    let (conclusion, title, annotations, _) = judge(set, &base);
    (conclusion, title, annotations)
}

#[test]
fn a_clean_provisional_gep_passes() {
    let (conclusion, title, annotations) = run(
        &head("Provisional", "", ""),
        None,
        &["geps/gep-42/index.md"],
    );
    assert_eq!(conclusion, "success", "{annotations:?}");
    assert_eq!(title, "0 errors in 1 GEP");
}

#[test]
fn a_gap_the_base_had_is_a_notice_and_a_new_one_an_error() {
    // API, Request flow, ... missing at Implementable, at the base already: the typo fix that
    // touches the file does not own them.
    let set = head("Implementable", "\n## Motivation\n\nA typo fixed.\n", "");
    let base = GepSet {
        geps: vec![gep(42, "Implementable", "", "")],
        only_files: None,
    };
    let (conclusion, title, annotations, summary) = judge(&set, &base);
    assert_eq!(conclusion, "success", "{annotations:#?}");
    assert!(!annotations.is_empty());
    assert!(annotations.iter().all(|a| a.annotation_level == "notice"));
    assert!(
        annotations
            .iter()
            .any(|a| a.title == "GEP011 (existed before this pull request)"
                && a.path == "geps/gep-42/index.md"
                && a.start_line == 6)
    );
    let before = annotations.len();
    assert!(
        title.ends_with(&format!("; {before} findings existed before")),
        "{title}"
    );
    assert!(
        summary.contains(&format!(
            "{before} findings existed before this pull request"
        )),
        "{summary}"
    );
    // A placeholder the pull request writes is its own.
    let set = head(
        "Implementable",
        "\n## Motivation\n\n(What this proposal deliberately leaves out of scope.)\n",
        "",
    );
    let (conclusion, _, annotations, _) = judge(&set, &base);
    assert_eq!(conclusion, "failure");
    let errors: Vec<_> = annotations
        .iter()
        .filter(|a| a.annotation_level == "failure")
        .map(|a| (a.title.as_str(), a.start_line))
        .collect();
    assert_eq!(errors, [("GEP013", 30)], "{annotations:#?}");
}

#[test]
fn a_promotion_in_metadata_alone_fails_for_the_disagreement_and_warns_of_sections_owed_before() {
    let base = GepSet {
        geps: vec![gep(42, "Provisional", "", "")],
        only_files: None,
    };
    let mut promoted = head("Implementable", "", "");
    // Only metadata.yaml moves; index.md still says Provisional at the base's text.
    promoted.geps[0].index = base.geps[0].index.clone();
    let (conclusion, _, annotations, _) = judge(&promoted, &base);
    assert_eq!(conclusion, "failure");
    let errors: Vec<_> = annotations
        .iter()
        .filter(|a| a.annotation_level == "failure")
        .map(|a| a.title.as_str())
        .collect();
    // The two files disagree: the pull request's own doing.
    assert!(errors.contains(&"GEP010"), "{errors:?}");
    // The sections Implementable asks for were missing at the base too (issue 36): warnings,
    // held to the status the promotion names, whichever file names it.
    assert!(!errors.contains(&"GEP011"), "{errors:?}");
    let warned: Vec<_> = annotations
        .iter()
        .filter(|a| a.annotation_level == "warning" && a.title == "GEP011")
        .collect();
    assert!(!warned.is_empty(), "{annotations:#?}");
    assert!(
        warned
            .iter()
            .all(|a| a.message.contains("required at status Implementable")
                && a.message.contains("the promotion asks for it")),
        "{warned:#?}"
    );
}

#[test]
fn a_renamed_gep_is_judged_against_the_gep_it_was() {
    let base = GepSet {
        geps: vec![gep(4488, "Implementable", "", "")],
        only_files: None,
    };
    let set = GepSet {
        geps: vec![gep(4894, "Implementable", "", "")],
        only_files: None,
    };
    let (conclusion, _, annotations, summary) = judge(&set, &base);
    assert_eq!(conclusion, "success", "{annotations:#?}");
    assert!(!annotations.iter().any(|a| a.title == "GEP050"));
    assert!(summary.contains("renamed from GEP-4488"), "{summary}");
    // Without the base it would be a new GEP starting at Implementable.
    let (conclusion, _, annotations, _) = judge(&set, &GepSet::default());
    assert_eq!(conclusion, "failure");
    assert!(annotations.iter().any(|a| a.title == "GEP050"));
}

#[test]
fn a_check_run_annotates_at_most_fifty_errors_first_and_lists_the_rest() {
    // Ten GEPs with old gaps and one new defect in the last.
    let mut base = GepSet::default();
    let mut set = GepSet::default();
    for number in 100..110 {
        base.geps.push(gep(
            number,
            "Standard",
            "",
            "featureNames:\n  - HTTPRouteX\n",
        ));
        set.geps.push(gep(
            number,
            "Standard",
            "",
            "featureNames:\n  - HTTPRouteX\n",
        ));
    }
    let last = set.geps.last_mut().unwrap();
    let text = last
        .index
        .as_ref()
        .unwrap()
        .text()
        .replace("## TLDR", "# Oops\n\n## TLDR");
    last.index = Some(SourceText::new("geps/gep-109/index.md", text));
    let (conclusion, _, annotations, summary) = judge(&set, &base);
    assert_eq!(conclusion, "failure");
    assert_eq!(annotations.len(), MAX_ANNOTATIONS);
    assert_eq!(annotations[0].title, "GEP005");
    assert_eq!(annotations[0].path, "geps/gep-109/index.md");
    assert!(summary.contains("more findings not annotated"), "{summary}");
}

#[test]
fn a_name_that_differs_from_the_title_is_only_a_notice() {
    let mut set = head("Provisional", "", "");
    let metadata = set.geps[0].metadata.as_ref().unwrap();
    let text = metadata
        .text()
        .replace("name: Mesh retries", "name: Retries for mesh");
    set.geps[0].metadata = Some(SourceText::new(metadata.path(), text));
    let (conclusion, title, annotations) = run(&set, None, &[]);
    assert_eq!(conclusion, "success", "{annotations:#?}");
    assert_eq!(annotations[0].title, "GEP025");
    assert_eq!(annotations[0].annotation_level, "notice");
    assert_eq!(title, "0 errors in 1 GEP, 1 notice");
}

#[test]
fn skipping_from_provisional_to_standard_fails_on_the_status_line() {
    let (conclusion, _, annotations) = run(
        &head("Standard", "", "featureNames:\n  - HTTPRouteMeshRetry\n"),
        Some(Status::Provisional),
        &["geps/gep-42/metadata.yaml"],
    );
    assert_eq!(conclusion, "failure");
    let skip = annotations
        .iter()
        .find(|a| a.title == "GEP050")
        .expect("a lifecycle finding");
    assert_eq!(
        (skip.path.as_str(), skip.start_line),
        ("geps/gep-42/metadata.yaml", 5)
    );
    assert!(skip.message.contains("from Provisional to Standard"));
}

#[test]
fn moving_to_experimental_needs_a_feature_name() {
    let (_, _, annotations) = run(
        &head("Experimental", "", ""),
        Some(Status::Implementable),
        &["geps/gep-42/metadata.yaml"],
    );
    assert!(annotations.iter().any(|a| a.title == "GEP051"));
}

#[test]
fn related_geps_are_read_from_relationships() {
    let text = "relationships:\n  extends:\n    - number: 1324\n      name: x\n  seeAlso:\n    - number: 713\n      name: y\n";
    assert_eq!(related_geps(text), BTreeSet::from([713, 1324]));
    assert_eq!(related_geps("not: [valid"), BTreeSet::new());
}

#[test]
fn an_obsoletes_the_other_gep_does_not_answer_fails_the_check() {
    let mut set = head(
        "Provisional",
        "",
        "relationships:\n  obsoletes:\n    - number: 1\n      name: Old\n",
    );
    set.geps.push(GepFiles {
        dir: "geps/gep-1".into(),
        number: Some(1),
        index: None,
        metadata: Some(SourceText::new(
            "geps/gep-1/metadata.yaml",
            METADATA
                .replace("42", "1")
                .replace("STATUS", "Standard")
                .replace("FEATURES", ""),
        )),
        checked: false,
    });
    let (conclusion, _, annotations) = run(
        &set,
        Some(Status::Provisional),
        &["geps/gep-42/metadata.yaml"],
    );
    assert_eq!(conclusion, "failure");
    assert!(
        annotations
            .iter()
            .any(|a| a.title == "GEP041" && a.path == "geps/gep-42/metadata.yaml"),
        "{annotations:?}"
    );
    assert!(
        !annotations
            .iter()
            .any(|a| a.path.starts_with("geps/gep-1/")),
        "the neighbour is not checked"
    );
}

#[test]
fn changed_geps_are_read_from_paths() {
    let paths = [
        "geps/gep-42/index.md",
        "geps/gep-7/metadata.yaml",
        "geps/overview.md",
        "site/gep-9/x",
    ]
    .map(String::from);
    assert_eq!(changed_geps(&paths, "geps/"), BTreeSet::from([7, 42]));
}
