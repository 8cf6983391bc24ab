//! Where each key of a block-style YAML document stands, so metadata findings can point at a line.
//!
//! serde_yaml_ng parses values but forgets positions; this scanner reads the indentation of the
//! block style that `metadata.yaml` files use and records `relationships.seeAlso[1].number`-style
//! paths. It only locates: the YAML parser stays the judge of validity.

use std::collections::HashMap;

use super::source::Position;

#[derive(Debug, Default)]
pub struct KeyLines {
    positions: HashMap<String, Position>,
}

impl KeyLines {
    pub fn scan(text: &str) -> KeyLines {
        struct Frame {
            indent: usize,
            path: String,
            items: usize,
        }
        let mut positions = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_number = index + 1;
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let mut column = raw.len() - trimmed.len();
            let mut rest = trimmed;
            // A list item: `- value` or `- key: value`.
            while let Some(after) =
                rest.strip_prefix("- ")
                    .or(if rest == "-" { Some("") } else { None })
            {
                while stack.last().is_some_and(|f| f.indent >= column) {
                    stack.pop();
                }
                let parent = stack.last_mut();
                let (parent_path, index) = match parent {
                    Some(frame) => {
                        frame.items += 1;
                        (frame.path.clone(), frame.items - 1)
                    }
                    None => (String::new(), 0),
                };
                let path = format!("{parent_path}[{index}]");
                positions.entry(path.clone()).or_insert(Position {
                    line: line_number,
                    column: column + 1,
                });
                stack.push(Frame {
                    indent: column,
                    path,
                    items: 0,
                });
                let skipped = rest.len() - after.len();
                let after_trimmed = after.trim_start();
                column += skipped + (after.len() - after_trimmed.len());
                rest = after_trimmed;
            }
            let Some(key) = key_of(rest) else { continue };
            while stack.last().is_some_and(|f| f.indent >= column) {
                stack.pop();
            }
            let path = match stack.last() {
                Some(frame) => format!("{}.{key}", frame.path),
                None => key.to_owned(),
            };
            positions.entry(path.clone()).or_insert(Position {
                line: line_number,
                column: column + 1,
            });
            stack.push(Frame {
                indent: column,
                path,
                items: 0,
            });
        }
        KeyLines { positions }
    }

    /// The position of a path, if the document has it.
    pub fn get(&self, path: &str) -> Option<Position> {
        self.positions.get(path).copied()
    }

    /// The position of a path, or of its nearest recorded ancestor, or the start of the file.
    pub fn find(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some(&position) = self.positions.get(path) {
                return position;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return Position::START,
            }
        }
    }
}

fn key_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let key = text[..colon].trim();
    let valid = !key.is_empty()
        && !key.starts_with(['"', '\'', '[', '{'])
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.".contains(c));
    let followed = text[colon + 1..].is_empty() || text[colon + 1..].starts_with(' ');
    (valid && followed).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_list_items() {
        let lines = KeyLines::scan(
            "number: 1\nrelationships:\n  # note\n  seeAlso:\n    - number: 917\n      name: A\n    - number: 922\n      name: B\nauthors:\n  - alice\n",
        );
        assert_eq!(lines.find("number"), Position { line: 1, column: 1 });
        assert_eq!(
            lines.find("relationships.seeAlso"),
            Position { line: 4, column: 3 }
        );
        assert_eq!(
            lines.find("relationships.seeAlso[1].number"),
            Position { line: 7, column: 7 }
        );
        assert_eq!(
            lines.find("relationships.seeAlso[1].name"),
            Position { line: 8, column: 7 }
        );
        assert_eq!(
            lines.find("authors[0]"),
            Position {
                line: 10,
                column: 3
            }
        );
        assert_eq!(
            lines.find("relationships.seeAlso[1].missing"),
            Position { line: 7, column: 5 }
        );
        assert_eq!(lines.find("nothing"), Position::START);
    }
}
