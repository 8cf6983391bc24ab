//! One installation's reads through the GitHub client ([`Repo`], the implementation of the core's
//! read traits), and the requests behind them.

use http::Method;
use serde_json::{Value, json};

use super::graphql::owner_and_name;
use super::transport::{GitHub, encode, strings};
use crate::core::event::Actor;
use crate::core::{ExecError, Happening, PullRequestInfo, Reads, Trees};
use crate::domain::commands;

/// One installation's reads through the GitHub client; `github: None` reads nothing (every file
/// missing, every list empty), for a replay without credentials.
#[derive(Clone, Copy)]
pub struct Repo<'a> {
    pub github: Option<&'a GitHub>,
    pub installation: Option<u64>,
}

impl Trees for Repo<'_> {
    async fn file_at(&self, repo: &str, path: &str, at: &str) -> Result<Option<String>, ExecError> {
        match self.github {
            Some(github) => github.file_at(self.installation, repo, path, at).await,
            None => Ok(None),
        }
    }

    async fn folder_at(&self, repo: &str, path: &str, at: &str) -> Result<Vec<String>, ExecError> {
        match self.github {
            Some(github) => github.folder_at(self.installation, repo, path, at).await,
            None => Ok(Vec::new()),
        }
    }
}

impl Reads for Repo<'_> {
    async fn pull_request(&self, repo: &str, number: u64) -> Result<PullRequestInfo, ExecError> {
        match self.github {
            Some(github) => github.pull_request(self.installation, repo, number).await,
            None => Err(ExecError::Permanent(
                "offline: no credentials to read the pull request with".into(),
            )),
        }
    }

    async fn pull_request_files(&self, repo: &str, number: u64) -> Result<Vec<String>, ExecError> {
        match self.github {
            Some(github) => {
                github
                    .pull_request_files(self.installation, repo, number)
                    .await
            }
            None => Ok(Vec::new()),
        }
    }

    async fn review_history(&self, repo: &str, number: u64) -> Result<Vec<Happening>, ExecError> {
        match self.github {
            Some(github) => github.review_history(self.installation, repo, number).await,
            None => Ok(Vec::new()),
        }
    }

    async fn open_pulls_touching(&self, repo: &str, folder: &str) -> Result<Vec<u64>, ExecError> {
        match self.github {
            Some(github) => {
                github
                    .open_pulls_touching(self.installation, repo, folder)
                    .await
            }
            None => Ok(Vec::new()),
        }
    }
}

/// Open pull requests per GraphQL page, each with its first `PULL_FILES_PAGE` changed paths
/// (50 x 100 nodes: well inside GitHub's limit of 500,000 per query).
const OPEN_PULLS_PAGE: u32 = 50;
const PULL_FILES_PAGE: u32 = 100;
/// Pages read at most: 1,000 open pull requests, most recently updated first.
const OPEN_PULLS_MAX_PAGES: u32 = 20;
const OPEN_PULLS_QUERY: &str = "query($owner: String!, $name: String!, $first: Int!, $files: Int!, $after: String) { repository(owner: $owner, name: $name) { pullRequests(states: OPEN, first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) { pageInfo { hasNextPage endCursor } nodes { number createdAt author { login } files(first: $files) { totalCount nodes { path } } } } } }";

/// An open pull request: its number, the paths it changes, who opened it and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPull {
    pub number: u64,
    pub paths: Vec<String>,
    pub author: String,
    pub created_at: String,
}

impl GitHub {
    /// A file's bytes as they are (the raw media type: the JSON form stops at 1 MB), or `None`
    /// where there is no such file.
    pub(super) async fn file_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        match self
            .get_raw(installation, &contents_url(repo, path, at))
            .await
        {
            Ok(text) => Ok(Some(text)),
            Err(ExecError::Permanent(message)) if message.starts_with("404") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// A folder's names through the git trees API (the contents API lists 1,000 at most).
    pub(super) async fn folder_at(
        &self,
        installation: Option<u64>,
        repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Vec<String>, ExecError> {
        let commit = if at.is_empty() { "HEAD" } else { at };
        let tree = format!("{commit}:{}", path.trim_end_matches('/'));
        let url = format!("/repos/{repo}/git/trees/{}", encode(&tree));
        let listing = self
            .send_unless_missing(installation, Method::GET, &url, false)
            .await?;
        Ok(listing.map_or_else(Vec::new, |listing| strings(&listing["tree"], "path")))
    }

    pub(super) async fn pull_request(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<PullRequestInfo, ExecError> {
        let pr = self
            .send(
                installation,
                Method::GET,
                &format!("/repos/{repo}/pulls/{number}"),
                None,
                false,
            )
            .await?;
        Ok(PullRequestInfo {
            author: pr["user"]["login"].as_str().unwrap_or_default().to_owned(),
            head_sha: pr["head"]["sha"].as_str().unwrap_or_default().to_owned(),
            labels: strings(&pr["labels"], "name"),
        })
    }

    pub(super) async fn review_history(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Happening>, ExecError> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let mut timed: Vec<(String, Happening)> = Vec::new();
        for review in self
            .pages(
                installation,
                &format!("/repos/{repo}/pulls/{number}/reviews"),
                30,
            )
            .await?
        {
            let (author, state) = (text(&review["user"]["login"]), text(&review["state"]));
            let happening = if state == "DISMISSED" {
                Happening::ReviewDismissed { author }
            } else {
                Happening::Review { author, state }
            };
            timed.push((text(&review["submitted_at"]), happening));
        }
        for comment in self
            .pages(
                installation,
                &format!("/repos/{repo}/issues/{number}/comments"),
                30,
            )
            .await?
        {
            let author = Actor {
                login: text(&comment["user"]["login"]),
                kind: text(&comment["user"]["type"]),
            };
            let commands = if author.is_bot() {
                Vec::new()
            } else {
                commands::parse(&text(&comment["body"]))
            };
            let happening = Happening::Comment {
                author,
                commands,
                url: text(&comment["html_url"]),
            };
            timed.push((text(&comment["created_at"]), happening));
        }
        // RFC 3339 UTC timestamps sort as text; the sort is stable for equal times.
        timed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(timed.into_iter().map(|(_, h)| h).collect())
    }

    /// The open pull requests that change something under `folder`.
    pub(super) async fn open_pulls_touching(
        &self,
        installation: Option<u64>,
        repo: &str,
        folder: &str,
    ) -> Result<Vec<u64>, ExecError> {
        let pulls = self
            .open_pulls_where(installation, repo, Some(folder))
            .await?;
        Ok(pulls.into_iter().map(|pull| pull.number).collect())
    }

    /// Every open pull request with the paths it changes (only those that touch `folder`, when
    /// one is named), through GraphQL: one request per `OPEN_PULLS_PAGE` pull requests, where
    /// REST would take one per pull request. A pull request with more changed files than one
    /// GraphQL page holds has them all listed by REST, unless the first page already shows it
    /// touches `folder`.
    pub(super) async fn open_pulls_where(
        &self,
        installation: Option<u64>,
        repo: &str,
        folder: Option<&str>,
    ) -> Result<Vec<OpenPull>, ExecError> {
        let (owner, name) = owner_and_name(repo)?;
        let prefix = folder.map(|f| format!("{f}/"));
        let touches = |paths: &[String]| {
            prefix
                .as_ref()
                .is_none_or(|prefix| paths.iter().any(|p| p.starts_with(prefix)))
        };
        let mut found = Vec::new();
        let mut after = Value::Null;
        for _ in 0..OPEN_PULLS_MAX_PAGES {
            let data = self
                .graphql(
                    installation,
                    OPEN_PULLS_QUERY,
                    json!({ "owner": owner, "name": name, "first": OPEN_PULLS_PAGE, "files": PULL_FILES_PAGE, "after": after }),
                    false,
                )
                .await?;
            let pulls = &data["repository"]["pullRequests"];
            for pull in pulls["nodes"].as_array().into_iter().flatten() {
                let Some(number) = pull["number"].as_u64() else {
                    continue;
                };
                let files = &pull["files"];
                let mut paths = strings(&files["nodes"], "path");
                // No count (GitHub gives up on files for some huge pull requests): ask REST.
                let unlisted = files["totalCount"]
                    .as_u64()
                    .is_none_or(|total| total > paths.len() as u64);
                if unlisted && (prefix.is_none() || !touches(&paths)) {
                    paths = self.pull_request_files(installation, repo, number).await?;
                }
                if touches(&paths) {
                    found.push(OpenPull {
                        number,
                        paths,
                        author: pull["author"]["login"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        created_at: pull["createdAt"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            let page = &pulls["pageInfo"];
            if page["hasNextPage"].as_bool() != Some(true) {
                return Ok(found);
            }
            after = page["endCursor"].clone();
        }
        tracing::warn!(
            repo,
            pages = OPEN_PULLS_MAX_PAGES,
            "more open pull requests than read; the oldest were not looked at"
        );
        Ok(found)
    }

    pub(super) async fn pull_request_files(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, ExecError> {
        // GitHub lists at most 3,000 files of a pull request.
        let files = self
            .pages(
                installation,
                &format!("/repos/{repo}/pulls/{number}/files"),
                30,
            )
            .await?;
        // A renamed file is changed at both paths: its old one is gone (a renamed GEP folder is
        // judged against the GEP it was).
        let mut paths = Vec::with_capacity(files.len());
        for file in &files {
            paths.extend(file["filename"].as_str().map(str::to_owned));
            paths.extend(file["previous_filename"].as_str().map(str::to_owned));
        }
        Ok(paths)
    }
}

/// The contents API's address for a path at a commit, or on the default branch when `at` is empty.
pub(super) fn contents_url(repo: &str, path: &str, at: &str) -> String {
    let path: Vec<String> = path.split('/').map(encode).collect();
    let path = path.join("/");
    if at.is_empty() {
        format!("/repos/{repo}/contents/{path}")
    } else {
        format!("/repos/{repo}/contents/{path}?ref={}", encode(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_segment_built_from_data_is_percent_encoded() {
        assert_eq!(
            contents_url("o/r", "geps/a b#?/index.md", "x/y"),
            "/repos/o/r/contents/geps/a%20b%23%3F/index.md?ref=x%2Fy"
        );
        assert_eq!(
            contents_url("o/r", "geps/../../user/repos", ""),
            "/repos/o/r/contents/geps/%2E%2E/%2E%2E/user/repos"
        );
    }
}
