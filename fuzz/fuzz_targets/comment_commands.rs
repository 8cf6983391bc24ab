//! A comment anyone can write on an issue: the commands in it, and those an edit added.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let commands = gep_bot::domain::commands::parse(&text);
    // An edit: the same text with its first half as the previous version.
    let half = text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i);
    let added = gep_bot::domain::commands::added(&text, Some(&text[..half]));
    assert!(added.len() <= commands.len());
});
