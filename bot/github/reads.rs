//! The narrow seam through which a capability reads a repository (Prow's per-plugin client
//! interfaces are the model): a file or a folder at a commit. The real implementation is one
//! installation's view through the executor; tests use an in-memory tree, with no HTTP.

use std::collections::BTreeMap;

use super::executor::{ExecError, Executor};

/// Reads of one repository's trees, as one installation may make them.
pub trait Reads: Sync {
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

/// One installation's reads through the executor.
pub struct InstallationReads<'a> {
    pub executor: &'a Executor,
    pub installation: Option<u64>,
}

impl Reads for InstallationReads<'_> {
    fn file_at(
        &self,
        repo: &str,
        path: &str,
        at: &str,
    ) -> impl Future<Output = Result<Option<String>, ExecError>> + Send {
        self.executor.file_at(self.installation, repo, path, at)
    }

    fn folder_at(
        &self,
        repo: &str,
        path: &str,
        at: &str,
    ) -> impl Future<Output = Result<Vec<String>, ExecError>> + Send {
        self.executor.folder_at(self.installation, repo, path, at)
    }
}

/// Trees in memory: `(commit, path) -> text`, for tests of what a capability reads and plans.
/// It counts the reads made, so a test can bound them.
#[derive(Debug, Default)]
pub struct MemoryTrees {
    pub files: BTreeMap<(String, String), String>,
    pub reads: std::sync::atomic::AtomicUsize,
}

impl MemoryTrees {
    pub fn put(&mut self, at: &str, path: &str, text: impl Into<String>) {
        self.files
            .insert((at.to_owned(), path.to_owned()), text.into());
    }

    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Reads for MemoryTrees {
    async fn file_at(
        &self,
        _repo: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<String>, ExecError> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.files.get(&(at.to_owned(), path.to_owned())).cloned())
    }

    async fn folder_at(&self, _repo: &str, path: &str, at: &str) -> Result<Vec<String>, ExecError> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
