//! Checks of a GEP's `metadata.yaml` against the `GEPDetails` shape, and the facts other checks
//! need from it (number, name, status, relationships, feature names).

use serde_yaml_ng::{Mapping, Value};

use crate::domain::gep::Status;

use super::finding::{Code, Finding, Fix};
use super::source::{Position, SourceText};
use super::yaml_lines::KeyLines;

pub const API_VERSION: &str = "internal.gateway.networking.k8s.io/v1alpha1";
pub const KIND: &str = "GEPDetails";

const TOP_LEVEL_KEYS: [&str; 10] = [
    "apiVersion",
    "kind",
    "number",
    "name",
    "status",
    "authors",
    "relationships",
    "references",
    "featureNames",
    "changelog",
];
const ITEM_KEYS: [&str; 3] = ["number", "name", "description"];

/// The five relationship lists, and which list on the other GEP answers each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Obsoletes,
    ObsoletedBy,
    Extends,
    ExtendedBy,
    SeeAlso,
}

impl RelationKind {
    pub const ALL: [RelationKind; 5] = [
        RelationKind::Obsoletes,
        RelationKind::ObsoletedBy,
        RelationKind::Extends,
        RelationKind::ExtendedBy,
        RelationKind::SeeAlso,
    ];

    pub fn key(self) -> &'static str {
        match self {
            RelationKind::Obsoletes => "obsoletes",
            RelationKind::ObsoletedBy => "obsoletedBy",
            RelationKind::Extends => "extends",
            RelationKind::ExtendedBy => "extendedBy",
            RelationKind::SeeAlso => "seeAlso",
        }
    }

    fn from_key(key: &str) -> Option<RelationKind> {
        RelationKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The list on the other GEP that must name this one back, for the relationships that need it.
    pub fn answer(self) -> Option<RelationKind> {
        match self {
            RelationKind::Obsoletes => Some(RelationKind::ObsoletedBy),
            RelationKind::Extends => Some(RelationKind::ExtendedBy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Relationship {
    pub kind: RelationKind,
    pub number: u32,
    pub at: Position,
}

#[derive(Debug, Clone)]
pub struct Metadata {
    pub number: Option<u32>,
    pub name: Option<(String, Position)>,
    pub status: Option<Status>,
    pub status_at: Position,
    pub relationships: Vec<Relationship>,
    pub feature_names: Vec<String>,
    /// Where each of `feature_names` is written.
    pub feature_lines: Vec<Position>,
}

/// Checks one `metadata.yaml`; `folder` is the number of its `gep-N` folder, when it has one.
/// Returns what could be read, even when findings were made.
pub fn check(source: &SourceText, folder: Option<u32>, out: &mut Vec<Finding>) -> Option<Metadata> {
    let value: Value = match serde_yaml_ng::from_str(source.text()) {
        Ok(value) => value,
        Err(error) => {
            let at = error.location().map_or(Position::START, |l| Position {
                line: l.line(),
                column: l.column(),
            });
            let text = error.to_string();
            // serde_yaml_ng stops alias expansion and nesting early; those are not syntax.
            let (message, hint) = if text.contains("repetition limit") {
                (
                    "metadata.yaml repeats its aliases (`&name` ... `*name`) past any GEP's need: it expands too far to be read".to_owned(),
                    "write the values out instead of nesting aliases of aliases",
                )
            } else if text.contains("recursion limit") {
                (
                    "metadata.yaml nests deeper than any GEP's metadata: it cannot be read"
                        .to_owned(),
                    "flatten the nested lists or maps",
                )
            } else {
                (
                    format!("metadata.yaml is not valid YAML: {text}"),
                    "fix the YAML syntax at this point (indentation, quoting, a missing colon)",
                )
            };
            out.push(Finding::new(
                Code::InvalidYaml,
                source.path(),
                at,
                message,
                hint,
            ));
            return None;
        }
    };
    let lines = KeyLines::scan(source.text());
    let mut check = MetadataCheck {
        source,
        lines: &lines,
        out,
    };
    let Some(map) = value.as_mapping() else {
        check.report(
            Code::InvalidYaml,
            "",
            "metadata.yaml is not a mapping of keys to values".into(),
            "start from the GEP template's metadata.yaml (geps/gep-696 upstream)".into(),
        );
        return None;
    };
    Some(check.document(map, folder))
}

struct MetadataCheck<'a> {
    source: &'a SourceText,
    lines: &'a KeyLines,
    out: &'a mut Vec<Finding>,
}

impl MetadataCheck<'_> {
    fn report(&mut self, code: Code, path: &str, message: String, hint: String) {
        let at = self.lines.find(path);
        self.out
            .push(Finding::new(code, self.source.path(), at, message, hint));
    }

    fn document(&mut self, map: &Mapping, folder: Option<u32>) -> Metadata {
        let mut metadata = Metadata {
            number: None,
            name: None,
            status: None,
            status_at: Position::START,
            relationships: Vec::new(),
            feature_names: Vec::new(),
            feature_lines: Vec::new(),
        };
        for (key, _) in map {
            let key = key_text(key);
            if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
                self.unknown_top_level_key(&key);
            }
        }
        self.fixed_string(map, "apiVersion", API_VERSION, Code::WrongApiVersion);
        self.fixed_string(map, "kind", KIND, Code::WrongKind);
        metadata.number = self.number(map, folder);
        metadata.name = self.name(map);
        metadata.status = self.status(map);
        metadata.status_at = self.lines.find("status");
        self.authors(map);
        metadata.relationships = self.relationships(map);
        self.url_list(map, "references", Code::ReferenceNotUrl);
        self.url_list(map, "changelog", Code::ChangelogNotUrl);
        (metadata.feature_names, metadata.feature_lines) = self.feature_names(map);
        metadata
    }

    fn unknown_top_level_key(&mut self, key: &str) {
        if RelationKind::from_key(key).is_some() {
            let fix = misplaced_fix(self.source, self.lines, key);
            self.report(
                Code::MisplacedKey,
                key,
                format!("`{key}` is a relationship but stands at the top level"),
                format!(
                    "did you mean `relationships.{key}`? indent it under `relationships:` \
                     (web addresses listed under it belong in `references`)"
                ),
            );
            self.fix_last(fix);
            return;
        }
        let hint = match nearest(key, &TOP_LEVEL_KEYS) {
            Some(known) => format!("did you mean `{known}`?"),
            None => format!(
                "remove it; metadata.yaml knows only: {}",
                TOP_LEVEL_KEYS.join(", ")
            ),
        };
        self.report(
            Code::UnknownKey,
            key,
            format!("unknown key `{key}` in metadata.yaml"),
            hint,
        );
    }

    /// The last finding reported carries `fix`.
    fn fix_last(&mut self, fix: Option<Fix>) {
        if let Some(finding) = self.out.last_mut() {
            finding.fix = fix;
        }
    }

    fn fixed_string(&mut self, map: &Mapping, key: &str, expected: &str, code: Code) {
        let written = format!("{key}: {expected}");
        match map.get(key) {
            Some(Value::String(s)) if s == expected => {}
            found => {
                self.report(
                    code,
                    key,
                    match found {
                        None => format!("`{key}` is missing"),
                        Some(v) => format!("`{key}` is {}, not `{expected}`", describe(v)),
                    },
                    format!("write `{written}`"),
                );
                let fix = match found {
                    None => Some(Fix::before(self.source, 1, vec![written])),
                    // One line holding the value, not a block under the key.
                    Some(_) => top_level_line(self.source, key)
                        .filter(|&line| block_end(self.source, line) == line)
                        .map(|line| Fix::lines(self.source, line, line, vec![written])),
                };
                self.fix_last(fix);
            }
        }
    }

    fn number(&mut self, map: &Mapping, folder: Option<u32>) -> Option<u32> {
        let found = map.get("number");
        let number = found
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
        let hint = match folder {
            Some(n) => format!(
                "write `number: {n}`, the number of the folder gep-{n} and of its tracking issue"
            ),
            None => "write `number: N`, the number of the GEP's tracking issue".to_owned(),
        };
        match (number, folder) {
            (None, _) => self.report(
                Code::WrongNumber,
                "number",
                match found {
                    None => "`number` is missing".to_owned(),
                    Some(v) => format!("`number` is {}, not a whole number", describe(v)),
                },
                hint,
            ),
            (Some(n), Some(f)) if n != f => self.report(
                Code::WrongNumber,
                "number",
                format!("`number` is {n} but the folder is gep-{f}"),
                hint,
            ),
            _ => {}
        }
        number
    }

    fn name(&mut self, map: &Mapping) -> Option<(String, Position)> {
        match map.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                Some((s.clone(), self.lines.find("name")))
            }
            found => {
                self.report(
                    Code::MissingName,
                    "name",
                    match found {
                        None => "`name` is missing".to_owned(),
                        Some(v) => format!("`name` is {}, not the GEP's title", describe(v)),
                    },
                    "write `name: ` followed by the title from index.md, without `GEP-N: `".into(),
                );
                None
            }
        }
    }

    fn status(&mut self, map: &Mapping) -> Option<Status> {
        let found = map.get("status");
        if let Some(Value::String(s)) = found
            && let Ok(status) = s.parse()
        {
            return Some(status);
        }
        let message = match found {
            None => "`status` is missing".to_owned(),
            Some(Value::String(s)) => format!("`status: {s}` is not a GEP status"),
            Some(v) => format!("`status` is {}, not a GEP status", describe(v)),
        };
        let hint = match found
            .and_then(Value::as_str)
            .and_then(|s| nearest(s, &Status::ALL.map(Status::as_str)))
        {
            Some(known) => format!("did you mean `{known}`? Statuses are: {}", status_names()),
            None => format!("use one of: {}", status_names()),
        };
        self.report(Code::BadMetadataStatus, "status", message, hint);
        None
    }

    fn authors(&mut self, map: &Mapping) {
        let hint = "list the GitHub handles of everyone who contributed, e.g. `authors: [octocat]`";
        match map.get("authors") {
            Some(Value::Sequence(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let valid = item.as_str().is_some_and(is_github_handle);
                    if !valid {
                        self.report(
                            Code::BadAuthors,
                            &format!("authors[{i}]"),
                            format!("author {} is not a GitHub handle", describe(item)),
                            "write the handle alone, without `@` or a URL (letters, digits and single hyphens)".into(),
                        );
                    }
                }
            }
            found => self.report(
                Code::BadAuthors,
                "authors",
                match found {
                    None => "`authors` is missing".to_owned(),
                    Some(Value::Sequence(_)) => "`authors` is empty".to_owned(),
                    Some(v) => format!("`authors` is {}, not a list", describe(v)),
                },
                hint.into(),
            ),
        }
    }

    fn relationships(&mut self, map: &Mapping) -> Vec<Relationship> {
        let mut found = Vec::new();
        let relationships = match map.get("relationships") {
            None | Some(Value::Null) => return found,
            Some(Value::Mapping(m)) => m,
            Some(v) => {
                self.report(
                    Code::BadRelationship,
                    "relationships",
                    format!("`relationships` is {}, not a mapping", describe(v)),
                    "write the lists under it: obsoletes, obsoletedBy, extends, extendedBy, seeAlso".into(),
                );
                return found;
            }
        };
        let kinds = RelationKind::ALL.map(RelationKind::key);
        for (key, list) in relationships {
            let key = key_text(key);
            let path = format!("relationships.{key}");
            let Some(kind) = RelationKind::from_key(&key) else {
                let hint = match nearest(&key, &kinds) {
                    Some(known) => format!("did you mean `relationships.{known}`?"),
                    None => format!("use one of: {}", kinds.join(", ")),
                };
                self.report(
                    Code::UnknownKey,
                    &path,
                    format!("unknown relationship `{key}`"),
                    hint,
                );
                continue;
            };
            let items = match list {
                Value::Null => continue,
                Value::Sequence(items) => items,
                v => {
                    self.report(
                        Code::BadRelationship,
                        &path,
                        format!("`{path}` is {}, not a list", describe(v)),
                        "write a list of `{number, name, description}` items, or `[]`".into(),
                    );
                    continue;
                }
            };
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                if let Some(number) = self.relationship_item(item, &item_path) {
                    found.push(Relationship {
                        kind,
                        number,
                        at: self.lines.find(&format!("{item_path}.number")),
                    });
                }
            }
        }
        found
    }

    fn relationship_item(&mut self, item: &Value, path: &str) -> Option<u32> {
        let shape = "each item is `{number: N, name: \"GEP title\", description: \"optional\"}`";
        let Value::Mapping(fields) = item else {
            self.report(
                Code::BadRelationship,
                path,
                format!(
                    "relationship {} is not a `{{number, name}}` item",
                    describe(item)
                ),
                shape.into(),
            );
            return None;
        };
        for (key, _) in fields {
            let key = key_text(key);
            if !ITEM_KEYS.contains(&key.as_str()) {
                let hint = match nearest(&key, &ITEM_KEYS) {
                    Some(known) => format!("did you mean `{known}`?"),
                    None => shape.to_owned(),
                };
                self.report(
                    Code::UnknownKey,
                    &format!("{path}.{key}"),
                    format!("unknown key `{key}` in a relationship"),
                    hint,
                );
            }
        }
        if !matches!(fields.get("name"), Some(Value::String(s)) if !s.trim().is_empty()) {
            self.report(
                Code::BadRelationship,
                path,
                "relationship has no `name`".into(),
                "add `name:` with the related GEP's title".into(),
            );
        }
        if let Some(description) = fields.get("description")
            && !description.is_string()
        {
            self.report(
                Code::BadRelationship,
                &format!("{path}.description"),
                format!(
                    "relationship description is {}, not text",
                    describe(description)
                ),
                "quote the description".into(),
            );
        }
        let number = fields
            .get("number")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
        if number.is_none() {
            self.report(
                Code::BadRelationship,
                &format!("{path}.number"),
                "relationship has no GEP `number`".into(),
                "add `number:` with the related GEP's number".into(),
            );
        }
        number
    }

    fn url_list(&mut self, map: &Mapping, key: &str, code: Code) {
        let items = match map.get(key) {
            None | Some(Value::Null) => return,
            Some(Value::Sequence(items)) => items,
            Some(v) => {
                self.report(
                    code,
                    key,
                    format!("`{key}` is {}, not a list of URLs", describe(v)),
                    format!("write `{key}:` followed by `- https://...` items"),
                );
                return;
            }
        };
        for (i, item) in items.iter().enumerate() {
            if !item.as_str().is_some_and(is_url) {
                self.report(
                    code,
                    &format!("{key}[{i}]"),
                    format!("{key} entry {} is not a URL", describe(item)),
                    "write the full https:// link".into(),
                );
            }
        }
    }

    fn feature_names(&mut self, map: &Mapping) -> (Vec<String>, Vec<Position>) {
        let mut names = Vec::new();
        let mut lines = Vec::new();
        let items = match map.get("featureNames") {
            None | Some(Value::Null) => return (names, lines),
            Some(Value::Sequence(items)) => items,
            Some(v) => {
                self.report(
                    Code::BadFeatureName,
                    "featureNames",
                    format!("`featureNames` is {}, not a list", describe(v)),
                    "write `featureNames:` followed by `- HTTPRouteSomething` items".into(),
                );
                return (names, lines);
            }
        };
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(name) if is_feature_name(name) => {
                    names.push(name.to_owned());
                    lines.push(self.lines.find(&format!("featureNames[{i}]")));
                }
                _ => self.report(
                    Code::BadFeatureName,
                    &format!("featureNames[{i}]"),
                    format!("feature name {} is not PascalCase letters and digits of at most 128 characters", describe(item)),
                    "start with the resource name as spelled (e.g. `HTTPRoutePortRedirect`), letters and digits only".into(),
                ),
            }
        }
        (names, lines)
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// A short description of a value for a message: its text, or its kind.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Null => "empty".to_owned(),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(_) => "a tagged value".to_owned(),
    }
}

/// The known key a misspelt one most likely meant, if any is close.
pub fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

pub fn is_github_handle(handle: &str) -> bool {
    !handle.is_empty()
        && handle.len() <= 39
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !handle.starts_with('-')
        && !handle.ends_with('-')
        && !handle.contains("--")
}

pub fn is_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
}

pub fn is_feature_name(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn status_names() -> String {
    Status::ALL.map(Status::as_str).join(", ")
}

/// The line of `key:` at the top level of `source`.
fn top_level_line(source: &SourceText, key: &str) -> Option<usize> {
    (1..=source.line_count()).find(|&n| {
        source
            .line(n)
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
    })
}

/// The last line of the top-level block whose key stands at `start`: the lines after it that
/// are indented or list items, not the blank or comment lines that follow them.
fn block_end(source: &SourceText, start: usize) -> usize {
    let mut end = start;
    for n in start + 1..=source.line_count() {
        let line = source.line(n);
        let text = line.trim_start();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) || text.starts_with("- ") || text == "-" {
            end = n;
        } else {
            break;
        }
    }
    end
}

/// How far the children of the top-level block `start..=end` are indented (two spaces where it
/// has none yet).
fn child_indent(source: &SourceText, start: usize, end: usize) -> usize {
    (start + 1..=end)
        .map(|n| source.line(n))
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map_or(2, indent_of)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `lines` moved right by `by` spaces (blank lines stay blank).
fn indented(lines: &[String], by: usize) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("{}{l}", " ".repeat(by))
            }
        })
        .collect()
}

/// The fix for a relationship key at the top level: its block moved under `relationships:` (a
/// list of web addresses under `seeAlso` goes to `references`, where upstream keeps them).
/// None where a person must choose: the list is already under `relationships` too, or mixes
/// addresses and GEPs, or the key holds a value on its own line.
fn misplaced_fix(source: &SourceText, lines: &KeyLines, key: &str) -> Option<Fix> {
    let start = top_level_line(source, key)?;
    if source.line(start).trim_end() != format!("{key}:") {
        return None;
    }
    let end = block_end(source, start);
    let items: Vec<String> = (start + 1..=end)
        .map(|n| source.line(n).to_owned())
        .collect();
    let entries: Vec<&str> = items
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with('-'))
        .collect();
    let is_address = |entry: &&&str| {
        let value = entry
            .trim_start_matches('-')
            .trim()
            .trim_matches(['"', '\'']);
        value.starts_with("https://") || value.starts_with("http://")
    };
    let addresses = entries.iter().filter(is_address).count();
    if addresses > 0 {
        if addresses != entries.len() || key != "seeAlso" {
            return None;
        }
        let base = items
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| indent_of(l))
            .min()
            .unwrap_or(0);
        let rebased: Vec<String> = items
            .iter()
            .map(|l| l.get(base..).unwrap_or("").to_owned())
            .collect();
        return move_into(source, start, end, "references", rebased);
    }
    if lines.get(&format!("relationships.{key}")).is_some() {
        return None;
    }
    let mut block = vec![format!("{key}:")];
    block.extend(items);
    move_into(source, start, end, "relationships", block)
}

/// Lines `start..=end` (a top-level block) taken out and `moved` written at the end of the
/// top-level `target:` block, indented as its children are (or a new `target:` block in their
/// place when there is none).
fn move_into(
    source: &SourceText,
    start: usize,
    end: usize,
    target: &str,
    moved: Vec<String>,
) -> Option<Fix> {
    let Some(target_start) = top_level_line(source, target) else {
        let mut with = vec![format!("{target}:")];
        with.extend(indented(&moved, 2));
        return Some(Fix::lines(source, start, end, with));
    };
    if source.line(target_start).trim_end() != format!("{target}:") {
        return None;
    }
    let target_end = block_end(source, target_start);
    let child = child_indent(source, target_start, target_end);
    let moved = indented(&moved, child);
    let copy = |from: usize, to: usize| (from..=to).map(|n| source.line(n).to_owned());
    if target_start > end {
        let mut with: Vec<String> = copy(end + 1, target_end).collect();
        with.extend(moved);
        Some(Fix::lines(source, start, target_end, with))
    } else {
        let mut with: Vec<String> = copy(target_start, target_end).collect();
        with.extend(moved);
        with.extend(copy(target_end + 1, start - 1));
        Some(Fix::lines(source, target_start, end, with))
    }
}

/// The fix for a relationship the other GEP does not answer: `- number: N` and `name:` added to
/// its `relationships.<answer>` list (made where missing, an empty `{}` or `[]` replaced).
pub fn answer_fix(other: &SourceText, answer: &str, number: u32, name: &str) -> Option<Fix> {
    let item = |indent: usize| {
        let pad = " ".repeat(indent);
        vec![
            format!("{pad}- number: {number}"),
            format!("{pad}  name: {}", yaml_scalar(name)),
        ]
    };
    let Some(start) = top_level_line(other, "relationships") else {
        let last = other.line_count().max(1);
        let mut with = vec![other.line(last).to_owned(), "relationships:".into()];
        with.push(format!("  {answer}:"));
        with.extend(item(4));
        return Some(Fix::lines(other, last, last, with));
    };
    let end = block_end(other, start);
    let child = child_indent(other, start, end);
    let key = (start + 1..=end).find(|&n| {
        let line = other.line(n);
        indent_of(line) == child
            && line
                .trim_start()
                .strip_prefix(answer)
                .is_some_and(|rest| rest.starts_with(':'))
    });
    let Some(key) = key else {
        let mut with = vec![
            other.line(end).to_owned(),
            format!("{}{answer}:", " ".repeat(child)),
        ];
        with.extend(item(child + 2));
        return Some(Fix::lines(other, end, end, with));
    };
    let value = other.line(key).trim_start()[answer.len() + 1..].trim();
    if value == "{}" || value == "[]" {
        let mut with = vec![format!("{}{answer}:", " ".repeat(child))];
        with.extend(item(child + 2));
        return Some(Fix::lines(other, key, key, with));
    }
    if !value.is_empty() && !value.starts_with('#') {
        return None;
    }
    // The list's last line, and the indent its items have.
    let mut last = key;
    let mut items = None;
    for n in key + 1..=end {
        let line = other.line(n);
        let text = line.trim_start();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let indent = indent_of(line);
        if indent > child || (indent == child && text.starts_with("- ")) {
            if text.starts_with("- ") && items.is_none() {
                items = Some(indent);
            }
            last = n;
        } else {
            break;
        }
    }
    let mut with = vec![other.line(last).to_owned()];
    with.extend(item(items.unwrap_or(child + 2)));
    Some(Fix::lines(other, last, last, with))
}

/// A name written as a YAML plain scalar where it can be, else double-quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace())
        && !text.ends_with([' ', ':']);
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 1686\nname: Mesh conformance testing plan\nstatus: Standard\nauthors:\n  - howardjohn\nrelationships:\n  extends:\n    - number: 1324\n      name: Service Mesh in Gateway API\n      description: Adds a plan\nreferences:\n  - https://example.com/doc\nfeatureNames:\n  - MeshHTTPRouteRetry\nchangelog:\n  - https://github.com/kubernetes-sigs/gateway-api/pull/1\n";

    fn run(text: &str, folder: u32) -> (Option<Metadata>, Vec<Finding>) {
        let mut out = Vec::new();
        let metadata = check(
            &SourceText::new("metadata.yaml", text),
            Some(folder),
            &mut out,
        );
        (metadata, out)
    }

    fn codes(findings: &[Finding]) -> Vec<(Code, usize)> {
        findings.iter().map(|f| (f.code, f.line)).collect()
    }

    #[test]
    fn sound_metadata_has_no_findings_and_yields_its_facts() {
        let (metadata, findings) = run(GOOD, 1686);
        assert_eq!(findings, []);
        let metadata = metadata.unwrap();
        assert_eq!(metadata.number, Some(1686));
        assert_eq!(metadata.status, Some(Status::Standard));
        assert_eq!(metadata.relationships.len(), 1);
        assert_eq!(metadata.relationships[0].kind, RelationKind::Extends);
        assert_eq!(metadata.relationships[0].number, 1324);
        assert_eq!(metadata.relationships[0].at.line, 10);
    }

    #[test]
    fn invalid_yaml_is_an_error_at_its_line() {
        let (_, findings) = run("number: 1\nname: [unclosed\nstatus: x\n", 1);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, Code::InvalidYaml);
        assert!(findings[0].line >= 2);
    }

    #[test]
    fn wrong_api_version_kind_and_number_are_errors() {
        let text = GOOD
            .replace("v1alpha1", "v1")
            .replace("GEPDetails", "GEP")
            .replace("number: 1686", "number: 1687");
        let (_, findings) = run(&text, 1686);
        assert_eq!(
            codes(&findings),
            [
                (Code::WrongApiVersion, 1),
                (Code::WrongKind, 2),
                (Code::WrongNumber, 3)
            ]
        );
        assert!(findings.iter().all(Finding::is_error));
    }

    #[test]
    fn unknown_status_suggests_the_list() {
        let (_, findings) = run(&GOOD.replace("status: Standard", "status: Rejected"), 1686);
        assert_eq!(codes(&findings), [(Code::BadMetadataStatus, 5)]);
        assert!(
            findings[0].hint.contains("Memorandum"),
            "{}",
            findings[0].hint
        );
        let (_, findings) = run(&GOOD.replace("status: Standard", "status: Standrd"), 1686);
        assert!(
            findings[0].hint.contains("did you mean `Standard`?"),
            "{}",
            findings[0].hint
        );
        let (_, findings) = run(&GOOD.replace("status: Standard", "status: Accepted"), 1686);
        assert_eq!(codes(&findings), []);
    }

    #[test]
    fn authors_must_be_a_non_empty_list_of_handles() {
        let (_, findings) = run(&GOOD.replace("  - howardjohn", "  - \"@howardjohn\""), 1686);
        assert_eq!(codes(&findings), [(Code::BadAuthors, 7)]);
        let (_, findings) = run(
            &GOOD.replace("authors:\n  - howardjohn\n", "authors: []\n"),
            1686,
        );
        assert_eq!(codes(&findings), [(Code::BadAuthors, 6)]);
    }

    #[test]
    fn a_relationship_at_top_level_is_misplaced_with_the_right_path_suggested() {
        let text = format!("{GOOD}extends:\n  - number: 1897\n    name: BackendTLSPolicy\n");
        let (_, findings) = run(&text, 1686);
        assert_eq!(codes(&findings), [(Code::MisplacedKey, 19)]);
        assert!(findings[0].hint.contains("relationships.extends"));
    }

    #[test]
    fn misspelt_keys_get_the_nearest_known_one() {
        let (_, findings) = run(&GOOD.replace("featureNames:", "featureName:"), 1686);
        assert_eq!(findings[0].code, Code::UnknownKey);
        assert!(
            findings[0].hint.contains("`featureNames`"),
            "{}",
            findings[0].hint
        );
        let (_, findings) = run(&GOOD.replace("  extends:", "  extend:"), 1686);
        assert_eq!(codes(&findings), [(Code::UnknownKey, 9)]);
        assert!(findings[0].hint.contains("relationships.extends"));
        let (_, findings) = run(&GOOD.replace("description:", "descripton:"), 1686);
        assert_eq!(codes(&findings), [(Code::UnknownKey, 12)]);
    }

    #[test]
    fn malformed_relationship_items_are_errors() {
        let (_, findings) = run(
            &GOOD.replace("    - number: 1324\n", "    - numbr: 1324\n"),
            1686,
        );
        let found: Vec<_> = findings.iter().map(|f| f.code).collect();
        assert_eq!(found, [Code::UnknownKey, Code::BadRelationship]);
        let (_, findings) = run(
            &GOOD.replace("      name: Service Mesh in Gateway API\n", ""),
            1686,
        );
        assert_eq!(codes(&findings), [(Code::BadRelationship, 10)]);
    }

    #[test]
    fn feature_names_must_be_pascal_case_letters_and_digits() {
        let (_, findings) = run(&GOOD.replace("MeshHTTPRouteRetry", "mesh-http-retry"), 1686);
        assert_eq!(codes(&findings), [(Code::BadFeatureName, 16)]);
        let long = format!("A{}", "b".repeat(128));
        let (_, findings) = run(&GOOD.replace("MeshHTTPRouteRetry", &long), 1686);
        assert_eq!(codes(&findings), [(Code::BadFeatureName, 16)]);
    }

    #[test]
    fn changelog_and_references_must_be_urls_as_warnings() {
        let (_, findings) = run(
            &GOOD
                .replace(
                    "  - https://github.com/kubernetes-sigs/gateway-api/pull/1",
                    "  - PR 1",
                )
                .replace("  - https://example.com/doc", "  - the doc"),
            1686,
        );
        assert_eq!(
            codes(&findings),
            [(Code::ReferenceNotUrl, 14), (Code::ChangelogNotUrl, 18)]
        );
        assert!(findings.iter().all(|f| !f.is_error()));
    }

    /// The text after every fix the findings carry (the fixes of one round).
    fn fixed(text: &str) -> String {
        let (_, findings) = run(text, 1686);
        let fixes: Vec<&Fix> = findings.iter().filter_map(|f| f.fix.as_ref()).collect();
        crate::domain::validate::apply(text, &fixes).unwrap().text
    }

    #[test]
    fn a_relationship_at_the_top_level_moves_under_relationships_where_it_stands() {
        let head = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 1686\nname: N\nstatus: Standard\nauthors:\n  - a\n";
        let extends = "extends:\n  - number: 1324\n    name: Mesh\n";
        let fixed_block = "  extends:\n    - number: 1324\n      name: Mesh\n";
        let seen = "relationships:\n  # kept\n  seeAlso:\n    - number: 917\n      name: A\n";
        // No relationships yet: the block becomes one.
        assert_eq!(
            fixed(&format!("{head}{extends}references: []\n")),
            format!("{head}relationships:\n{fixed_block}references: []\n")
        );
        // Relationships below it: the block joins them there.
        assert_eq!(
            fixed(&format!("{head}{extends}{seen}")),
            format!("{head}{seen}{fixed_block}")
        );
        // Relationships above it: it joins them, what stood between stays where it was.
        assert_eq!(
            fixed(&format!("{head}{seen}references: []\n{extends}")),
            format!("{head}{seen}{fixed_block}references: []\n")
        );
        // The same list under relationships already: merging is a person's call.
        let (_, findings) = run(
            &format!("{head}relationships:\n  extends: []\n{extends}"),
            1686,
        );
        let misplaced = findings
            .iter()
            .find(|f| f.code == Code::MisplacedKey)
            .unwrap();
        assert_eq!(misplaced.fix, None);
    }

    #[test]
    fn web_addresses_under_a_top_level_see_also_go_to_references() {
        let head = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 1686\nname: N\nstatus: Standard\nauthors:\n  - a\n";
        let see_also = "seeAlso:\n  - https://example.com/a\n  - \"https://example.com/b\"\n";
        assert_eq!(
            fixed(&format!("{head}{see_also}")),
            format!(
                "{head}references:\n  - https://example.com/a\n  - \"https://example.com/b\"\n"
            )
        );
        assert_eq!(
            fixed(&format!(
                "{head}references:\n- https://example.com/0\n{see_also}"
            )),
            format!(
                "{head}references:\n- https://example.com/0\n- https://example.com/a\n- \"https://example.com/b\"\n"
            )
        );
        // Addresses and GEPs mixed: a person sorts them.
        let mixed =
            format!("{head}seeAlso:\n  - https://example.com/a\n  - number: 917\n    name: A\n");
        let (_, findings) = run(&mixed, 1686);
        assert!(findings.iter().all(|f| f.fix.is_none()), "{findings:?}");
    }

    #[test]
    fn a_wrong_or_missing_api_version_and_kind_are_written() {
        let rest = "number: 1686\nname: N\nstatus: Standard\nauthors:\n  - a\n";
        assert_eq!(
            fixed(&format!(
                "apiVersion: gateway.networking.k8s.io/v1 # old\nkind: GEPDetails\n{rest}"
            )),
            format!(
                "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n{rest}"
            )
        );
        let missing = fixed(&format!("kind: GEPDetails\n{rest}"));
        assert_eq!(
            missing,
            format!(
                "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n{rest}"
            )
        );
    }
}
