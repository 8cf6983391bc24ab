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

/// Meetings from `start`: every `every_weeks` weeks, each taking the next slot in turn, or (with
/// `monthly`) on one weekday by its position in each month, at the one slot's time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: String,
    pub title: Option<String>,
    pub start: NaiveDate,
    pub until: Option<NaiveDate>,
    pub every_weeks: u32,
    pub slots: Vec<Slot>,
    /// A monthly series: the position in the month of `slots[0].day` (`every_weeks` unused).
    pub monthly: Option<Nth>,
    pub duration_minutes: u32,
    /// Sorted by date, one per date.
    pub exceptions: Vec<Exception>,
    /// The series in whose weeks (Monday to Sunday) this one does not meet.
    pub skip_weeks_of: Vec<String>,
    /// The dates this series would meet on in those weeks, sorted: not meetings at all (the feed
    /// lists them as EXDATEs, since no RRULE says "except in another rule's weeks").
    pub skipped: Vec<NaiveDate>,
}

/// A weekday's position in its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nth {
    /// The first (1) to the fourth (4), which every month has.
    Number(u8),
    Last,
}

impl Nth {
    /// RFC 5545's BYDAY prefix: `1` .. `4`, or `-1` for the last.
    pub fn rrule_prefix(self) -> i8 {
        match self {
            Nth::Number(n) => n as i8,
            Nth::Last => -1,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Nth::Number(1) => "first",
            Nth::Number(2) => "second",
            Nth::Number(3) => "third",
            Nth::Number(_) => "fourth",
            Nth::Last => "last",
        }
    }

    /// That weekday of the month of `year`/`month`.
    pub fn date_in(self, year: i32, month: u32, day: Weekday) -> NaiveDate {
        match self {
            Nth::Number(n) => NaiveDate::from_weekday_of_month_opt(year, month, day, n)
                .expect("every month has four of each weekday"),
            Nth::Last => {
                let next = if month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, month + 1, 1)
                }
                .expect("a month follows");
                let last = next.pred_opt().expect("a day before");
                let back =
                    (7 + last.weekday().num_days_from_monday() - day.num_days_from_monday()) % 7;
                last - chrono::Days::new(back as u64)
            }
        }
    }
}

/// The Monday of `date`'s week (weeks run Monday to Sunday).
pub fn week_of(date: NaiveDate) -> NaiveDate {
    date - chrono::Days::new(date.weekday().num_days_from_monday() as u64)
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
pub const BUILTIN: &str = include_str!("../../../schedules/gamma.toml");

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
        let mut skip_spans = Vec::new();
        let mut id_spans = Vec::new();
        for raw_series in raw.series {
            let id_span = raw_series.id.span();
            let skip_span = raw_series.skip_weeks_of.as_ref().map(|s| s.span());
            let exception_dates: Vec<Spanned<String>> = raw_series
                .exception
                .iter()
                .map(|e| e.date.clone())
                .collect();
            let parsed = parse_series(raw_series, &error)?;
            if series.iter().any(|s: &Series| s.id == parsed.id) {
                return Err(error(
                    Some(id_span),
                    format!("two series have the id `{}`: ids must be unique", parsed.id),
                ));
            }
            series.push(parsed);
            skip_spans.push((skip_span, exception_dates));
            id_spans.push(id_span);
        }
        resolve_skips(&mut series, &skip_spans, &error)?;
        check_overlaps(&series, &id_spans, &error)?;
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
    let (every_weeks, raw_slots, monthly) = match (&raw.monthly, &raw.every_weeks, &raw.slots) {
        (Some(monthly), None, None) => {
            let (nth, day) = parse_position(monthly.on.get_ref()).ok_or_else(|| {
                error(
                    Some(monthly.on.span()),
                    format!(
                        "`{}` is not a weekday by its position in the month: write \
                         \"first Tuesday\", \"second Monday\", ... \"fourth Friday\" or \"last Friday\"",
                        monthly.on.get_ref()
                    ),
                )
            })?;
            let slot = RawSlot {
                day: Spanned::new(monthly.on.span(), day.to_owned()),
                time: monthly.time.clone(),
            };
            (1, vec![slot], Some(nth))
        }
        (Some(monthly), _, _) => {
            return Err(error(
                Some(monthly.on.span()),
                "a monthly series takes `monthly = { on, time }` alone: drop every_weeks and slots"
                    .into(),
            ));
        }
        (None, Some(every_weeks), Some(slots)) => {
            let every = *every_weeks.get_ref();
            if every == 0 || every > 52 {
                return Err(error(
                    Some(every_weeks.span()),
                    "every_weeks must be from 1 to 52".into(),
                ));
            }
            if slots.get_ref().is_empty() {
                return Err(error(
                    Some(slots.span()),
                    "slots is empty: give at least one { day, time }".into(),
                ));
            }
            (every, slots.get_ref().clone(), None)
        }
        (None, _, _) => {
            return Err(error(
                Some(raw.id.span()),
                format!(
                    "series `{id}` says neither `every_weeks` with `slots` nor `monthly = {{ on, time }}`"
                ),
            ));
        }
    };
    let mut slots = Vec::new();
    for slot in &raw_slots {
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
    if let Some(nth) = monthly {
        let expected = nth.date_in(start.year(), start.month(), slots[0].day);
        if expected != start {
            return Err(error(
                Some(raw.start.span()),
                format!(
                    "start {start} is not the {} {} of its month ({expected} is): start is the date of the first meeting",
                    nth.word(),
                    day_name(slots[0].day)
                ),
            ));
        }
    } else if start.weekday() != slots[0].day {
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
        monthly,
        duration_minutes,
        exceptions: Vec::new(),
        skip_weeks_of: raw
            .skip_weeks_of
            .map(|s| s.into_inner())
            .unwrap_or_default(),
        skipped: Vec::new(),
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
    /// The date of meeting `k` (0 is the first), before any exception (a skipped date too).
    pub fn meeting_date(&self, k: u64) -> NaiveDate {
        if let Some(nth) = self.monthly {
            let months = self.start.year() as i64 * 12 + self.start.month0() as i64 + k as i64;
            let (year, month0) = (months.div_euclid(12) as i32, months.rem_euclid(12) as u32);
            return nth.date_in(year, month0 + 1, self.slots[0].day);
        }
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

    /// Which meeting falls on a date, if one does (a skipped date holds none). Meetings are
    /// strictly ordered (each is at least a day after the one before), so only the weeks (or
    /// months) around the date can hold it.
    pub fn meeting_index(&self, date: NaiveDate) -> Option<u64> {
        self.scheduled_index(date)
            .filter(|_| self.skipped.binary_search(&date).is_err())
    }

    /// Which meeting the rule puts on a date, skipped or not.
    pub fn scheduled_index(&self, date: NaiveDate) -> Option<u64> {
        self.candidates(date)
            .find(|&k| self.meeting_date(k) == date && self.until.is_none_or(|u| date <= u))
    }

    /// A meeting index at or before the first meeting on or after `date`.
    pub fn index_before(&self, date: NaiveDate) -> u64 {
        *self.candidates(date).start()
    }

    /// Whether the rule's meeting `k` is skipped (another series meets that week).
    pub fn is_skipped(&self, k: u64) -> bool {
        self.skipped.binary_search(&self.meeting_date(k)).is_ok()
    }

    /// The rule's dates in `[from, to]`, skipped ones included.
    pub fn scheduled_dates(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let first = self.candidates(from).next().unwrap_or(0);
        (first..)
            .map(|k| self.meeting_date(k))
            .take_while(|d| *d <= to && self.until.is_none_or(|u| *d <= u))
            .filter(|d| *d >= from)
            .collect()
    }

    fn nearest_meeting(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.candidates(date)
            .chain([self.candidates(date).next().unwrap_or(0).saturating_sub(1)])
            .map(|k| self.meeting_date(k))
            .filter(|d| self.until.is_none_or(|u| *d <= u))
            .min_by_key(|d| (*d - date).num_days().abs())
    }

    fn candidates(&self, date: NaiveDate) -> std::ops::RangeInclusive<u64> {
        if self.monthly.is_some() {
            let months = (date.year() - self.start.year()) as i64 * 12 + date.month0() as i64
                - self.start.month0() as i64;
            return (months - 1).max(0) as u64..=(months + 1).max(0) as u64;
        }
        let days = (date - self.start).num_days();
        let period = 7 * self.every_weeks as i64;
        let low = (days - 6).div_euclid(period).max(0) as u64;
        let high = (days + 6).div_euclid(period).max(0) as u64 + 1;
        low..=high
    }
}

/// "first Tuesday" .. "fourth Friday", "last Friday": the position and the weekday's name.
fn parse_position(text: &str) -> Option<(Nth, &str)> {
    let (word, day) = text.trim().split_once(' ')?;
    let nth = match word.to_ascii_lowercase().as_str() {
        "first" => Nth::Number(1),
        "second" => Nth::Number(2),
        "third" => Nth::Number(3),
        "fourth" => Nth::Number(4),
        "last" => Nth::Last,
        _ => return None,
    };
    parse_weekday(day.trim())?;
    Some((nth, day.trim()))
}

/// Years of meetings a series without `until` is checked over for contradictions.
const CHECKED_YEARS: u64 = 10;

/// The last day a series is looked at: its `until`, or ten years from its start.
fn horizon(series: &Series) -> NaiveDate {
    series
        .until
        .unwrap_or(series.start + chrono::Days::new(CHECKED_YEARS * 366))
}

/// Where a series' `skip_weeks_of` and its exceptions' dates are written, for errors.
type SkipSpans = (Option<Range<usize>>, Vec<Spanned<String>>);

/// Each `skip_weeks_of` names another series, the series it skips ends (its skipped dates are
/// listed one by one), and the dates it skips are found. An exception on a skipped date is an
/// error: that meeting does not exist.
fn resolve_skips(
    series: &mut [Series],
    spans: &[SkipSpans],
    error: &impl Fn(Option<Range<usize>>, String) -> ScheduleError,
) -> Result<(), ScheduleError> {
    for i in 0..series.len() {
        let (span, exception_dates) = &spans[i];
        let mut weeks = std::collections::BTreeSet::new();
        for other in &series[i].skip_weeks_of {
            let Some(skipped) = series.iter().find(|s| &s.id == other) else {
                let known: Vec<&str> = series.iter().map(|s| s.id.as_str()).collect();
                return Err(error(
                    span.clone(),
                    format!(
                        "skip_weeks_of names `{other}`, which is no series here (there are: {})",
                        known.join(", ")
                    ),
                ));
            };
            if skipped.id == series[i].id {
                return Err(error(
                    span.clone(),
                    format!("series `{other}` cannot skip its own weeks"),
                ));
            }
            if series[i].until.is_none() {
                return Err(error(
                    span.clone(),
                    format!(
                        "series `{}` skips the weeks of `{other}` but has no `until`: give it one \
                         (the feed lists each skipped date)",
                        series[i].id
                    ),
                ));
            }
            let (from, to) = (series[i].start, horizon(&series[i]));
            weeks.extend(
                skipped
                    .scheduled_dates(from - chrono::Days::new(7), to + chrono::Days::new(7))
                    .into_iter()
                    .map(week_of),
            );
        }
        let own = series[i].scheduled_dates(series[i].start, horizon(&series[i]));
        let skipped: Vec<NaiveDate> = own
            .into_iter()
            .filter(|d| weeks.contains(&week_of(*d)))
            .collect();
        for date in exception_dates {
            if let Ok(parsed) = NaiveDate::parse_from_str(date.get_ref(), "%Y-%m-%d")
                && skipped.binary_search(&parsed).is_ok()
            {
                return Err(error(
                    Some(date.span()),
                    format!(
                        "series `{}` does not meet on {parsed}: that week is another series' (skip_weeks_of)",
                        series[i].id
                    ),
                ));
            }
        }
        series[i].skipped = skipped;
    }
    Ok(())
}

/// Two series meeting at once is a contradiction (one of them is wrong, or should skip the
/// other's weeks): an error naming both and the first such date.
fn check_overlaps(
    series: &[Series],
    id_spans: &[Range<usize>],
    error: &impl Fn(Option<Range<usize>>, String) -> ScheduleError,
) -> Result<(), ScheduleError> {
    let times = |s: &Series| -> Vec<(NaiveDateTime, NaiveDateTime)> {
        s.scheduled_dates(s.start, horizon(s))
            .into_iter()
            .filter(|d| s.skipped.binary_search(d).is_err())
            .filter_map(|d| {
                let k = s.scheduled_index(d)?;
                let start = d.and_time(s.slot(k).time);
                Some((
                    start,
                    start + chrono::Duration::minutes(s.duration_minutes as i64),
                ))
            })
            .collect()
    };
    let all: Vec<_> = series.iter().map(times).collect();
    for i in 0..series.len() {
        for j in i + 1..series.len() {
            let clash = all[i].iter().find_map(|(start, end)| {
                let at = all[j].partition_point(|(_, other_end)| other_end <= start);
                all[j]
                    .get(at)
                    .filter(|(other_start, _)| other_start < end)
                    .map(|other| ((*start, *end), *other))
            });
            if let Some((one, other)) = clash {
                let span = |(start, end): (NaiveDateTime, NaiveDateTime)| {
                    format!("{}-{}", start.format("%Y-%m-%d %H:%M"), end.format("%H:%M"))
                };
                return Err(error(
                    Some(id_spans[j].clone()),
                    format!(
                        "series `{}` ({}) and `{}` ({}) meet at once: end one before the other \
                         starts, or give one `skip_weeks_of`",
                        series[i].id,
                        span(one),
                        series[j].id,
                        span(other)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A weekday's name as the file writes it ("Tuesday").
pub fn day_name(day: Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize].0
}

const DAYS: [(&str, Weekday); 7] = [
    ("Monday", Weekday::Mon),
    ("Tuesday", Weekday::Tue),
    ("Wednesday", Weekday::Wed),
    ("Thursday", Weekday::Thu),
    ("Friday", Weekday::Fri),
    ("Saturday", Weekday::Sat),
    ("Sunday", Weekday::Sun),
];

fn parse_weekday(day: &str) -> Option<Weekday> {
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
    every_weeks: Option<Spanned<u32>>,
    slots: Option<Spanned<Vec<RawSlot>>>,
    monthly: Option<RawMonthly>,
    skip_weeks_of: Option<Spanned<Vec<String>>>,
    duration_minutes: Spanned<u32>,
    #[serde(default)]
    exception: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonthly {
    on: Spanned<String>,
    time: Spanned<String>,
}

#[derive(Clone, Deserialize)]
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
