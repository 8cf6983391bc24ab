//! The schedule file (`schedules/*.toml`, SPEC section 10) read into a checked model.
//!
//! Every mistake a maintainer can make while editing is reported as one line naming the file and
//! the line: an unknown time zone, a day that does not exist, an exception on a date that has no
//! meeting, an `until` before `start`, an unknown key.

use std::ops::Range;
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

/// A calendar: its description and the series of meetings it publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub timezone: Tz,
    pub description: Option<String>,
    pub url: Option<String>,
    pub series: Vec<Series>,
}

/// Meetings every `every_weeks` weeks from `start`, each taking the next slot in turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: String,
    pub title: Option<String>,
    pub start: NaiveDate,
    pub until: Option<NaiveDate>,
    pub every_weeks: u32,
    pub slots: Vec<Slot>,
    pub duration_minutes: u32,
    /// Sorted by date, one per date.
    pub exceptions: Vec<Exception>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub day: Weekday,
    pub time: NaiveTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// The date the meeting would have had.
    pub date: NaiveDate,
    pub change: Change,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Cancel,
    /// To this local time in the calendar's zone.
    MoveTo(NaiveDateTime),
}

/// A schedule file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", .line.map_or(String::new(), |line| format!(":{line}")))]
pub struct ScheduleError {
    pub file: String,
    /// None when the file could not be read at all.
    pub line: Option<usize>,
    pub message: String,
}

/// Where the shipped schedule lives in a checkout, and what a schedule option defaults to.
pub const DEFAULT_PATH: &str = "schedules/gamma.toml";
/// The shipped schedule, compiled in so the binary runs outside a checkout.
pub const BUILTIN: &str = include_str!("../../schedules/gamma.toml");

impl Schedule {
    /// The schedule at `path`, or, when `path` is the default and there is no such file (an
    /// installed binary, a container, another directory), the shipped one built into the
    /// binary. The second value says which was read.
    pub fn load_or_builtin(path: &Path) -> Result<(Schedule, String), ScheduleError> {
        if path == Path::new(DEFAULT_PATH) && !path.exists() {
            let schedule = Schedule::parse(BUILTIN, DEFAULT_PATH)?;
            return Ok((schedule, format!("the built-in {DEFAULT_PATH}")));
        }
        Ok((Schedule::load(path)?, path.display().to_string()))
    }

    pub fn load(path: &Path) -> Result<Schedule, ScheduleError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScheduleError {
            file: path.display().to_string(),
            line: None,
            message: e.to_string(),
        })?;
        Schedule::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> Result<Schedule, ScheduleError> {
        let error = |span: Option<Range<usize>>, message: String| ScheduleError {
            file: file.to_owned(),
            line: Some(span.map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            })),
            message,
        };
        let raw: RawFile =
            toml::from_str(text).map_err(|e| error(e.span(), e.message().to_owned()))?;
        let zone_name = raw.calendar.timezone.get_ref();
        let timezone: Tz = zone_name.parse().map_err(|_| {
            error(
                Some(raw.calendar.timezone.span()),
                format!("unknown time zone `{zone_name}`: use an IANA name such as `America/Los_Angeles`"),
            )
        })?;
        if raw.series.is_empty() {
            return Err(error(
                None,
                "no [[series]]: add one with start, slots and duration_minutes".into(),
            ));
        }
        let mut series = Vec::new();
        for raw_series in raw.series {
            let parsed = parse_series(raw_series, &error)?;
            if series.iter().any(|s: &Series| s.id == parsed.id) {
                return Err(error(
                    None,
                    format!("two series have the id `{}`: ids must be unique", parsed.id),
                ));
            }
            series.push(parsed);
        }
        Ok(Schedule {
            name: raw.calendar.name,
            timezone,
            description: raw.calendar.description,
            url: raw.calendar.url,
            series,
        })
    }
}

fn parse_series(
    raw: RawSeries,
    error: &impl Fn(Option<Range<usize>>, String) -> ScheduleError,
) -> Result<Series, ScheduleError> {
    let id = raw.id.get_ref().clone();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(error(
            Some(raw.id.span()),
            format!(
                "series id `{id}` must be letters, digits, `-` or `_` (it is part of every event's UID)"
            ),
        ));
    }
    let start = date(&raw.start, error)?;
    let until = raw.until.as_ref().map(|u| date(u, error)).transpose()?;
    if let (Some(until_date), Some(until_raw)) = (until, &raw.until)
        && until_date < start
    {
        return Err(error(
            Some(until_raw.span()),
            format!("until {until_date} is before start {start}"),
        ));
    }
    let every_weeks = *raw.every_weeks.get_ref();
    if every_weeks == 0 || every_weeks > 52 {
        return Err(error(
            Some(raw.every_weeks.span()),
            "every_weeks must be from 1 to 52".into(),
        ));
    }
    if raw.slots.get_ref().is_empty() {
        return Err(error(
            Some(raw.slots.span()),
            "slots is empty: give at least one { day, time }".into(),
        ));
    }
    let mut slots = Vec::new();
    for slot in raw.slots.get_ref() {
        let day = slot.day.get_ref();
        let day_value = parse_weekday(day).ok_or_else(|| {
            error(
                Some(slot.day.span()),
                format!("`{day}` is not a day of the week: write Monday, Tuesday, ... Sunday"),
            )
        })?;
        let time = NaiveTime::parse_from_str(slot.time.get_ref(), "%H:%M").map_err(|_| {
            error(
                Some(slot.time.span()),
                format!("time `{}` is not HH:MM (24-hour)", slot.time.get_ref()),
            )
        })?;
        slots.push(Slot {
            day: day_value,
            time,
        });
    }
    if start.weekday() != slots[0].day {
        return Err(error(
            Some(raw.start.span()),
            format!(
                "start {start} is a {}, but the first slot is on {}: start is the date of the first meeting",
                start.weekday(),
                slots[0].day
            ),
        ));
    }
    let duration_minutes = *raw.duration_minutes.get_ref();
    if duration_minutes == 0 || duration_minutes > 24 * 60 {
        return Err(error(
            Some(raw.duration_minutes.span()),
            "duration_minutes must be from 1 to 1440".into(),
        ));
    }
    let mut series = Series {
        id,
        title: raw.title,
        start,
        until,
        every_weeks,
        slots,
        duration_minutes,
        exceptions: Vec::new(),
    };
    // Dates seen so far: a set, so that a file of many exceptions is read in linear time.
    let mut dates = std::collections::HashSet::new();
    for raw_exception in raw.exception {
        let date_value = date(&raw_exception.date, error)?;
        if series.meeting_index(date_value).is_none() {
            return Err(error(
                Some(raw_exception.date.span()),
                format!(
                    "series `{}` has no meeting on {date_value}{}",
                    series.id,
                    series
                        .nearest_meeting(date_value)
                        .map_or(String::new(), |d| format!(
                            ": the nearest is {d} ({})",
                            d.weekday()
                        ))
                ),
            ));
        }
        if !dates.insert(date_value) {
            return Err(error(
                Some(raw_exception.date.span()),
                format!("two exceptions for {date_value}: keep one"),
            ));
        }
        let change = match (raw_exception.cancel, &raw_exception.move_to) {
            (true, None) => Change::Cancel,
            (false, Some(to)) => Change::MoveTo(
                NaiveDateTime::parse_from_str(to.get_ref(), "%Y-%m-%dT%H:%M").map_err(|_| {
                    error(
                        Some(to.span()),
                        format!(
                            "move_to `{}` is not YYYY-MM-DDTHH:MM (local time)",
                            to.get_ref()
                        ),
                    )
                })?,
            ),
            _ => {
                return Err(error(
                    Some(raw_exception.date.span()),
                    format!(
                        "the exception for {date_value} needs exactly one of `cancel = true` or `move_to`"
                    ),
                ));
            }
        };
        series.exceptions.push(Exception {
            date: date_value,
            change,
            reason: raw_exception.reason,
        });
    }
    series.exceptions.sort_by_key(|e| e.date);
    Ok(series)
}

impl Series {
    /// The date of meeting `k` (0 is the first), before any exception.
    pub fn meeting_date(&self, k: u64) -> NaiveDate {
        let slot = self.slots[(k % self.slots.len() as u64) as usize];
        let first_day = self.slots[0].day.num_days_from_monday() as i64;
        let offset = slot.day.num_days_from_monday() as i64 - first_day;
        self.start
            + chrono::Days::new(7 * self.every_weeks as u64 * k)
            + chrono::TimeDelta::days(offset)
    }

    pub fn slot(&self, k: u64) -> Slot {
        self.slots[(k % self.slots.len() as u64) as usize]
    }

    /// Which meeting falls on a date, if one does. Meetings are strictly ordered (each is at
    /// least a day after the one before), so only the weeks around the date can hold it.
    pub fn meeting_index(&self, date: NaiveDate) -> Option<u64> {
        self.candidates(date)
            .find(|&k| self.meeting_date(k) == date && self.until.is_none_or(|u| date <= u))
    }

    fn nearest_meeting(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.candidates(date)
            .chain([self.candidates(date).next().unwrap_or(0).saturating_sub(1)])
            .map(|k| self.meeting_date(k))
            .filter(|d| self.until.is_none_or(|u| *d <= u))
            .min_by_key(|d| (*d - date).num_days().abs())
    }

    fn candidates(&self, date: NaiveDate) -> impl Iterator<Item = u64> {
        let days = (date - self.start).num_days();
        let period = 7 * self.every_weeks as i64;
        let low = (days - 6).div_euclid(period).max(0) as u64;
        let high = (days + 6).div_euclid(period).max(0) as u64 + 1;
        low..=high
    }
}

fn parse_weekday(day: &str) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("Monday", Weekday::Mon),
        ("Tuesday", Weekday::Tue),
        ("Wednesday", Weekday::Wed),
        ("Thursday", Weekday::Thu),
        ("Friday", Weekday::Fri),
        ("Saturday", Weekday::Sat),
        ("Sunday", Weekday::Sun),
    ];
    DAYS.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(day))
        .map(|(_, d)| *d)
}

fn date(
    value: &Spanned<String>,
    error: &impl Fn(Option<Range<usize>>, String) -> ScheduleError,
) -> Result<NaiveDate, ScheduleError> {
    NaiveDate::parse_from_str(value.get_ref(), "%Y-%m-%d").map_err(|_| {
        error(
            Some(value.span()),
            format!(
                "`{}` is not a date: write YYYY-MM-DD, quoted",
                value.get_ref()
            ),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    calendar: RawCalendar,
    #[serde(default)]
    series: Vec<RawSeries>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: String,
    timezone: Spanned<String>,
    description: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    id: Spanned<String>,
    title: Option<String>,
    start: Spanned<String>,
    until: Option<Spanned<String>>,
    every_weeks: Spanned<u32>,
    slots: Spanned<Vec<RawSlot>>,
    duration_minutes: Spanned<u32>,
    #[serde(default)]
    exception: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    day: Spanned<String>,
    time: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    date: Spanned<String>,
    #[serde(default)]
    cancel: bool,
    move_to: Option<Spanned<String>>,
    reason: Option<String>,
}
