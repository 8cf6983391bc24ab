//! Checks of a GEP's `index.md`: front matter and title, the Issue and Status lines, and the
//! sections the template requires at the GEP's status.

use serde_yaml_ng::Value;

use crate::domain::gep::Status;

use super::finding::{Code, Finding, Fix};
use super::markdown::{Block, Document, normalize};
use super::metadata::nearest;
use super::source::{Position, SourceText};
use super::template::{Template, TitleForm, normalize_body};

/// What the other checks need from `index.md`.
#[derive(Debug, Clone, Default)]
pub struct IndexFacts {
    /// The title without its `GEP-N: ` prefix.
    pub title_name: Option<String>,
    pub status: Option<(Status, Position)>,
    /// The document is a template (its Status line lists every status).
    pub is_template: bool,
}

/// `recorded` is the status `metadata.yaml` gives: the sections are checked at the higher of it
/// and the Status line, so a promotion written in one file only is held to its new status.
pub fn check(
    source: &SourceText,
    folder: Option<u32>,
    template: &Template,
    recorded: Option<Status>,
    out: &mut Vec<Finding>,
) -> IndexFacts {
    let document = Document::parse(source.text());
    let title_heading = match (&document.front_matter, template.title_form) {
        (None, TitleForm::Heading) => document.headings.iter().position(|h| h.level == 1),
        _ => None,
    };
    let mut facts = IndexFacts {
        title_name: title(source, &document, folder, title_heading, out),
        ..IndexFacts::default()
    };
    let after_front_matter = document
        .front_matter
        .as_ref()
        .map_or(Position::START, |fm| {
            Position::line(source.position(fm.yaml.end).line + 1)
        });
    let title_at = title_heading.map(|i| document.headings[i].range.start);
    for heading in document
        .headings
        .iter()
        .filter(|h| h.level == 1 && Some(h.range.start) != title_at)
    {
        out.push(Finding::new(
            Code::H1Title,
            source.path(),
            source.position(heading.range.start),
            format!(
                "`# {}` is a level-1 heading; the page title comes from the front matter",
                heading.text
            ),
            "make it a `##` section, or remove it if it repeats the title",
        ));
    }
    issue_line(source, &document, folder, after_front_matter, out);
    match labelled(&document, "Status") {
        None => out.push(Finding::new(
            Code::MissingStatusLine,
            source.path(),
            after_front_matter,
            "there is no `* Status:` line",
            "add `* Status: Provisional` (or the GEP's status) below the Issue line",
        )),
        Some((block, value)) => {
            let at = source.position(block.range.start);
            let word = value.split_whitespace().next().unwrap_or("");
            if word.contains('|') {
                facts.is_template = true;
            } else {
                match word.parse::<Status>() {
                    Ok(status) => facts.status = Some((status, at)),
                    Err(_) => {
                        let names = Status::ALL.map(Status::as_str);
                        let hint = match nearest(word, &names) {
                            Some(known) => format!("did you mean `{known}`?"),
                            None => format!("use one of: {}", names.join(", ")),
                        };
                        out.push(Finding::new(
                            Code::UnknownStatus,
                            source.path(),
                            at,
                            format!("`{word}` is not a GEP status"),
                            hint,
                        ));
                    }
                }
            }
        }
    }
    if !facts.is_template {
        let held_to = match (facts.status, recorded) {
            (Some((line, at)), Some(recorded)) => {
                let higher = match (line.rung(), recorded.rung()) {
                    (Some(l), Some(r)) if l >= r => line,
                    _ => recorded,
                };
                Some((higher, at))
            }
            (None, Some(recorded)) => Some((recorded, after_front_matter)),
            (line, None) => line,
        };
        let unwritten: Vec<_> = sections(source, &document, template, held_to, out)
            .into_iter()
            .filter_map(|(_, range)| range)
            .collect();
        placeholders(source, &document, template, &unwritten, out);
    }
    facts
}

/// The GEP's title, without its `GEP-N: ` prefix: from the front matter, or (where the
/// template at the base writes its title so, as upstream's did before front matter) from the
/// level-1 heading at `heading`.
fn title(
    source: &SourceText,
    document: &Document,
    folder: Option<u32>,
    heading: Option<usize>,
    out: &mut Vec<Finding>,
) -> Option<String> {
    let number = folder.map_or("N".to_owned(), |n| n.to_string());
    if let Some(heading) = heading.map(|i| &document.headings[i]) {
        let at = source.position(heading.range.start);
        return judge_title(
            source,
            &heading.text,
            at,
            folder,
            |t| format!("`# {t}`"),
            out,
        );
    }
    let example = format!("GEP-{number}: Title");
    let Some(front_matter) = &document.front_matter else {
        out.push(Finding::new(
            Code::MissingFrontMatter,
            source.path(),
            Position::START,
            "index.md has no front matter",
            format!("start the file with three lines: `---`, `title: \"{example}\"`, `---`"),
        ));
        return None;
    };
    let yaml = &source.text()[front_matter.yaml.clone()];
    let title_line = yaml
        .lines()
        .position(|l| l.starts_with("title:"))
        .map_or(source.position(front_matter.yaml.start), |i| {
            Position::line(source.position(front_matter.yaml.start).line + i)
        });
    let value: Option<Value> = serde_yaml_ng::from_str(yaml).ok();
    let title = value
        .as_ref()
        .and_then(|v| v.get("title"))
        .and_then(Value::as_str);
    let Some(title) = title else {
        out.push(Finding::new(
            Code::BadTitle,
            source.path(),
            title_line,
            "the front matter has no `title`",
            format!("add `title: \"{example}\"`"),
        ));
        return None;
    };
    judge_title(
        source,
        title,
        title_line,
        folder,
        |t| format!("`title: \"{t}\"`"),
        out,
    )
}

/// A title of the form `GEP-N: Title`, N the folder's number; `written` says how the fix is
/// written (in the front matter or as the heading).
fn judge_title(
    source: &SourceText,
    title: &str,
    at: Position,
    folder: Option<u32>,
    written: impl Fn(&str) -> String,
    out: &mut Vec<Finding>,
) -> Option<String> {
    let parsed = title
        .strip_prefix("GEP-")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(n, name)| Some((n.parse::<u32>().ok()?, name.trim())))
        .filter(|(_, name)| !name.is_empty());
    match parsed {
        None => {
            let (prefix, name) = title.split_once(':').unwrap_or(("", title));
            let name = name.trim();
            let suggestion = format!(
                "GEP-{}: {name}",
                folder.map_or("N".to_owned(), |n| n.to_string())
            );
            // A fix only where nothing is guessed: the folder's number, no other number in
            // the title's prefix, a name, and the title written as it is in the file.
            let digits: String = prefix.chars().filter(char::is_ascii_digit).collect();
            let fix = folder
                .filter(|n| digits.is_empty() || digits == n.to_string())
                .filter(|_| !name.is_empty())
                .and_then(|_| Fix::in_line(source, at.line, title, &suggestion));
            out.push(
                Finding::new(
                    Code::BadTitle,
                    source.path(),
                    at,
                    format!("title `{title}` is not of the form `GEP-N: Title`"),
                    format!("write {}", written(&suggestion)),
                )
                .with_fix(fix),
            );
            None
        }
        Some((number, name)) => {
            if let Some(folder) = folder
                && number != folder
            {
                out.push(Finding::new(
                    Code::TitleNumberMismatch,
                    source.path(),
                    at,
                    format!("title says GEP-{number} but the folder is gep-{folder}"),
                    format!("write {}", written(&format!("GEP-{folder}: {name}"))),
                ));
            }
            Some(name.to_owned())
        }
    }
}

/// The first list item (or paragraph) of the form `Label: value`, and the value.
fn labelled<'d>(document: &'d Document, label: &str) -> Option<(&'d Block, &'d str)> {
    document
        .items
        .iter()
        .chain(&document.paragraphs)
        .find_map(|block| {
            let rest = block
                .text
                .strip_prefix(label)?
                .trim_start()
                .strip_prefix(':')?;
            Some((block, rest.trim()))
        })
}

fn issue_line(
    source: &SourceText,
    document: &Document,
    folder: Option<u32>,
    fallback: Position,
    out: &mut Vec<Finding>,
) {
    let n = folder.map_or("N".to_owned(), |n| n.to_string());
    let Some((block, value)) = labelled(document, "Issue") else {
        let line =
            format!("* Issue: [#{n}](https://github.com/kubernetes-sigs/gateway-api/issues/{n})");
        // Written above the Status line, as the template has it, when both are known.
        let fix = folder
            .and(labelled(document, "Status"))
            .map(|(status, _)| source.position(status.range.start).line)
            .filter(|&at| source.line(at).trim_start().starts_with("* Status"))
            .map(|at| Fix::before(source, at, vec![line.clone()]));
        out.push(
            Finding::new(
                Code::MissingIssueLine,
                source.path(),
                fallback,
                "there is no `* Issue:` line",
                format!("add `{line}` below the front matter"),
            )
            .with_fix(fix),
        );
        return;
    };
    let from_text = value
        .trim_start_matches('#')
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse::<u32>().ok());
    let from_link = block
        .link
        .as_deref()
        .and_then(|url| url.trim_end_matches('/').rsplit('/').next())
        .and_then(|d| d.parse::<u32>().ok());
    let at = source.position(block.range.start);
    for number in [from_text, from_link].into_iter().flatten() {
        if let Some(folder) = folder
            && number != folder
        {
            out.push(Finding::new(
                Code::IssueNumberMismatch,
                source.path(),
                at,
                format!("the Issue line points at #{number} but the folder is gep-{folder}"),
                format!("the GEP number is its tracking issue's: link `[#{folder}](.../issues/{folder})`"),
            ));
            return;
        }
    }
}

/// A required section the GEP still owes: missing (no range) or unwritten (its byte range).
type Owed = (String, Option<std::ops::Range<usize>>);

/// Required sections missing or still template text, reported and returned. The ranges of the
/// unwritten ones keep their placeholders from being reported a second time.
fn sections(
    source: &SourceText,
    document: &Document,
    template: &Template,
    status: Option<(Status, Position)>,
    out: &mut Vec<Finding>,
) -> Vec<Owed> {
    let mut owed = Vec::new();
    let Some((status, status_at)) = status else {
        return owed;
    };
    let text = source.text();
    let sections: Vec<Option<&str>> = document
        .headings
        .iter()
        .map(|h| template.section_for(&h.text).map(|s| s.title.as_str()))
        .collect();
    for required in template.required_at(status) {
        let found = document
            .headings
            .iter()
            .enumerate()
            .find(|(i, _)| sections[*i] == Some(required.title.as_str()));
        let Some((index, heading)) = found else {
            out.push(Finding::new(
                Code::MissingSection,
                source.path(),
                status_at,
                format!(
                    "section `{}` is required at status {status} but missing",
                    required.title
                ),
                format!(
                    "add a `## {}` section (as in {})",
                    required.title, template.origin
                ),
            ));
            owed.push((required.title.clone(), None));
            continue;
        };
        let range = document.section_body(index, text.len());
        let body =
            normalize(&template.strip_placeholders(&normalize_body(range.clone(), document)));
        let has_code = text[range.clone()].contains("```");
        // A template section made only of fixed text (upstream's graduation criteria) is meant to
        // be kept as it is; one that holds instructions is unwritten while it still matches.
        // A section written only in code or under its sub-headings' code blocks (an `## API` of
        // `### Go` and `### YAML`) is written, whatever the template's instructions were.
        let template_body = template.strip_placeholders(&required.body);
        let has_instructions = template_body.len() != required.body.len();
        let unwritten = if body.is_empty() {
            !has_code
        } else {
            has_instructions && body == normalize(&template_body)
        };
        if unwritten {
            out.push(Finding::new(
                Code::TemplateSection,
                source.path(),
                source.position(heading.range.start),
                format!(
                    "section `{}` is required at status {status} but still holds only template text",
                    heading.text
                ),
                "replace the template's instructions with this GEP's content",
            ));
            owed.push((required.title.clone(), Some(range)));
        }
    }
    owed
}

/// The sections a GEP must still write (missing or template text) to hold `status`.
pub fn sections_owed(source: &SourceText, template: &Template, status: Status) -> Vec<String> {
    let document = Document::parse(source.text());
    let mut ignored = Vec::new();
    sections(
        source,
        &document,
        template,
        Some((status, Position::START)),
        &mut ignored,
    )
    .into_iter()
    .map(|(title, _)| title)
    .collect()
}

fn placeholders(
    source: &SourceText,
    document: &Document,
    template: &Template,
    unwritten: &[std::ops::Range<usize>],
    out: &mut Vec<Finding>,
) {
    let headings = document.headings.iter().map(|h| (&h.text, &h.range));
    let blocks = document
        .paragraphs
        .iter()
        .chain(&document.items)
        .map(|b| (&b.text, &b.range));
    let mut found: Vec<_> = headings
        .chain(blocks)
        .filter(|(_, range)| {
            !unwritten
                .iter()
                .any(|u| range.start >= u.start && range.end <= u.end)
        })
        .filter_map(|(text, range)| {
            // Every placeholder is parenthesised or says "please remove": most prose is neither.
            if !text.contains('(') && !text.to_ascii_lowercase().contains("remove") {
                return None;
            }
            let text = normalize(text);
            template.has_placeholder(&text).then_some(range.start)
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    for start in found {
        out.push(Finding::new(
            Code::PlaceholderLeft,
            source.path(),
            source.position(start),
            "template placeholder left in the document",
            "replace it with this GEP's content, or delete it",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "## TLDR\n\n[required_in]: # (Provisional status and above)\n\n(One line summary of it.)\n\n\
        ## API\n\n[required_in]: # (Implementable status and above)\n\n(The API in detail here.)\n\n\
        ## Scenarios\n\n#### Example, please remove: X\n\ntext\n";

    fn template() -> Template {
        Template::parse(&SourceText::new("t.md", TEMPLATE)).0
    }

    fn gep(status: &str, body: &str) -> String {
        format!(
            "---\ntitle: \"GEP-42: Answer\"\n---\n\n* Issue: [#42](https://github.com/o/r/issues/42)\n* Status: {status}\n\n{body}"
        )
    }

    fn run(text: &str) -> (IndexFacts, Vec<Finding>) {
        let mut out = Vec::new();
        let facts = check(
            &SourceText::new("gep-42/index.md", text),
            Some(42),
            &template(),
            None,
            &mut out,
        );
        (facts, out)
    }

    fn codes(findings: &[Finding]) -> Vec<(Code, usize)> {
        findings.iter().map(|f| (f.code, f.line)).collect()
    }

    #[test]
    fn a_template_titled_by_its_h1_lets_a_gep_be_titled_so_and_judges_that_title() {
        let old = format!("# GEP-696: GEP template\n\n{TEMPLATE}");
        let template = Template::parse(&SourceText::new("t.md", old)).0;
        assert_eq!(template.title_form, TitleForm::Heading);
        assert_eq!(self::template().title_form, TitleForm::FrontMatter);
        let body = "* Issue: [#42](https://github.com/o/r/issues/42)\n* Status: Provisional\n\n\
                    ## TLDR\n\nWe route mesh traffic.\n";
        let judge = |text: &str, template: &Template| {
            let mut out = Vec::new();
            let facts = check(
                &SourceText::new("gep-42/index.md", text),
                Some(42),
                template,
                None,
                &mut out,
            );
            (facts, out)
        };
        let (facts, findings) = judge(&format!("# GEP-42: Answer\n\n{body}"), &template);
        assert_eq!(findings, []);
        assert_eq!(facts.title_name.as_deref(), Some("Answer"));
        let (_, findings) = judge(&format!("# GEP 42: Answer\n\n{body}"), &template);
        assert_eq!(codes(&findings), [(Code::BadTitle, 1)]);
        assert!(
            findings[0].hint.contains("`# GEP-42: Answer`"),
            "{findings:?}"
        );
        // The template of today asks for front matter, and the H1 is no title there.
        let (_, findings) = judge(&format!("# GEP-42: Answer\n\n{body}"), &self::template());
        assert_eq!(
            codes(&findings),
            [(Code::MissingFrontMatter, 1), (Code::H1Title, 1)]
        );
    }

    #[test]
    fn a_sound_gep_has_no_findings() {
        let (facts, findings) = run(&gep("Provisional", "## TLDR\n\nWe route mesh traffic.\n"));
        assert_eq!(findings, []);
        assert_eq!(facts.title_name.as_deref(), Some("Answer"));
        assert_eq!(facts.status.map(|s| s.0), Some(Status::Provisional));
    }

    #[test]
    fn missing_front_matter_is_an_error() {
        let (_, findings) = run("* Issue: [#42](u/42)\n* Status: Provisional\n\n## TLDR\n\nx\n");
        assert_eq!(codes(&findings), [(Code::MissingFrontMatter, 1)]);
    }

    #[test]
    fn title_must_be_gep_dash_number_colon_title() {
        let (_, findings) =
            run(&gep("Provisional", "## TLDR\n\nx\n").replace("GEP-42:", "GEP 42:"));
        assert_eq!(codes(&findings), [(Code::BadTitle, 2)]);
        assert!(
            findings[0].hint.contains("GEP-42: Answer"),
            "{}",
            findings[0].hint
        );
    }

    #[test]
    fn title_number_must_be_the_folders() {
        let (_, findings) =
            run(&gep("Provisional", "## TLDR\n\nx\n").replace("GEP-42:", "GEP-43:"));
        assert_eq!(codes(&findings), [(Code::TitleNumberMismatch, 2)]);
    }

    #[test]
    fn an_h1_heading_is_an_error_but_not_inside_code() {
        let (_, findings) = run(&gep(
            "Provisional",
            "# Answer\n\n## TLDR\n\nx\n\n```yaml\n# comment\n```\n",
        ));
        assert_eq!(codes(&findings), [(Code::H1Title, 8)]);
    }

    #[test]
    fn missing_issue_and_status_lines_are_errors() {
        let (_, findings) = run("---\ntitle: \"GEP-42: Answer\"\n---\n\n## TLDR\n\nx\n");
        assert_eq!(
            codes(&findings),
            [(Code::MissingIssueLine, 4), (Code::MissingStatusLine, 4)]
        );
    }

    #[test]
    fn issue_number_read_from_escaped_link_text_must_match() {
        let text = gep("Provisional", "## TLDR\n\nx\n").replace(
            "[#42](https://github.com/o/r/issues/42)",
            "[\\#41](https://github.com/o/r/issues/41)",
        );
        let (_, findings) = run(&text);
        assert_eq!(codes(&findings), [(Code::IssueNumberMismatch, 5)]);
        assert!(findings[0].message.contains("#41"));
    }

    #[test]
    fn dash_list_markers_are_accepted() {
        let text = gep("Provisional", "## TLDR\n\nx\n")
            .replace("* Issue", "- Issue")
            .replace("* Status", "- Status");
        assert_eq!(run(&text).1, []);
    }

    #[test]
    fn unknown_status_is_an_error_with_a_suggestion() {
        let (_, findings) = run(&gep("Implementible", "## TLDR\n\nx\n"));
        assert_eq!(codes(&findings), [(Code::UnknownStatus, 6)]);
        assert!(findings[0].hint.contains("`Implementable`"));
    }

    #[test]
    fn a_section_required_at_the_status_must_exist() {
        let (_, findings) = run(&gep("Implementable", "## TLDR\n\nWe route.\n"));
        assert_eq!(codes(&findings), [(Code::MissingSection, 6)]);
        assert!(findings[0].message.contains("`API`"));
        assert!(!findings[0].is_error());
        // Not yet required at Provisional.
        assert_eq!(run(&gep("Provisional", "## TLDR\n\nWe route.\n")).1, []);
    }

    #[test]
    fn a_required_section_left_as_template_text_is_reported_once() {
        let (_, findings) = run(&gep(
            "Provisional",
            "## TLDR\n\n(One line summary of it.)\n",
        ));
        assert_eq!(codes(&findings), [(Code::TemplateSection, 8)]);
        let (_, findings) = run(&gep("Provisional", "## TLDR\n\n"));
        assert_eq!(codes(&findings), [(Code::TemplateSection, 8)]);
    }

    #[test]
    fn a_section_written_only_under_its_sub_headings_is_written() {
        // gep-3388's `## API`: a `### Go` and a `### YAML`, each only a code block, against a
        // template whose API section is all instructions.
        let (_, findings) = run(&gep(
            "Implementable",
            "## TLDR\n\nWe route.\n\n## API\n\n### Go\n\n```go\ntype X struct{}\n```\n\n### YAML\n\n```yaml\na: b\n```\n",
        ));
        assert_eq!(findings, []);
        let (_, findings) = run(&gep(
            "Implementable",
            "## TLDR\n\nWe route.\n\n## API\n\n### Go\n\nThe type is `X`.\n",
        ));
        assert_eq!(findings, []);
        let (_, findings) = run(&gep(
            "Implementable",
            "## TLDR\n\nWe route.\n\n## API\n\n(The API in detail here.)\n\n### Go\n\n",
        ));
        assert_eq!(codes(&findings), [(Code::TemplateSection, 12)]);
    }

    #[test]
    fn sections_are_held_to_the_higher_of_the_two_statuses() {
        let text = gep("Provisional", "## TLDR\n\nWe route.\n");
        let mut out = Vec::new();
        let source = SourceText::new("gep-42/index.md", text);
        check(
            &source,
            Some(42),
            &template(),
            Some(Status::Implementable),
            &mut out,
        );
        assert_eq!(codes(&out), [(Code::MissingSection, 6)]);
        out.clear();
        check(
            &source,
            Some(42),
            &template(),
            Some(Status::Declined),
            &mut out,
        );
        assert_eq!(codes(&out), []);
    }

    #[test]
    fn sections_owed_for_a_status_lists_what_is_missing_or_unwritten() {
        let text = gep("Provisional", "## TLDR\n\nWe route.\n");
        let source = SourceText::new("gep-42/index.md", text);
        assert_eq!(
            sections_owed(&source, &template(), Status::Provisional),
            Vec::<String>::new()
        );
        assert_eq!(
            sections_owed(&source, &template(), Status::Implementable),
            ["API"]
        );
        let unwritten = SourceText::new(
            "i.md",
            gep("Provisional", "## TLDR\n\n(One line summary of it.)\n"),
        );
        assert_eq!(
            sections_owed(&unwritten, &template(), Status::Provisional),
            ["TLDR"]
        );
    }

    #[test]
    fn placeholders_left_anywhere_are_warnings() {
        let (_, findings) = run(&gep(
            "Provisional",
            "## TLDR\n\nWe route.\n\n## Scenarios\n\n#### Example, please remove: X\n\n## Other\n\n(The API in\ndetail here.)\n",
        ));
        assert_eq!(
            codes(&findings),
            [(Code::PlaceholderLeft, 14), (Code::PlaceholderLeft, 18)]
        );
        assert!(findings.iter().all(|f| !f.is_error()));
    }

    #[test]
    fn a_template_is_recognised_by_its_status_alternatives() {
        let (facts, findings) = run(&gep(
            "Provisional|Implementable",
            "## TLDR\n\n(One line summary of it.)\n",
        ));
        assert!(facts.is_template);
        assert_eq!(findings, []);
    }

    #[test]
    fn a_missing_issue_line_is_written_above_the_status_line_and_a_bad_title_rewritten() {
        let text =
            "---\ntitle: \"GEP 42: Mesh things\"\n---\n\n* Status: Provisional\n\n## TLDR\n\nT.\n";
        let (_, findings) = run(text);
        let fixes: Vec<&Fix> = findings.iter().filter_map(|f| f.fix.as_ref()).collect();
        assert_eq!(fixes.len(), 2, "{findings:?}");
        let done = crate::domain::validate::apply(text, &fixes).unwrap();
        assert_eq!(
            done.text,
            "---\ntitle: \"GEP-42: Mesh things\"\n---\n\n* Issue: [#42](https://github.com/kubernetes-sigs/gateway-api/issues/42)\n* Status: Provisional\n\n## TLDR\n\nT.\n"
        );
        // Another number in the title is not guessed away.
        let (_, findings) = run(
            "---\ntitle: \"GEP 99: Mesh things\"\n---\n\n* Issue: [#42](https://github.com/kubernetes-sigs/gateway-api/issues/42)\n* Status: Provisional\n",
        );
        let title = findings.iter().find(|f| f.code == Code::BadTitle).unwrap();
        assert_eq!(title.fix, None);
    }
}
