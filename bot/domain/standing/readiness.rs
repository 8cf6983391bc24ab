//! Graduation readiness (SPEC section 12): what a GEP still needs before its next status, computed
//! from the repository: its feature names and whether the repository defines them, the
//! implementations whose newest conformance report passes each, the sections the next status
//! requires, and the time in its status with, for Experimental, the probationary period.
//!
//! Pure: the facts in (read by `cli::status` from a checkout), a [`Readiness`] out.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::gep::features::Known;
use crate::domain::gep::{Features, Status};

/// Implementations a feature needs passing it before its GEP may be Standard.
pub const IMPLEMENTATIONS_NEEDED: usize = 3;
/// The probationary period of an Experimental GEP unless it states its own.
pub const PROBATION_MONTHS: u32 = 6;

/// Per implementation, its newest conformance report and the features it passes.
#[derive(Debug, Clone, Default)]
pub struct Conformance {
    newest: BTreeMap<String, Newest>,
}

#[derive(Debug, Clone)]
struct Newest {
    /// Gateway API version (from the folder: `v1.5`, `v1.3.0`) and the report's date.
    at: (Vec<u64>, String),
    report: String,
    passing: Vec<String>,
}

#[derive(Deserialize)]
struct RawReport {
    #[serde(default)]
    date: String,
    #[serde(default)]
    profiles: Vec<RawProfile>,
}

#[derive(Deserialize)]
struct RawProfile {
    core: Option<RawSection>,
    extended: Option<RawSection>,
}

#[derive(Deserialize)]
struct RawSection {
    #[serde(default)]
    result: String,
    #[serde(default, rename = "supportedFeatures")]
    supported_features: Vec<String>,
}

impl Conformance {
    /// Reports as `(path under conformance/reports, text)`: `VERSION/IMPLEMENTATION/FILE.yaml`.
    /// A report that does not parse is left out (and named in the log).
    pub fn from_reports<'a>(reports: impl IntoIterator<Item = (&'a str, &'a str)>) -> Conformance {
        let mut conformance = Conformance::default();
        for (path, text) in reports {
            let mut parts = path.split('/');
            let (Some(version), Some(implementation), Some(_file), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let report: RawReport = match serde_yaml_ng::from_str(text) {
                Ok(report) => report,
                Err(error) => {
                    tracing::warn!(path, %error, "conformance report not read");
                    continue;
                }
            };
            // A feature passes when the profile section listing it succeeded.
            let mut passing: Vec<String> = report
                .profiles
                .iter()
                .flat_map(|p| p.core.iter().chain(p.extended.iter()))
                .filter(|section| section.result == "success")
                .flat_map(|section| section.supported_features.iter().cloned())
                .collect();
            passing.sort();
            passing.dedup();
            let at = (version_key(version), report.date);
            let newer = conformance
                .newest
                .get(implementation)
                .is_none_or(|known| at > known.at);
            if newer {
                conformance.newest.insert(
                    implementation.to_owned(),
                    Newest {
                        at,
                        report: path.to_owned(),
                        passing,
                    },
                );
            }
        }
        conformance
    }

    /// The implementations whose newest report passes `feature`.
    pub fn passing(&self, feature: &str) -> Vec<String> {
        self.newest
            .iter()
            .filter(|(_, newest)| newest.passing.iter().any(|f| f == feature))
            .map(|(implementation, _)| implementation.clone())
            .collect()
    }

    pub fn implementations(&self) -> usize {
        self.newest.len()
    }

    /// The report an implementation's standing is read from.
    pub fn newest_report(&self, implementation: &str) -> Option<&str> {
        self.newest.get(implementation).map(|n| n.report.as_str())
    }
}

/// `v1.5.0` -> [1, 5, 0]; `v1.5` -> [1, 5, 0] (missing parts are 0).
fn version_key(folder: &str) -> Vec<u64> {
    let mut key: Vec<u64> = folder
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    key.resize(3, 0);
    key
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureReadiness {
    pub name: String,
    /// Defined in the repository's `pkg/features` (`None`: the repository defines none).
    pub known: Option<bool>,
    /// The feature's name where the GEP wrote its Go constant (`SupportHTTPRouteRetry`): the
    /// reports are read for this one.
    pub read_as: Option<String>,
    /// Its release channel in `pkg/features` (`Standard` is GA), where declared.
    pub channel: Option<String>,
    /// `None` where the conformance reports were not read (`/gep status`).
    pub implementations_passing: Option<usize>,
    pub implementations: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Criterion {
    pub criterion: String,
    pub met: bool,
    pub detail: String,
}

impl Criterion {
    /// The criterion as a markdown task-list line (`- [x] what: detail`), its text made safe to
    /// echo on GitHub.
    pub fn checklist_line(&self) -> String {
        use crate::domain::text::sanitize;
        format!(
            "- [{}] {}: {}\n",
            if self.met { "x" } else { " " },
            sanitize(&self.criterion, 200),
            sanitize(&self.detail, 300)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub features: Vec<FeatureReadiness>,
    pub criteria: Vec<Criterion>,
    /// The day the GEP reached its current status, from the repository's history.
    pub in_status_since: Option<NaiveDate>,
    /// For Experimental: the end of the probationary period.
    pub probation_ends: Option<NaiveDate>,
}

/// What [`readiness`] reads.
pub struct Facts<'a> {
    pub status: Option<Status>,
    pub feature_names: &'a [String],
    pub features: Option<&'a Features>,
    /// `None`: not read, so nothing is said of implementations.
    pub conformance: Option<&'a Conformance>,
    /// Sections the next status requires that are not written.
    pub sections_owed: &'a [String],
    pub next: Option<Status>,
    pub in_status_since: Option<NaiveDate>,
    /// The GEP says it is exempt from the probationary period (upstream's GEP-1748 does).
    pub probation_exempt: bool,
    pub today: NaiveDate,
}

/// What the repository holds beyond the GEP's own files, as far as it was read.
#[derive(Debug, Clone, Copy)]
pub struct Around<'a> {
    pub features: Option<&'a Features>,
    /// `None`: not read, so nothing is said of implementations.
    pub conformance: Option<&'a Conformance>,
    pub in_status_since: Option<NaiveDate>,
    pub today: NaiveDate,
}

impl<'a> Facts<'a> {
    /// The facts of one GEP: what it says (`summary`, its text), what its next status needs
    /// (`next`, the furthest it may move to), and what is `around` it.
    pub fn of(
        gep: &'a crate::domain::validate::GepFiles,
        summary: &'a crate::domain::validate::GepSummary,
        next: Option<&'a crate::domain::standing::NextStep>,
        around: Around<'a>,
    ) -> Facts<'a> {
        Facts {
            status: summary.status,
            feature_names: &summary.feature_names,
            features: around.features,
            conformance: around.conformance,
            sections_owed: next.map_or(&[][..], |n| n.sections.as_slice()),
            next: next.map(|n| n.status),
            in_status_since: around.in_status_since,
            probation_exempt: gep
                .index
                .as_ref()
                .is_some_and(|index| states_probation_exempt(index.text())),
            today: around.today,
        }
    }
}

/// Whether a GEP's text says it is exempt from the probationary period ("This GEP is also
/// exempt from the \[Probationary Period\]\[expprob\] rules", as Markdown).
pub fn states_probation_exempt(index: &str) -> bool {
    let text = index.to_lowercase();
    text.match_indices("probationary period").any(|(at, _)| {
        let before = &text[text[..at]
            .char_indices()
            .rev()
            .nth(40)
            .map_or(0, |(i, _)| i)..at];
        before.contains("exempt from")
    })
}

pub fn readiness(facts: &Facts<'_>) -> Readiness {
    let features: Vec<FeatureReadiness> = facts
        .feature_names
        .iter()
        .map(|name| {
            let lookup = facts.features.map(|f| f.lookup(name));
            let read_as = match lookup {
                Some(Known::Constant(real)) => Some(real.to_owned()),
                _ => None,
            };
            let implementations = facts
                .conformance
                .map(|c| c.passing(read_as.as_deref().unwrap_or(name)));
            let channel = facts
                .features
                .and_then(|f| f.channel(read_as.as_deref().unwrap_or(name)))
                .map(str::to_owned);
            FeatureReadiness {
                name: name.clone(),
                known: lookup.map(|l| l == Known::Name),
                channel,
                read_as,
                implementations_passing: implementations.as_ref().map(Vec::len),
                implementations,
            }
        })
        .collect();
    let probation_ends = match (facts.status, facts.in_status_since) {
        (Some(Status::Experimental), Some(since)) if !facts.probation_exempt => {
            since.checked_add_months(Months::new(PROBATION_MONTHS))
        }
        _ => None,
    };
    let mut criteria = Vec::new();
    // Statuses off the ladder (Memorandum, Deferred, Declined, Withdrawn) and its end have no
    // next step to be ready for.
    let moving = facts
        .status
        .is_some_and(|s| s.is_at_least(Status::Provisional) && !s.is_at_least(Status::Completed));
    let Some(next) = facts.next.filter(|_| moving) else {
        return Readiness {
            features,
            criteria,
            in_status_since: facts.in_status_since,
            probation_ends,
        };
    };
    if next == Status::Completed {
        // "All implementation work on this API GEP has been completed" (overview.md): its
        // features GA and implemented, not the sections today's template asks of a new GEP.
        completed(&features, facts.conformance, &mut criteria);
        return Readiness {
            features,
            criteria,
            in_status_since: facts.in_status_since,
            probation_ends,
        };
    }
    if next.is_at_least(Status::Experimental) {
        criteria.push(Criterion {
            criterion: "feature names listed".into(),
            met: !features.is_empty(),
            detail: format!("{} in metadata.yaml `featureNames`", features.len()),
        });
        // Whether they are defined is a question once there are some.
        if facts.features.is_some() && !features.is_empty() {
            let unknown: Vec<&str> = features
                .iter()
                .filter(|f| f.known == Some(false))
                .map(|f| f.name.as_str())
                .collect();
            criteria.push(Criterion {
                criterion: "feature names defined in pkg/features".into(),
                met: unknown.is_empty(),
                detail: if unknown.is_empty() {
                    "every one".into()
                } else {
                    format!("not defined: {}", unknown.join(", "))
                },
            });
        }
    }
    criteria.push(Criterion {
        criterion: format!("sections required at {next} written"),
        met: facts.sections_owed.is_empty(),
        detail: if facts.sections_owed.is_empty() {
            "all".into()
        } else {
            format!("missing: {}", facts.sections_owed.join(", "))
        },
    });
    if let (Status::Standard, Some(conformance)) = (next, facts.conformance) {
        criteria.push(implemented(&features, conformance));
    }
    if next == Status::Standard && facts.status == Some(Status::Experimental) {
        criteria.push(Criterion {
            criterion: format!("{PROBATION_MONTHS}-month probationary period over"),
            met: facts.probation_exempt || probation_ends.is_some_and(|end| end <= facts.today),
            detail: match probation_ends {
                _ if facts.probation_exempt => "exempt, the GEP says".into(),
                Some(end) => format!("ends {end}"),
                None => "time in status unknown (no history)".into(),
            },
        });
    }
    Readiness {
        features,
        criteria,
        in_status_since: facts.in_status_since,
        probation_ends,
    }
}

/// At least [`IMPLEMENTATIONS_NEEDED`] implementations pass each feature, by their newest reports.
fn implemented(features: &[FeatureReadiness], conformance: &Conformance) -> Criterion {
    let short: Vec<String> = features
        .iter()
        .map(|f| (f, f.implementations_passing.unwrap_or(0)))
        .filter(|(_, passing)| *passing < IMPLEMENTATIONS_NEEDED)
        .map(|(f, passing)| format!("{} ({passing})", f.name))
        .collect();
    Criterion {
        criterion: format!("at least {IMPLEMENTATIONS_NEEDED} implementations pass each feature"),
        met: short.is_empty() && !features.is_empty(),
        detail: if short.is_empty() {
            format!(
                "by the newest report of each of {} implementations",
                conformance.implementations()
            )
        } else {
            format!("short: {}", short.join(", "))
        },
    }
}

/// Standard -> Completed, judged by the GEP's features: each in the Standard channel (GA), and
/// implemented. A GEP that lists none is left to people (nothing to compute, nothing to fail).
fn completed(
    features: &[FeatureReadiness],
    conformance: Option<&Conformance>,
    criteria: &mut Vec<Criterion>,
) {
    if features.is_empty() {
        return;
    }
    let not_ga: Vec<String> = features
        .iter()
        .filter(|f| f.channel.as_deref() != Some("Standard"))
        .map(|f| {
            format!(
                "{} ({})",
                f.name,
                f.channel.as_deref().unwrap_or("no channel")
            )
        })
        .collect();
    criteria.push(Criterion {
        criterion: "every feature in the Standard channel (GA)".into(),
        met: not_ga.is_empty(),
        detail: if not_ga.is_empty() {
            "by pkg/features".into()
        } else {
            format!("not yet: {}", not_ga.join(", "))
        },
    });
    if let Some(conformance) = conformance {
        criteria.push(implemented(features, conformance));
    }
}

impl Readiness {
    /// Whether the GEP meets every criterion of its next status (and has some to meet).
    pub fn ready(&self) -> bool {
        !self.criteria.is_empty() && self.criteria.iter().all(|c| c.met)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "date: \"2025-05-27T17:51:14Z\"\nprofiles:\n- core:\n    result: success\n  extended:\n    result: success\n    supportedFeatures:\n    - HTTPRouteRetry\n  name: MESH-HTTP\n";
    const PARTIAL: &str = "date: \"2025-09-01T00:00:00Z\"\nprofiles:\n- core:\n    result: success\n  extended:\n    result: partial\n    supportedFeatures:\n    - HTTPRouteRetry\n";

    #[test]
    fn an_exemption_from_probation_is_read_from_the_gep() {
        let gep_1748 = "This GEP is also exempt from the [Probationary Period][expprob] rules as it\npredated them.";
        assert!(states_probation_exempt(gep_1748));
        assert!(!states_probation_exempt(
            "After the probationary period, we are not exempt from review."
        ));
        assert!(!states_probation_exempt(
            "exempt from nothing. A long sentence that goes on and on and on, then: probationary period"
        ));
    }

    #[test]
    fn each_implementation_counts_by_its_newest_report_and_a_partial_section_passes_nothing() {
        let conformance = Conformance::from_reports([
            ("v1.3.0/istio-istio/a.yaml", REPORT),
            ("v1.2.0/kuma/a.yaml", REPORT),
            ("v1.3.0/kuma/b.yaml", PARTIAL),
            ("v1.1/linkerd/a.yaml", REPORT),
            ("README.md", "x"),
        ]);
        assert_eq!(conformance.implementations(), 3);
        assert_eq!(
            conformance.passing("HTTPRouteRetry"),
            ["istio-istio", "linkerd"]
        );
        assert_eq!(
            conformance.newest_report("kuma"),
            Some("v1.3.0/kuma/b.yaml")
        );
    }

    #[test]
    fn an_experimental_gep_lists_what_standard_still_needs() {
        let conformance = Conformance::from_reports([("v1.3.0/istio-istio/a.yaml", REPORT)]);
        let features =
            Features::from_go(["SupportHTTPRouteRetry FeatureName = \"HTTPRouteRetry\""]);
        let names = [
            "HTTPRouteRetry".to_owned(),
            "SupportHTTPRouteRetry".to_owned(),
        ];
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let got = readiness(&Facts {
            status: Some(Status::Experimental),
            feature_names: &names,
            features: Some(&features),
            conformance: Some(&conformance),
            sections_owed: &[],
            next: Some(Status::Standard),
            in_status_since: Some(day("2026-01-31")),
            probation_exempt: false,
            today: day("2026-07-01"),
        });
        assert_eq!(got.probation_ends, Some(day("2026-07-31")));
        assert_eq!(
            got.features[0].implementations.as_deref(),
            Some(&["istio-istio".to_owned()][..])
        );
        assert_eq!(got.features[1].known, Some(false));
        // The Go constant is read as the feature it names.
        assert_eq!(got.features[1].read_as.as_deref(), Some("HTTPRouteRetry"));
        assert_eq!(got.features[1].implementations_passing, Some(1));
        let met: Vec<(&str, bool)> = got
            .criteria
            .iter()
            .map(|c| (c.criterion.as_str(), c.met))
            .collect();
        assert_eq!(
            met,
            [
                ("feature names listed", true),
                ("feature names defined in pkg/features", false),
                ("sections required at Standard written", true),
                ("at least 3 implementations pass each feature", false),
                ("6-month probationary period over", false),
            ]
        );
    }

    #[test]
    fn standard_to_completed_is_judged_by_features_and_final_statuses_by_nothing() {
        let reports: Vec<(String, &str)> = ["a", "b", "c"]
            .iter()
            .map(|i| (format!("v1.3.0/{i}/r.yaml"), REPORT))
            .collect();
        let conformance = Conformance::from_reports(reports.iter().map(|(p, t)| (p.as_str(), *t)));
        let go = |channel: &str| {
            format!(
                "SupportHTTPRouteRetry FeatureName = \"HTTPRouteRetry\"\nvar F = Feature{{Name: SupportHTTPRouteRetry, Channel: FeatureChannel{channel}}}\n"
            )
        };
        let names = ["HTTPRouteRetry".to_owned()];
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let judge = |status, next, features: &Features, names: &[String]| {
            readiness(&Facts {
                status: Some(status),
                feature_names: names,
                features: Some(features),
                conformance: Some(&conformance),
                // The template's newer sections are owed, and do not count for Completed.
                sections_owed: &["TLDR".to_owned()],
                next,
                in_status_since: Some(day("2024-01-01")),
                probation_exempt: false,
                today: day("2026-12-01"),
            })
        };
        let experimental = Features::from_go([go("Experimental").as_str()]);
        let standard = Features::from_go([go("Standard").as_str()]);
        let not_yet = judge(
            Status::Standard,
            Some(Status::Completed),
            &experimental,
            &names,
        );
        assert_eq!(
            not_yet
                .criteria
                .iter()
                .map(|c| (c.criterion.as_str(), c.met))
                .collect::<Vec<_>>(),
            [
                ("every feature in the Standard channel (GA)", false),
                ("at least 3 implementations pass each feature", true)
            ]
        );
        assert!(!not_yet.ready());
        assert!(judge(Status::Standard, Some(Status::Completed), &standard, &names).ready());
        // A Standard GEP that lists no features: nothing to compute, nothing shown as unmet.
        let old = judge(Status::Standard, Some(Status::Completed), &standard, &[]);
        assert!(old.criteria.is_empty() && !old.ready());
        for status in [
            Status::Memorandum,
            Status::Declined,
            Status::Completed,
            Status::Withdrawn,
        ] {
            let done = judge(status, status.next().last().copied(), &standard, &names);
            assert!(done.criteria.is_empty(), "{status}: {:?}", done.criteria);
        }
    }
}
