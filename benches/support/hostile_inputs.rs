//! Inputs built to make the bot do unbounded work: shared by `tests/bounded_work.rs`, which holds
//! the answers, and `benches/bounded_work.rs`, which prints their time and memory.
#![allow(dead_code)]

/// 10,000 different `/gep concern` lines in 1 MB.
pub fn ten_thousand_commands() -> String {
    (0..10_000)
        .map(|i| format!("/gep concern {i:0>90}\n"))
        .collect()
}

/// `[[[...]]]`, 100,000 deep.
pub fn nested_array() -> Vec<u8> {
    format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()
}

/// A JSON array of 20 MB, under GitHub's 25 MiB.
pub fn twenty_megabyte_array() -> Vec<u8> {
    serde_json::to_vec(&vec!["0123456789"; 1_700_000]).unwrap()
}

/// `real` (a GEP's index.md) with its sections repeated until it is 50 MB.
pub fn fifty_megabyte_index(real: &str) -> String {
    let filler = real.split_once("\n## ").map_or(real, |(_, rest)| rest);
    let mut index = real.to_owned();
    while index.len() < 50_000_000 {
        index.push_str("\n## ");
        index.push_str(filler);
    }
    index
}

/// A billion laughs in metadata.yaml: nine aliases of nine aliases, eight levels deep.
pub fn alias_bomb() -> String {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(", ");
        text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    text + "number: 7\nbomb: *i\n"
}

/// A weekly schedule from 2000-01-04 whose first `n` meetings are all cancelled.
pub fn schedule_with_exceptions(n: i64) -> String {
    let mut text = String::from(
        "[calendar]\nname = \"Many\"\ntimezone = \"America/Los_Angeles\"\n\n\
         [[series]]\nid = \"weekly\"\nstart = \"2000-01-04\"\nevery_weeks = 1\n\
         slots = [{ day = \"Tuesday\", time = \"08:00\" }]\nduration_minutes = 60\n",
    );
    let first = chrono::NaiveDate::from_ymd_opt(2000, 1, 4).unwrap();
    for k in 0..n {
        let date = first + chrono::Duration::weeks(k);
        text.push_str(&format!(
            "[[series.exception]]\ndate = \"{date}\"\ncancel = true\n"
        ));
    }
    text
}
