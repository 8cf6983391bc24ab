//! A checkout of the repository as `status` and `dashboard` read it: its features
//! (`pkg/features`), the conformance reports (`conformance/reports`) and, when it is a git
//! checkout, the history of each GEP.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;

use super::checkout::Checkout;
use crate::domain::gep::{Features, Status};
use crate::domain::standing::readiness::{self, Conformance, Readiness};
use crate::domain::validate;

pub struct Repository {
    pub root: PathBuf,
    pub features: Option<Features>,
    /// Read on first need: a GEP without features, not heading for Standard, needs no report.
    conformance: std::cell::OnceCell<Conformance>,
    git: Option<Checkout>,
}

impl Repository {
    pub fn open(root: &Path) -> anyhow::Result<Repository> {
        let features =
            validate::features_in(&root.join(crate::domain::gep::features::FEATURES_DIR))?;
        Ok(Repository {
            root: root.to_path_buf(),
            features,
            conformance: std::cell::OnceCell::new(),
            git: Checkout::holding(root).ok(),
        })
    }

    /// Each implementation's newest conformance report, read once.
    pub fn conformance(&self) -> anyhow::Result<&Conformance> {
        if let Some(conformance) = self.conformance.get() {
            return Ok(conformance);
        }
        let reports = conformance_reports(&self.root.join("conformance/reports"))?;
        let conformance =
            Conformance::from_reports(reports.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        Ok(self.conformance.get_or_init(|| conformance))
    }

    /// `geps/gep-N/...` as a path from the git root (the checkout may sit below it).
    fn in_git(&self, git: &Checkout, path: &str) -> anyhow::Result<String> {
        let absolute = std::path::absolute(self.root.join(path))?;
        Ok(absolute
            .strip_prefix(std::path::absolute(&git.root)?)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_owned()))
    }

    /// The day GEP-`number` reached `status`, from its metadata.yaml's history, and whether it
    /// is only a lower bound (the history starts in that status).
    pub fn in_status_since(
        &self,
        number: u32,
        status: Status,
    ) -> anyhow::Result<(Option<NaiveDate>, bool)> {
        let Some(git) = &self.git else {
            return Ok((None, false));
        };
        let path = self.in_git(git, &format!("geps/gep-{number}/metadata.yaml"))?;
        git.in_status_since(&path, status)
    }

    /// The day of the newest commit that changed GEP-`number`'s folder.
    pub fn last_changed(&self, number: u32) -> anyhow::Result<Option<NaiveDate>> {
        let Some(git) = &self.git else {
            return Ok(None);
        };
        let path = self.in_git(git, &format!("geps/gep-{number}"))?;
        git.last_changed(&path)
    }

    /// GEP-`number`'s readiness for `next` (the furthest status it may move to next).
    pub fn readiness(
        &self,
        number: u32,
        gep: &validate::GepFiles,
        summary: &validate::GepSummary,
        next: Option<&crate::domain::standing::NextStep>,
        today: NaiveDate,
    ) -> anyhow::Result<Readiness> {
        let in_status_since = match summary.status {
            Some(status) => self.in_status_since(number, status)?.0,
            None => None,
        };
        // The reports speak only of features, and of Standard's criterion.
        let wanted =
            !summary.feature_names.is_empty() || next.is_some_and(|n| n.status == Status::Standard);
        let conformance = if wanted {
            Some(self.conformance()?)
        } else {
            None
        };
        let around = readiness::Around {
            features: self.features.as_ref(),
            conformance,
            in_status_since,
            today,
        };
        Ok(readiness::readiness(&readiness::Facts::of(
            gep, summary, next, around,
        )))
    }
}

/// Every `VERSION/IMPLEMENTATION/*.yaml` under `dir`, as (that path, its text); none when the
/// folder is not there.
pub fn conformance_reports(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut reports = Vec::new();
    let Ok(versions) = std::fs::read_dir(dir) else {
        return Ok(reports);
    };
    let name = |e: &std::fs::DirEntry| e.file_name().to_string_lossy().into_owned();
    for version in versions.flatten().filter(|e| e.path().is_dir()) {
        for implementation in std::fs::read_dir(version.path())?.flatten() {
            let Ok(files) = std::fs::read_dir(implementation.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    reports.push((
                        format!(
                            "{}/{}/{}",
                            name(&version),
                            name(&implementation),
                            name(&file)
                        ),
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    ));
                }
            }
        }
    }
    Ok(reports)
}
