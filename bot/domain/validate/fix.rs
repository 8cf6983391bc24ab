//! Fixes applied to a file's text as minimal line edits: only the lines a fix names change;
//! everything else (comments, key order, quoting, indentation, line endings) stays as it is.
//! No YAML or Markdown is written back from a parse.

use super::finding::Fix;

/// A file's text with fixes applied, and which of the fixes given were (by index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    pub applied: Vec<usize>,
}

/// A fix whose lines are no longer what validation read: the file changed since.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} changed since it was validated: not fixed, validate again")]
pub struct Changed {
    pub line: usize,
}

/// `fixes` (all of one file) applied to `text`. A fix that overlaps one applied before it is
/// left for the next round (validation again finds what is left). Nothing is applied when any
/// fix's lines are not what validation read.
pub fn apply(text: &str, fixes: &[&Fix]) -> Result<Applied, Changed> {
    let ending = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ends_with_newline = text.ends_with('\n');
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for fix in fixes {
        let at = fix.line.checked_sub(1).ok_or(Changed { line: fix.line })?;
        if lines.get(at..at + fix.was.len()) != Some(fix.was.as_slice()) {
            return Err(Changed { line: fix.line });
        }
    }
    // From the bottom up, so the line numbers of the fixes still to apply hold.
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((fixes[i].line, fixes[i].last_line())));
    let mut applied = Vec::new();
    let mut free_below = usize::MAX;
    for i in order {
        let fix = fixes[i];
        if fix.last_line() >= free_below {
            continue;
        }
        let at = fix.line - 1;
        lines.splice(at..at + fix.was.len(), fix.with.iter().cloned());
        free_below = fix.line;
        applied.push(i);
    }
    applied.sort_unstable();
    let mut text = lines.join(ending);
    if ends_with_newline {
        text.push_str(ending);
    }
    Ok(Applied { text, applied })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::SourceText;

    fn source(text: &str) -> SourceText {
        SourceText::new("m.yaml", text)
    }

    #[test]
    fn fixes_change_their_lines_only_and_keep_line_endings() {
        let text = "a: 1\r\n# kept\r\nb: 2\r\nc: 3\r\n";
        let s = source(text);
        let first = Fix::lines(&s, 1, 1, vec!["a: 10".into()]);
        let last = Fix::before(&s, 4, vec!["new: 0".into()]);
        let done = apply(text, &[&first, &last]).unwrap();
        assert_eq!(done.text, "a: 10\r\n# kept\r\nb: 2\r\nnew: 0\r\nc: 3\r\n");
        assert_eq!(done.applied, [0, 1]);
    }

    #[test]
    fn an_overlapping_fix_waits_for_the_next_round() {
        let text = "a\nb\nc\n";
        let s = source(text);
        let wide = Fix::lines(&s, 1, 3, vec!["x".into()]);
        let inside = Fix::lines(&s, 2, 2, vec!["y".into()]);
        let done = apply(text, &[&wide, &inside]).unwrap();
        assert_eq!(done.applied.len(), 1);
    }

    #[test]
    fn a_file_changed_since_validation_is_not_touched() {
        let s = source("apiVersion: v1\nkind: GEPDetails\n");
        let fix = Fix::lines(&s, 1, 1, vec!["apiVersion: v2".into()]);
        let changed = "apiVersion: v3\nkind: GEPDetails\n";
        assert_eq!(apply(changed, &[&fix]), Err(Changed { line: 1 }));
        let shorter = "";
        assert_eq!(apply(shorter, &[&fix]), Err(Changed { line: 1 }));
    }
}
