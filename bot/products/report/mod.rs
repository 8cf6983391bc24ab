//! The initiative's report (SPEC section 13; the announcement planned to evaluate the model after
//! three months): for a period, the meetings held and cancelled per slot and which time zones
//! each slot served, mesh items opened and closed, GEP status changes, and lead-review
//! turnaround (median and p90 from a GEP pull request's first review event to quorum).
//!
//! Pure: the schedule and the stored activity in, the report out. `gep-bot report` reads them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::core::state::{Activity, ActivityKind};
use crate::products::calendar::{self, Schedule, Status};

/// Where contributors are, to say which a slot served: a zone is served when the meeting starts
/// between 07:00 and 21:00 there.
pub const ZONES: &[&str] = &[
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
];
const WAKING: std::ops::Range<u32> = 7..21;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub repo: String,
    /// `[from, to)`, days in the calendar's zone.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub slots: Vec<SlotReport>,
    pub mesh: MeshReport,
    pub status_changes: Vec<StatusChange>,
    pub review: ReviewReport,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotReport {
    /// Which meeting (the series' title, or the calendar's name).
    pub meeting: String,
    pub series: String,
    /// "Tuesday 08:00 America/Los_Angeles".
    pub slot: String,
    pub held: usize,
    pub cancelled: usize,
    /// The zones of [`ZONES`] where every held meeting of the slot started in waking hours.
    pub served: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshReport {
    pub opened: usize,
    pub closed: usize,
    /// By kind of item: `issue`, `pull_request`, `discussion`: (opened, closed).
    pub by_kind: BTreeMap<String, (usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub gep: u64,
    pub change: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewReport {
    /// GEP pull requests whose review began in the period.
    pub started: usize,
    /// GEP pull requests that reached quorum in the period, with the hours it took.
    pub reached_quorum: Vec<Turnaround>,
    pub median_hours: Option<f64>,
    /// The nearest-rank 90th percentile.
    pub p90_hours: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turnaround {
    pub pull: u64,
    pub hours: f64,
}

/// The report of `[from, to)` (days in the calendar's zone) from `activity` (all of the
/// repository's up to `to`: a review that began before `from` and reached quorum within it counts).
pub fn report(
    repo: &str,
    schedule: &Schedule,
    activity: &[Activity],
    from: NaiveDate,
    to: NaiveDate,
) -> Report {
    let zone = schedule.timezone;
    let start = calendar::local_to_utc(zone, from.and_hms_opt(0, 0, 0).expect("midnight"));
    let end = calendar::local_to_utc(zone, to.and_hms_opt(0, 0, 0).expect("midnight"));
    let (start_ms, end_ms) = (start.timestamp_millis(), end.timestamp_millis());
    let within = |a: &&Activity| a.at_ms.is_some_and(|t| t >= start_ms && t < end_ms);

    // Meetings per (series, slot), in the order they first met.
    let mut slots: Vec<(String, usize, SlotReport, Vec<DateTime<Utc>>)> = Vec::new();
    for meeting in calendar::occurrences(schedule, start, end) {
        let series = schedule
            .series
            .iter()
            .find(|s| s.id == meeting.series)
            .expect("an occurrence's series");
        let slot = series.slots[meeting.slot];
        let at = slots
            .iter()
            .position(|(id, index, ..)| *id == meeting.series && *index == meeting.slot)
            .unwrap_or_else(|| {
                slots.push((
                    meeting.series.clone(),
                    meeting.slot,
                    SlotReport {
                        meeting: meeting.meeting(schedule).to_owned(),
                        series: meeting.series.clone(),
                        slot: format!(
                            "{} {} {}",
                            crate::products::calendar::day_name(slot.day),
                            slot.time.format("%H:%M"),
                            zone.name()
                        ),
                        held: 0,
                        cancelled: 0,
                        served: Vec::new(),
                    },
                    Vec::new(),
                ));
                slots.len() - 1
            });
        let entry = &mut slots[at];
        if meeting.status == Status::Cancelled {
            entry.2.cancelled += 1;
        } else {
            entry.2.held += 1;
            entry.3.push(meeting.start);
        }
    }
    let slots = slots
        .into_iter()
        .map(|(_, _, mut report, starts)| {
            report.served = ZONES
                .iter()
                .filter(|name| {
                    let tz: Tz = name.parse().expect("a known zone");
                    !starts.is_empty()
                        && starts.iter().all(|s| {
                            use chrono::Timelike;
                            WAKING.contains(&s.with_timezone(&tz).hour())
                        })
                })
                .map(|z| z.to_string())
                .collect();
            report
        })
        .collect();

    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut opened, mut closed) = (0, 0);
    for a in activity.iter().filter(within) {
        match a.kind {
            ActivityKind::MeshOpened => {
                opened += 1;
                by_kind.entry(a.detail.clone()).or_default().0 += 1;
            }
            ActivityKind::MeshClosed => {
                closed += 1;
                by_kind.entry(a.detail.clone()).or_default().1 += 1;
            }
            _ => {}
        }
    }
    let status_changes = activity
        .iter()
        .filter(within)
        .filter(|a| a.kind == ActivityKind::StatusChanged)
        .map(|a| StatusChange {
            gep: a.number,
            change: a.detail.clone(),
            at: DateTime::from_timestamp_millis(a.at_ms.unwrap_or(0)).unwrap_or_default(),
        })
        .collect();

    let began: BTreeMap<u64, i64> = activity
        .iter()
        .filter(|a| a.kind == ActivityKind::ReviewStarted)
        .filter_map(|a| Some((a.number, a.at_ms?)))
        .collect();
    let started = activity
        .iter()
        .filter(within)
        .filter(|a| a.kind == ActivityKind::ReviewStarted)
        .count();
    let mut reached_quorum: Vec<Turnaround> = activity
        .iter()
        .filter(within)
        .filter(|a| a.kind == ActivityKind::ReviewQuorum)
        .filter_map(|a| {
            let began = began.get(&a.number)?;
            Some(Turnaround {
                pull: a.number,
                hours: (a.at_ms? - began) as f64 / 3_600_000.0,
            })
        })
        .collect();
    reached_quorum.sort_by_key(|t| t.pull);
    let mut hours: Vec<f64> = reached_quorum.iter().map(|t| t.hours).collect();
    hours.sort_by(f64::total_cmp);
    Report {
        repo: repo.to_owned(),
        from,
        to,
        slots,
        mesh: MeshReport {
            opened,
            closed,
            by_kind,
        },
        status_changes,
        review: ReviewReport {
            started,
            reached_quorum,
            median_hours: median(&hours),
            p90_hours: nearest_rank(&hours, 90),
        },
    }
}

/// The middle value (the mean of the two middle ones for an even count) of sorted `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The nearest-rank `p`th percentile of sorted `values`: the smallest value with at least `p`%
/// of them at or below it.
pub fn nearest_rank(values: &[f64], p: usize) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let rank = (p * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1])
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# GAMMA initiative report: {} to {} ({})\n\n## Meetings\n\n",
            self.from, self.to, self.repo
        );
        if self.slots.is_empty() {
            out.push_str("No meetings were scheduled.\n");
        } else {
            out.push_str("| Meeting | Slot | Held | Cancelled | Served (07:00-21:00 local) |\n|---|---|---|---|---|\n");
            for s in &self.slots {
                let served: Vec<&str> = s
                    .served
                    .iter()
                    .map(|z| z.rsplit('/').next().unwrap_or(z))
                    .collect();
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    s.meeting,
                    s.slot,
                    s.held,
                    s.cancelled,
                    served.join(", ")
                )
                .expect("a string takes writes");
            }
        }
        let m = &self.mesh;
        write!(
            out,
            "\n## Mesh work\n\n{} opened, {} closed",
            m.opened, m.closed
        )
        .expect("a string takes writes");
        let kinds: Vec<String> = m
            .by_kind
            .iter()
            .map(|(kind, (o, c))| format!("{kind}: {o} opened, {c} closed"))
            .collect();
        if !kinds.is_empty() {
            write!(out, " ({})", kinds.join("; ")).expect("a string takes writes");
        }
        out.push_str(".\n\n## GEP status changes\n\n");
        if self.status_changes.is_empty() {
            out.push_str("None recorded.\n");
        }
        for c in &self.status_changes {
            writeln!(
                out,
                "- GEP-{}: {} ({})",
                c.gep,
                c.change,
                c.at.format("%Y-%m-%d")
            )
            .expect("a string takes writes");
        }
        let r = &self.review;
        let hours = |h: Option<f64>| h.map_or("-".to_owned(), |h| format!("{h:.1} h"));
        write!(
            out,
            "\n## Lead review\n\n{} GEP pull requests began review; {} reached quorum \
             (median {}, p90 {} from the first review event).\n",
            r.started,
            r.reached_quorum.len(),
            hours(r.median_hours),
            hours(r.p90_hours)
        )
        .expect("a string takes writes");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_percentile() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 10.0, 20.0]), Some(6.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 90), Some(3.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9.0));
        assert_eq!(nearest_rank(&ten, 50), Some(5.0));
    }
}
