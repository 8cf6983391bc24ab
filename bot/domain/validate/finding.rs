//! What the validator reports: a stable code, a severity, where, what is wrong and how to fix it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::source::{Position, SourceText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice: never fails a check, not even with `--strict` (what upstream says is only
    /// "usually" so, and in a pull request's check, what was there before the pull request).
    Notice,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Every check has a code that never changes meaning, so CI configurations and people can refer
/// to it. Codes are grouped: 00x files, 0xx `index.md`, 02x/03x `metadata.yaml`, 04x across GEPs,
/// 05x status changes on a pull request, 06x the template itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    MissingFile,
    MissingFrontMatter,
    BadTitle,
    TitleNumberMismatch,
    H1Title,
    MissingIssueLine,
    IssueNumberMismatch,
    MissingStatusLine,
    UnknownStatus,
    StatusMismatch,
    MissingSection,
    TemplateSection,
    PlaceholderLeft,
    InvalidYaml,
    WrongApiVersion,
    WrongKind,
    WrongNumber,
    MissingName,
    NameDiffersFromTitle,
    BadMetadataStatus,
    BadAuthors,
    UnknownKey,
    MisplacedKey,
    BadRelationship,
    ReferenceNotUrl,
    BadFeatureName,
    ChangelogNotUrl,
    FeatureConstantNotName,
    UnknownFeature,
    /// Every feature the GEP lists is in the Standard channel, the GEP is not yet Standard.
    BehindItsFeatures,
    UnknownGep,
    UnansweredRelationship,
    ObsoletedNotDeclined,
    SkippedStatus,
    ExperimentalWithoutFeature,
    BadTemplateRule,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            MissingFile => "GEP001",
            MissingFrontMatter => "GEP002",
            BadTitle => "GEP003",
            TitleNumberMismatch => "GEP004",
            H1Title => "GEP005",
            MissingIssueLine => "GEP006",
            IssueNumberMismatch => "GEP007",
            MissingStatusLine => "GEP008",
            UnknownStatus => "GEP009",
            StatusMismatch => "GEP010",
            MissingSection => "GEP011",
            TemplateSection => "GEP012",
            PlaceholderLeft => "GEP013",
            InvalidYaml => "GEP020",
            WrongApiVersion => "GEP021",
            WrongKind => "GEP022",
            WrongNumber => "GEP023",
            MissingName => "GEP024",
            NameDiffersFromTitle => "GEP025",
            BadMetadataStatus => "GEP026",
            BadAuthors => "GEP027",
            UnknownKey => "GEP028",
            MisplacedKey => "GEP029",
            BadRelationship => "GEP030",
            ReferenceNotUrl => "GEP031",
            BadFeatureName => "GEP032",
            ChangelogNotUrl => "GEP033",
            FeatureConstantNotName => "GEP034",
            UnknownFeature => "GEP035",
            BehindItsFeatures => "GEP036",
            UnknownGep => "GEP040",
            UnansweredRelationship => "GEP041",
            ObsoletedNotDeclined => "GEP042",
            SkippedStatus => "GEP050",
            ExperimentalWithoutFeature => "GEP051",
            BadTemplateRule => "GEP060",
        }
    }

    /// Errors break tooling or mislead a reader; warnings are content still to write; notices
    /// are conventions upstream keeps only "usually" (a GEP's `name` is usually its title).
    pub fn severity(self) -> Severity {
        use Code::*;
        match self {
            NameDiffersFromTitle => Severity::Notice,
            MissingSection | TemplateSection | PlaceholderLeft | ReferenceNotUrl
            | ChangelogNotUrl | UnknownFeature | BehindItsFeatures => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
    /// The fix, where it needs no judgement (`validate --fix`, a pull request's suggestions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// A fix that needs no judgement, as data: lines `line .. line + was.len()` of `file` (1-based)
/// become `with`. `was` holds those lines as validation read them: a file changed since is not
/// overwritten. An insertion replaces the line it goes before with itself after the new ones,
/// so every fix is anchored on text it can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub file: PathBuf,
    pub line: usize,
    pub was: Vec<String>,
    pub with: Vec<String>,
}

impl Fix {
    /// Lines `first..=last` of `source` replaced by `with`.
    pub fn lines(source: &SourceText, first: usize, last: usize, with: Vec<String>) -> Fix {
        Fix {
            file: source.path().to_owned(),
            line: first,
            was: (first..=last).map(|n| source.line(n).to_owned()).collect(),
            with,
        }
    }

    /// The first `from` in line `line` replaced by `to`; none where the line does not hold it.
    pub fn in_line(source: &SourceText, line: usize, from: &str, to: &str) -> Option<Fix> {
        let text = source.line(line);
        let at = text.find(from)?;
        let fixed = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        Some(Fix::lines(source, line, line, vec![fixed]))
    }

    /// `new` lines inserted before line `line`.
    pub fn before(source: &SourceText, line: usize, new: Vec<String>) -> Fix {
        let mut with = new;
        with.push(source.line(line).to_owned());
        Fix::lines(source, line, line, with)
    }

    /// The last line this fix replaces.
    pub fn last_line(&self) -> usize {
        self.line + self.was.len().max(1) - 1
    }
}

impl Finding {
    pub fn new(
        code: Code,
        file: impl Into<PathBuf>,
        at: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity: code.severity(),
            file: file.into(),
            line: at.line,
            column: at.column,
            message: message.into(),
            hint: hint.into(),
            fix: None,
        }
    }

    /// The same finding, carrying `fix`.
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
