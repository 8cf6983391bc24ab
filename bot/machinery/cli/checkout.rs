//! A local git checkout as the check run's [`Trees`]: the working tree (commit `""`) and any
//! commit through `git show` / `git ls-tree`, so `gep-bot validate --base REF` judges a change
//! with the very code the App runs on a pull request.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::core::ExecError;
use crate::core::Trees;

/// The commit name that stands for the working tree, files not yet committed included.
pub const WORKTREE: &str = "";

pub struct Checkout {
    pub root: PathBuf,
}

impl Checkout {
    /// The checkout holding `dir`.
    pub fn holding(dir: &Path) -> anyhow::Result<Checkout> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let root = git(dir, &["rev-parse", "--show-toplevel"]).with_context(|| {
            format!(
                "--base needs a git checkout, and {} is in none",
                dir.display()
            )
        })?;
        Ok(Checkout {
            root: PathBuf::from(root.trim_end()),
        })
    }

    /// The commit a pull request from here onto `base` would be judged against: where the
    /// current branch left `base`.
    pub fn fork_point(&self, base: &str) -> anyhow::Result<String> {
        let commit = format!("{base}^{{commit}}");
        if git(&self.root, &["rev-parse", "--verify", "--quiet", &commit]).is_err() {
            bail!(
                "--base {base}: no such commit or branch in {}",
                self.root.display()
            );
        }
        let found = git(&self.root, &["merge-base", base, "HEAD"])
            .or_else(|_| git(&self.root, &["rev-parse", &commit]))?;
        Ok(found.trim().to_owned())
    }

    /// Every path the working tree changes against `base`: tracked files that differ (both
    /// paths of a rename) and files git does not track yet.
    pub fn changed_since(&self, base: &str) -> anyhow::Result<Vec<String>> {
        let tracked = git(
            &self.root,
            &["diff", "--name-only", "--no-renames", base, "--"],
        )?;
        let untracked = git(&self.root, &["ls-files", "--others", "--exclude-standard"])?;
        let mut paths: Vec<String> = tracked
            .lines()
            .chain(untracked.lines())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }
}

impl Checkout {
    /// The day `path` (a GEP's metadata.yaml, relative to the root) reached the status it has
    /// now: the oldest commit of the newest run of commits whose `status:` is `status`. `None`
    /// when no commit records it (a file not committed yet).
    /// The day `path` (a metadata.yaml) came to state `status`, and whether that day is only a
    /// lower bound: its history starts in that status (the file was made so, in a bulk move say).
    pub fn in_status_since(
        &self,
        path: &str,
        status: crate::domain::gep::Status,
    ) -> anyhow::Result<(Option<chrono::NaiveDate>, bool)> {
        let log = git(&self.root, &["log", "--format=%H %cs", "--", path])?;
        let mut since = None;
        let mut at_least = true;
        for line in log.lines() {
            let Some((commit, day)) = line.split_once(' ') else {
                continue;
            };
            let text = git(&self.root, &["show", &format!("{commit}:{path}")]).unwrap_or_default();
            let recorded = text
                .lines()
                .find_map(|l| l.strip_prefix("status:"))
                .and_then(|s| {
                    s.trim()
                        .trim_matches('"')
                        .parse::<crate::domain::gep::Status>()
                        .ok()
                });
            if recorded != Some(status) {
                at_least = false;
                break;
            }
            since = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok();
        }
        Ok((since, at_least && since.is_some()))
    }

    /// The day of the newest commit that changed `path` (a file or folder from the root).
    pub fn last_changed(&self, path: &str) -> anyhow::Result<Option<chrono::NaiveDate>> {
        let day = git(&self.root, &["log", "-1", "--format=%cs", "--", path])?;
        Ok(chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok())
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("git printed something that is not UTF-8")
}

impl Trees for Checkout {
    async fn file_at(
        &self,
        _repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        if at == WORKTREE {
            return match std::fs::read_to_string(self.root.join(path)) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ExecError::Permanent(format!("{path}: {e}"))),
            };
        }
        // A path the commit does not have is what `git show` refuses; anything else it shows.
        Ok(git(&self.root, &["show", &format!("{at}:{path}")]).ok())
    }

    async fn folder_at(&self, _repo: &str, path: &str, at: &str) -> Result<Vec<String>, ExecError> {
        if at == WORKTREE {
            let Ok(entries) = std::fs::read_dir(self.root.join(path)) else {
                return Ok(Vec::new());
            };
            return Ok(entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect());
        }
        let listing = git(
            &self.root,
            &["ls-tree", "--name-only", at, &format!("{path}/")],
        )
        .unwrap_or_default();
        Ok(listing
            .lines()
            .filter_map(|l| l.rsplit('/').next())
            .map(str::to_owned)
            .collect())
    }
}
