//! Is a text about mesh? Whole words and phrases, case-insensitive, outside code and quotes.

use globset::{Glob, GlobSet, GlobSetBuilder};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::MeshRules;

/// The compiled form of [`MeshRules`], built once at start.
#[derive(Debug, Clone)]
pub struct Matcher {
    phrases: Vec<String>,
    paths: GlobSet,
}

#[derive(Debug, thiserror::Error)]
#[error("mesh path pattern `{pattern}`: {source}")]
pub struct BadPattern {
    pattern: String,
    source: globset::Error,
}

impl Matcher {
    pub fn new(rules: &MeshRules) -> Result<Matcher, BadPattern> {
        let mut paths = GlobSetBuilder::new();
        for pattern in &rules.paths {
            let glob = Glob::new(pattern).map_err(|source| BadPattern {
                pattern: pattern.clone(),
                source,
            })?;
            paths.add(glob);
        }
        Ok(Matcher {
            phrases: rules
                .words
                .iter()
                .map(|w| {
                    w.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase()
                })
                .filter(|w| !w.is_empty())
                .collect(),
            paths: paths.build().map_err(|source| BadPattern {
                pattern: rules.paths.join(", "),
                source,
            })?,
        })
    }

    pub fn matches_path(&self, path: &str) -> bool {
        self.paths.is_match(path)
    }

    /// Whether the prose of a markdown text (not its code or quotes) names a mesh word.
    pub fn matches(&self, markdown: &str) -> bool {
        let prose = prose(markdown);
        self.phrases
            .iter()
            .any(|phrase| contains_word(&prose, phrase))
    }
}

/// The text a reader reads as the author's own: no code blocks, inline code, quotes or HTML.
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut hidden = 0usize;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::BlockQuote(_) | Tag::HtmlBlock) => hidden += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::BlockQuote(_) | TagEnd::HtmlBlock) => {
                hidden = hidden.saturating_sub(1)
            }
            Event::Text(text) if hidden == 0 => {
                out.push_str(&text);
                out.push(' ');
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `phrase` at word boundaries, allowing a plural ("meshes", "sidecars").
fn contains_word(text: &str, phrase: &str) -> bool {
    let word_char = |c: char| c.is_alphanumeric();
    text.match_indices(phrase).any(|(at, _)| {
        let before_ok = !text[..at].chars().next_back().is_some_and(word_char);
        let after = &text[at + phrase.len()..];
        let after = after
            .strip_prefix("es")
            .filter(|rest| !rest.starts_with(word_char))
            .or_else(|| {
                after
                    .strip_prefix('s')
                    .filter(|rest| !rest.starts_with(word_char))
            })
            .unwrap_or(after);
        before_ok && !after.starts_with(word_char)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> Matcher {
        Matcher::new(&MeshRules::default()).unwrap()
    }

    #[test]
    fn words_match_whole_words_and_plurals() {
        let m = matcher();
        assert!(m.matches("Support for service meshes"));
        assert!(m.matches("A mesh-wide policy"));
        assert!(m.matches("East/West traffic"));
        assert!(m.matches("the GAMMA initiative"));
        assert!(m.matches("Sidecars and ambient"));
        assert!(!m.matches("We are enmeshed in details"));
        assert!(!m.matches("gammaray output"));
        assert!(!m.matches("Meshing is not a word we match"));
    }

    #[test]
    fn code_and_quotes_do_not_count() {
        let m = matcher();
        assert!(!m.matches("See `GAMMA` in the code:\n\n```\nmesh: true\n```\n"));
        assert!(!m.matches("> someone said mesh\n\nI disagree."));
    }

    #[test]
    fn paths_match_globs() {
        let m = matcher();
        assert!(m.matches_path("conformance/tests/mesh/httproute-weight.go"));
        assert!(!m.matches_path("conformance/tests/httproute-weight.go"));
    }
}
