//! The calendar page: the next meetings, shown by the visitor's browser in the visitor's own time
//! zone (the server cannot know it), with links to subscribe in any calendar client.
//!
//! No framework: a small server-rendered page whose times are `<time datetime="...Z">` elements,
//! first written in the calendar's zone and then rewritten by a few lines of script with
//! `Intl.DateTimeFormat`, so the page still reads correctly without script.

use crate::domain::text::html_escape as escape;
use chrono::{DateTime, Duration, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::expand::{Status, occurrences};
use super::schedule::Schedule;

/// How many meetings the page lists.
pub const SHOWN: usize = 8;

/// Where the feed is published, for the subscribe links: `https://host/calendar.ics`.
#[derive(Debug, Clone)]
pub struct FeedUrl(pub String);

impl FeedUrl {
    fn webcal(&self) -> String {
        match self.0.split_once("://") {
            Some((_, rest)) => format!("webcal://{rest}"),
            None => format!("webcal://{}", self.0),
        }
    }

    fn google(&self) -> String {
        format!(
            "https://calendar.google.com/calendar/render?cid={}",
            utf8_percent_encode(&self.webcal(), NON_ALPHANUMERIC)
        )
    }

    fn outlook(&self, name: &str) -> String {
        format!(
            "https://outlook.live.com/calendar/0/addfromweb?url={}&name={}",
            utf8_percent_encode(&self.0, NON_ALPHANUMERIC),
            utf8_percent_encode(name, NON_ALPHANUMERIC)
        )
    }
}

pub fn render(schedule: &Schedule, now: DateTime<Utc>, feed: &FeedUrl) -> String {
    // A cancelled meeting stays listed, struck out with its reason: people look for it.
    let upcoming: Vec<_> = occurrences(schedule, now, now + Duration::days(366))
        .into_iter()
        .take(SHOWN)
        .collect();
    let mut items = String::new();
    for meeting in &upcoming {
        let zone_time = meeting.start.with_timezone(&schedule.timezone);
        let fallback = zone_time.format("%A %Y-%m-%d %H:%M %Z").to_string();
        let note = match (meeting.status, &meeting.reason) {
            (Status::Cancelled, Some(reason)) => {
                format!(" <span class=\"note\">cancelled: {}</span>", escape(reason))
            }
            (Status::Cancelled, None) => " <span class=\"note\">cancelled</span>".to_owned(),
            (Status::Moved, Some(reason)) => {
                format!(" <span class=\"note\">moved: {}</span>", escape(reason))
            }
            (Status::Moved, None) => " <span class=\"note\">moved</span>".to_owned(),
            (Status::Scheduled, _) => String::new(),
        };
        let class = if meeting.status == Status::Cancelled {
            " class=\"cancelled\""
        } else {
            ""
        };
        items.push_str(&format!(
            "      <li{class}><time datetime=\"{}\">{}</time> <span class=\"meeting\">{}</span>{note}</li>\n",
            meeting.start.format("%Y-%m-%dT%H:%M:%SZ"),
            escape(&fallback),
            escape(meeting.meeting(schedule)),
        ));
    }
    if upcoming.is_empty() {
        items.push_str("      <li>No meetings are scheduled.</li>\n");
    }
    let name = escape(&schedule.name);
    let description = schedule
        .description
        .as_deref()
        .map_or(String::new(), |d| format!("<p>{}</p>", escape(d)));
    let join = schedule.url.as_deref().map_or(String::new(), |u| {
        format!("<p><a href=\"{0}\">Join the meeting</a></p>", escape(u))
    });
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{name}</title>
  <link rel="alternate" type="text/calendar" href="{feed}">
  <style>{css}</style>
</head>
<body>
  <header>
  <h1>{name}</h1>
  {description}
  {join}
  </header>
  <main>
  <h2>Next meetings</h2>
  <p>Times are shown in <strong id="zone">{zone}</strong>.</p>
  <ol id="meetings">
{items}  </ol>
  <h2>Subscribe</h2>
  <ul>
    <li><a href="{webcal}">Apple Calendar and other clients (webcal)</a></li>
    <li><a href="{google}">Google Calendar</a></li>
    <li><a href="{outlook}">Outlook</a></li>
    <li><a href="{feed}">The iCalendar feed</a></li>
  </ul>
  </main>
  <script>
    const format = new Intl.DateTimeFormat(undefined, {{
      weekday: "long", year: "numeric", month: "long", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    }});
    for (const time of document.querySelectorAll("time[datetime]")) {{
      time.textContent = format.format(new Date(time.getAttribute("datetime")));
    }}
    document.getElementById("zone").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  </script>
</body>
</html>
"#,
        feed = escape(&feed.0),
        zone = escape(schedule.timezone.name()),
        webcal = escape(&feed.webcal()),
        google = escape(&feed.google()),
        outlook = escape(&feed.outlook(&schedule.name)),
        css = crate::products::style::CSS,
    )
}
