//! What the bot publishes for people to read: the meeting calendar (feed and page), the GEP
//! dashboard, the initiative's report, and the front page that points at them. Products read the repository and the store; they do
//! not react to events (capabilities do) and write nothing to GitHub themselves.

pub mod calendar;
pub mod dashboard;
pub mod front;
pub mod report;
pub mod style;
