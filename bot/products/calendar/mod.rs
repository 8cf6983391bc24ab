//! The meeting calendar: a schedule file, the meetings it expands to, the iCalendar feed, and the
//! page that shows the next meetings in the visitor's own time zone.
//!
//! Everything but `http` is pure: the current time is an argument, so the feed is a function of
//! the schedule alone and every test pins its clock.

mod expand;
pub mod http;
pub mod ics;
pub mod page;
mod schedule;
mod vtimezone;

pub use expand::{Occurrence, Status, local_to_utc, meetings, occurrences};
pub use schedule::{
    BUILTIN, Change, Exception, Nth, Schedule, ScheduleError, Series, Slot, day_name,
};
