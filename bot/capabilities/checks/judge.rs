//! What a pull request introduces: the changed GEPs validated as they are at the head and as they
//! were at the base, and each head finding judged new (the pull request's own: an error unless it
//! is a notice) or there before (a notice that never fails the check).
//!
//! A check that blames a one-line fix for every old gap of the file it touches is red on every
//! pull request and gets switched off (replayed over upstream's history, the strict-on-changed-
//! files rule failed 59 of the 60 latest GEP changes; 21 really introduced a defect). So a finding
//! fails the check only when the base did not have it. A section the pull request's own status
//! promotion asks for is judged by the base too: one the GEP already lacked there (a GEP written
//! before the template's rules, promoted after a release by someone who is not its author) is a
//! warning that says what the new status asks for; one the pull request removes, or any section
//! of a GEP new in the pull request, fails.
//!
//! Findings are matched by what they say, not by line (lines move when text is inserted above):
//! code, GEP, file and message, with a renamed GEP's old number read as its new one. Where the
//! head has more findings of one kind than the base, the ones on lines the pull request changed
//! are taken as the new ones. Pure: both trees in, judgements out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use similar::{Algorithm, DiffOp, TextDiff};

use crate::domain::gep::Features;
use crate::domain::gep::{Status, folder_number};
use crate::domain::validate::{
    self, Code, Finding, GepFiles, GepSet, Options, Position, Severity, Template, check_transition,
};

/// A pull request's GEPs on both sides.
pub struct Change<'a> {
    /// The changed GEPs at the head (a deleted one is absent), and the GEPs their relationships
    /// name (`checked: false`).
    pub head: &'a GepSet,
    /// The changed GEPs at the base (an added one is absent). Neighbours need not be repeated:
    /// the head's are used, as a GEP the pull request does not change is the same on both sides.
    pub base: &'a GepSet,
    /// Every GEP number at the head and at the base, for relationships outside the sets.
    pub known_head: &'a BTreeSet<u32>,
    pub known_base: &'a BTreeSet<u32>,
    pub template: &'a Template,
    /// The repository's features at the head and at the base, where it defines them.
    pub features_head: Option<&'a Features>,
    pub features_base: Option<&'a Features>,
}

/// One head finding, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// With the severity it has on this pull request: `Error` for what the pull request
    /// introduces (a notice stays a notice), `Notice` for what was there before.
    pub finding: Finding,
    pub before: bool,
    /// The finding's line is one the pull request added or changed.
    pub on_changed_line: bool,
    /// A section the pull request's status promotion asks for that the GEP already lacked at
    /// the base: said as a warning, not failed (the release manager who promotes a GEP written
    /// before the template's rules is not its author).
    pub owed_before: bool,
}

/// What a pull request does to one GEP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GepChange {
    pub number: u32,
    pub dir: PathBuf,
    /// The status at the base; `None` for a GEP the pull request adds.
    pub from: Option<Status>,
    pub to: Option<Status>,
    /// The GEP's number at the base, when the pull request renamed its folder.
    pub renamed_from: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Sorted by file and line.
    pub findings: Vec<Judged>,
    pub geps: Vec<GepChange>,
    /// Per head file, the lines the pull request added or changed (where a review may suggest).
    pub changed_lines: BTreeMap<PathBuf, BTreeSet<usize>>,
}

impl Evaluation {
    pub fn errors(&self) -> usize {
        self.count(|j| j.finding.severity == Severity::Error)
    }

    pub fn before(&self) -> usize {
        self.count(|j| j.before)
    }

    pub fn count(&self, which: impl Fn(&Judged) -> bool) -> usize {
        self.findings.iter().filter(|j| which(j)).count()
    }
}

pub fn evaluate(change: &Change<'_>) -> Evaluation {
    let renames = renames(change.head, change.base, change.template);
    let base_of = |head: &GepFiles| -> Option<&GepFiles> {
        let number = head.number?;
        let at_base = renames.get(&number).copied().unwrap_or(number);
        change
            .base
            .geps
            .iter()
            .find(|b| b.checked && b.number == Some(at_base))
    };
    let head = validate::validate_and_summarize(
        change.head,
        change.template,
        &Options {
            strict: false,
            known_elsewhere: change.known_head.clone(),
            features: change.features_head.cloned(),
        },
    );
    let base_set = with_neighbours(change.base, change.head);
    let base = validate::validate_and_summarize(
        &base_set,
        change.template,
        &Options {
            strict: false,
            known_elsewhere: change.known_base.clone(),
            features: change.features_base.cloned(),
        },
    );

    let mut geps = Vec::new();
    let mut transitions = Vec::new();
    // Per promoted GEP's index.md: the sections its new status asks for that the base already
    // lacked (missing or template text), by template section title.
    let mut owed_at_base: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for gep in change.head.geps.iter().filter(|g| g.checked) {
        let Some(number) = gep.number else { continue };
        let before = base_of(gep);
        let from = before.and_then(|b| base.summaries.get(&b.dir)?.status);
        let summary = head.summaries.get(&gep.dir);
        let to = summary.and_then(|s| s.status);
        geps.push(GepChange {
            number,
            dir: gep.dir.clone(),
            from,
            to,
            renamed_from: before.and_then(|b| b.number).filter(|&n| n != number),
        });
        // A GEP whose status the base does not say (its metadata did not parse) has no change
        // to judge; one the pull request adds is judged from nothing.
        let (Some(to), Some(metadata), Some(summary)) = (to, &gep.metadata, summary) else {
            continue;
        };
        if before.is_some() && from.is_none() {
            continue;
        }
        if let (Some(from), Some(base_index), Some(index)) =
            (from, before.and_then(|b| b.index.as_ref()), &gep.index)
            && from != to
        {
            let owed = validate::sections_owed(base_index, change.template, to);
            owed_at_base.insert(index.path().to_path_buf(), owed.into_iter().collect());
        }
        transitions.extend(check_transition(
            from,
            to,
            &summary.feature_names,
            metadata.path(),
            status_line(metadata.text()),
        ));
    }

    // What the base had, by what it said.
    let mut at_base: BTreeMap<Key, usize> = BTreeMap::new();
    for finding in &base.findings {
        let key = key(finding, |n| {
            renames
                .iter()
                .find(|(_, old)| **old == n)
                .map_or(n, |(new, _)| *new)
        });
        *at_base.entry(key).or_default() += 1;
    }
    let changed_lines = changed_lines(change.head, base_of);
    let mut by_key: BTreeMap<Key, Vec<Judged>> = BTreeMap::new();
    for finding in head.findings {
        let on_changed_line = changed_lines
            .get(&finding.file)
            .is_some_and(|lines| lines.contains(&finding.line));
        by_key
            .entry(key(&finding, |n| n))
            .or_default()
            .push(Judged {
                finding,
                before: false,
                on_changed_line,
                owed_before: false,
            });
    }
    let mut findings = Vec::new();
    for (key, mut group) in by_key {
        // The base's count of this finding is matched first by the ones on unchanged lines.
        group.sort_by_key(|j| (j.on_changed_line, j.finding.line));
        let old = at_base.get(&key).copied().unwrap_or(0);
        for (i, mut judged) in group.into_iter().enumerate() {
            judged.before = i < old;
            findings.push(judged);
        }
    }
    findings.extend(transitions.into_iter().map(|finding| Judged {
        on_changed_line: true,
        finding,
        before: false,
        owed_before: false,
    }));
    for judged in &mut findings {
        if !judged.before
            && let Some(owed) = owed_at_base.get(&judged.finding.file)
            && let Some(section) = section_of(&judged.finding, change.template)
            && owed.contains(&section)
        {
            judged.owed_before = true;
            judged.finding.severity = Severity::Warning;
            judged.finding.message.push_str(
                " (it was missing or unwritten before this pull request too: the promotion asks for it)",
            );
            continue;
        }
        judged.finding.severity = match (judged.before, judged.finding.severity) {
            (true, _) | (false, Severity::Notice) => Severity::Notice,
            // A feature the repository does not define yet: the GEP may come before its
            // conformance tests, so a new one is said and does not fail (it is an error by
            // itself in a Standard GEP).
            (false, Severity::Warning) if judged.finding.code == Code::UnknownFeature => {
                Severity::Warning
            }
            (false, _) => Severity::Error,
        };
    }
    findings.sort_by(|a, b| {
        let at = |j: &Judged| (j.finding.file.clone(), j.finding.line, j.finding.code);
        at(a).cmp(&at(b))
    });
    Evaluation {
        findings,
        geps,
        changed_lines,
    }
}

/// The template section a section finding (GEP011 missing, GEP012 template text) is about: the
/// name it quotes, read as the template's section.
fn section_of(finding: &Finding, template: &Template) -> Option<String> {
    if !matches!(finding.code, Code::MissingSection | Code::TemplateSection) {
        return None;
    }
    let quoted = finding.message.split('`').nth(1)?;
    Some(
        template
            .section_for(quoted)
            .map_or_else(|| quoted.to_owned(), |s| s.title.clone()),
    )
}

/// A finding by what it says: its code, GEP, file name and message, numbers of renamed GEPs
/// read through `renumber`.
type Key = (&'static str, Option<u32>, String, String);

fn key(finding: &Finding, renumber: impl Fn(u32) -> u32) -> Key {
    let gep = gep_of(&finding.file);
    let file = finding
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut message = finding.message.clone();
    if let Some(number) = gep
        && renumber(number) != number
    {
        message = message.replace(&number.to_string(), &renumber(number).to_string());
    }
    (finding.code.as_str(), gep.map(&renumber), file, message)
}

/// The GEP a file belongs to, from its folder's name.
pub fn gep_of(file: &Path) -> Option<u32> {
    file.parent()?.file_name()?.to_str().and_then(folder_number)
}

/// Renamed GEPs, new number to old: a GEP the pull request adds paired with one it deletes
/// that has the same name (or title), or, when one GEP is added and one deleted, those two.
fn renames(head: &GepSet, base: &GepSet, template: &Template) -> BTreeMap<u32, u32> {
    let numbers = |set: &GepSet| -> BTreeSet<u32> {
        set.geps
            .iter()
            .filter(|g| g.checked)
            .filter_map(|g| g.number)
            .collect()
    };
    let (in_head, in_base) = (numbers(head), numbers(base));
    let added: Vec<&GepFiles> = head
        .geps
        .iter()
        .filter(|g| g.checked && g.number.is_some_and(|n| !in_base.contains(&n)))
        .collect();
    let deleted: Vec<&GepFiles> = base
        .geps
        .iter()
        .filter(|g| g.checked && g.number.is_some_and(|n| !in_head.contains(&n)))
        .collect();
    let name = |gep: &GepFiles| validate::summarize(gep, template).title;
    let mut pairs = BTreeMap::new();
    if let ([new], [old]) = (added.as_slice(), deleted.as_slice()) {
        pairs.insert(
            new.number.unwrap_or_default(),
            old.number.unwrap_or_default(),
        );
        return pairs;
    }
    let old_names: Vec<(Option<String>, u32)> = deleted
        .iter()
        .map(|g| (name(g), g.number.unwrap_or_default()))
        .collect();
    for new in added {
        let Some(new_name) = name(new) else { continue };
        if let Some((_, old)) = old_names
            .iter()
            .find(|(n, old)| n.as_deref() == Some(&new_name) && !pairs.values().any(|v| v == old))
        {
            pairs.insert(new.number.unwrap_or_default(), *old);
        }
    }
    pairs
}

/// The base's GEPs with the head's neighbours beside them (a neighbour the pull request does
/// not change reads the same at both commits).
fn with_neighbours(base: &GepSet, head: &GepSet) -> GepSet {
    let present: BTreeSet<Option<u32>> = base.geps.iter().map(|g| g.number).collect();
    let mut set = base.clone();
    set.geps.extend(
        head.geps
            .iter()
            .filter(|g| !g.checked && !present.contains(&g.number))
            .cloned(),
    );
    set
}

/// Per head file, the lines (1-based) the pull request added or changed: every line of a file
/// the base did not have.
fn changed_lines<'s>(
    head: &'s GepSet,
    base_of: impl Fn(&'s GepFiles) -> Option<&'s GepFiles>,
) -> BTreeMap<PathBuf, BTreeSet<usize>> {
    let mut out = BTreeMap::new();
    for gep in head.geps.iter().filter(|g| g.checked) {
        let before = base_of(gep);
        let pairs = [
            (&gep.index, before.and_then(|b| b.index.as_ref())),
            (&gep.metadata, before.and_then(|b| b.metadata.as_ref())),
        ];
        for (file, old) in pairs {
            let Some(file) = file else { continue };
            let new = file.text();
            let lines: BTreeSet<usize> = match old {
                None => (1..=new.lines().count().max(1)).collect(),
                Some(old) => TextDiff::configure()
                    .algorithm(Algorithm::Patience)
                    .diff_lines(old.text(), new)
                    .ops()
                    .iter()
                    .flat_map(|op| match *op {
                        DiffOp::Insert {
                            new_index, new_len, ..
                        }
                        | DiffOp::Replace {
                            new_index, new_len, ..
                        } => new_index + 1..new_index + 1 + new_len,
                        _ => 0..0,
                    })
                    .collect(),
            };
            out.insert(file.path().to_path_buf(), lines);
        }
    }
    out
}

fn status_line(metadata: &str) -> Position {
    metadata
        .lines()
        .position(|l| l.starts_with("status:"))
        .map_or(Position::START, |i| Position::line(i + 1))
}
