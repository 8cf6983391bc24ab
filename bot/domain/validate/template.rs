//! The GEP template as a set of rules: which sections exist, from which status each is required,
//! and which of its sentences are placeholders to be replaced.
//!
//! The rules are read from the template's own text (`[required_in]: # (S status and above)`, or
//! upstream's older `( Required for S status and above)`), never hard-coded, so a maintainer changes
//! a rule by editing the template.

use std::path::Path;

use crate::domain::gep::Status;

use super::finding::{Code, Finding};
use super::markdown::{Document, normalize};
use super::source::SourceText;

/// Our own template, compiled in so `gep-bot validate` works from any directory.
pub const BUILTIN_INDEX: &str = include_str!("../../../gep-templates/index.md");
pub const BUILTIN_PATH: &str = "gep-templates/index.md";

#[derive(Debug, Clone)]
pub struct Template {
    pub sections: Vec<TemplateSection>,
    /// How the template writes a GEP's title, and so how a GEP written to it may.
    pub title_form: TitleForm,
    /// Normalized sentences a finished GEP must not contain.
    pub placeholders: Vec<String>,
    /// Where the rules come from, as hints and check runs name it.
    pub origin: String,
}

/// How a GEP's title is written: in the front matter (`title: "GEP-N: Title"`, upstream's
/// template since it moved to front matter) or as a level-1 heading (`# GEP-N: Title`, before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TitleForm {
    #[default]
    FrontMatter,
    Heading,
}

/// Headings that real GEPs use for a template section, by one of the section's names: read in
/// upstream's GEPs, which wrote "Motivation" for the Purpose and "Graduation Criteria" for
/// "`Standard` Graduation Criteria" long before the template named them so. A template extends
/// these with an `[also_named]: # (A, B)` line in the section, and `bot.toml` with
/// `[checks.section_aliases]`.
const ALIASES: &[(&str, &[&str])] = &[
    (
        "standard graduation criteria",
        &[
            "graduation criteria",
            "beta ga graduation criteria",
            "ga graduation criteria",
            "beta graduation criteria",
        ],
    ),
    ("purpose", &["motivation"]),
    ("goals", &["goal", "immediate goals"]),
    ("conformance details", &["conformance", "conformance tests"]),
];

#[derive(Debug, Clone)]
pub struct TemplateSection {
    pub title: String,
    /// The names a GEP's heading may use for this section, normalized.
    pub names: Vec<String>,
    pub required_from: Option<Status>,
    /// The section's template body, normalized: a GEP section equal to it was not written.
    pub body: String,
}

impl Template {
    pub fn builtin() -> Template {
        let source = SourceText::new(BUILTIN_PATH, BUILTIN_INDEX);
        let (mut template, findings) = Template::parse(&source);
        debug_assert!(
            findings.is_empty(),
            "the built-in template has bad rules: {findings:?}"
        );
        // Named as a thing the user has, not a path: an installed binary has no
        // gep-templates/ folder beside it.
        template.origin = "gep-bot's built-in template".to_owned();
        template
    }

    /// Whether the template says which sections any status requires: one that does not (an
    /// empty file, a page that is no template) cannot judge a GEP.
    pub fn has_rules(&self) -> bool {
        self.sections.iter().any(|s| s.required_from.is_some())
    }

    /// More names for sections, by section title or any name it answers to (`bot.toml`'s
    /// `[checks.section_aliases]`): `"Purpose" = ["Why"]`.
    pub fn with_aliases<'a>(
        mut self,
        aliases: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Template {
        for (section, names) in aliases {
            let key = section_names(section);
            if let Some(found) = self
                .sections
                .iter_mut()
                .find(|s| s.names.iter().any(|n| key.contains(n)))
            {
                found
                    .names
                    .extend(names.iter().flat_map(|n| section_names(n)));
            }
        }
        self
    }

    /// Reads the rules from a template's text, with a finding for every rule it cannot read.
    pub fn parse(source: &SourceText) -> (Template, Vec<Finding>) {
        let text = source.text();
        let document = Document::parse(text);
        let mut findings = Vec::new();
        let mut sections = Vec::new();
        let mut placeholders = Vec::new();
        for (index, heading) in document.headings.iter().enumerate() {
            let body_range = document.section_body(index, text.len());
            // Rules sit between this heading and the next heading of any level.
            let own_end = document
                .headings
                .get(index + 1)
                .map_or(text.len(), |next| next.range.start);
            let own = heading.range.end..own_end.max(heading.range.end);
            let mut required_from = None;
            let mut names = section_names(&heading.text);
            for (key, aliases) in ALIASES {
                if names.iter().any(|n| n == key) {
                    names.extend(aliases.iter().map(|a| a.to_string()));
                }
            }
            for (line_offset, line) in line_offsets(&text[own.clone()]) {
                match parse_rule(line) {
                    Rule::None => {}
                    Rule::RequiredFrom(status) => required_from = Some(status),
                    Rule::AlsoNamed(list) => {
                        names.extend(list.split(',').flat_map(section_names));
                    }
                    Rule::Unknown(word) => findings.push(Finding::new(
                        Code::BadTemplateRule,
                        source.path(),
                        source.position(own.start + line_offset),
                        format!("template rule names `{word}`, which is not a GEP status"),
                        format!(
                            "write `[required_in]: # (S status and above)` with S one of: {}",
                            status_list()
                        ),
                    )),
                }
            }
            let body: Vec<_> = document
                .paragraphs
                .iter()
                .chain(&document.items)
                .filter(|p| contains(&body_range, &p.range))
                .filter(|p| !is_rule_text(&p.text))
                .collect();
            for paragraph in &body {
                if is_placeholder(&paragraph.text) {
                    placeholders.push(normalize(&paragraph.text));
                }
            }
            if heading.text.to_lowercase().contains("please remove") {
                placeholders.push(normalize(&heading.text));
            }
            sections.push(TemplateSection {
                title: heading.text.clone(),
                names,
                required_from,
                body: normalize_body(body_range, &document),
            });
        }
        placeholders.sort();
        placeholders.dedup();
        let front_matter_title = document.front_matter.as_ref().is_some_and(|fm| {
            text[fm.yaml.clone()]
                .lines()
                .any(|l| l.starts_with("title:"))
        });
        let title_form = if !front_matter_title && document.headings.iter().any(|h| h.level == 1) {
            TitleForm::Heading
        } else {
            TitleForm::FrontMatter
        };
        (
            Template {
                sections,
                title_form,
                placeholders,
                origin: source.path().display().to_string(),
            },
            findings,
        )
    }

    /// Reads a template from a file (an `index.md`, or a folder holding one): its rules, its text
    /// (for showing findings), and a finding for every rule it cannot read.
    pub fn load(path: &Path) -> std::io::Result<(Template, SourceText, Vec<Finding>)> {
        let file = if path.is_dir() {
            path.join("index.md")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file)?;
        let source = SourceText::new(file, text);
        let (template, findings) = Template::parse(&source);
        Ok((template, source, findings))
    }

    /// The template section a GEP heading stands for, if any: a heading with the same name, or
    /// failing that one that starts with it ("Alternatives Considered" for "Alternatives").
    pub fn section_for(&self, heading: &str) -> Option<&TemplateSection> {
        let names = section_names(heading);
        let exact = self
            .sections
            .iter()
            .find(|section| section.names.iter().any(|n| names.contains(n)));
        exact.or_else(|| {
            self.sections.iter().find(|section| {
                section.names.iter().any(|n| {
                    names.iter().any(|name| {
                        name.strip_prefix(n.as_str())
                            .is_some_and(|r| r.starts_with(' '))
                    })
                })
            })
        })
    }

    /// Whether a normalized text holds a placeholder. Placeholders are parenthesised or say
    /// "please remove", so only those places are compared (real GEPs are long).
    pub fn has_placeholder(&self, text: &str) -> bool {
        let asks_removal = self
            .placeholders
            .iter()
            .any(|p| p.contains("please remove"));
        (asks_removal && text.contains("please remove"))
            || self.placeholder_spans(text).next().is_some()
    }

    /// These rules, with the document's form (how the title is written, what is a placeholder)
    /// taken from `form`: a template older than the rules still says how GEPs written to it look.
    pub fn with_form_of(mut self, form: &Template) -> Template {
        self.title_form = form.title_form;
        self.placeholders = form.placeholders.clone();
        self
    }

    /// A normalized text with its placeholders cut out.
    pub fn strip_placeholders(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in self.placeholder_spans(text) {
            if span.start >= at {
                out.push_str(&text[at..span.start]);
                at = span.end;
            }
        }
        out.push_str(&text[at..]);
        if out.contains("please remove") {
            for placeholder in self.placeholders.iter().filter(|p| !p.starts_with('(')) {
                out = out.replace(placeholder.as_str(), "");
            }
        }
        out
    }

    fn placeholder_spans<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + 't {
        text.match_indices('(').filter_map(move |(i, _)| {
            self.placeholders
                .iter()
                .find(|p| text[i..].starts_with(p.as_str()))
                .map(|p| i..i + p.len())
        })
    }

    /// Sections required at a status.
    pub fn required_at(&self, status: Status) -> impl Iterator<Item = &TemplateSection> {
        self.sections.iter().filter(move |section| {
            section
                .required_from
                .is_some_and(|floor| status.is_at_least(floor))
        })
    }
}

fn contains(outer: &std::ops::Range<usize>, inner: &std::ops::Range<usize>) -> bool {
    inner.start >= outer.start && inner.end <= outer.end
}

fn line_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let at = offset;
        offset += line.len();
        (at, line.trim_end())
    })
}

enum Rule<'a> {
    None,
    RequiredFrom(Status),
    /// `[also_named]: # (Motivation, Why)`: other headings a GEP may give this section.
    AlsoNamed(&'a str),
    Unknown(&'a str),
}

/// `[required_in]: # (Implementable status and above)` or `( Required for Experimental status and above)`.
fn parse_rule(line: &str) -> Rule<'_> {
    let line = line.trim();
    if let Some(list) = line
        .strip_prefix("[also_named]:")
        .and_then(|r| r.trim_start().strip_prefix('#'))
        .map(str::trim)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
    {
        return Rule::AlsoNamed(list);
    }
    let inner = if let Some(rest) = line.strip_prefix("[required_in]:") {
        rest.trim_start()
            .strip_prefix('#')
            .map(str::trim)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
    } else {
        line.strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
            .and_then(|r| r.strip_prefix("Required for "))
    };
    let Some(inner) = inner else {
        return Rule::None;
    };
    let Some(word) = inner.trim().strip_suffix("status and above").map(str::trim) else {
        return Rule::None;
    };
    word.parse().map_or(Rule::Unknown(word), Rule::RequiredFrom)
}

fn is_rule_text(text: &str) -> bool {
    let text = text.trim_start();
    !matches!(parse_rule(text), Rule::None)
        || text.starts_with("[required_in]")
        || text.starts_with("[also_named]")
}

/// A template sentence meant to be replaced: a parenthesised instruction, or anything that says
/// "please remove".
fn is_placeholder(text: &str) -> bool {
    let text = text.trim();
    let parenthesised = text.starts_with('(') && text.ends_with(')') && text.len() > 12;
    parenthesised || text.to_lowercase().contains("please remove")
}

/// A heading's possible names: "Introduction/Overview" answers to either, "Longer Term Goals
/// (optional)" to "longer term goals", "`Standard` Graduation Criteria" to "standard graduation
/// criteria", "TL;DR" to "tldr". A hyphen or underscore separates words as a space does, so
/// "Non-Goals" and "Non Goals" are one name (and neither is "Goals").
pub fn section_names(heading: &str) -> Vec<String> {
    let without_note = match heading.find('(') {
        Some(i) if i > 0 => &heading[..i],
        _ => heading,
    };
    let words = |text: &str| {
        let kept: String = text
            .chars()
            .map(|c| if c == '-' || c == '_' { ' ' } else { c })
            .filter(|c| c.is_alphanumeric() || c.is_whitespace())
            .collect();
        normalize(&kept)
    };
    let mut names = vec![words(&without_note.replace('/', " "))];
    if without_note.contains('/') {
        names.extend(without_note.split('/').map(words));
    }
    names.retain(|n| !n.is_empty());
    names
}

/// A section's prose, normalized and without rule lines, to tell an unwritten section from a written one.
pub fn normalize_body(range: std::ops::Range<usize>, document: &Document) -> String {
    let mut blocks: Vec<_> = document
        .paragraphs
        .iter()
        .chain(&document.items)
        .filter(|b| contains(&range, &b.range) && !is_rule_text(&b.text))
        .collect();
    blocks.sort_by_key(|b| b.range.start);
    let prose: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
    normalize(&prose.join(" "))
}

fn status_list() -> String {
    Status::ALL.map(Status::as_str).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Template, Vec<Finding>) {
        Template::parse(&SourceText::new("t.md", text))
    }

    #[test]
    fn what_counts_as_a_placeholder_is_the_templates_word() {
        let (plain, _) = parse("## TLDR\n\n(One line summary of it.)\n");
        let (removing, _) = parse("## TLDR\n\n#### Example, please remove: X\n");
        let text = "example scenario, please remove: x";
        assert!(!plain.has_placeholder(text));
        assert!(removing.has_placeholder(text));
        assert!(plain.has_placeholder("(one line summary of it.)"));
        // Rules of one template, form of another: the older template's placeholders judge.
        let mixed = removing.clone().with_form_of(&plain);
        assert!(!mixed.has_placeholder(text));
        assert_eq!(mixed.sections.len(), removing.sections.len());
    }

    #[test]
    fn reads_both_rule_spellings() {
        let (template, findings) = parse(
            "## TLDR\n\n[required_in]: # (Provisional status and above)\n\n(summary here please)\n\n\
             ## Criteria\n\n( Required for Experimental status and above)\n\n* item\n",
        );
        assert!(findings.is_empty());
        assert_eq!(
            template.sections[0].required_from,
            Some(Status::Provisional)
        );
        assert_eq!(
            template.sections[1].required_from,
            Some(Status::Experimental)
        );
    }

    #[test]
    fn a_rule_naming_an_unknown_status_is_reported() {
        let (_, findings) = parse("## TLDR\n\n[required_in]: # (Rejected status and above)\n");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, Code::BadTemplateRule);
        assert_eq!(findings[0].line, 3);
    }

    #[test]
    fn parenthesised_sentences_and_please_remove_are_placeholders() {
        let (template, _) = parse(
            "## TLDR\n\n(1-2 sentence summary of the proposal)\n\n## Tests\n\n#### Example 1, please remove: X\n\nbody\n\n(short)\n",
        );
        assert_eq!(
            template.placeholders,
            [
                "(1-2 sentence summary of the proposal)",
                "example 1, please remove: x"
            ]
        );
    }

    #[test]
    fn headings_match_by_any_of_their_names() {
        let (template, _) = parse(
            "## Introduction/Overview\n\n## `Standard` Graduation Criteria\n\n## Longer Term Goals (optional)\n",
        );
        assert_eq!(
            template.section_for("Overview").unwrap().title,
            "Introduction/Overview"
        );
        assert!(
            template
                .section_for("Standard Graduation Criteria")
                .is_some()
        );
        assert!(template.section_for("longer term goals").is_some());
        assert!(template.section_for("Goals").is_none());
        assert!(template.section_for("Overview and history").is_some());
        let (template, _) = parse("## TLDR\n\n## Goals\n\n## Non-Goals\n");
        assert_eq!(template.section_for("TL;DR").unwrap().title, "TLDR");
        assert_eq!(
            template.section_for("Non-Goals").unwrap().title,
            "Non-Goals"
        );
        assert_eq!(template.section_for("Goals").unwrap().title, "Goals");
        assert_eq!(
            template.section_for("Non Goals").unwrap().title,
            "Non-Goals"
        );
        assert_eq!(
            template.section_for("non_goals").unwrap().title,
            "Non-Goals"
        );
    }

    #[test]
    fn headings_real_geps_use_match_through_the_aliases() {
        let (template, _) = parse(
            "## Goals

## Purpose (Why and Who)

## Conformance Details

## `Standard` Graduation Criteria
",
        );
        let title = |heading| template.section_for(heading).map(|s| s.title.as_str());
        assert_eq!(title("Motivation"), Some("Purpose (Why and Who)"));
        assert_eq!(title("Immediate Goals"), Some("Goals"));
        assert_eq!(title("Goal"), Some("Goals"));
        assert_eq!(title("Conformance"), Some("Conformance Details"));
        assert_eq!(title("Conformance Tests"), Some("Conformance Details"));
        assert_eq!(
            title("Graduation Criteria"),
            Some("Standard Graduation Criteria")
        );
        assert_eq!(
            title("Beta/GA Graduation Criteria"),
            Some("Standard Graduation Criteria")
        );
        assert_eq!(title("Why"), None);
    }

    #[test]
    fn a_template_or_the_configuration_extends_the_aliases() {
        let (template, findings) = parse(
            "## Purpose

[also_named]: # (Why, The Reason)

[required_in]: # (Provisional status and above)

(why)

## Goals
",
        );
        assert_eq!(findings, []);
        assert_eq!(template.section_for("The Reason").unwrap().title, "Purpose");
        assert_eq!(template.section_for("Why").unwrap().title, "Purpose");
        assert!(
            !template
                .placeholders
                .iter()
                .any(|p| p.contains("also_named"))
        );
        let names = vec!["Aims".to_owned()];
        let template = template.with_aliases([("goals", names.as_slice())]);
        assert_eq!(template.section_for("Aims").unwrap().title, "Goals");
    }
}
