//! A webhook body under every event name the bot reads (a signed payload is still only as good
//! as the sender's software): the first byte picks the name, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

const EVENTS: &[&str] = &[
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "discussion",
    "discussion_comment",
    "push",
    "check_run",
    "check_suite",
    "installation",
    "ping",
    "something_else",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = EVENTS[pick as usize % EVENTS.len()];
    let _ = gep_bot::core::Event::parse(name, body);
});
