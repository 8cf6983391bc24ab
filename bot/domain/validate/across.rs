//! Checks across GEPs: relationships point at GEPs that exist and are answered, obsoleted GEPs are
//! Declined, and on a pull request a status change follows the lifecycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::domain::gep::Status;

use super::finding::{Code, Finding};
use super::metadata::{Metadata, RelationKind, answer_fix};
use super::source::{Position, SourceText};

/// The GEPs of a set, by number: what their metadata says, and its text (where a fix to it is
/// written).
pub struct Neighbours<'a> {
    pub metadata: &'a BTreeMap<u32, Metadata>,
    pub sources: &'a BTreeMap<u32, &'a SourceText>,
}

pub fn check(
    number: u32,
    metadata: &Metadata,
    file: &Path,
    neighbours: &Neighbours<'_>,
    known_elsewhere: &BTreeSet<u32>,
    out: &mut Vec<Finding>,
) {
    let all = neighbours.metadata;
    for relationship in &metadata.relationships {
        let other_number = relationship.number;
        let kind = relationship.kind.key();
        let Some(other) = all.get(&other_number) else {
            if !known_elsewhere.contains(&other_number) {
                out.push(Finding::new(
                    Code::UnknownGep,
                    file,
                    relationship.at,
                    format!("relationships.{kind} names GEP-{other_number}, which does not exist"),
                    format!("fix the number, or add geps/gep-{other_number}; if it was never written, remove the item"),
                ));
            }
            continue;
        };
        if let Some(answer) = relationship.kind.answer() {
            let answered = other
                .relationships
                .iter()
                .any(|r| r.kind == answer && r.number == number);
            if !answered {
                // Written on the other GEP, which upstream's tools read for the answer.
                let fix = neighbours
                    .sources
                    .get(&other_number)
                    .zip(metadata.name.as_ref())
                    .and_then(|(other, (name, _))| answer_fix(other, answer.key(), number, name));
                out.push(Finding::new(
                    Code::UnansweredRelationship,
                    file,
                    relationship.at,
                    format!(
                        "GEP-{number} {kind} GEP-{other_number}, but GEP-{other_number} does not list GEP-{number} under relationships.{}",
                        answer.key()
                    ),
                    format!(
                        "add `- number: {number}` with this GEP's name to relationships.{} in gep-{other_number}/metadata.yaml",
                        answer.key()
                    ),
                ).with_fix(fix));
            }
        }
    }
    let obsoleted_by_itself = metadata
        .relationships
        .iter()
        .find(|r| r.kind == RelationKind::ObsoletedBy)
        .map(|r| r.number);
    let obsoleted_by_other = all
        .iter()
        .find(|(_, m)| {
            m.relationships
                .iter()
                .any(|r| r.kind == RelationKind::Obsoletes && r.number == number)
        })
        .map(|(n, _)| *n);
    if let (Some(by), Some(status)) = (obsoleted_by_itself.or(obsoleted_by_other), metadata.status)
        && status != Status::Declined
    {
        out.push(Finding::new(
            Code::ObsoletedNotDeclined,
            file,
            metadata.status_at,
            format!("GEP-{number} is obsoleted by GEP-{by} but its status is {status}"),
            "an obsoleted GEP moves to `status: Declined` (and its index.md Status line with it)",
        ));
    }
}

/// On a pull request: whether the status change from base to head follows the lifecycle.
/// `base` is `None` for a GEP the pull request adds.
pub fn check_transition(
    base: Option<Status>,
    head: Status,
    feature_names: &[String],
    file: &Path,
    at: Position,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let entry_points = [Status::Provisional, Status::Memorandum, Status::Accepted];
    match base {
        Some(base) if !base.may_move_to(head) => {
            let next: Vec<_> = base.next().iter().map(|s| s.as_str()).collect();
            out.push(Finding::new(
                Code::SkippedStatus,
                file,
                at,
                format!(
                    "status moves from {base} to {head}, which the GEP lifecycle does not allow"
                ),
                if next.is_empty() {
                    format!("{base} is final; open a new GEP instead")
                } else {
                    format!(
                        "from {base} a GEP moves to {} (or Deferred, Declined, Withdrawn)",
                        next.join(" or ")
                    )
                },
            ));
        }
        None if !entry_points.contains(&head) && head.rung().is_some() => out.push(Finding::new(
            Code::SkippedStatus,
            file,
            at,
            format!("a new GEP starts at {head}; new GEPs start at Provisional (or Memorandum)"),
            "merge the GEP as Provisional first, with the Who/What/Why and the goals",
        )),
        _ => {}
    }
    let entering_experimental = head.is_at_least(Status::Experimental)
        && base.is_none_or(|b| !b.is_at_least(Status::Experimental));
    if entering_experimental && feature_names.is_empty() {
        out.push(Finding::new(
            Code::ExperimentalWithoutFeature,
            file,
            at,
            format!("the GEP moves to {head} without a feature name"),
            "list at least one feature name under `featureNames:` in metadata.yaml",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gep::Status::*;
    use crate::domain::validate::metadata::Relationship;

    fn meta(status: Status, relationships: &[(RelationKind, u32)]) -> Metadata {
        Metadata {
            number: None,
            name: None,
            status: Some(status),
            status_at: Position::line(5),
            relationships: relationships
                .iter()
                .map(|&(kind, number)| Relationship {
                    kind,
                    number,
                    at: Position::line(10),
                })
                .collect(),
            feature_names: Vec::new(),
            feature_lines: Vec::new(),
        }
    }

    fn run(number: u32, all: &BTreeMap<u32, Metadata>, elsewhere: &[u32]) -> Vec<Code> {
        let mut out = Vec::new();
        let known = elsewhere.iter().copied().collect();
        let neighbours = Neighbours {
            metadata: all,
            sources: &BTreeMap::new(),
        };
        check(
            number,
            &all[&number],
            Path::new("m.yaml"),
            &neighbours,
            &known,
            &mut out,
        );
        out.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_relationship_to_a_missing_gep_is_an_error_unless_known_elsewhere() {
        let all = BTreeMap::from([(1, meta(Standard, &[(RelationKind::SeeAlso, 99)]))]);
        assert_eq!(run(1, &all, &[]), [Code::UnknownGep]);
        assert_eq!(run(1, &all, &[99]), []);
    }

    #[test]
    fn obsoletes_and_extends_must_be_answered() {
        let mut all = BTreeMap::from([
            (
                1,
                meta(
                    Standard,
                    &[(RelationKind::Obsoletes, 2), (RelationKind::Extends, 3)],
                ),
            ),
            (2, meta(Declined, &[])),
            (3, meta(Standard, &[(RelationKind::ExtendedBy, 1)])),
        ]);
        assert_eq!(run(1, &all, &[]), [Code::UnansweredRelationship]);
        all.insert(2, meta(Declined, &[(RelationKind::ObsoletedBy, 1)]));
        assert_eq!(run(1, &all, &[]), []);
    }

    #[test]
    fn an_obsoleted_gep_must_be_declined() {
        let all = BTreeMap::from([
            (1, meta(Standard, &[(RelationKind::Obsoletes, 2)])),
            (2, meta(Provisional, &[(RelationKind::ObsoletedBy, 1)])),
            (3, meta(Provisional, &[(RelationKind::ObsoletedBy, 9)])),
        ]);
        assert_eq!(run(2, &all, &[]), [Code::ObsoletedNotDeclined]);
        assert_eq!(run(3, &all, &[9]), [Code::ObsoletedNotDeclined]);
    }

    fn transition(base: Option<Status>, head: Status, features: &[&str]) -> Vec<Code> {
        let features: Vec<String> = features.iter().map(|s| s.to_string()).collect();
        check_transition(base, head, &features, Path::new("m.yaml"), Position::START)
            .iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn status_changes_follow_the_lifecycle() {
        assert_eq!(transition(Some(Provisional), Implementable, &[]), []);
        assert_eq!(
            transition(Some(Provisional), Standard, &["X"]),
            [Code::SkippedStatus]
        );
        assert_eq!(
            transition(Some(Implementable), Experimental, &[]),
            [Code::ExperimentalWithoutFeature]
        );
        assert_eq!(
            transition(Some(Implementable), Experimental, &["HTTPRouteX"]),
            []
        );
        assert_eq!(transition(Some(Experimental), Standard, &[]), []);
        assert_eq!(transition(None, Provisional, &[]), []);
        assert_eq!(transition(None, Standard, &["X"]), [Code::SkippedStatus]);
        assert_eq!(transition(Some(Standard), Declined, &[]), []);
    }

    /// The other GEP's metadata.yaml after the fix for an unanswered `extends`.
    fn answered(other: &str) -> String {
        let source = SourceText::new("gep-2/metadata.yaml", other);
        let fix = answer_fix(&source, "extendedBy", 1, "Mesh: the plan").unwrap();
        crate::domain::validate::apply(other, &[&fix]).unwrap().text
    }

    #[test]
    fn an_unanswered_extends_is_answered_in_the_other_gep() {
        let head = "number: 2\nname: B\n";
        // Upstream's template writes empty lists as `{}`.
        assert_eq!(
            answered(&format!(
                "{head}relationships:\n  # note\n  extends: {{}}\n  extendedBy: {{}}\nreferences: []\n"
            )),
            format!(
                "{head}relationships:\n  # note\n  extends: {{}}\n  extendedBy:\n    - number: 1\n      name: \"Mesh: the plan\"\nreferences: []\n"
            )
        );
        // A list already there gets one more item, as its items are indented.
        assert_eq!(
            answered(&format!(
                "{head}relationships:\n  extendedBy:\n  - number: 3\n    name: C\nfeatureNames: []\n"
            )),
            format!(
                "{head}relationships:\n  extendedBy:\n  - number: 3\n    name: C\n  - number: 1\n    name: \"Mesh: the plan\"\nfeatureNames: []\n"
            )
        );
        // No such list, or no relationships at all: made.
        assert_eq!(
            answered(&format!("{head}relationships:\n  seeAlso: []\n")),
            format!(
                "{head}relationships:\n  seeAlso: []\n  extendedBy:\n    - number: 1\n      name: \"Mesh: the plan\"\n"
            )
        );
        assert_eq!(
            answered(head),
            format!(
                "{head}relationships:\n  extendedBy:\n    - number: 1\n      name: \"Mesh: the plan\"\n"
            )
        );
    }
}
