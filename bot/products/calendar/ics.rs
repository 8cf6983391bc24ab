//! The subscription feed: RFC 5545 with the quirks Google Calendar, Outlook and Apple Calendar
//! rely on (CRLF, 75-octet folding, escaped text, an embedded VTIMEZONE, local times with TZID,
//! stable UIDs and DTSTAMP, METHOD:PUBLISH, a refresh interval).
//!
//! Each slot of a series is one recurring event: slot j of n repeats every `n * every_weeks` weeks
//! on the same weekday and wall-clock time, which an RRULE (FREQ=WEEKLY;INTERVAL=...) says exactly
//! and every client expands the same way across DST, since DTSTART is local with a TZID; a monthly
//! series is FREQ=MONTHLY;BYDAY=1TU (or -1FR). A cancellation is an EXDATE (Google ignores
//! STATUS:CANCELLED overrides in subscriptions), and so is each date a series skips for another's
//! week (no RRULE says that); a move is a RECURRENCE-ID override. Explicit events would also work
//! but grow the feed every week forever.
//!
//! The output is a pure function of the schedule: byte-identical between runs.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDateTime, Weekday};

use super::expand::{local_to_utc, occurrence};
use super::schedule::{Change, Schedule, Series};
use super::vtimezone::vtimezone;

/// Clients poll a subscription at their own pace; this asks for twice a day.
const REFRESH: &str = "PT12H";
/// The domain part of every UID: events stay the same events wherever the feed is served from.
const UID_DOMAIN: &str = "gep-bot.gateway-api.sigs.k8s.io";

pub fn feed(schedule: &Schedule) -> String {
    let zone = schedule.timezone;
    let tzid = zone.name();
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Gateway API//gep-bot//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", escape_text(&schedule.name)),
        format!("X-WR-TIMEZONE:{tzid}"),
    ];
    if let Some(description) = &schedule.description {
        lines.push(format!("X-WR-CALDESC:{}", escape_text(description)));
    }
    lines.push(format!("REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}"));
    lines.push(format!("X-PUBLISHED-TTL:{REFRESH}"));
    lines.extend(vtimezone(zone, years(schedule)));
    let stamp = dtstamp(schedule);
    for series in &schedule.series {
        for slot in 0..series.slots.len() {
            lines.extend(slot_events(schedule, series, slot, &stamp));
        }
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for line in &lines {
        fold_into(&mut out, line);
    }
    out
}

/// The years the VTIMEZONE must be right for: from the year before the first meeting (a rule's
/// DTSTART must precede every event) to ten years past the last dated one.
fn years(schedule: &Schedule) -> std::ops::RangeInclusive<i32> {
    let first = schedule
        .series
        .iter()
        .map(|s| s.start.year())
        .min()
        .unwrap_or(2000);
    let last = schedule
        .series
        .iter()
        .map(|s| s.until.unwrap_or(s.start).year())
        .max()
        .unwrap_or(first);
    first - 1..=last + 10
}

/// DTSTAMP must not be "now" (clients would see every event change on every poll), nor a date
/// still to come. It is the start of the newest series: fixed while a rhythm lasts, newer when the
/// schedule changes rhythm. Edits within a series are signalled by SEQUENCE.
fn dtstamp(schedule: &Schedule) -> String {
    let newest = schedule
        .series
        .iter()
        .map(|s| s.start)
        .max()
        .expect("a schedule has a series");
    format!("{}T000000Z", newest.format("%Y%m%d"))
}

fn slot_events(schedule: &Schedule, series: &Series, slot: usize, stamp: &str) -> Vec<String> {
    let zone = schedule.timezone;
    let tzid = zone.name();
    let n = series.slots.len() as u64;
    // The first meeting of the slot that is held by the rule (a skipped one is not a meeting).
    let Some(first_index) = (slot as u64..)
        .step_by(n as usize)
        .take_while(|k| series.until.is_none_or(|u| series.meeting_date(*k) <= u))
        .find(|k| !series.is_skipped(*k))
    else {
        return Vec::new();
    };
    let first = occurrence(series, zone, first_index);
    let uid = format!("{}-{slot}@{UID_DOMAIN}", series.id);
    let summary = series.title.as_deref().unwrap_or(&schedule.name);
    let duration = Duration::minutes(series.duration_minutes as i64);
    let exceptions: Vec<_> = series
        .exceptions
        .iter()
        .filter_map(|e| series.meeting_index(e.date).map(|k| (k, e)))
        .filter(|(k, _)| k % n == slot as u64)
        .collect();
    // SEQUENCE must rise whenever a client's copy of the event changes. The schedule grows by
    // exceptions and by ending a series, so counting those gives a number that only rises.
    let sequence = exceptions.len() + usize::from(series.until.is_some());
    let mut rule = match series.monthly {
        Some(nth) => format!(
            "FREQ=MONTHLY;BYDAY={}{}",
            nth.rrule_prefix(),
            weekday_code(series.slots[slot].day)
        ),
        None => format!(
            "FREQ=WEEKLY;INTERVAL={};BYDAY={}",
            n * series.every_weeks as u64,
            weekday_code(series.slots[slot].day)
        ),
    };
    if let Some(until) = series.until {
        let last = last_index(series, slot as u64, until);
        let last_start = local_to_utc(zone, occurrence(series, zone, last).scheduled_local);
        write!(rule, ";UNTIL={}", last_start.format("%Y%m%dT%H%M%SZ")).unwrap();
    }
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{uid}"),
        format!("DTSTAMP:{stamp}"),
        format!("DTSTART;TZID={tzid}:{}", local(first.scheduled_local)),
        format!(
            "DTEND;TZID={tzid}:{}",
            local(first.scheduled_local + duration)
        ),
        format!("RRULE:{rule}"),
    ];
    // Cancelled meetings, and the rule's dates in weeks another series has (no rule says
    // "except in another rule's weeks"), in order.
    let mut not_held: Vec<(u64, NaiveDateTime)> = exceptions
        .iter()
        .filter(|(_, e)| e.change == Change::Cancel)
        .map(|(k, _)| (*k, occurrence(series, zone, *k).scheduled_local))
        .collect();
    not_held.extend(
        series
            .skipped
            .iter()
            .filter_map(|d| series.scheduled_index(*d))
            .filter(|k| k % n == slot as u64 && *k > first_index)
            .map(|k| (k, occurrence(series, zone, k).scheduled_local)),
    );
    not_held.sort();
    let cancelled: Vec<String> = not_held.iter().map(|(_, t)| local(*t)).collect();
    if !cancelled.is_empty() {
        lines.push(format!("EXDATE;TZID={tzid}:{}", cancelled.join(",")));
    }
    lines.extend(common(schedule, summary, sequence));
    lines.push("END:VEVENT".into());
    for (k, exception) in &exceptions {
        let Change::MoveTo(to) = exception.change else {
            continue;
        };
        let moved = occurrence(series, zone, *k);
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{stamp}"),
            format!("RECURRENCE-ID;TZID={tzid}:{}", local(moved.scheduled_local)),
            format!("DTSTART;TZID={tzid}:{}", local(to)),
            format!("DTEND;TZID={tzid}:{}", local(to + duration)),
        ]);
        let note = exception
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        lines.extend(common(schedule, &format!("{summary}{note}"), sequence + 1));
        lines.push("END:VEVENT".into());
    }
    lines
}

fn common(schedule: &Schedule, summary: &str, sequence: usize) -> Vec<String> {
    let mut lines = vec![format!("SUMMARY:{}", escape_text(summary))];
    if let Some(description) = &schedule.description {
        let mut text = description.clone();
        if let Some(url) = &schedule.url {
            text.push_str("\n\nJoin: ");
            text.push_str(url);
        }
        lines.push(format!("DESCRIPTION:{}", escape_text(&text)));
    }
    if let Some(url) = &schedule.url {
        lines.push(format!("LOCATION:{}", escape_text(url)));
        lines.push(format!("URL:{url}"));
    }
    lines.push(format!("SEQUENCE:{sequence}"));
    lines.push("TRANSP:OPAQUE".into());
    lines
}

/// The last meeting of a slot on or before `until`.
fn last_index(series: &Series, slot: u64, until: chrono::NaiveDate) -> u64 {
    let n = series.slots.len() as u64;
    let mut k = slot;
    while series.meeting_date(k + n) <= until {
        k += n;
    }
    k
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn weekday_code(day: Weekday) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][day.num_days_from_monday() as usize]
}

/// TEXT values escape backslash, semicolon, comma and newline (RFC 5545 3.3.11).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets, never inside a UTF-8 character, with CRLF endings.
pub fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_within_75_octets_and_characters_whole() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "é".repeat(100));
        fold_into(&mut out, &line);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn text_escaping_covers_the_four_specials() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
