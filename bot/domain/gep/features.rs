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
    /// The feature's name -> its release channel (`Standard`, `Experimental`), from its
    /// `Feature{Name: ..., Channel: FeatureChannelX}` declaration.
    channels: BTreeMap<String, String>,
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
        let texts: Vec<&str> = files.into_iter().collect();
        for text in &texts {
            for line in text.lines() {
                if let Some((constant, name)) = declaration(line) {
                    features.names.insert(name.to_owned());
                    features
                        .constants
                        .insert(constant.to_owned(), name.to_owned());
                }
            }
        }
        // `Feature{` blocks, on one line or several: the `Name:` seen last takes the `Channel:`.
        for text in &texts {
            let mut named: Option<String> = None;
            for line in text.lines() {
                for part in line.split([',', '{', '}']) {
                    let part = part.trim();
                    if let Some(name) = part.strip_prefix("Name:") {
                        let name = name.trim().trim_matches('"');
                        named = features
                            .constants
                            .get(name)
                            .cloned()
                            .or_else(|| features.names.contains(name).then(|| name.to_owned()));
                    } else if let Some(channel) = part.strip_prefix("Channel:") {
                        let channel = channel.trim().trim_start_matches("FeatureChannel");
                        if let Some(name) = named.take() {
                            features.channels.insert(name, channel.to_owned());
                        }
                    }
                }
            }
        }
        features
    }

    /// The release channel of the feature named `name` (`Standard`, `Experimental`), where the
    /// repository declares one.
    pub fn channel(&self, name: &str) -> Option<&str> {
        self.channels.get(name).map(String::as_str)
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

/// Whether a GEP at `status` lags its release: it is at Experimental or earlier and every feature
/// it lists (each as `(name, channel)`) is in the Standard channel. Then the features, each as
/// `Name (Standard)`; `None` otherwise (no features, one not GA, or a status past it).
pub fn behind<'a>(
    status: super::Status,
    features: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Option<Vec<String>> {
    use super::Status;
    if !status.is_at_least(Status::Provisional) || status.is_at_least(Status::Standard) {
        return None;
    }
    let named: Option<Vec<String>> = features
        .into_iter()
        .map(|(name, channel)| (channel == Some("Standard")).then(|| format!("{name} (Standard)")))
        .collect();
    named.filter(|n| !n.is_empty())
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

    #[test]
    fn a_channel_is_read_from_a_feature_declaration_on_one_line_or_several() {
        let go = "const (\n\tSupportX FeatureName = \"X\"\n\tSupportY FeatureName = \"Y\"\n)\n\
                  var XFeature = Feature{Name: SupportX, Channel: FeatureChannelStandard}\n\
                  var YFeature = Feature{\n\tName:    SupportY,\n\tChannel: FeatureChannelExperimental,\n}\n";
        let features = Features::from_go([go]);
        assert_eq!(features.channel("X"), Some("Standard"));
        assert_eq!(features.channel("Y"), Some("Experimental"));
        assert_eq!(features.channel("Z"), None);
    }
}
