//! The narrow seam through which capabilities read GitHub (Prow's per-plugin client interfaces
//! are the model): a file or a folder at a commit, a pull request, its files and its review
//! history, the open pull requests touching a folder. Writes are the executor's.
//!
//! [`Memo`] keeps what one job read, so capabilities that need the same pull request's files ask
//! GitHub once; [`MemoryRepo`] is the fake for tests of what a capability gathers, with no HTTP.
//! The implementation over the GitHub client is `machinery::github::Repo`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::error::ExecError;
use super::event::Actor;
use crate::domain::commands::Command;

/// One thing that happened on a pull request, in the order GitHub lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Review {
        author: String,
        state: String,
    },
    ReviewDismissed {
        author: String,
    },
    /// A comment, with the commands it holds (a bot's holds none).
    Comment {
        author: Actor,
        commands: Vec<Command>,
        url: String,
    },
}

/// A repository's trees: what the validator and the check run read. A local checkout has them
/// too (`gep-bot validate --base`).
pub trait Trees: Sync {
    /// A file's text at a commit (the default branch when `at` is empty), or `None` where it
    /// does not exist.
    fn file_at(
        &self,
        repo: &str,
        path: &str,
        at: &str,
    ) -> impl Future<Output = Result<Option<String>, ExecError>> + Send;

    /// The names in a folder at a commit (empty where it does not exist).
    fn folder_at(
        &self,
        repo: &str,
        path: &str,
        at: &str,
    ) -> impl Future<Output = Result<Vec<String>, ExecError>> + Send;
}

/// Every read the capabilities make, as one installation may make them: the trees, and pull
/// requests.
pub trait Reads: Trees {
    /// A pull request's author, head commit and labels.
    fn pull_request(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<PullRequestInfo, ExecError>> + Send;

    /// The paths a pull request changes (both paths of a renamed file).
    fn pull_request_files(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Vec<String>, ExecError>> + Send;

    /// A pull request's reviews and comments in the order they happened.
    fn review_history(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Vec<Happening>, ExecError>> + Send;

    /// The open pull requests that change a file under `folder` (no trailing slash), most
    /// recently updated first.
    fn open_pulls_touching(
        &self,
        repo: &str,
        folder: &str,
    ) -> impl Future<Output = Result<Vec<u64>, ExecError>> + Send;
}

/// What one job read, kept for the job: several capabilities need the same pull request's files
/// or the same file, and each is read once, even when they ask at the same time (the second
/// waits for the first's answer instead of asking GitHub again).
pub struct Memo<R> {
    inner: R,
    files: Slots<(String, String, String), Option<String>>,
    folders: Slots<(String, String, String), Vec<String>>,
    pull_files: Slots<(String, u64), Vec<String>>,
}

/// One read's answer per key, filled by the first to ask.
type Slots<K, T> = Mutex<HashMap<K, Arc<tokio::sync::OnceCell<Result<T, ExecError>>>>>;

/// The answer for `key`: read by `read` the first time, shared with everyone who asks meanwhile
/// or after.
async fn once<K, T, F>(
    slots: &Slots<K, T>,
    key: K,
    read: impl FnOnce() -> F,
) -> Result<T, ExecError>
where
    K: std::hash::Hash + Eq,
    T: Clone,
    F: Future<Output = Result<T, ExecError>>,
{
    let slot = slots
        .lock()
        .expect("memo lock")
        .entry(key)
        .or_default()
        .clone();
    slot.get_or_init(read).await.clone()
}

impl<R: Reads> Memo<R> {
    pub fn new(inner: R) -> Memo<R> {
        Memo {
            inner,
            files: Mutex::default(),
            folders: Mutex::default(),
            pull_files: Mutex::default(),
        }
    }
}

impl<R: Reads> Trees for Memo<R> {
    async fn file_at(&self, repo: &str, path: &str, at: &str) -> Result<Option<String>, ExecError> {
        let key = (repo.to_owned(), path.to_owned(), at.to_owned());
        once(&self.files, key, || self.inner.file_at(repo, path, at)).await
    }

    async fn folder_at(&self, repo: &str, path: &str, at: &str) -> Result<Vec<String>, ExecError> {
        let key = (repo.to_owned(), path.to_owned(), at.to_owned());
        once(&self.folders, key, || self.inner.folder_at(repo, path, at)).await
    }
}

impl<R: Reads> Reads for Memo<R> {
    fn pull_request(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<PullRequestInfo, ExecError>> + Send {
        self.inner.pull_request(repo, number)
    }

    async fn pull_request_files(&self, repo: &str, number: u64) -> Result<Vec<String>, ExecError> {
        let key = (repo.to_owned(), number);
        once(&self.pull_files, key, || {
            self.inner.pull_request_files(repo, number)
        })
        .await
    }

    fn review_history(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Vec<Happening>, ExecError>> + Send {
        self.inner.review_history(repo, number)
    }

    fn open_pulls_touching(
        &self,
        repo: &str,
        folder: &str,
    ) -> impl Future<Output = Result<Vec<u64>, ExecError>> + Send {
        self.inner.open_pulls_touching(repo, folder)
    }
}

/// A repository in memory, for tests of what a capability reads and plans: files at commits
/// (`""` is the default branch), pull requests with their files and history. It counts reads.
#[derive(Debug, Default)]
pub struct MemoryRepo {
    /// (commit, path) -> text.
    pub files: BTreeMap<(String, String), String>,
    pub pulls: BTreeMap<u64, MemoryPull>,
    reads: AtomicUsize,
}

#[derive(Debug, Clone, Default)]
pub struct MemoryPull {
    pub info: PullRequestInfo,
    pub files: Vec<String>,
    pub history: Vec<Happening>,
    pub open: bool,
}

impl MemoryRepo {
    pub fn put(&mut self, at: &str, path: &str, text: impl Into<String>) {
        self.files
            .insert((at.to_owned(), path.to_owned()), text.into());
    }

    /// How many reads were made.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn pull(&self, number: u64) -> Result<&MemoryPull, ExecError> {
        self.pulls
            .get(&number)
            .ok_or_else(|| ExecError::Permanent(format!("404 no pull request #{number}")))
    }
}

impl Trees for MemoryRepo {
    async fn file_at(
        &self,
        _repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        self.count();
        Ok(self.files.get(&(at.to_owned(), path.to_owned())).cloned())
    }

    async fn folder_at(&self, _repo: &str, path: &str, at: &str) -> Result<Vec<String>, ExecError> {
        self.count();
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter(|(commit, _)| commit == at)
            .filter_map(|(_, p)| p.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_owned)
            .collect();
        names.dedup();
        Ok(names)
    }
}

impl Reads for MemoryRepo {
    async fn pull_request(&self, _repo: &str, number: u64) -> Result<PullRequestInfo, ExecError> {
        self.count();
        Ok(self.pull(number)?.info.clone())
    }

    async fn pull_request_files(&self, _repo: &str, number: u64) -> Result<Vec<String>, ExecError> {
        self.count();
        Ok(self
            .pull(number)
            .map(|p| p.files.clone())
            .unwrap_or_default())
    }

    async fn review_history(&self, _repo: &str, number: u64) -> Result<Vec<Happening>, ExecError> {
        self.count();
        Ok(self.pull(number)?.history.clone())
    }

    async fn open_pulls_touching(&self, _repo: &str, folder: &str) -> Result<Vec<u64>, ExecError> {
        self.count();
        let prefix = format!("{folder}/");
        Ok(self
            .pulls
            .iter()
            .filter(|(_, p)| p.open && p.files.iter().any(|f| f.starts_with(&prefix)))
            .map(|(n, _)| *n)
            .collect())
    }
}

/// What the lead review needs of a pull request beyond the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub author: String,
    pub head_sha: String,
    pub labels: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository whose reads take a while, counting them.
    struct Slow(Arc<MemoryRepo>);

    impl Trees for Slow {
        async fn file_at(
            &self,
            repo: &str,
            path: &str,
            at: &str,
        ) -> Result<Option<String>, ExecError> {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.0.file_at(repo, path, at).await
        }

        async fn folder_at(
            &self,
            repo: &str,
            path: &str,
            at: &str,
        ) -> Result<Vec<String>, ExecError> {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.0.folder_at(repo, path, at).await
        }
    }

    impl Reads for Slow {
        async fn pull_request(
            &self,
            repo: &str,
            number: u64,
        ) -> Result<PullRequestInfo, ExecError> {
            self.0.pull_request(repo, number).await
        }

        async fn pull_request_files(
            &self,
            repo: &str,
            number: u64,
        ) -> Result<Vec<String>, ExecError> {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.0.pull_request_files(repo, number).await
        }

        async fn review_history(
            &self,
            repo: &str,
            number: u64,
        ) -> Result<Vec<Happening>, ExecError> {
            self.0.review_history(repo, number).await
        }

        async fn open_pulls_touching(
            &self,
            repo: &str,
            folder: &str,
        ) -> Result<Vec<u64>, ExecError> {
            self.0.open_pulls_touching(repo, folder).await
        }
    }

    #[tokio::test]
    async fn reads_asked_at_the_same_time_are_made_once_for_the_job() {
        let mut repo = MemoryRepo::default();
        repo.put("", "OWNERS_ALIASES", "aliases: {}");
        let files = vec!["geps/gep-1/index.md".to_owned()];
        repo.pulls.insert(
            1,
            MemoryPull {
                files,
                ..Default::default()
            },
        );
        let repo = Arc::new(repo);
        let memo = Memo::new(Slow(repo.clone()));
        let (a, b, c, d) = tokio::join!(
            memo.file_at("o/r", "OWNERS_ALIASES", ""),
            memo.file_at("o/r", "OWNERS_ALIASES", ""),
            memo.pull_request_files("o/r", 1),
            memo.pull_request_files("o/r", 1),
        );
        assert_eq!(a.unwrap(), b.unwrap());
        assert_eq!(c.unwrap(), d.unwrap());
        assert_eq!(
            repo.reads(),
            2,
            "each read once, the second asker waiting for the first"
        );
        // Asked again later: from the memo.
        memo.folder_at("o/r", "geps", "").await.unwrap();
        memo.folder_at("o/r", "geps", "").await.unwrap();
        assert_eq!(repo.reads(), 3);
    }
}
