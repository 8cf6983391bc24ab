//! The features a repository defines (`pkg/features/*.go` upstream): each a Go constant of type
//! `FeatureName` whose string value is the feature's name, the name GEPs list in `featureNames`
//! and conformance reports list in `supportedFeatures`:
//!
//! ```go
//! SupportHTTPRouteRetry FeatureName = "HTTPRouteRetry"
//! ```
//!
//! Read by a line scan rather than a Go parser: the declarations are one per line by upstream's
//! convention, and a line the scan misses makes a name unknown (a warning), never a false error.

use std::collections::{BTreeMap, BTreeSet};

/// Where upstream keeps them, from the repository's root.
pub const FEATURES_DIR: &str = "pkg/features";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    names: BTreeSet<String>,
    /// Go constant -> the feature's name.
    constants: BTreeMap<String, String>,
}

/// What a name written in `featureNames` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<'a> {
    /// A feature's name.
    Name,
    /// The Go constant of the feature named here.
    Constant(&'a str),
    Unknown,
}

impl Features {
    /// The features declared in Go source files.
    pub fn from_go<'a>(files: impl IntoIterator<Item = &'a str>) -> Features {
        let mut features = Features::default();
        for text in files {
            for line in text.lines() {
                if let Some((constant, name)) = declaration(line) {
                    features.names.insert(name.to_owned());
                    features
                        .constants
                        .insert(constant.to_owned(), name.to_owned());
                }
            }
        }
        features
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn lookup(&self, written: &str) -> Known<'_> {
        if self.names.contains(written) {
            Known::Name
        } else if let Some(name) = self.constants.get(written) {
            Known::Constant(name)
        } else {
            Known::Unknown
        }
    }

    /// The known name closest to `written`, when one is close enough to be a typo.
    pub fn nearest(&self, written: &str) -> Option<&str> {
        self.names
            .iter()
            .map(|name| (strsim::damerau_levenshtein(written, name), name))
            .filter(|(distance, name)| *distance <= 2.max(name.len() / 8))
            .min()
            .map(|(_, name)| name.as_str())
    }
}

/// `IDENT FeatureName = "Value"` (inside a `const (...)` block or after `const`).
fn declaration(line: &str) -> Option<(&str, &str)> {
    let line = line.trim().strip_prefix("const ").unwrap_or(line.trim());
    let (left, right) = line.split_once('=')?;
    let mut left = left.split_whitespace();
    let (constant, kind) = (left.next()?, left.next()?);
    if kind != "FeatureName" || left.next().is_some() {
        return None;
    }
    let value = right.trim().strip_prefix('"')?;
    let value = &value[..value.find('"')?];
    let is_ident =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (is_ident(constant) && is_ident(value)).then_some((constant, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_constants_are_read_from_declarations_only() {
        let go = "const (\n\t// Retries\n\tSupportHTTPRouteRetry FeatureName = \"HTTPRouteRetry\"\n)\n\
                  var HTTPRouteRetryFeature = Feature{\n\tName: SupportHTTPRouteRetry,\n}\n\
                  const SupportMesh FeatureName = \"Mesh\" // mesh\n";
        let features = Features::from_go([go]);
        assert_eq!(features.len(), 2);
        assert_eq!(features.lookup("HTTPRouteRetry"), Known::Name);
        assert_eq!(
            features.lookup("SupportHTTPRouteRetry"),
            Known::Constant("HTTPRouteRetry")
        );
        assert_eq!(features.lookup("Mesh"), Known::Name);
        assert_eq!(features.lookup("HTTPRouteRetryFeature"), Known::Unknown);
        assert_eq!(features.nearest("HTTPRouteRetyr"), Some("HTTPRouteRetry"));
        assert_eq!(features.nearest("Gateway"), None);
    }
}
