//! The parts of a GEP `index.md` the checks look at, read once with pulldown-cmark so that a `#`
//! inside a code fence is not a heading and `[\#5093]` is the text `#5093`.

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

/// A heading with its plain text (code spans included, markup dropped).
#[derive(Debug, Clone)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub range: Range<usize>,
}

/// A paragraph or list item's plain text, and its first link target if any.
#[derive(Debug, Clone)]
pub struct Block {
    pub text: String,
    pub range: Range<usize>,
    pub link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FrontMatter {
    /// The YAML between the `---` lines, and where it starts in the file.
    pub yaml: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Document {
    pub front_matter: Option<FrontMatter>,
    pub headings: Vec<Heading>,
    pub paragraphs: Vec<Block>,
    pub items: Vec<Block>,
}

impl Document {
    pub fn parse(text: &str) -> Document {
        let front_matter = front_matter(text);
        let body_start = front_matter.as_ref().map_or(0, |fm| {
            // Skip the closing `---` line.
            let after = fm.yaml.end;
            text[after..]
                .find('\n')
                .map_or(text.len(), |i| after + i + 1)
        });
        let mut document = Document {
            front_matter,
            ..Document::default()
        };
        document.read_body(&text[body_start..], body_start);
        document
    }

    fn read_body(&mut self, body: &str, base: usize) {
        enum Open {
            Heading(u8, usize, String),
            Paragraph(usize, String, Option<String>),
            Item(usize, String, Option<String>),
        }
        let mut open: Vec<Open> = Vec::new();
        let mut in_code = false;
        for (event, range) in Parser::new(body).into_offset_iter() {
            let range = range.start + base..range.end + base;
            match event {
                Event::Start(Tag::Heading { level, .. }) => open.push(Open::Heading(
                    heading_level(level),
                    range.start,
                    String::new(),
                )),
                Event::Start(Tag::Paragraph) => {
                    open.push(Open::Paragraph(range.start, String::new(), None))
                }
                Event::Start(Tag::Item) => open.push(Open::Item(range.start, String::new(), None)),
                Event::Start(Tag::CodeBlock(_)) => in_code = true,
                Event::End(TagEnd::CodeBlock) => in_code = false,
                Event::Start(Tag::Link { dest_url, .. }) => {
                    for block in open.iter_mut().rev() {
                        match block {
                            Open::Paragraph(_, _, link) | Open::Item(_, _, link) => {
                                link.get_or_insert_with(|| dest_url.to_string());
                            }
                            Open::Heading(..) => {}
                        }
                    }
                }
                Event::Text(text) | Event::Code(text) if !in_code => {
                    for block in open.iter_mut() {
                        match block {
                            Open::Heading(_, _, s)
                            | Open::Paragraph(_, s, _)
                            | Open::Item(_, s, _) => s.push_str(&text),
                        }
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    for block in open.iter_mut() {
                        match block {
                            Open::Heading(_, _, s)
                            | Open::Paragraph(_, s, _)
                            | Open::Item(_, s, _) => s.push(' '),
                        }
                    }
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some(Open::Heading(level, start, text)) = open.pop() {
                        self.headings.push(Heading {
                            level,
                            text: text.trim().to_owned(),
                            range: start..range.end,
                        });
                    }
                }
                Event::End(TagEnd::Paragraph) => {
                    if let Some(Open::Paragraph(start, text, link)) = open.pop() {
                        self.paragraphs.push(Block {
                            text: text.trim().to_owned(),
                            range: start..range.end,
                            link,
                        });
                    }
                }
                Event::End(TagEnd::Item) => {
                    if let Some(Open::Item(start, text, link)) = open.pop() {
                        self.items.push(Block {
                            text: text.trim().to_owned(),
                            range: start..range.end,
                            link,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The byte range a section's content spans: from the end of its heading to the next heading
    /// of the same or a higher level (so subsections belong to it).
    pub fn section_body(&self, index: usize, text_len: usize) -> Range<usize> {
        let heading = &self.headings[index];
        let end = self.headings[index + 1..]
            .iter()
            .find(|h| h.level <= heading.level)
            .map_or(text_len, |h| h.range.start);
        heading.range.end..end.max(heading.range.end)
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    level as u8
}

/// Front matter is a `---` line at the very top and the next `---` line.
fn front_matter(text: &str) -> Option<FrontMatter> {
    let first_line_end = text.find('\n')?;
    if text[..first_line_end].trim_end() != "---" {
        return None;
    }
    let start = first_line_end + 1;
    let mut offset = start;
    for line in text[start..].split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some(FrontMatter {
                yaml: start..offset,
            });
        }
        offset += line.len();
    }
    None
}

/// Lower-case words of a text separated by single spaces, for comparing headings and prose
/// regardless of markup and spacing. One pass: it runs over every paragraph of every GEP.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_lowercases_and_collapses_whitespace() {
        assert_eq!(normalize("  Hello\n  WORLD\tÉté "), "hello world été");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn hash_lines_inside_code_fences_are_not_headings() {
        let doc = Document::parse("## Real\n\n```yaml\n# comment\n```\n\n# Also real\n");
        let texts: Vec<_> = doc.headings.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(texts, ["Real", "Also real"]);
    }

    #[test]
    fn escaped_hash_in_link_text_is_plain_text() {
        let doc = Document::parse("* Issue: [\\#5093](https://example.com/5093)\n");
        assert_eq!(doc.items[0].text, "Issue: #5093");
        assert_eq!(
            doc.items[0].link.as_deref(),
            Some("https://example.com/5093")
        );
    }

    #[test]
    fn front_matter_is_split_from_the_body() {
        let text = "---\ntitle: \"GEP-1: X\"\n---\n\n# Not front matter\n";
        let doc = Document::parse(text);
        let fm = doc.front_matter.expect("front matter");
        assert_eq!(&text[fm.yaml], "title: \"GEP-1: X\"\n");
        assert_eq!(doc.headings.len(), 1);
        assert_eq!(doc.headings[0].level, 1);
    }

    #[test]
    fn section_body_includes_subsections() {
        let text = "## API\n\nintro\n\n### Sub\n\nmore\n\n## Next\n";
        let doc = Document::parse(text);
        let body = doc.section_body(0, text.len());
        assert!(text[body.clone()].contains("more"));
        assert!(!text[body].contains("Next"));
    }
}
