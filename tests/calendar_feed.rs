//! The iCalendar feed, read back by parsers that did not write it: the `ical` and `rrule` crates in
//! process (property tests over random schedules), and Python's icalendar + recurring-ical-events
//! through `../shared/tools/ical/check.sh`, as a calendar client expands it.

mod common;

use std::collections::HashMap;
use std::io::BufReader;
use std::process::Command;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use gep_bot::products::calendar::{Schedule, ics, meetings};
use proptest::prelude::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn gamma() -> Schedule {
    Schedule::load(&common::repo().join("schedules/gamma.toml")).unwrap()
}

/// The example schedule: one weekly series with cancellations and a move.
fn example() -> Schedule {
    Schedule::load(&common::repo().join("schedules/example.toml")).unwrap()
}

/// Meeting starts in UTC, as our model says, in `[from, to)`.
fn model_starts(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut starts: Vec<_> = meetings(schedule, from, to)
        .iter()
        .map(|m| m.start)
        .collect();
    starts.sort();
    starts
}

/// Meeting starts in UTC, as the `ical` crate reads the feed and the `rrule` crate expands it.
fn parsed_starts(feed: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let calendar = ical::IcalParser::new(BufReader::new(feed.as_bytes()))
        .next()
        .expect("one calendar")
        .expect("the feed parses");
    let property = |event: &ical::parser::ical::component::IcalEvent, name: &str| {
        event.properties.iter().find(|p| p.name == name).map(|p| {
            let tzid = p
                .params
                .as_ref()
                .and_then(|ps| ps.iter().find(|(k, _)| k == "TZID"))
                .map(|(_, v)| v[0].clone());
            (tzid, p.value.clone().unwrap_or_default())
        })
    };
    let local = |tzid: &Option<String>, value: &str| -> DateTime<Utc> {
        let zone: Tz = tzid
            .as_deref()
            .expect("times carry a TZID")
            .parse()
            .unwrap();
        let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").unwrap();
        zone.from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    let mut overridden: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    let mut starts = Vec::new();
    for event in &calendar.events {
        let uid = property(event, "UID").unwrap().1;
        if let Some((tzid, value)) = property(event, "RECURRENCE-ID") {
            overridden
                .entry(uid)
                .or_default()
                .push(local(&tzid, &value));
            let (tzid, value) = property(event, "DTSTART").unwrap();
            starts.push(local(&tzid, &value));
        }
    }
    for event in &calendar.events {
        let Some((_, rule)) = property(event, "RRULE") else {
            continue;
        };
        let uid = property(event, "UID").unwrap().1;
        let (tzid, start) = property(event, "DTSTART").unwrap();
        let tzid = tzid.unwrap();
        let mut text = format!("DTSTART;TZID={tzid}:{start}\nRRULE:{rule}");
        if let Some((_, exdates)) = property(event, "EXDATE") {
            text.push_str(&format!("\nEXDATE;TZID={tzid}:{exdates}"));
        }
        let set: rrule::RRuleSet = text.parse().unwrap_or_else(|e| panic!("{e}: {text}"));
        let until = rrule::Tz::UTC.from_utc_datetime(&to.naive_utc());
        for date in set.before(until).all(u16::MAX).dates {
            let date = date.with_timezone(&Utc);
            if !overridden.get(&uid).is_some_and(|o| o.contains(&date)) {
                starts.push(date);
            }
        }
    }
    starts.retain(|s| *s >= from && *s < to);
    starts.sort();
    starts
}

#[test]
fn the_feed_is_byte_identical_between_runs_and_stamped_by_the_schedule() {
    let first = ics::feed(&gamma());
    let second = ics::feed(&gamma());
    assert_eq!(first, second);
    assert!(
        first.contains("DTSTAMP:20250804T000000Z\r\n"),
        "DTSTAMP is the schedule's (its newest series' start), not now"
    );
}

#[test]
fn the_feed_follows_rfc_5545_and_the_clients_quirks() {
    let feed = ics::feed(&example());
    assert!(feed.ends_with("END:VCALENDAR\r\n"));
    assert!(
        !feed.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    for line in feed.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    for expected in [
        "METHOD:PUBLISH",
        "X-WR-CALNAME:GAMMA meeting",
        "X-WR-TIMEZONE:America/Los_Angeles",
        "REFRESH-INTERVAL;VALUE=DURATION:PT12H",
        "X-PUBLISHED-TTL:PT12H",
        "BEGIN:VTIMEZONE\r\nTZID:America/Los_Angeles",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "UID:gamma-0@gep-bot.gateway-api.sigs.k8s.io",
        "DTSTART;TZID=America/Los_Angeles:20220726T150000",
        "DTSTART;TZID=America/Los_Angeles:20220802T080000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "RECURRENCE-ID;TZID=America/Los_Angeles:20221122T080000",
        "DTSTART;TZID=America/Los_Angeles:20221121T090000",
    ] {
        assert!(feed.contains(expected), "missing {expected}");
    }
    // Text values are escaped: the description's comma.
    assert!(feed.contains("Agenda\\, notes"));
}

/// The shipped schedule's four series as RFC 5545 says them: ended weekly rules, a monthly rule
/// by weekday position, a weekly rule with the weeks of the monthly one excluded, an open rule.
#[test]
fn the_shipped_schedule_is_written_as_rrules_clients_expand_alike() {
    let feed = ics::feed(&gamma()).replace("\r\n ", "");
    for expected in [
        "X-WR-CALNAME:GAMMA meeting",
        "UID:gamma-0@gep-bot.gateway-api.sigs.k8s.io",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20230711T220000Z",
        "RRULE:FREQ=WEEKLY;INTERVAL=4;BYDAY=TU;UNTIL=20240402T150000Z",
        "UID:community-monthly-0@gep-bot.gateway-api.sigs.k8s.io",
        "DTSTART;TZID=America/Los_Angeles:20240507T080000",
        "RRULE:FREQ=MONTHLY;BYDAY=1TU;UNTIL=20250701T150000Z",
        "UID:community-weekly-0@gep-bot.gateway-api.sigs.k8s.io",
        "DTSTART;TZID=America/Los_Angeles:20240422T150000",
        "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;UNTIL=20250728T220000Z",
        "UID:community-alternating-1@gep-bot.gateway-api.sigs.k8s.io",
        "DTSTART;TZID=America/Los_Angeles:20250812T080000",
        "SUMMARY:Gateway API community meeting (with GAMMA)",
    ] {
        assert!(feed.contains(expected), "missing {expected}");
    }
    // The Mondays of the weeks of a first Tuesday: 2024-05-06 (May 7) ... 2025-06-30 (July 1).
    let exdates = feed
        .lines()
        .find(|l| l.starts_with("EXDATE;TZID=America/Los_Angeles:20240506T150000"))
        .expect("the skipped Mondays");
    assert_eq!(exdates.matches(',').count() + 1, 15, "{exdates}");
    assert!(exdates.ends_with("20250630T150000"), "{exdates}");
    assert!(
        !feed.contains("RECURRENCE-ID"),
        "no move that no source documents"
    );
}

fn with_exception(extra: &str) -> Schedule {
    let text =
        std::fs::read_to_string(common::repo().join("schedules/example.toml")).unwrap() + extra;
    Schedule::parse(&text, "example.toml").unwrap()
}

fn sequence_of(feed: &str, uid_and_kind: &str) -> u32 {
    let unfolded = feed.replace("\r\n ", "");
    let event = unfolded
        .split("BEGIN:VEVENT")
        .find(|e| e.contains(uid_and_kind))
        .unwrap_or_else(|| panic!("no event with {uid_and_kind}"));
    let line = event.lines().find(|l| l.starts_with("SEQUENCE:")).unwrap();
    line["SEQUENCE:".len()..].trim().parse().unwrap()
}

#[test]
fn sequence_rises_when_a_meeting_changes() {
    let before = ics::feed(&example());
    let after = ics::feed(&with_exception(
        "\n[[series.exception]]\ndate = \"2027-01-12\"\ncancel = true\n",
    ));
    let master =
        "UID:gamma-1@gep-bot.gateway-api.sigs.k8s.io\r\nDTSTAMP:20220726T000000Z\r\nDTSTART";
    assert!(sequence_of(&after, master) > sequence_of(&before, master));
    // A moved meeting's override outranks its master.
    let moved = "RECURRENCE-ID;TZID=America/Los_Angeles:20221122T080000";
    assert!(sequence_of(&before, moved) > sequence_of(&before, master));
}

#[test]
fn the_shipped_schedule_reads_back_the_same_in_another_parser() {
    let schedule = gamma();
    let (from, to) = (utc("2022-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
    assert_eq!(
        parsed_starts(&ics::feed(&schedule), from, to),
        model_starts(&schedule, from, to)
    );
}

/// A random schedule: slots on different weekdays at meeting hours (06:00-21:45, away from the
/// hours that daylight saving skips or repeats, where RFC 5545 readers legitimately differ),
/// every 1-4 weeks, with cancellations and moves.
fn schedule_strategy() -> impl Strategy<Value = String> {
    let zones = prop::sample::select(vec![
        "America/Los_Angeles",
        "Europe/Berlin",
        "Asia/Tokyo",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "Asia/Kolkata",
    ]);
    let slot = (
        0u32..7,
        6u32..22,
        prop::sample::select(vec![0u32, 15, 30, 45]),
    );
    (
        zones,
        0u32..700,
        1u32..=4,
        prop::collection::vec(slot, 1..=3),
        prop::option::of(60u32..400),
        prop::collection::vec((0u64..60, any::<bool>(), -2i64..=2, 6u32..22), 0..6),
    )
        .prop_map(|(zone, start_offset, every, slots, until_weeks, exceptions)| {
            let start = NaiveDate::from_ymd_opt(2022, 1, 3).unwrap() + chrono::Days::new(start_offset as u64);
            let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
            let first_day = start.weekday().num_days_from_monday();
            let slot_text: Vec<String> = slots
                .iter()
                .enumerate()
                .map(|(i, (day, hour, minute))| {
                    let day = if i == 0 { first_day } else { *day };
                    format!("{{ day = \"{}\", time = \"{hour:02}:{minute:02}\" }}", days[day as usize])
                })
                .collect();
            let until = until_weeks.map_or(String::new(), |w| {
                format!("until = \"{}\"\n", start + chrono::Days::new(w as u64 * 7))
            });
            let mut text = format!(
                "[calendar]\nname = \"Random, with; specials\"\ntimezone = \"{zone}\"\n\n[[series]]\nid = \"r\"\nstart = \"{start}\"\n{until}every_weeks = {every}\nslots = [{}]\nduration_minutes = 45\n",
                slot_text.join(", ")
            );
            // Exceptions are written only for meetings that exist, each date once.
            let schedule = Schedule::parse(&text, "r.toml").unwrap();
            let series = &schedule.series[0];
            let mut used = std::collections::BTreeSet::new();
            for (k, cancel, shift, hour) in exceptions {
                let date = series.meeting_date(k);
                if series.until.is_some_and(|u| date > u) || !used.insert(date) {
                    continue;
                }
                if cancel {
                    text.push_str(&format!("\n[[series.exception]]\ndate = \"{date}\"\ncancel = true\n"));
                } else {
                    let to = (date + chrono::TimeDelta::days(shift)).and_hms_opt(hour, 0, 0).unwrap();
                    text.push_str(&format!(
                        "\n[[series.exception]]\ndate = \"{date}\"\nmove_to = \"{}\"\n",
                        to.format("%Y-%m-%dT%H:%M")
                    ));
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_schedules_read_back_as_the_model_expands_them(text in schedule_strategy()) {
        let schedule = Schedule::parse(&text, "r.toml").unwrap();
        let from = utc("2022-01-01T00:00:00Z");
        let to = utc("2025-06-01T00:00:00Z");
        let feed = ics::feed(&schedule);
        prop_assert_eq!(parsed_starts(&feed, from, to), model_starts(&schedule, from, to), "{}", text);
    }
}

/// A random pair of the new rule kinds: a monthly series on a weekday by its position ("first
/// Tuesday" .. "last Friday"), and a weekly one that skips the weeks holding the monthly one's
/// meetings, in a random zone.
fn monthly_strategy() -> impl Strategy<Value = (String, u32, u32)> {
    let zones = prop::sample::select(vec![
        "America/Los_Angeles",
        "Europe/Berlin",
        "Australia/Sydney",
        "Asia/Kolkata",
    ]);
    (
        zones,
        0u32..5,  // first, second, third, fourth, last
        0u32..7,  // the monthly weekday
        0u32..7,  // the weekly weekday
        0u32..24, // the first month, from 2022-01
        6u32..20,
        6u32..20,
        prop::option::of(3u32..30), // months the monthly one lasts
        4u32..80,                   // weeks the weekly one lasts
    )
        .prop_map(
            |(zone, nth, monthly_day, weekly_day, month, h1, h2, months, weeks)| {
                let days = [
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                    "Sunday",
                ];
                let words = ["first", "second", "third", "fourth", "last"];
                let weekday = |i: u32| chrono::Weekday::try_from(i as u8).unwrap();
                let (year, month0) = (2022 + (month / 12) as i32, month % 12);
                let start = if nth == 4 {
                    let next = NaiveDate::from_ymd_opt(
                        year + i32::from(month0 == 11),
                        (month0 + 1) % 12 + 1,
                        1,
                    )
                    .unwrap();
                    let mut d = next.pred_opt().unwrap();
                    while d.weekday() != weekday(monthly_day) {
                        d = d.pred_opt().unwrap();
                    }
                    d
                } else {
                    NaiveDate::from_weekday_of_month_opt(
                        year,
                        month0 + 1,
                        weekday(monthly_day),
                        nth as u8 + 1,
                    )
                    .unwrap()
                };
                let until = months.map_or(String::new(), |m| {
                    format!("until = \"{}\"\n", start + chrono::Days::new(m as u64 * 31))
                });
                let mut weekly_start = start;
                while weekly_start.weekday() != weekday(weekly_day) {
                    weekly_start = weekly_start.succ_opt().unwrap();
                }
                let weekly_until = weekly_start + chrono::Days::new(weeks as u64 * 7);
                let text = format!(
                    "[calendar]\nname = \"Monthly\"\ntimezone = \"{zone}\"\n\n\
                 [[series]]\nid = \"m\"\nstart = \"{start}\"\n{until}\
                 monthly = {{ on = \"{} {}\", time = \"{h1:02}:00\" }}\nduration_minutes = 50\n\n\
                 [[series]]\nid = \"w\"\nstart = \"{weekly_start}\"\nuntil = \"{weekly_until}\"\n\
                 every_weeks = 1\nslots = [{{ day = \"{}\", time = \"{h2:02}:30\" }}]\n\
                 skip_weeks_of = [\"m\"]\nduration_minutes = 50\n",
                    words[nth as usize], days[monthly_day as usize], days[weekly_day as usize],
                );
                (text, nth, monthly_day)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn monthly_rules_and_skipped_weeks_read_back_and_mean_what_they_say(
        (text, nth, day) in monthly_strategy()
    ) {
        let schedule = match Schedule::parse(&text, "m.toml") {
            Ok(schedule) => schedule,
            // Two meetings at once (same day and hour) is refused: nothing to compare.
            Err(e) if e.message.contains("meet at once") => return Ok(()),
            Err(e) => panic!("{e}\n{text}"),
        };
        let (from, to) = (utc("2021-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
        // The feed, read by the `ical` and `rrule` crates, is the model.
        prop_assert_eq!(
            parsed_starts(&ics::feed(&schedule), from, to),
            model_starts(&schedule, from, to),
            "{}", text
        );
        // And the model is what the words say, by plain arithmetic: each monthly meeting is that
        // weekday's position in its month; a week has the weekly meeting exactly when it holds
        // no monthly one.
        let zone = schedule.timezone;
        let all = meetings(&schedule, from, to);
        let local = |m: &gep_bot::products::calendar::Occurrence| m.start.with_timezone(&zone).date_naive();
        let monthly: Vec<NaiveDate> = all.iter().filter(|m| m.series == "m").map(local).collect();
        let weekly: Vec<NaiveDate> = all.iter().filter(|m| m.series == "w").map(local).collect();
        for d in &monthly {
            prop_assert_eq!(d.weekday().num_days_from_monday(), day);
            let same_later = d.checked_add_days(chrono::Days::new(7)).is_some_and(|n| n.month() == d.month());
            match nth {
                4 => prop_assert!(!same_later, "{} is not the last", d),
                n => prop_assert_eq!((d.day() - 1) / 7, n, "{}", d),
            }
        }
        let week = |d: &NaiveDate| *d - chrono::Days::new(d.weekday().num_days_from_monday() as u64);
        let monthly_weeks: std::collections::BTreeSet<NaiveDate> = monthly.iter().map(week).collect();
        let w = &schedule.series[1];
        let mut expected = Vec::new();
        let mut d = w.start;
        while d <= w.until.unwrap() {
            if !monthly_weeks.contains(&week(&d)) {
                expected.push(d);
            }
            d = d + chrono::Days::new(7);
        }
        prop_assert_eq!(weekly, expected, "{}", text);
    }
}

/// Runs the independent client; `None` when Python is missing and CI did not require it.
fn check_sh(feed: &str, from: &str, to: &str) -> Option<(String, Vec<DateTime<Utc>>)> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("GEP_BOT_REQUIRE_PYTHON").is_none(),
            "python3 is required for the independent iCalendar check"
        );
        eprintln!("SKIPPED: python3 not found; the independent iCalendar check did not run");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, feed).unwrap();
    // One at a time: on a fresh machine the first run creates check.sh's Python environment, and
    // a second run started meanwhile finds it half installed (seen once: a test failed with it).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = Command::new("bash")
        .arg(common::shared().join("tools/ical/check.sh"))
        .args([path.to_str().unwrap(), from, to])
        .output()
        .expect("check.sh runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "check.sh failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let starts = text
        .lines()
        .filter(|l| l.contains('\t'))
        .map(|l| utc(l.split('\t').next().unwrap()))
        .collect();
    Some((text, starts))
}

fn assert_client_agrees(schedule: &Schedule) {
    let Some((report, theirs)) = check_sh(&ics::feed(schedule), "2022-01-01", "2027-01-01") else {
        return;
    };
    assert!(report.contains("OK: 0 error(s), 0 warning(s)"), "{report}");
    let ours = model_starts(
        schedule,
        utc("2022-01-01T00:00:00Z"),
        utc("2027-01-01T00:00:00Z"),
    );
    assert!(ours.len() > 100);
    assert_eq!(theirs, ours);
}

/// SPEC 13's documented history, by plain date arithmetic here (not through the schedule model):
/// every meeting's start from 2022-07-26 to 2026-12-31, all at wall-clock times in Los Angeles.
fn documented_history() -> Vec<DateTime<Utc>> {
    let la: Tz = "America/Los_Angeles".parse().unwrap();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut starts = Vec::new();
    let mut at = |date: NaiveDate, hour: u32| {
        let local = date.and_hms_opt(hour, 0, 0).unwrap();
        starts.push(
            la.from_local_datetime(&local)
                .single()
                .unwrap()
                .with_timezone(&Utc),
        );
    };
    // 1. Weekly on Tuesdays, alternating 15:00 and 08:00, from 15:00.
    let (mut date, mut turn) = (day("2022-07-26"), 0);
    while date <= day("2023-07-11") {
        at(date, if turn % 2 == 0 { 15 } else { 8 });
        (date, turn) = (date + chrono::Days::new(7), turn + 1);
    }
    // 2. Every other Tuesday, alternating, from 08:00.
    let (mut date, mut turn) = (day("2023-07-25"), 0);
    while date <= day("2024-04-09") {
        at(date, if turn % 2 == 0 { 8 } else { 15 });
        (date, turn) = (date + chrono::Days::new(14), turn + 1);
    }
    // 3. The first Tuesday of each month at 08:00; Mondays at 15:00 but in a first Tuesday's week.
    let mut date = day("2024-04-22");
    while date <= day("2025-08-03") {
        let first_tuesday = |d: NaiveDate| d.weekday() == chrono::Weekday::Tue && d.day() <= 7;
        if first_tuesday(date) {
            at(date, 8);
        }
        if date.weekday() == chrono::Weekday::Mon && !first_tuesday(date + chrono::Days::new(1)) {
            at(date, 15);
        }
        date = date + chrono::Days::new(1);
    }
    // 4. Alternating weeks from 2025-08-04: Monday 15:00 (week A), Tuesday 08:00 (week B).
    let (mut monday, mut turn) = (day("2025-08-04"), 0);
    while monday <= day("2026-12-31") {
        let (date, hour) = if turn % 2 == 0 {
            (monday, 15)
        } else {
            (monday + chrono::Days::new(1), 8)
        };
        if date <= day("2026-12-31") {
            at(date, hour);
        }
        (monday, turn) = (monday + chrono::Days::new(7), turn + 1);
    }
    starts.sort();
    starts
}

/// The shipped feed, expanded by the independent client (and by our model), is the documented
/// history minute for minute: all four series, daylight-saving changes included.
#[test]
fn the_shipped_feed_is_the_documented_history_minute_for_minute() {
    let history = documented_history();
    assert_eq!(history.len(), 211, "SPEC 13 by hand");
    let (from, to) = (utc("2022-07-26T00:00:00Z"), utc("2027-01-01T08:00:00Z"));
    let schedule = gamma();
    assert_eq!(model_starts(&schedule, from, to), history);
    assert_eq!(parsed_starts(&ics::feed(&schedule), from, to), history);
    let Some((report, theirs)) = check_sh(&ics::feed(&schedule), "2022-07-26", "2027-01-02") else {
        return;
    };
    assert!(report.contains("OK: 0 error(s), 0 warning(s)"), "{report}");
    assert_eq!(theirs, history, "{report}");
}

#[test]
fn an_independent_client_expands_the_shipped_schedule_as_we_do() {
    assert_client_agrees(&gamma());
}

#[test]
fn an_independent_client_agrees_on_moves_and_cancellations_in_other_zones() {
    let text = r#"
[calendar]
name = "Europe, Asia and the Americas"
timezone = "Europe/Berlin"

[[series]]
id = "first"
start = "2022-03-22"
until = "2023-10-31"
every_weeks = 1
slots = [{ day = "Tuesday", time = "17:00" }, { day = "Thursday", time = "09:00" }]
duration_minutes = 60

[[series.exception]]
date = "2022-03-31"
move_to = "2022-03-30T10:00"
reason = "Moved, because; reasons"

[[series.exception]]
date = "2022-10-18"
cancel = true

[[series.exception]]
date = "2023-03-30"
move_to = "2023-03-26T17:00"

[[series]]
id = "second"
start = "2023-11-07"
every_weeks = 2
slots = [{ day = "Tuesday", time = "08:00" }, { day = "Tuesday", time = "18:00" }]
duration_minutes = 50

[[series.exception]]
date = "2024-03-26"
cancel = true
"#;
    assert_client_agrees(&Schedule::parse(text, "t.toml").unwrap());
}
