//! The dashboard's rows from what was read: the GEPs, the features, the conformance reports, each
//! GEP's history, the open pull requests that touch it. Pure, and the same for a checkout
//! (`gep-bot dashboard`) and for the repository read through the API (`GET /geps`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::{Dashboard, Row, is_stale};
use crate::capabilities::mesh::Matcher;
use crate::domain::gep::{Features, Status};
use crate::domain::standing::readiness::{self, Around, Conformance, Facts};
use crate::domain::validate::{self, GepSet, Severity, Template};

/// When a GEP reached its status, and when its folder last changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    pub in_status_since: Option<NaiveDate>,
    /// The history starts in the status (the file was made so): the day is a lower bound.
    pub in_status_since_at_least: bool,
    pub last_changed: Option<NaiveDate>,
}

/// An open pull request that touches a GEP, with its lead-review standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pull {
    pub number: u64,
    pub url: String,
    pub review: String,
    /// The leads who have yet to vote.
    pub pending: Vec<String>,
    /// The day it was opened: how long its review has waited.
    pub opened: Option<NaiveDate>,
    /// Its open concerns.
    pub concerns: Vec<OpenConcern>,
}

/// A concern raised on a pull request and not resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenConcern {
    pub name: String,
    pub raised_by: String,
}

/// Everything a dashboard is built from.
pub struct Inputs<'a> {
    /// `OWNER/NAME`, for the links.
    pub repo: &'a str,
    pub set: &'a GepSet,
    pub template: &'a Template,
    pub features: Option<&'a Features>,
    pub conformance: Option<&'a Conformance>,
    /// By GEP number; a GEP missing here has no known history.
    pub history: &'a BTreeMap<u32, History>,
    pub pulls: &'a BTreeMap<u32, Vec<Pull>>,
    /// GEPs whose tracking issue carries the mesh label.
    pub mesh_issues: &'a BTreeSet<u32>,
    pub matcher: &'a Matcher,
    pub today: NaiveDate,
    /// Months without a change after which a GEP still moving is stale.
    pub stale_months: u32,
}

/// The GEP a path belongs to (`geps/gep-1731/index.md` -> 1731) under `geps_dir`.
pub fn gep_of(path: &str, geps_dir: &str) -> Option<u32> {
    let rest = path.strip_prefix(geps_dir)?;
    crate::domain::gep::folder_number(rest.split('/').next()?)
}

/// The status a metadata.yaml states: what its history is read for.
pub fn metadata_status(gep: &validate::GepFiles) -> Option<Status> {
    crate::capabilities::lifecycle::metadata_status(gep.metadata.as_ref()?.text())
}

pub fn build(inputs: &Inputs<'_>) -> Dashboard {
    let options = validate::Options {
        features: inputs.features.cloned(),
        ..Default::default()
    };
    let validated = validate::validate_and_summarize(inputs.set, inputs.template, &options);
    let mut rows = Vec::new();
    for gep in inputs.set.geps.iter().filter(|g| g.checked) {
        let (Some(number), Some(summary)) = (gep.number, validated.summaries.get(&gep.dir)) else {
            continue;
        };
        let history = inputs.history.get(&number).copied().unwrap_or_default();
        let next = crate::domain::standing::next_steps(gep, summary, inputs.template);
        let around = Around {
            features: inputs.features,
            conformance: inputs.conformance,
            in_status_since: history.in_status_since,
            today: inputs.today,
        };
        let readiness = readiness::readiness(&Facts::of(gep, summary, next.last(), around));
        let own = || {
            validated
                .findings
                .iter()
                .filter(|f| f.file.starts_with(&gep.dir))
        };
        let title = summary.title.clone().unwrap_or_default();
        let repo = inputs.repo;
        rows.push(Row {
            number,
            mesh: inputs.matcher.matches(&title) || inputs.mesh_issues.contains(&number),
            folder_url: format!("https://github.com/{repo}/tree/main/geps/gep-{number}"),
            issue_url: format!("https://github.com/{repo}/issues/{number}"),
            in_status_since: readiness.in_status_since,
            in_status_since_at_least: history.in_status_since_at_least,
            last_changed: history.last_changed,
            stale: is_stale(
                summary.status,
                history.last_changed,
                inputs.today,
                inputs.stale_months,
            ),
            past_probation: summary.status == Some(Status::Experimental)
                && readiness
                    .probation_ends
                    .is_some_and(|end| end <= inputs.today),
            errors: own().filter(|f| f.severity == Severity::Error).count(),
            warnings: own().filter(|f| f.severity == Severity::Warning).count(),
            pulls: inputs.pulls.get(&number).cloned().unwrap_or_default(),
            title,
            status: summary.status,
            readiness,
        });
    }
    Dashboard::new(inputs.repo, inputs.today, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_belongs_to_the_gep_of_its_folder() {
        assert_eq!(gep_of("geps/gep-1731/index.md", "geps/"), Some(1731));
        assert_eq!(gep_of("geps/gep-1731", "geps/"), Some(1731));
        assert_eq!(gep_of("geps/overview.md", "geps/"), None);
        assert_eq!(gep_of("site-src/geps/gep-1731/index.md", "geps/"), None);
    }
}
