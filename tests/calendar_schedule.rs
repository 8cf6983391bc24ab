//! The schedule format and the meetings it expands to, on the shipped GAMMA schedule and on
//! small schedules written here.

mod common;

use chrono::{DateTime, Utc};
use gep_bot::products::calendar::{Schedule, Status, meetings, occurrences};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn gamma() -> Schedule {
    Schedule::load(&common::repo().join("schedules/gamma.toml"))
        .expect("the shipped schedule parses")
}

const BASE: &str = r#"
[calendar]
name = "Test"
timezone = "America/Los_Angeles"

[[series]]
id = "t"
start = "2022-07-26"
every_weeks = 1
slots = [
  { day = "Tuesday", time = "15:00" },
  { day = "Tuesday", time = "08:00" },
]
duration_minutes = 60
"#;

fn parse_error(text: &str) -> String {
    Schedule::parse(text, "schedules/test.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn a_schedule_that_cannot_be_read_is_named_without_a_line() {
    let missing = std::env::temp_dir().join("no-such-schedule.toml");
    let error = Schedule::load(&missing).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}: ", missing.display())),
        "{error}"
    );
    assert!(parse_error("[calendar]\n").starts_with("schedules/test.toml:1: "));
}

#[test]
fn gamma_alternates_1500_and_0800_pacific_and_follows_dst() {
    let schedule = gamma();
    let starts: Vec<_> = meetings(
        &schedule,
        utc("2022-07-26T00:00:00Z"),
        utc("2022-08-10T00:00:00Z"),
    )
    .iter()
    .map(|m| m.start)
    .collect();
    assert_eq!(
        starts,
        [
            utc("2022-07-26T22:00:00Z"),
            utc("2022-08-02T15:00:00Z"),
            utc("2022-08-09T22:00:00Z")
        ]
    );
    let at = |day: &str| {
        let from = utc(&format!("{day}T00:00:00Z"));
        meetings(&schedule, from, from + chrono::Duration::days(1))[0].start
    };
    // 15:00 Pacific is 22:00Z in daylight time and 23:00Z after 2022-11-06.
    assert_eq!(at("2022-11-01"), utc("2022-11-01T22:00:00Z"));
    assert_eq!(at("2022-11-15"), utc("2022-11-15T23:00:00Z"));
    // 08:00 Pacific is 15:00Z before and 16:00Z after.
    assert_eq!(at("2022-10-25"), utc("2022-10-25T15:00:00Z"));
    assert_eq!(at("2022-11-08"), utc("2022-11-08T16:00:00Z"));
    // And back again after 2023-03-12.
    assert_eq!(at("2023-03-07"), utc("2023-03-07T23:00:00Z"));
    assert_eq!(at("2023-03-14"), utc("2023-03-14T15:00:00Z"));
}

#[test]
fn exceptions_cancel_and_move_single_meetings() {
    let schedule = Schedule::load(&common::repo().join("schedules/example.toml"))
        .expect("the example schedule parses");
    let window = occurrences(
        &schedule,
        utc("2022-11-20T00:00:00Z"),
        utc("2022-12-31T00:00:00Z"),
    );
    let moved = &window[0];
    assert_eq!(moved.status, Status::Moved);
    assert_eq!(moved.start, utc("2022-11-21T17:00:00Z"));
    assert_eq!(moved.scheduled_date.to_string(), "2022-11-22");
    let cancelled = window
        .iter()
        .find(|o| o.scheduled_date.to_string() == "2022-12-27")
        .unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(cancelled.reason.as_deref(), Some("Holidays"));
    let held = meetings(
        &schedule,
        utc("2022-12-27T00:00:00Z"),
        utc("2022-12-28T00:00:00Z"),
    );
    assert!(held.is_empty());
}

#[test]
fn until_is_inclusive_and_several_series_follow_each_other() {
    let text = BASE.replace(
        "duration_minutes = 60\n",
        "duration_minutes = 60\nuntil = \"2022-08-09\"\n",
    ) + r#"
[[series]]
id = "later"
start = "2022-08-18"
every_weeks = 2
slots = [{ day = "Thursday", time = "09:30" }]
duration_minutes = 30
"#;
    let schedule = Schedule::parse(&text, "t.toml").unwrap();
    let all: Vec<_> = meetings(
        &schedule,
        utc("2022-07-01T00:00:00Z"),
        utc("2022-09-10T00:00:00Z"),
    )
    .iter()
    .map(|m| (m.series.clone(), m.start))
    .collect();
    assert_eq!(
        all,
        [
            ("t".into(), utc("2022-07-26T22:00:00Z")),
            ("t".into(), utc("2022-08-02T15:00:00Z")),
            ("t".into(), utc("2022-08-09T22:00:00Z")),
            ("later".into(), utc("2022-08-18T16:30:00Z")),
            ("later".into(), utc("2022-09-01T16:30:00Z")),
        ]
    );
}

#[test]
fn an_unknown_time_zone_names_the_file_and_line() {
    let error = parse_error(&BASE.replace("America/Los_Angeles", "Pacific/Nowhere"));
    assert_eq!(
        error,
        "schedules/test.toml:4: unknown time zone `Pacific/Nowhere`: use an IANA name such as `America/Los_Angeles`"
    );
}

#[test]
fn a_day_that_does_not_exist_names_the_line() {
    let error = parse_error(&BASE.replace(
        "{ day = \"Tuesday\", time = \"08:00\" }",
        "{ day = \"Tuesdy\", time = \"08:00\" }",
    ));
    assert_eq!(
        error,
        "schedules/test.toml:12: `Tuesdy` is not a day of the week: write Monday, Tuesday, ... Sunday"
    );
}

#[test]
fn an_exception_on_a_date_without_a_meeting_says_the_nearest() {
    let text = format!("{BASE}\n[[series.exception]]\ndate = \"2022-12-28\"\ncancel = true\n");
    let error = parse_error(&text);
    assert_eq!(
        error,
        "schedules/test.toml:17: series `t` has no meeting on 2022-12-28: the nearest is 2022-12-27 (Tue)"
    );
}

#[test]
fn until_before_start_is_refused() {
    let error = parse_error(&BASE.replace(
        "duration_minutes = 60\n",
        "duration_minutes = 60\nuntil = \"2022-07-01\"\n",
    ));
    assert_eq!(
        error,
        "schedules/test.toml:15: until 2022-07-01 is before start 2022-07-26"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let error = parse_error(&BASE.replace("every_weeks = 1", "every_weeks = 1\nevery_week = 2"));
    assert!(
        error.starts_with("schedules/test.toml:10: unknown field `every_week`"),
        "{error}"
    );
}

#[test]
fn a_start_that_is_not_a_meeting_day_and_an_exception_without_change_are_refused() {
    let error = parse_error(&BASE.replace("2022-07-26", "2022-07-27"));
    assert!(
        error.contains("start 2022-07-27 is a Wed, but the first slot is on Tue"),
        "{error}"
    );
    let error = parse_error(&format!(
        "{BASE}\n[[series.exception]]\ndate = \"2022-12-27\"\n"
    ));
    assert!(
        error.contains("needs exactly one of `cancel = true` or `move_to`"),
        "{error}"
    );
}

#[test]
fn calendar_list_prints_local_and_utc_times() {
    let out = std::process::Command::new(common::bin())
        .current_dir(common::repo())
        .args([
            "calendar",
            "--schedule",
            "schedules/example.toml",
            "--list",
            "--from",
            "2022-11-01",
            "--to",
            "2022-11-23",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = text.lines().collect();
    assert!(
        lines[1].starts_with("Tue 2022-11-01 15:00 PDT   2022-11-01 22:00Z"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("Tue 2022-11-08 08:00 PST   2022-11-08 16:00Z"),
        "{text}"
    );
    assert!(
        lines[4].contains("moved from Tue 2022-11-22 08:00: Thanksgiving week"),
        "{text}"
    );
}

#[test]
fn calendar_reports_a_bad_schedule_in_one_line_and_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, BASE.replace("America/Los_Angeles", "Mars/Olympus")).unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["calendar", "--schedule", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = common::usage_error(&out);
    assert!(
        err.contains("bad.toml:4: unknown time zone `Mars/Olympus`"),
        "{err}"
    );
}

const MONTHLY: &str = r#"
[calendar]
name = "Test"
timezone = "America/Los_Angeles"

[[series]]
id = "monthly"
start = "2024-05-07"
until = "2024-12-31"
monthly = { on = "first Tuesday", time = "08:00" }
duration_minutes = 60

[[series]]
id = "weekly"
start = "2024-04-22"
until = "2024-12-31"
every_weeks = 1
slots = [{ day = "Monday", time = "15:00" }]
skip_weeks_of = ["monthly"]
duration_minutes = 60
"#;

#[test]
fn a_monthly_rule_and_a_weekly_one_that_skips_its_weeks() {
    let schedule = Schedule::parse(MONTHLY, "schedules/test.toml").unwrap();
    let local: Vec<String> = meetings(
        &schedule,
        utc("2024-04-20T00:00:00Z"),
        utc("2024-06-12T00:00:00Z"),
    )
    .iter()
    .map(|m| format!("{} {}", m.series, m.start_local.format("%a %Y-%m-%d %H:%M")))
    .collect();
    assert_eq!(
        local,
        [
            "weekly Mon 2024-04-22 15:00",
            "weekly Mon 2024-04-29 15:00",
            "monthly Tue 2024-05-07 08:00",
            "weekly Mon 2024-05-13 15:00",
            "weekly Mon 2024-05-20 15:00",
            "weekly Mon 2024-05-27 15:00",
            "monthly Tue 2024-06-04 08:00",
            "weekly Mon 2024-06-10 15:00",
        ]
    );
    // The last Friday, in a month of five Fridays and of four.
    let last = MONTHLY
        .replace("start = \"2024-05-07\"", "start = \"2024-05-31\"")
        .replace("first Tuesday", "last Friday");
    let schedule = Schedule::parse(&last, "schedules/test.toml").unwrap();
    let fridays: Vec<String> = meetings(
        &schedule,
        utc("2024-05-01T00:00:00Z"),
        utc("2024-09-01T00:00:00Z"),
    )
    .iter()
    .filter(|m| m.series == "monthly")
    .map(|m| m.scheduled_date.to_string())
    .collect();
    assert_eq!(
        fridays,
        ["2024-05-31", "2024-06-28", "2024-07-26", "2024-08-30"]
    );
}

#[test]
fn contradictions_in_the_new_rules_are_errors_with_their_line() {
    let cases = [
        (
            MONTHLY.replace("start = \"2024-05-07\"", "start = \"2024-05-14\""),
            "schedules/test.toml:8: start 2024-05-14 is not the first Tuesday of its month (2024-05-07 is)",
        ),
        (
            MONTHLY.replace("first Tuesday", "fifth Tuesday"),
            "schedules/test.toml:10: `fifth Tuesday` is not a weekday by its position in the month",
        ),
        (
            MONTHLY.replace(
                "skip_weeks_of = [\"monthly\"]",
                "skip_weeks_of = [\"montly\"]",
            ),
            "schedules/test.toml:19: skip_weeks_of names `montly`, which is no series here (there are: monthly, weekly)",
        ),
        (
            MONTHLY.replace("until = \"2024-12-31\"\nevery_weeks", "every_weeks"),
            "schedules/test.toml:18: series `weekly` skips the weeks of `monthly` but has no `until`",
        ),
        (MONTHLY.replace("skip_weeks_of = [\"monthly\"]\n", ""), ""),
        (
            MONTHLY.replace(
                "monthly = { on = \"first Tuesday\", time = \"08:00\" }",
                "monthly = { on = \"first Tuesday\", time = \"08:00\" }\nevery_weeks = 1",
            ),
            "schedules/test.toml:10: a monthly series takes `monthly = { on, time }` alone",
        ),
        (
            MONTHLY
                .replace(
                    "slots = [{ day = \"Monday\", time = \"15:00\" }]",
                    "slots = [{ day = \"Tuesday\", time = \"08:30\" }]",
                )
                .replace("start = \"2024-04-22\"", "start = \"2024-04-23\"")
                .replace("skip_weeks_of = [\"monthly\"]\n", ""),
            "schedules/test.toml:14: series `monthly` (2024-05-07 08:00-09:00) and `weekly` (2024-05-07 08:30-09:30) meet at once",
        ),
        (
            MONTHLY.to_owned() + "\n[[series.exception]]\ndate = \"2024-05-06\"\ncancel = true\n",
            "schedules/test.toml:23: series `weekly` does not meet on 2024-05-06: that week is another series' (skip_weeks_of)",
        ),
    ];
    for (text, expected) in cases {
        match Schedule::parse(&text, "schedules/test.toml") {
            Ok(_) => assert!(
                expected.is_empty(),
                "accepted, but wanted: {expected}\n{text}"
            ),
            Err(error) => {
                let error = error.to_string();
                assert!(
                    !expected.is_empty() && error.starts_with(expected),
                    "{error}\nwanted: {expected}"
                );
            }
        }
    }
}

/// The community page the calendar links is one upstream's site has today (the site moved to
/// Hugo and `/contributing/community/` is gone), and its anchor is a heading on that page.
#[test]
fn the_shipped_schedules_link_upstreams_community_page_as_the_site_has_it_now() {
    let site = common::shared().join("fixtures/gateway-api/site/content/en");
    for file in ["gamma.toml", "example.toml"] {
        let schedule = Schedule::load(&common::repo().join("schedules").join(file)).unwrap();
        let url = schedule.url.expect("the schedule links the community page");
        let page = url
            .strip_prefix("https://gateway-api.sigs.k8s.io/")
            .unwrap_or_else(|| panic!("{file}: {url} is not on upstream's site"));
        let (path, anchor) = page
            .split_once("/#")
            .unwrap_or((page.trim_end_matches('/'), ""));
        let source = site.join(format!("{path}.md"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|_| panic!("{file}: {url} is no page of upstream's site ({source:?})"));
        assert!(
            anchor.is_empty()
                || text.lines().any(|l| l.starts_with('#')
                    && l.trim_start_matches('#')
                        .trim()
                        .to_lowercase()
                        .replace(' ', "-")
                        == anchor),
            "{file}: #{anchor} is no heading of {source:?}"
        );
    }
}
