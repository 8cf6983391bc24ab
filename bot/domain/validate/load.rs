//! The disk side of validation: turns the paths a user gives into a [`GepSet`].
//!
//! A path is a `geps/` folder (every `gep-N` inside is checked), a `gep-N` folder, or a file of one.
//! The `gep-N` folders beside a checked one are read too, as neighbours that relationships may name.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::domain::gep::folder_number;

use super::gep::{GepFiles, GepSet};
use super::source::SourceText;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: no such file or directory{}", .0.display(), default_hint(.0))]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}: no gep-N folders in this directory")]
    NoGeps(PathBuf),
    #[error(
        "{}: a GEP number is its tracking issue's number, at most {}; rename the folder",
        .0.display(),
        u32::MAX
    )]
    NumberTooLarge(PathBuf),
}

/// A folder named like `gep-N` whose N does not fit is a mistake to name, not a folder to skip.
fn refuse_unfit_number(path: &Path) -> Result<(), LoadError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match crate::domain::gep::folder_digits(name) {
        Some(_) if folder_number(name).is_none() => {
            Err(LoadError::NumberTooLarge(path.to_path_buf()))
        }
        _ => Ok(()),
    }
}

/// What to do when the default path, `geps`, is not there: the command was run elsewhere.
fn default_hint(path: &Path) -> &'static str {
    if path == Path::new("geps") {
        " (run it in a checkout of the repository, or name GEP folders or files)"
    } else {
        ""
    }
}

pub fn load(paths: &[PathBuf]) -> Result<GepSet, LoadError> {
    let mut geps: BTreeMap<PathBuf, GepFiles> = BTreeMap::new();
    let mut checked_dirs = BTreeSet::new();
    let mut only_files = BTreeSet::new();
    let mut whole_folders = false;
    for path in paths {
        refuse_unfit_number(path)?;
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LoadError::Missing(path.clone()),
            _ => LoadError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if metadata.is_file() {
            only_files.insert(path.clone());
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            if number_of(&dir).is_some() {
                checked_dirs.insert(dir);
            } else {
                // A lone document outside a gep-N folder: checked on its own.
                let text = read(path)?;
                let source = Some(SourceText::new(path.clone(), text));
                let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
                geps.insert(
                    path.clone(),
                    GepFiles {
                        dir,
                        number: None,
                        index: if is_yaml { None } else { source.clone() },
                        metadata: if is_yaml { source } else { None },
                        checked: true,
                    },
                );
            }
        } else if number_of(path).is_some() {
            whole_folders = true;
            checked_dirs.insert(path.clone());
        } else {
            whole_folders = true;
            let found = gep_folders(path)?;
            if found.is_empty() {
                return Err(LoadError::NoGeps(path.clone()));
            }
            checked_dirs.extend(found);
        }
    }
    let parents: BTreeSet<&Path> = checked_dirs
        .iter()
        .filter_map(|dir| dir.parent())
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .collect();
    let mut neighbour_dirs = BTreeSet::new();
    for parent in parents {
        neighbour_dirs.extend(gep_folders(parent)?);
    }
    for dir in checked_dirs.iter().chain(&neighbour_dirs) {
        if geps.contains_key(dir) {
            continue;
        }
        let checked = checked_dirs.contains(dir);
        geps.insert(dir.clone(), read_gep(dir, checked)?);
    }
    Ok(GepSet {
        geps: geps.into_values().collect(),
        only_files: (!whole_folders).then_some(only_files),
    })
}

/// The features of the repository the checked GEPs are in: `pkg/features/*.go` beside their
/// `geps/` folder, when it is there and a checked GEP lists `featureNames`.
pub fn features_beside(set: &GepSet) -> Result<Option<crate::domain::gep::Features>, LoadError> {
    let Some(gep) = set.geps.iter().find(|g| g.checked && g.number.is_some()) else {
        return Ok(None);
    };
    let root = std::path::absolute(&gep.dir)
        .ok()
        .and_then(|dir| Some(dir.parent()?.parent()?.to_path_buf()));
    let Some(dir) = root.map(|r| r.join(crate::domain::gep::features::FEATURES_DIR)) else {
        return Ok(None);
    };
    if !set.lists_features() {
        return Ok(None);
    }
    features_in(&dir)
}

/// The features declared in `dir`'s `*.go` files (not `_test.go`); `None` when the folder is not
/// there or declares none.
pub fn features_in(dir: &Path) -> Result<Option<crate::domain::gep::Features>, LoadError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })? {
        let path = entry
            .map_err(|source| LoadError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".go") && !name.ends_with("_test.go") {
            texts.push(read(&path)?);
        }
    }
    let features = crate::domain::gep::Features::from_go(texts.iter().map(String::as_str));
    Ok((!features.is_empty()).then_some(features))
}

fn number_of(dir: &Path) -> Option<u32> {
    folder_number(dir.file_name()?.to_str()?)
}

fn gep_folders(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            refuse_unfit_number(&path)?;
        }
        if path.is_dir() && number_of(&path).is_some() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn read_gep(dir: &Path, checked: bool) -> Result<GepFiles, LoadError> {
    let optional = |name: &str| -> Result<Option<SourceText>, LoadError> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(SourceText::new(path, text))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LoadError::Io { path, source }),
        }
    };
    Ok(GepFiles {
        dir: dir.to_path_buf(),
        number: number_of(dir),
        index: optional("index.md")?,
        metadata: optional("metadata.yaml")?,
        checked,
    })
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}
