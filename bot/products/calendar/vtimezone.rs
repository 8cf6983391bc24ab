//! An embedded VTIMEZONE for a zone, built from chrono-tz's data.
//!
//! Outlook guesses a zone it finds no VTIMEZONE for, and can be an hour off; RFC 5545 requires one
//! for every TZID. We write the rule form (a yearly RRULE per transition) when the zone's
//! transitions follow one rule over every year the calendar spans, and one component per
//! transition otherwise, so the definition is right for every meeting either way.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Transition {
    at_local: NaiveDateTime,
    from_seconds: i32,
    to_seconds: i32,
    name: String,
    daylight: bool,
}

/// The content lines (unfolded) of a VTIMEZONE for `zone`, right for the years given.
pub fn vtimezone(zone: Tz, years: std::ops::RangeInclusive<i32>) -> Vec<String> {
    let transitions: Vec<Transition> = years
        .clone()
        .flat_map(|y| transitions_in(zone, y))
        .collect();
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    if transitions.is_empty() {
        let start = NaiveDate::from_ymd_opt(*years.start(), 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let offset = zone.offset_from_utc_datetime(&start);
        let seconds = offset.fix().local_minus_utc();
        lines.extend(component(
            &Transition {
                at_local: NaiveDate::from_ymd_opt(1970, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                from_seconds: seconds,
                to_seconds: seconds,
                name: offset.abbreviation().unwrap_or("").to_owned(),
                daylight: false,
            },
            None,
        ));
    } else if let Some(rules) = yearly_rules(&transitions) {
        for (first, rule) in rules {
            lines.extend(component(first, Some(&rule)));
        }
    } else {
        for transition in &transitions {
            lines.extend(component(transition, None));
        }
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

fn component(t: &Transition, rrule: Option<&str>) -> Vec<String> {
    let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
    let mut lines = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{}", t.at_local.format("%Y%m%dT%H%M%S")),
        format!("TZOFFSETFROM:{}", offset_text(t.from_seconds)),
        format!("TZOFFSETTO:{}", offset_text(t.to_seconds)),
    ];
    if let Some(rule) = rrule {
        lines.push(format!("RRULE:{rule}"));
    }
    if !t.name.is_empty() {
        lines.push(format!("TZNAME:{}", t.name));
    }
    lines.push(format!("END:{kind}"));
    lines
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    if s % 60 == 0 {
        format!("{sign}{:02}{:02}", s / 3600, s / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// The offset changes in a year, found by a daily scan and a binary search to the minute.
fn transitions_in(zone: Tz, year: i32) -> Vec<Transition> {
    let offset_at = |t: DateTime<Utc>| {
        zone.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0).unwrap();
    let mut found = Vec::new();
    let mut t = start;
    while t < end {
        let next = (t + Duration::days(1)).min(end);
        if offset_at(t) != offset_at(next) {
            let (mut low, mut high) = (t, next);
            while high - low > Duration::minutes(1) {
                // Whole minutes: every zone changes offset on a minute boundary.
                let mid = low + Duration::minutes((high - low).num_minutes() / 2);
                if offset_at(mid) == offset_at(low) {
                    low = mid
                } else {
                    high = mid
                }
            }
            let at = high;
            let after = zone.offset_from_utc_datetime(&at.naive_utc());
            let from_seconds = offset_at(low);
            found.push(Transition {
                at_local: (at + Duration::seconds(from_seconds as i64)).naive_utc(),
                from_seconds,
                to_seconds: after.fix().local_minus_utc(),
                name: after.abbreviation().unwrap_or("").to_owned(),
                daylight: !after.dst_offset().is_zero(),
            });
        }
        t = next;
    }
    found
}

/// One yearly rule per kind of transition, if every year follows it.
fn yearly_rules(transitions: &[Transition]) -> Option<Vec<(&Transition, String)>> {
    let mut rules: Vec<(&Transition, String, Vec<&Transition>)> = Vec::new();
    for t in transitions {
        match rules.iter_mut().find(|(first, _, _)| {
            first.daylight == t.daylight && first.at_local.month() == t.at_local.month()
        }) {
            Some((_, _, members)) => members.push(t),
            None => rules.push((t, String::new(), vec![t])),
        }
    }
    let years: std::collections::BTreeSet<i32> =
        transitions.iter().map(|t| t.at_local.year()).collect();
    let mut out = Vec::new();
    for (first, _, members) in rules {
        if members.len() != years.len() {
            return None;
        }
        let same_shape = members.iter().all(|m| {
            m.at_local.time() == first.at_local.time()
                && m.from_seconds == first.from_seconds
                && m.to_seconds == first.to_seconds
                && m.name == first.name
                && m.at_local.weekday() == first.at_local.weekday()
        });
        if !same_shape {
            return None;
        }
        let nth = |t: &Transition| (t.at_local.day() as i32 - 1) / 7 + 1;
        let is_last = |t: &Transition| t.at_local.day() + 7 > days_in_month(t.at_local.date());
        let by_day = if members.iter().all(|m| nth(m) == nth(first)) {
            nth(first)
        } else if members.iter().all(|m| is_last(m)) {
            -1
        } else {
            return None;
        };
        let weekday = match first.at_local.weekday() {
            chrono::Weekday::Mon => "MO",
            chrono::Weekday::Tue => "TU",
            chrono::Weekday::Wed => "WE",
            chrono::Weekday::Thu => "TH",
            chrono::Weekday::Fri => "FR",
            chrono::Weekday::Sat => "SA",
            chrono::Weekday::Sun => "SU",
        };
        out.push((
            first,
            format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={by_day}{weekday}",
                first.at_local.month()
            ),
        ));
    }
    Some(out)
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    (next.unwrap() - NaiveDate::from_ymd_opt(y, m, 1).unwrap()).num_days() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn los_angeles_gets_the_us_rules() {
        let lines = vtimezone(chrono_tz::America::Los_Angeles, 2021..=2030);
        let text = lines.join("\n");
        assert!(text.contains("BEGIN:DAYLIGHT\nDTSTART:20210314T020000\nTZOFFSETFROM:-0800\nTZOFFSETTO:-0700\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZNAME:PDT"), "{text}");
        assert!(text.contains("BEGIN:STANDARD\nDTSTART:20211107T020000\nTZOFFSETFROM:-0700\nTZOFFSETTO:-0800\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nTZNAME:PST"), "{text}");
    }

    #[test]
    fn europe_uses_last_sunday_rules() {
        let text = vtimezone(chrono_tz::Europe::Berlin, 2021..=2030).join("\n");
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
            "{text}"
        );
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
            "{text}"
        );
    }

    #[test]
    fn a_zone_without_dst_has_one_standard_component() {
        let text = vtimezone(chrono_tz::Asia::Tokyo, 2021..=2030).join("\n");
        assert_eq!(text.matches("BEGIN:STANDARD").count(), 1);
        assert!(
            text.contains("TZOFFSETFROM:+0900\nTZOFFSETTO:+0900"),
            "{text}"
        );
        assert!(!text.contains("DAYLIGHT"));
    }
}
