//! The validator on the 36 real GEPs of `../shared/fixtures/gateway-api/geps`.
//!
//! Every error it reports there is pinned below with the defect it points at, read in the
//! documents themselves; a new error, or a pinned one going away, fails the test.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use gep_bot::domain::gep::Status;
use gep_bot::domain::validate::{
    self, Code, GepFiles, GepSet, Options, Severity, SourceText, Template,
};

/// GEPs the corpus's relationships name that exist upstream but are not in this partial copy
/// (each one checked in the upstream repository's `geps/` folder).
const UPSTREAM_ONLY: [u32; 7] = [820, 1282, 1324, 1742, 1897, 2643, 5093];

fn corpus_findings() -> Vec<validate::Finding> {
    let set = validate::load(&[common::corpus()]).expect("corpus loads");
    assert_eq!(set.checked_count(), 36, "the corpus holds 36 GEPs");
    let options = Options {
        known_elsewhere: UPSTREAM_ONLY.into_iter().collect(),
        ..Options::default()
    };
    validate::validate(&set, &Template::builtin(), &options)
}

fn relative(path: &std::path::Path) -> String {
    path.strip_prefix(common::corpus())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_error_on_the_real_corpus_is_a_pinned_real_defect() {
    let errors: BTreeSet<(String, usize, &str)> = corpus_findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (relative(&f.file), f.line, f.code.as_str()))
        .collect();
    let expected: BTreeSet<(String, usize, &str)> = [
        // The title reads "GEP 1323:", without the dash every other GEP and the site's index use.
        ("gep-1323/index.md", 2, "GEP003"),
        // index.md says Provisional, metadata.yaml says Declined (it is obsoleted by GEP-5093).
        ("gep-1651/index.md", 6, "GEP010"),
        // A `type:` key that GEPDetails does not have (its `status: Accepted` is the one stage
        // of a Memorandum GEP, which upstream's overview names: no finding).
        ("gep-2659/metadata.yaml", 5, "GEP028"),
        // `extends:` stands at the top level instead of under `relationships:`, so the site
        // never shows that GEP-4152 extends GEP-1897.
        ("gep-4152/metadata.yaml", 8, "GEP029"),
    ]
    .into_iter()
    .map(|(file, line, code)| (file.to_owned(), line, code))
    .collect();
    assert_eq!(errors, expected);
}

#[test]
fn relationships_to_geps_outside_the_copy_are_errors_without_knowing_upstream() {
    let set = validate::load(&[common::corpus()]).unwrap();
    let findings = validate::validate(&set, &Template::builtin(), &Options::default());
    let unknown: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.code == Code::UnknownGep)
        .map(|f| relative(&f.file))
        .collect();
    assert!(unknown.contains("gep-1294/metadata.yaml"), "{unknown:?}");
    assert!(unknown.contains("gep-3965/metadata.yaml"), "{unknown:?}");
}

#[test]
fn corpus_warnings_name_real_content_gaps() {
    let findings = corpus_findings();
    let warning = |file: &str, code: Code| {
        findings
            .iter()
            .any(|f| relative(&f.file) == file && f.code == code && f.severity == Severity::Warning)
    };
    // Changelog entries written as prose instead of pull request links.
    assert!(warning("gep-2644/metadata.yaml", Code::ChangelogNotUrl));
    assert!(warning("gep-2645/metadata.yaml", Code::ChangelogNotUrl));
    // metadata.yaml's name differs from the title: a notice, as upstream says the name is only
    // "usually" the title.
    assert!(
        findings
            .iter()
            .any(|f| relative(&f.file) == "gep-2627/metadata.yaml"
                && f.code == Code::NameDiffersFromTitle
                && f.severity == Severity::Notice)
    );
    // The template itself is recognised as one: no section or placeholder warnings on it.
    assert!(
        !findings
            .iter()
            .any(|f| relative(&f.file).starts_with("gep-696/"))
    );
}

#[test]
fn upstream_template_validates_as_a_template_with_its_own_rules() {
    let path = common::corpus().join("gep-696/index.md");
    let (template, source, rule_findings) = Template::load(&path).unwrap();
    assert_eq!(rule_findings, []);
    assert!(Template::parse(&source).1.is_empty());
    let required = |title: &str| {
        template
            .sections
            .iter()
            .find(|s| s.title == title)
            .unwrap_or_else(|| panic!("no section {title}"))
            .required_from
    };
    assert_eq!(required("TLDR"), Some(Status::Provisional));
    assert_eq!(required("API"), Some(Status::Implementable));
    assert_eq!(required("Feature Names"), Some(Status::Experimental));
    // Upstream's older spelling: "( Required for Experimental status and above)".
    assert_eq!(
        required("Standard Graduation Criteria"),
        Some(Status::Experimental)
    );
    assert_eq!(required("Alternatives"), None);

    let set = validate::load(&[path]).unwrap();
    let findings = validate::validate(&set, &template, &Options::default());
    assert_eq!(findings, []);
}

/// A GEP written from our template: every placeholder replaced, at the given status.
fn filled_gep(status: Status) -> GepSet {
    let template = std::fs::read_to_string(common::repo().join("gep-templates/index.md")).unwrap();
    let mut index = String::new();
    for paragraph in template.split("\n\n") {
        let filled = if paragraph.starts_with('(') {
            "This GEP's own words, written for this section.".to_owned()
        } else if paragraph.contains("please remove") {
            "#### HTTPRoute simple routing in one namespace".to_owned()
        } else {
            paragraph
                .replace("GEP-N: Short title of the proposal", "GEP-4242: Mesh retries")
                .replace("#N](", "#4242](")
                .replace("issues/N)", "issues/4242)")
                .replace(
                    "Provisional|Prototyping|Implementable|Experimental|Standard|Completed|Memorandum|Deferred|Declined|Withdrawn",
                    status.as_str(),
                )
        };
        index.push_str(&filled);
        index.push_str("\n\n");
    }
    let metadata = format!(
        "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 4242\nname: Mesh retries\nstatus: {status}\nauthors:\n  - keithmattix\nrelationships:\n  seeAlso: []\nreferences:\n  - https://github.com/kubernetes-sigs/gateway-api/discussions/1\nfeatureNames:\n  - HTTPRouteMeshRetry\nchangelog:\n  - https://github.com/kubernetes-sigs/gateway-api/pull/4243\n"
    );
    let dir = PathBuf::from("geps/gep-4242");
    GepSet {
        geps: vec![GepFiles {
            number: Some(4242),
            index: Some(SourceText::new(dir.join("index.md"), index)),
            metadata: Some(SourceText::new(dir.join("metadata.yaml"), metadata)),
            dir,
            checked: true,
        }],
        only_files: None,
    }
}

#[test]
fn a_gep_filled_in_from_our_template_is_clean_at_every_status() {
    let template = Template::builtin();
    assert!(
        template.sections.len() >= 12,
        "our template has upstream's sections"
    );
    for status in Status::ALL {
        let findings = validate::validate(&filled_gep(status), &template, &Options::default());
        assert_eq!(findings, [], "at {status}");
    }
}

#[test]
fn our_template_left_unfilled_is_reported_at_each_required_section() {
    let mut set = filled_gep(Status::Standard);
    let text = std::fs::read_to_string(common::repo().join("gep-templates/index.md"))
        .unwrap()
        .replace(
            "Provisional|Prototyping|Implementable|Experimental|Standard|Completed|Memorandum|Deferred|Declined|Withdrawn",
            "Standard",
        )
        .replace("GEP-N: Short title of the proposal", "GEP-4242: Mesh retries")
        .replace("#N](", "#4242](")
        .replace("issues/N)", "issues/4242)");
    set.geps[0].index = Some(SourceText::new("geps/gep-4242/index.md", text));
    let template = Template::builtin();
    let findings = validate::validate(&set, &template, &Options::default());
    let unwritten = findings
        .iter()
        .filter(|f| f.code == Code::TemplateSection)
        .count();
    let required = template.required_at(Status::Standard).count();
    // "Standard Graduation Criteria" holds real criteria, not placeholders: it counts as written.
    assert_eq!(unwritten, required - 1, "{findings:#?}");
    assert!(findings.iter().any(|f| f.code == Code::PlaceholderLeft));
    let strict = validate::validate(
        &set,
        &template,
        &Options {
            strict: true,
            ..Options::default()
        },
    );
    assert!(strict.iter().all(|f| f.severity == Severity::Error));
}

/// Upstream's GEP-1731 lists its features by their Go constants (`SupportHTTPRouteRetry`) and
/// names two that `pkg/features` does not define: read beside the real `pkg/features`, the
/// validator says which are which, on their lines.
#[test]
fn real_feature_names_are_checked_against_the_real_pkg_features() {
    let set = gep_bot::domain::validate::load(&[common::corpus()]).unwrap();
    let features = gep_bot::domain::validate::features_beside(&set)
        .unwrap()
        .expect("the copy has pkg/features beside geps/");
    assert!(features.len() > 50, "{}", features.len());
    let findings = gep_bot::domain::validate::validate(
        &set,
        &gep_bot::domain::validate::Template::builtin(),
        &gep_bot::domain::validate::Options {
            features: Some(features),
            ..Default::default()
        },
    );
    let on_features: Vec<(String, &str, usize)> = findings
        .iter()
        .filter(|f| ["GEP034", "GEP035"].contains(&f.code.as_str()))
        .map(|f| {
            (
                f.file
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                f.code.as_str(),
                f.line,
            )
        })
        .collect();
    let gep = |code, line| ("gep-1731".to_owned(), code, line);
    assert_eq!(
        on_features,
        [
            gep("GEP034", 40),
            gep("GEP034", 41),
            gep("GEP035", 42),
            gep("GEP035", 43),
            gep("GEP034", 44)
        ]
    );
    let first = findings
        .iter()
        .find(|f| f.code.as_str() == "GEP034")
        .unwrap();
    assert!(first.hint.contains("`HTTPRouteRetry`"), "{first:?}");
}

/// Each feature's release channel is read from upstream's own `Feature{Name:, Channel:}`
/// declarations (GEP-2645's `UDPRoute` went Standard while the GEP said Experimental).
#[test]
fn feature_channels_are_read_from_the_real_pkg_features() {
    let set = gep_bot::domain::validate::load(&[common::corpus()]).unwrap();
    let features = gep_bot::domain::validate::features_beside(&set)
        .unwrap()
        .unwrap();
    assert_eq!(features.channel("HTTPRouteRetry"), Some("Experimental"));
    assert_eq!(
        features.channel("HTTPRoute308RedirectStatusCode"),
        Some("Standard")
    );
    assert_eq!(features.channel("UDPRoute"), Some("Standard"));
}
