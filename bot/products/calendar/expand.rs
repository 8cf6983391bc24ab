//! A schedule expanded into concrete meetings in a window of time: the one model the feed, the
//! page, `gep-bot calendar --list` and the tests all agree with. Time is an input, never read here.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::schedule::{Change, Schedule, Series};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub series: String,
    /// Which meeting it is: the series' title, or `None` for the calendar's own meeting.
    pub title: Option<String>,
    /// The slot this meeting takes, and its number in the series (0 is the first meeting).
    pub slot: usize,
    pub index: u64,
    /// The date the meeting has when no exception applies (what RECURRENCE-ID and EXDATE name).
    pub scheduled_date: NaiveDate,
    pub scheduled_local: NaiveDateTime,
    pub start_local: NaiveDateTime,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: Status,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Scheduled,
    Moved,
    Cancelled,
}

/// Every meeting (cancelled ones included, marked) whose start falls in `[from, to)`, by start.
pub fn occurrences(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
    let mut found: Vec<Occurrence> = schedule
        .series
        .iter()
        .flat_map(|series| series_occurrences(series, schedule.timezone, from, to))
        .collect();
    found.sort_by(|a, b| (a.start, &a.series).cmp(&(b.start, &b.series)));
    found
}

impl Occurrence {
    /// Which meeting it is, as people call it: its series' title, else the calendar's name.
    pub fn meeting<'a>(&'a self, schedule: &'a Schedule) -> &'a str {
        self.title.as_deref().unwrap_or(&schedule.name)
    }
}

/// The meetings that take place (not cancelled) in `[from, to)`.
pub fn meetings(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
    let mut all = occurrences(schedule, from, to);
    all.retain(|o| o.status != Status::Cancelled);
    all
}

/// A series' meetings in the window. A moved meeting can land outside the week it came from, so
/// the scan starts a little before the window and ends a little after it.
fn series_occurrences(
    series: &Series,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Occurrence> {
    let margin = chrono::Days::new(62);
    let scan_from = from.date_naive() - margin;
    let scan_to = to.date_naive() + margin;
    let first = series.index_before(scan_from);
    let mut out = Vec::new();
    for k in first.. {
        let date = series.meeting_date(k);
        if date > scan_to || series.until.is_some_and(|u| date > u) {
            break;
        }
        // Another series meets that week: no meeting, not even a cancelled one.
        if series.is_skipped(k) {
            continue;
        }
        let occurrence = occurrence(series, zone, k);
        if occurrence.start >= from && occurrence.start < to {
            out.push(occurrence);
        }
    }
    out
}

/// Meeting `k` of a series, with its exception applied.
pub fn occurrence(series: &Series, zone: Tz, k: u64) -> Occurrence {
    let slot_index = (k % series.slots.len() as u64) as usize;
    let date = series.meeting_date(k);
    let scheduled_local = date.and_time(series.slots[slot_index].time);
    // Exceptions are sorted by date (as `Schedule::parse` leaves them): one lookup, not a scan
    // per meeting.
    let exception = series
        .exceptions
        .binary_search_by_key(&date, |e| e.date)
        .ok()
        .map(|i| &series.exceptions[i]);
    let (start_local, status) = match exception.map(|e| e.change) {
        None => (scheduled_local, Status::Scheduled),
        Some(Change::Cancel) => (scheduled_local, Status::Cancelled),
        Some(Change::MoveTo(to)) => (to, Status::Moved),
    };
    let start = local_to_utc(zone, start_local);
    Occurrence {
        series: series.id.clone(),
        title: series.title.clone(),
        slot: slot_index,
        index: k,
        scheduled_date: date,
        scheduled_local,
        start_local,
        start,
        end: start + Duration::minutes(series.duration_minutes as i64),
        status,
        reason: exception.and_then(|e| e.reason.clone()),
    }
}

/// A wall-clock time in a zone as UTC, the way RFC 5545 (and so every calendar client) reads it:
/// in the hour repeated when clocks go back, the first; in the hour skipped when they go forward,
/// the time is moved forward by the gap.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // The offset before the gap applies: the time lands as far past the gap as it was into it.
            let before = zone
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .map(|t| *t.offset());
            match before {
                Some(offset) => (local - offset_seconds(&offset)).and_utc(),
                None => local.and_utc(),
            }
        }
    }
}

fn offset_seconds(offset: &<Tz as TimeZone>::Offset) -> Duration {
    use chrono::Offset;
    Duration::seconds(offset.fix().local_minus_utc() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn nonexistent_local_times_move_forward_by_the_gap() {
        let zone: Tz = "America/Los_Angeles".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2023, 3, 12)
            .unwrap()
            .and_time(NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(local_to_utc(zone, gap), utc("2023-03-12T10:30:00Z"));
        let repeated = NaiveDate::from_ymd_opt(2022, 11, 6)
            .unwrap()
            .and_time(NaiveTime::from_hms_opt(1, 30, 0).unwrap());
        assert_eq!(local_to_utc(zone, repeated), utc("2022-11-06T08:30:00Z"));
    }
}
