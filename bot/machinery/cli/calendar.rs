//! `gep-bot calendar [--schedule FILE] [--out FILE] [--list --from DATE --to DATE]`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};

use crate::products::calendar::{self, Schedule, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schedule file.
    #[arg(long, default_value = "schedules/gamma.toml", value_name = "FILE")]
    schedule: PathBuf,
    /// Write the .ics here instead of standard output.
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    out: Option<PathBuf>,
    /// Print the meetings as a table (local and UTC) instead of the feed.
    #[arg(long)]
    list: bool,
    /// First day listed (default: today).
    #[arg(long, value_name = "DATE", requires = "list")]
    from: Option<NaiveDate>,
    /// Day after the last one listed (default: eight weeks after --from).
    #[arg(long, value_name = "DATE", requires = "list")]
    to: Option<NaiveDate>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (schedule, _) = Schedule::load_or_builtin(&args.schedule)?;
    if args.list {
        let from = args.from.unwrap_or_else(|| Utc::now().date_naive());
        let to = args.to.unwrap_or(from + chrono::Days::new(56));
        if to <= from {
            anyhow::bail!("--to {to} must be after --from {from}");
        }
        let table = list(&schedule, from, to);
        std::io::stdout().lock().write_all(table.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let feed = calendar::ics::feed(&schedule);
    match &args.out {
        Some(path) => std::fs::write(path, feed)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(feed.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One meeting a line: local date, day and time in the calendar's zone, the same in UTC, and
/// what changed. The window is `[from, to)` in the calendar's zone.
pub fn list(schedule: &Schedule, from: NaiveDate, to: NaiveDate) -> String {
    let zone = schedule.timezone;
    let start = calendar::local_to_utc(zone, from.and_hms_opt(0, 0, 0).unwrap());
    let end = calendar::local_to_utc(zone, to.and_hms_opt(0, 0, 0).unwrap());
    let mut out = format!(
        "{:<26} {:<17} {:<18} {:<44} note\n",
        format!("local ({})", zone.name()),
        "UTC",
        "series",
        "meeting"
    );
    for meeting in calendar::occurrences(schedule, start, end) {
        let local = meeting.start.with_timezone(&zone);
        let note = match meeting.status {
            Status::Scheduled => String::new(),
            Status::Cancelled => format!("cancelled{}", reason(&meeting.reason)),
            Status::Moved => format!(
                "moved from {}{}",
                meeting.scheduled_local.format("%a %Y-%m-%d %H:%M"),
                reason(&meeting.reason)
            ),
        };
        let line = format!(
            "{:<26} {:<17} {:<18} {:<44} {note}",
            local.format("%a %Y-%m-%d %H:%M %Z").to_string(),
            meeting.start.format("%Y-%m-%d %H:%MZ").to_string(),
            meeting.series,
            meeting.meeting(schedule),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn reason(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map_or(String::new(), |r| format!(": {r}"))
}
