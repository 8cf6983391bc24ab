//! A schedule file (TOML) as a contributor might edit it: parsed, and when it parses, expanded
//! over a year and written as a feed.
#![no_main]

use chrono::{TimeZone, Utc};
use gep_bot::products::calendar::{Schedule, ics, meetings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = Schedule::parse(text, "fuzz.toml") else {
        return;
    };
    let from = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let _ = meetings(&schedule, from, to);
    let _ = ics::feed(&schedule);
});
