//! A GEP folder from a stranger's pull request: `index.md`, a NUL byte, `metadata.yaml`
//! (markdown with YAML front matter, YAML with aliases), validated as one GEP beside none.
#![no_main]

use gep_bot::domain::validate::{GepFiles, GepSet, Options, SourceText, Template, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (index, metadata) = text.split_once('\0').unwrap_or((&text, ""));
    let set = GepSet {
        geps: vec![GepFiles {
            dir: "geps/gep-1234".into(),
            number: Some(1234),
            index: Some(SourceText::new("geps/gep-1234/index.md", index)),
            metadata: Some(SourceText::new("geps/gep-1234/metadata.yaml", metadata)),
            checked: true,
        }],
        only_files: None,
    };
    let findings = validate(&set, &Template::builtin(), &Options::default());
    // Every finding points at a line of the file it names (line 1 of an empty file included),
    // so an annotation never lands outside the diff.
    for finding in &findings {
        let lines = if finding.file.ends_with("index.md") { index } else { metadata };
        let count = lines.lines().count().max(1);
        assert!(
            finding.line >= 1 && finding.line <= count + 1,
            "{finding:?} points past the {count} lines"
        );
    }
});
