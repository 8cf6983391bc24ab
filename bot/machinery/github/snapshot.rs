//! Reads for a whole-repository view (the dashboard): a folder's tree with every file's blob SHA
//! in one request, a blob by its SHA (content-addressed: read once, kept forever), the commits
//! that changed a path, the installation of a repository, and every open pull request with the
//! paths it changes.

use http::Method;
use serde_json::Value;

use super::graphql::owner_and_name;
use super::transport::{GitHub, encode};
use crate::core::ExecError;

/// A folder at a commit, listed recursively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The folder's own tree SHA: it changes exactly when something under it does.
    pub sha: String,
    pub entries: Vec<TreeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// From the folder listed, as GitHub gives it (`gep-1731/index.md`).
    pub path: String,
    /// A folder (`tree`) rather than a file (`blob`).
    pub folder: bool,
    pub sha: String,
}

/// One commit that changed a path, newest first as GitHub lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    pub sha: String,
    /// The committer's date (when it reached the branch, more or less), as RFC 3339.
    pub date: String,
}

/// Commits listed per path at most (GitHub's page): a GEP changes a few dozen times at most.
const COMMITS_PER_PATH: u32 = 100;

impl GitHub {
    /// `path` on the default branch, listed recursively; `None` when there is no such folder.
    /// GitHub cuts a recursive listing at 100,000 entries or 7 MB and says `truncated`: that is
    /// an error here, as a dashboard missing GEPs would be wrong without saying so.
    pub async fn tree(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
    ) -> Result<Option<Tree>, ExecError> {
        let tree = format!("HEAD:{}", path.trim_end_matches('/'));
        let url = format!("/repos/{repo}/git/trees/{}?recursive=1", encode(&tree));
        let Some(listing) = self
            .send_unless_missing(installation, Method::GET, &url, false)
            .await?
        else {
            return Ok(None);
        };
        if listing["truncated"].as_bool() == Some(true) {
            return Err(ExecError::Permanent(format!(
                "GitHub cut the listing of {repo}:{path} short (truncated): too many files"
            )));
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let entries = listing["tree"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| TreeEntry {
                path: text(&e["path"]),
                folder: e["type"] == "tree",
                sha: text(&e["sha"]),
            })
            .collect();
        Ok(Some(Tree {
            sha: text(&listing["sha"]),
            entries,
        }))
    }

    /// A file's bytes by blob SHA (up to 100 MB: the git data API, raw).
    pub async fn blob(
        &self,
        installation: Option<u64>,
        repo: &str,
        sha: &str,
    ) -> Result<String, ExecError> {
        let what = format!("/repos/{repo}/git/blobs/{}", encode(sha));
        self.get_raw(installation, &what).await
    }

    /// The commits on the default branch that changed `path`, newest first (at most 100).
    pub async fn commits_touching(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
    ) -> Result<Vec<Dated>, ExecError> {
        let url = format!(
            "/repos/{repo}/commits?path={}&per_page={COMMITS_PER_PATH}",
            encode(path)
        );
        let listing = self
            .send(installation, Method::GET, &url, None, false)
            .await?;
        Ok(listing
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(Dated {
                    sha: c["sha"].as_str()?.to_owned(),
                    date: c["commit"]["committer"]["date"].as_str()?.to_owned(),
                })
            })
            .collect())
    }

    /// Every open pull request (most recently updated first, up to 1,000) with the paths it
    /// changes.
    pub async fn open_pulls(
        &self,
        installation: Option<u64>,
        repo: &str,
    ) -> Result<Vec<super::reads::OpenPull>, ExecError> {
        self.open_pulls_where(installation, repo, None).await
    }

    /// The installation of the App on `repo` (`None` with a token, which needs none).
    pub async fn installation_of(&self, repo: &str) -> Result<Option<u64>, ExecError> {
        if !self.is_app() {
            return Ok(None);
        }
        owner_and_name(repo)?;
        let answer = self.as_app(&format!("/repos/{repo}/installation")).await?;
        answer["id"]
            .as_u64()
            .map(Some)
            .ok_or_else(|| ExecError::Permanent(format!("GitHub named no installation on {repo}")))
    }
}
