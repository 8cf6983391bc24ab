//! One GEP's files checked together, and a set of GEPs checked against each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::across;
use super::finding::{Code, Finding, Fix, Severity};
use super::index::{self, IndexFacts};
use super::metadata::{self, Metadata};
use super::source::{Position, SourceText};
use super::template::Template;
use crate::domain::gep::Status;
use crate::domain::gep::features::{Features, Known};

/// A GEP folder's two files as read, with the folder's number when it is named `gep-N`.
#[derive(Debug, Clone)]
pub struct GepFiles {
    pub dir: PathBuf,
    pub number: Option<u32>,
    pub index: Option<SourceText>,
    pub metadata: Option<SourceText>,
    /// Findings are reported for this GEP; otherwise it is only a neighbour that relationships
    /// may point at.
    pub checked: bool,
}

/// The GEPs to check and their neighbours.
#[derive(Debug, Clone, Default)]
pub struct GepSet {
    pub geps: Vec<GepFiles>,
    /// When set, only findings in these files are reported (a single file was asked for).
    pub only_files: Option<BTreeSet<PathBuf>>,
}

impl GepSet {
    pub fn sources(&self) -> impl Iterator<Item = &SourceText> {
        self.geps
            .iter()
            .flat_map(|g| g.index.iter().chain(g.metadata.iter()))
    }

    /// Whether a checked GEP lists `featureNames` (only then are the repository's features read).
    pub fn lists_features(&self) -> bool {
        self.geps
            .iter()
            .filter(|g| g.checked)
            .filter_map(|g| g.metadata.as_ref())
            .any(|m| m.text().contains("featureNames"))
    }

    /// The text read from `path`, to change in place (`validate --fix`).
    pub fn source_mut(&mut self, path: &std::path::Path) -> Option<&mut SourceText> {
        self.geps
            .iter_mut()
            .flat_map(|g| g.index.iter_mut().chain(g.metadata.iter_mut()))
            .find(|s| s.path() == path)
    }

    pub fn checked_count(&self) -> usize {
        self.geps.iter().filter(|g| g.checked).count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Every warning is an error (notices stay advice).
    pub strict: bool,
    /// GEP numbers known to exist though they are not in the set (a partial copy of `geps/`).
    pub known_elsewhere: BTreeSet<u32>,
    /// The repository's features (`pkg/features/*.go`), when it has them: `featureNames` are
    /// checked against them.
    pub features: Option<Features>,
}

/// Checks every GEP of the set marked `checked`; returns the findings sorted by file and line.
pub fn validate(set: &GepSet, template: &Template, options: &Options) -> Vec<Finding> {
    validate_and_summarize(set, template, options).findings
}

/// The findings of [`validate`], and what each checked GEP says of itself (by folder), from the
/// one reading of its files.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    pub findings: Vec<Finding>,
    pub summaries: BTreeMap<PathBuf, GepSummary>,
}

pub fn validate_and_summarize(set: &GepSet, template: &Template, options: &Options) -> Validated {
    let mut findings = Vec::new();
    let mut all_metadata: BTreeMap<u32, Metadata> = BTreeMap::new();
    let mut checked = Vec::new();
    for gep in &set.geps {
        let mut own = Vec::new();
        let (facts, metadata) = check_gep(gep, template, &mut own);
        if let (Some(number), Some(metadata)) = (gep.number, &metadata) {
            all_metadata.insert(number, metadata.clone());
        }
        if gep.checked {
            if let (Some(features), Some(metadata), Some(source)) =
                (&options.features, &metadata, &gep.metadata)
            {
                check_features(metadata, source, features, &mut own);
                check_drift(metadata, source, features, &mut own);
            }
            findings.extend(own);
            checked.push((gep, facts, metadata));
        }
    }
    let summaries = checked
        .iter()
        .map(|(gep, facts, metadata)| (gep.dir.clone(), summary(facts.as_ref(), metadata.as_ref())))
        .collect();
    let sources: BTreeMap<u32, &SourceText> = set
        .geps
        .iter()
        .filter_map(|g| Some((g.number?, g.metadata.as_ref()?)))
        .collect();
    let neighbours = across::Neighbours {
        metadata: &all_metadata,
        sources: &sources,
    };
    for (gep, _, metadata) in &checked {
        if let (Some(number), Some(metadata), Some(file)) = (gep.number, metadata, &gep.metadata) {
            across::check(
                number,
                metadata,
                file.path(),
                &neighbours,
                &options.known_elsewhere,
                &mut findings,
            );
        }
    }
    if let Some(only) = &set.only_files {
        findings.retain(|f| only.contains(&f.file));
    }
    if options.strict {
        for finding in findings
            .iter_mut()
            .filter(|f| f.severity == Severity::Warning)
        {
            finding.severity = Severity::Error;
        }
    }
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.code).cmp(&(&b.file, b.line, b.column, b.code))
    });
    findings.dedup();
    Validated {
        findings,
        summaries,
    }
}

/// What a GEP says of itself: its title, status and feature names (the status from
/// `metadata.yaml`, else from `index.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GepSummary {
    pub title: Option<String>,
    pub status: Option<crate::domain::gep::Status>,
    pub feature_names: Vec<String>,
}

/// What one GEP says of itself, read alone (see [`validate_and_summarize`] when the GEP is also
/// being validated).
pub fn summarize(gep: &GepFiles, template: &Template) -> GepSummary {
    let mut ignored = Vec::new();
    let gep = GepFiles {
        checked: true,
        ..gep.clone()
    };
    let (facts, metadata) = check_gep(&gep, template, &mut ignored);
    summary(facts.as_ref(), metadata.as_ref())
}

fn summary(facts: Option<&IndexFacts>, metadata: Option<&Metadata>) -> GepSummary {
    let title = facts.and_then(|f| f.title_name.clone());
    let index_status = facts.and_then(|f| f.status.map(|(s, _)| s));
    GepSummary {
        title: title.or_else(|| metadata.and_then(|m| m.name.as_ref().map(|(n, _)| n.clone()))),
        status: metadata.and_then(|m| m.status).or(index_status),
        feature_names: metadata
            .map(|m| m.feature_names.clone())
            .unwrap_or_default(),
    }
}

fn check_gep(
    gep: &GepFiles,
    template: &Template,
    out: &mut Vec<Finding>,
) -> (Option<IndexFacts>, Option<Metadata>) {
    for (file, name) in [(&gep.index, "index.md"), (&gep.metadata, "metadata.yaml")] {
        if file.is_none() && gep.number.is_some() {
            out.push(Finding::new(
                Code::MissingFile,
                gep.dir.join(name),
                Position::START,
                format!("the GEP folder has no {name}"),
                format!(
                    "copy the GEP template's {name} (geps/gep-696 upstream) into {} and fill it in",
                    gep.dir.display()
                ),
            ));
        }
    }
    let metadata = gep
        .metadata
        .as_ref()
        .and_then(|source| metadata::check(source, gep.number, out));
    // A neighbour is read only for the metadata its relationships need.
    let index = gep.index.as_ref().filter(|_| gep.checked);
    let facts = index.map(|source| {
        let recorded = metadata.as_ref().and_then(|m| m.status);
        let facts = index::check(source, gep.number, template, recorded, out);
        if let Some(metadata) = &metadata
            && !facts.is_template
        {
            agree(source, &facts, metadata, gep.metadata.as_ref(), out);
        }
        facts
    });
    (facts, metadata)
}

/// `featureNames` against the features the repository defines: a Go constant written for the
/// feature's name is an error that names the real one; a name defined nowhere is a warning (the
/// feature may not have its conformance yet), an error once the GEP is Standard.
fn check_features(
    metadata: &Metadata,
    source: &SourceText,
    features: &Features,
    out: &mut Vec<Finding>,
) {
    for (name, at) in metadata.feature_names.iter().zip(&metadata.feature_lines) {
        match features.lookup(name) {
            Known::Name => {}
            Known::Constant(real) => out.push(
                Finding::new(
                    Code::FeatureConstantNotName,
                    source.path(),
                    *at,
                    format!("`{name}` is the Go constant of the feature `{real}`, not its name"),
                    format!("write `{real}`: conformance reports list features by name"),
                )
                .with_fix(Fix::in_line(source, at.line, name, real)),
            ),
            Known::Unknown => {
                let mut finding = Finding::new(
                    Code::UnknownFeature,
                    source.path(),
                    *at,
                    format!(
                        "no feature is named `{name}` in {} ({} features there)",
                        crate::domain::gep::features::FEATURES_DIR,
                        features.len()
                    ),
                    match features.nearest(name) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!(
                            "define it in {} with its conformance tests, or fix the name",
                            crate::domain::gep::features::FEATURES_DIR
                        ),
                    },
                );
                if metadata.status == Some(Status::Standard) {
                    finding.severity = Severity::Error;
                }
                out.push(finding);
            }
        }
    }
}

/// A GEP at Experimental or earlier whose listed features are all in the Standard channel of
/// `pkg/features` lags its release (upstream catches statuses up by hand after each release).
fn check_drift(
    metadata: &Metadata,
    source: &SourceText,
    features: &Features,
    out: &mut Vec<Finding>,
) {
    let Some(status) = metadata.status else {
        return;
    };
    let listed = metadata
        .feature_names
        .iter()
        .map(|name| match features.lookup(name) {
            Known::Name => (name.as_str(), features.channel(name)),
            Known::Constant(real) => (real, features.channel(real)),
            Known::Unknown => (name.as_str(), None),
        });
    let Some(channels) = crate::domain::gep::features::behind(status, listed) else {
        return;
    };
    let number = metadata
        .number
        .map_or(String::new(), |n| format!("GEP-{n} "));
    out.push(Finding::new(
        Code::BehindItsFeatures,
        source.path(),
        metadata.status_at,
        format!(
            "{number}is {status} while every feature it lists is in the Standard channel of {}: {}",
            crate::domain::gep::features::FEATURES_DIR,
            channels.join(", ")
        ),
        "it likely should be Standard: move it (status in metadata.yaml and the Status line of index.md) once its graduation criteria are met",
    ));
}

/// What `index.md` and `metadata.yaml` both say must be the same.
fn agree(
    index: &SourceText,
    facts: &IndexFacts,
    metadata: &Metadata,
    metadata_file: Option<&SourceText>,
    out: &mut Vec<Finding>,
) {
    if let (Some((status, at)), Some(meta_status)) = (facts.status, metadata.status)
        && status != meta_status
    {
        let number = metadata
            .number
            .map_or(String::new(), |n| format!("GEP-{n}: "));
        out.push(
            Finding::new(
                Code::StatusMismatch,
                index.path(),
                at,
                format!(
                    "{number}Status is \"{status}\" here but \"{meta_status}\" in metadata.yaml"
                ),
                format!(
                    "write `* Status: {meta_status}`: metadata.yaml is what upstream's own tools \
                     read (pkg/gep `GEPDetail`, tools/geps), so its status wins; if it is the \
                     one that is wrong, change both"
                ),
            )
            .with_fix(Fix::in_line(
                index,
                at.line,
                &status.to_string(),
                &meta_status.to_string(),
            )),
        );
    }
    if let (Some(title), Some((name, at)), Some(file)) =
        (&facts.title_name, &metadata.name, metadata_file)
        && title != name
    {
        out.push(Finding::new(
            Code::NameDiffersFromTitle,
            file.path(),
            *at,
            format!("`name` is \"{name}\" but the title in index.md is \"{title}\""),
            format!("write `name: {title}` (or change the title)"),
        ));
    }
}
