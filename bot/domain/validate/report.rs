//! The three ways findings are written: rustc-like for people, JSON lines for programs, and
//! GitHub workflow commands that become annotations on a pull request.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::finding::{Finding, Severity};
use super::source::SourceText;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
}

/// The counts behind the closing line and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub notices: usize,
    pub geps: usize,
}

impl Summary {
    pub fn of(findings: &[Finding], geps: usize) -> Summary {
        let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
        Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            notices: count(Severity::Notice),
            geps,
        }
    }

    /// "1 error, 2 warnings in 3 GEPs" (notices named only when there are some).
    pub fn line(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let notices = if self.notices > 0 {
            format!(", {}", plural(self.notices, "notice"))
        } else {
            String::new()
        };
        format!(
            "{}, {}{notices} in {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.geps, "GEP")
        )
    }
}

pub fn render<'s>(
    out: &mut impl Write,
    format: Format,
    findings: &[Finding],
    sources: impl IntoIterator<Item = &'s SourceText>,
    summary: Summary,
    color: bool,
) -> io::Result<()> {
    match format {
        Format::Json => {
            for finding in findings {
                serde_json::to_writer(&mut *out, finding)?;
                writeln!(out)?;
            }
        }
        Format::Github => {
            for finding in findings {
                writeln!(out, "{}", github_command(finding))?;
            }
        }
        Format::Human => {
            let sources: HashMap<&Path, &SourceText> =
                sources.into_iter().map(|s| (s.path(), s)).collect();
            let renderer = if color {
                Renderer::styled()
            } else {
                Renderer::plain()
            };
            for finding in findings {
                let report = human(finding, sources.get(finding.file.as_path()).copied());
                writeln!(out, "{}\n", renderer.render(&report))?;
            }
            writeln!(out, "{}", summary.line())?;
        }
    }
    Ok(())
}

fn human<'a>(finding: &'a Finding, source: Option<&'a SourceText>) -> Vec<Group<'a>> {
    let level = match finding.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Notice => Level::NOTE,
    };
    let path = finding.file.to_string_lossy();
    let title = level
        .primary_title(finding.message.as_str())
        .id(finding.code.as_str());
    let group = match source {
        Some(source) => {
            let line = source.line(finding.line);
            let start: usize = line
                .chars()
                .take(finding.column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            let end = line.trim_end().len().max(start);
            title.element(
                Snippet::source(line)
                    .line_start(finding.line)
                    .path(path)
                    .annotation(AnnotationKind::Primary.span(start..end)),
            )
        }
        None => title.element(
            annotate_snippets::Origin::path(path)
                .line(finding.line)
                .char_column(finding.column),
        ),
    };
    vec![group.element(Level::HELP.message(finding.hint.as_str()))]
}

/// `::error file=F,line=L,col=C,title=CODE::MESSAGE`, escaped as the runner expects.
pub fn github_command(finding: &Finding) -> String {
    let command = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    format!(
        "::{command} file={},line={},col={},title={}::{}",
        escape_property(&finding.file.to_string_lossy()),
        finding.line,
        finding.column,
        finding.code,
        escape_data(&format!("{}\nhelp: {}", finding.message, finding.hint)),
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::{Code, Position};

    fn finding() -> Finding {
        Finding::new(
            Code::StatusMismatch,
            "geps/gep-1651/index.md",
            Position { line: 6, column: 3 },
            "GEP-1651: Status is \"Provisional\" here but \"Declined\" in metadata.yaml",
            "make the two agree",
        )
    }

    fn rendered(format: Format) -> String {
        let source = SourceText::new(
            "geps/gep-1651/index.md",
            "---\ntitle: \"GEP-1651: X\"\n---\n\n* Issue: [#1651](u)\n* Status: Provisional\n",
        );
        let findings = [finding()];
        let mut out = Vec::new();
        render(
            &mut out,
            format,
            &findings,
            [&source],
            Summary::of(&findings, 1),
            false,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn github_format_is_a_workflow_command_per_finding() {
        assert_eq!(
            rendered(Format::Github),
            "::error file=geps/gep-1651/index.md,line=6,col=3,title=GEP010::GEP-1651: Status is \"Provisional\" here but \"Declined\" in metadata.yaml%0Ahelp: make the two agree\n"
        );
    }

    #[test]
    fn json_format_is_one_object_a_line_with_the_documented_keys() {
        let text = rendered(Format::Json);
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 7);
        for key in [
            "code", "severity", "file", "line", "column", "message", "hint",
        ] {
            assert!(keys.contains(&key.to_owned()), "{key}");
        }
        assert_eq!(value["code"], "GEP010");
        assert_eq!(value["severity"], "error");
        assert_eq!(value["line"], 6);
    }

    #[test]
    fn human_format_shows_the_source_line_the_fix_and_a_summary() {
        let text = rendered(Format::Human);
        assert!(text.contains("error[GEP010]"), "{text}");
        assert!(text.contains("geps/gep-1651/index.md:6:3"), "{text}");
        assert!(text.contains("* Status: Provisional"), "{text}");
        assert!(text.contains("help: make the two agree"), "{text}");
        assert!(
            text.trim_end().ends_with("1 error, 0 warnings in 1 GEP"),
            "{text}"
        );
    }
}
