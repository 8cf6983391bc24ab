//! The GEP dashboard (SPEC section 12): every GEP with its status, whether it is about mesh, its
//! time in status, stale and past-probation flags, its readiness for the next status and its
//! finding counts, as JSON and as one HTML page that works without JavaScript (a script only
//! applies the filters in place; without it the form's query string is there for a server to
//! filter by).
//!
//! Pure: rows in, documents out ([`build`] makes the rows from what was read). `gep-bot
//! dashboard` reads a checkout; [`served`] reads the repository through the API for `GET /geps`.

pub mod build;
pub mod served;
use crate::capabilities::graduation::Standing;
use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::domain::gep::Status;
use crate::domain::standing::readiness::Readiness;
use crate::domain::text::html_escape as escape;

/// A GEP not changed for this long, in a status that is not final, is stale (by default;
/// `[dashboard] stale_months`).
pub const STALE_MONTHS: u32 = 6;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub number: u32,
    pub title: String,
    pub status: Option<Status>,
    pub mesh: bool,
    pub folder_url: String,
    pub issue_url: String,
    pub in_status_since: Option<NaiveDate>,
    /// `in_status_since` is a lower bound: the history starts in the status.
    pub in_status_since_at_least: bool,
    pub last_changed: Option<NaiveDate>,
    pub stale: bool,
    pub past_probation: bool,
    pub readiness: Readiness,
    pub errors: usize,
    pub warnings: usize,
    /// Open pull requests that change the GEP's folder, with their lead-review standing.
    pub pulls: Vec<build::Pull>,
}

impl Row {
    /// Its readiness for its next status, as a graduation nudge carries it (none without a status).
    pub fn standing(&self, repo: &str) -> Option<Standing> {
        let status = self.status?;
        Some(Standing {
            repo: repo.to_owned(),
            gep: self.number,
            title: self.title.clone(),
            status: status.to_string(),
            next: status.next().last().map(ToString::to_string),
            criteria: self.readiness.criteria.clone(),
        })
    }
}

/// Which rows a page shows (`?status=Experimental&mesh=1`, `?lead=LOGIN`); the rest are there,
/// hidden, for the script to show again (a lead's queue is the server's to filter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "checkbox")]
    pub mesh: bool,
    /// One lead's queue: the pull requests waiting on them, the concerns they raised.
    #[serde(default)]
    pub lead: Option<String>,
}

/// A form's checkbox: present with `1` (any value but empty or `0`) means on.
fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(value.is_some_and(|v| !v.is_empty() && v != "0"))
}

impl Filter {
    pub fn shows(&self, row: &Row) -> bool {
        let status = row.status.map_or("unknown", Status::as_str);
        self.status
            .as_deref()
            .is_none_or(|wanted| wanted.is_empty() || wanted == status)
            && (!self.mesh || row.mesh)
    }

    /// The lead asked for, if any (an empty field is none).
    pub fn lead(&self) -> Option<&str> {
        self.lead
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }
}

/// What needs whom, before everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Attention {
    /// GEPs that meet every criterion of their next status.
    pub ready: Vec<Ready>,
    /// Per lead, the GEP pull requests waiting on their vote, oldest first.
    pub awaiting_review: Vec<Queue>,
    /// Per person who raised them, the concerns still open.
    pub concerns: Vec<Concerns>,
    /// GEPs still moving that have not changed for the stale period.
    pub stale: Vec<Stale>,
    /// GEPs whose listed features are all in the Standard channel while the GEP is not there.
    pub drift: Vec<Drift>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    pub number: u32,
    pub title: String,
    pub next: Status,
}

#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    pub lead: String,
    pub pulls: Vec<Waiting>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// The pull request's number.
    pub number: u64,
    pub url: String,
    pub geps: Vec<u32>,
    /// Days since it was opened.
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Concerns {
    pub owner: String,
    pub items: Vec<ConcernItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConcernItem {
    /// The pull request's number.
    pub number: u64,
    pub url: String,
    pub geps: Vec<u32>,
    pub concern: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stale {
    pub number: u32,
    pub title: String,
    pub last_changed: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub number: u32,
    pub title: String,
    pub status: Option<Status>,
    /// Each feature with its channel.
    pub features: Vec<String>,
    /// What the GEP's status likely should be.
    pub likely: Status,
}

impl Attention {
    /// How many items each list holds, in the page's order: what its summary shows.
    pub fn counts(&self) -> [(&'static str, &'static str, usize); 5] {
        [
            ("ready", "ready for their next status", self.ready.len()),
            (
                "awaiting_review",
                "reviews awaited",
                self.awaiting_review.iter().map(|q| q.pulls.len()).sum(),
            ),
            (
                "concerns",
                "open concerns",
                self.concerns.iter().map(|c| c.items.len()).sum(),
            ),
            ("stale", "stale", self.stale.len()),
            ("drift", "behind their features", self.drift.len()),
        ]
    }

    fn of(rows: &[Row], today: NaiveDate) -> Attention {
        let mut attention = Attention::default();
        // A pull request may touch several GEPs: listed once, with each of them.
        let mut pulls: BTreeMap<u64, (&build::Pull, Vec<u32>)> = BTreeMap::new();
        for row in rows {
            for pull in &row.pulls {
                pulls
                    .entry(pull.number)
                    .or_insert((pull, Vec::new()))
                    .1
                    .push(row.number);
            }
            if row.readiness.ready()
                && let Some(&next) = row.status.and_then(|s| s.next().last())
            {
                attention.ready.push(Ready {
                    number: row.number,
                    title: row.title.clone(),
                    next,
                });
            }
            if row.stale {
                attention.stale.push(Stale {
                    number: row.number,
                    title: row.title.clone(),
                    last_changed: row.last_changed,
                });
            }
            if let Some(drift) = drift(row) {
                attention.drift.push(drift);
            }
        }
        let mut queues: BTreeMap<String, Vec<Waiting>> = BTreeMap::new();
        let mut raised: BTreeMap<String, Vec<ConcernItem>> = BTreeMap::new();
        for (pull, geps) in pulls.values() {
            for lead in &pull.pending {
                queues.entry(lead.clone()).or_default().push(Waiting {
                    number: pull.number,
                    url: pull.url.clone(),
                    geps: geps.clone(),
                    days: pull.opened.map(|d| (today - d).num_days()),
                });
            }
            for concern in &pull.concerns {
                raised
                    .entry(concern.raised_by.clone())
                    .or_default()
                    .push(ConcernItem {
                        number: pull.number,
                        url: pull.url.clone(),
                        geps: geps.clone(),
                        concern: concern.name.clone(),
                    });
            }
        }
        attention.awaiting_review = queues
            .into_iter()
            .map(|(lead, mut pulls)| {
                pulls.sort_by_key(|w| std::cmp::Reverse(w.days));
                Queue { lead, pulls }
            })
            .collect();
        attention.concerns = raised
            .into_iter()
            .map(|(owner, items)| Concerns { owner, items })
            .collect();
        attention
    }

    /// One lead's part: the reviews waiting on them and the concerns they raised.
    fn of_lead(&self, lead: &str) -> Attention {
        let is = |who: &str| who.eq_ignore_ascii_case(lead);
        Attention {
            awaiting_review: self
                .awaiting_review
                .iter()
                .filter(|q| is(&q.lead))
                .cloned()
                .collect(),
            concerns: self
                .concerns
                .iter()
                .filter(|c| is(&c.owner))
                .cloned()
                .collect(),
            ..Attention::default()
        }
    }
}

/// A GEP at Experimental or earlier whose listed features are all in the Standard channel.
fn drift(row: &Row) -> Option<Drift> {
    let listed = row.readiness.features.iter().map(|f| {
        let name = f.read_as.as_deref().unwrap_or(&f.name);
        (name, f.channel.as_deref())
    });
    let features = crate::domain::gep::features::behind(row.status?, listed)?;
    Some(Drift {
        number: row.number,
        title: row.title.clone(),
        status: row.status,
        features,
        likely: Status::Standard,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub repo: String,
    pub generated: NaiveDate,
    pub counts: BTreeMap<String, usize>,
    pub attention: Attention,
    /// Grouped by status (statuses still moving first), newest first within a group.
    pub geps: Vec<Row>,
}

/// Whether a GEP in `status`, last changed on `last_changed`, is stale on `today`: not changed
/// for `months`.
pub fn is_stale(
    status: Option<Status>,
    last_changed: Option<NaiveDate>,
    today: NaiveDate,
    months: u32,
) -> bool {
    let settled = matches!(
        status,
        Some(
            Status::Standard
                | Status::Completed
                | Status::Accepted
                | Status::Declined
                | Status::Withdrawn
        )
    );
    let Some(changed) = last_changed else {
        return false;
    };
    !settled
        && changed
            .checked_add_months(Months::new(months))
            .is_some_and(|due| due <= today)
}

/// The order of the groups: the ladder's statuses, still moving, first; then the rest.
const GROUPS: [Status; 11] = [
    Status::Provisional,
    Status::Prototyping,
    Status::Implementable,
    Status::Experimental,
    Status::Standard,
    Status::Memorandum,
    Status::Deferred,
    Status::Completed,
    Status::Accepted,
    Status::Declined,
    Status::Withdrawn,
];

fn group_of(status: Option<Status>) -> usize {
    status
        .and_then(|s| GROUPS.iter().position(|g| *g == s))
        .unwrap_or(GROUPS.len())
}

impl Dashboard {
    pub fn new(repo: &str, generated: NaiveDate, mut geps: Vec<Row>) -> Dashboard {
        geps.sort_by_key(|row| (group_of(row.status), std::cmp::Reverse(row.number)));
        let mut counts = BTreeMap::new();
        for row in &geps {
            let status = row.status.map_or("unknown", Status::as_str);
            *counts.entry(status.to_owned()).or_insert(0) += 1;
        }
        Dashboard {
            repo: repo.to_owned(),
            generated,
            counts,
            attention: Attention::of(&geps, generated),
            geps,
        }
    }

    /// One lead's queue (`?lead=LOGIN`): the reviews waiting on them, the concerns they raised,
    /// and the GEPs those touch.
    pub fn of_lead(&self, lead: &str) -> Dashboard {
        let attention = self.attention.of_lead(lead);
        let mentioned: std::collections::BTreeSet<u32> = attention
            .awaiting_review
            .iter()
            .flat_map(|q| q.pulls.iter().flat_map(|p| p.geps.iter().copied()))
            .chain(
                attention
                    .concerns
                    .iter()
                    .flat_map(|c| c.items.iter().flat_map(|i| i.geps.iter().copied())),
            )
            .collect();
        Dashboard {
            attention,
            geps: self
                .geps
                .iter()
                .filter(|row| mentioned.contains(&row.number))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The page: what needs attention, then every GEP by status, every row shown.
    pub fn html(&self) -> String {
        self.html_filtered(&Filter::default())
    }

    /// The page with the rows `filter` leaves out hidden (so it filters without JavaScript),
    /// or one lead's queue.
    pub fn html_filtered(&self, filter: &Filter) -> String {
        if let Some(lead) = filter.lead() {
            let queue = self.of_lead(lead);
            let filter = Filter {
                lead: Some(lead.to_owned()),
                ..filter.clone()
            };
            return queue.page(&filter);
        }
        self.page(filter)
    }

    fn page(&self, filter: &Filter) -> String {
        let mut statuses: Vec<&str> = self.counts.keys().map(String::as_str).collect();
        statuses.sort();
        let options: String = statuses
            .iter()
            .map(|s| {
                let selected = if filter.status.as_deref() == Some(*s) {
                    " selected"
                } else {
                    ""
                };
                format!("<option value=\"{s}\"{selected}>{s}</option>")
            })
            .collect();
        let shown = self.geps.iter().filter(|row| filter.shows(row)).count();
        let mut groups = String::new();
        for group in self
            .geps
            .chunk_by(|a, b| group_of(a.status) == group_of(b.status))
        {
            let status = group[0].status.map_or("unknown", Status::as_str);
            let rows: String = group
                .iter()
                .map(|row| row_html(row, filter.shows(row)))
                .collect();
            let hidden = if group.iter().any(|row| filter.shows(row)) {
                ""
            } else {
                " hidden"
            };
            groups.push_str(&format!(
                "<section class=\"group\" data-status=\"{status}\"{hidden} aria-labelledby=\"g-{status}\">\n<h3 id=\"g-{status}\">{status} <span class=\"muted\">({n})</span></h3>\n<table><thead><tr><th scope=\"col\">GEP</th><th scope=\"col\">In status since</th><th scope=\"col\">Flags</th><th scope=\"col\">Readiness</th><th scope=\"col\">Open pull requests</th><th scope=\"col\">Findings</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n</section>\n",
                n = group.len(),
            ));
        }
        let lead_value = filter.lead().map(escape).unwrap_or_default();
        let queue_note = match filter.lead() {
            Some(lead) => format!(
                "<p>The queue of <strong>{}</strong>: the reviews waiting on them, the concerns they raised, and the GEPs those touch. <a href=\"?\">Everything</a>.</p>",
                escape(lead)
            ),
            None => String::new(),
        };
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GEPs of {repo}</title>
<style>{css}</style></head>
<body>
<header>
<nav aria-label="Pages"><a href="/">gep-bot</a> · <a href="/calendar">Meetings</a></nav>
<h1>GEPs of {repo}</h1>
<p class="muted">Generated {generated}. <span id="shown">{shown}</span> of {total} GEPs shown.</p>
</header>
<main>
{queue_note}<section aria-labelledby="attention-title">
<h2 id="attention-title">Needs attention</h2>
{attention}
</section>
<section aria-labelledby="all-title">
<h2 id="all-title">Every GEP, by status</h2>
<ul class="tiles" id="counts">{counts}</ul>
<form id="filters" method="get">
<label for="f-status">Status <select id="f-status" name="status"><option value="">any</option>{options}</select></label>
<label class="check" for="f-mesh"><input type="checkbox" id="f-mesh" name="mesh" value="1"{mesh_checked}> mesh only</label>
<label for="f-lead">Lead (their queue) <input id="f-lead" name="lead" value="{lead_value}" size="14" autocomplete="off"></label>
<button type="submit">Filter</button>
</form>
<div id="geps">
{groups}</div>
</section>
</main>
<script>
// Applies the status and mesh filters in place (from the address, then on every change) by
// hiding rows and empty groups; a lead's queue is asked of the server.
(function () {{
  const form = document.getElementById('filters');
  const params = new URLSearchParams(location.search);
  if (params.get('lead')) return;
  form.status.value = params.get('status') || '';
  form.mesh.checked = params.get('mesh') === '1';
  function apply() {{
    let shown = 0;
    for (const group of document.querySelectorAll('#geps section.group')) {{
      let any = false;
      for (const row of group.querySelectorAll('tbody tr')) {{
        const ok = (!form.status.value || row.dataset.status === form.status.value)
          && (!form.mesh.checked || row.dataset.mesh === '1');
        row.hidden = !ok;
        if (ok) {{ shown++; any = true; }}
      }}
      group.hidden = !any;
    }}
    document.getElementById('shown').textContent = shown;
  }}
  form.addEventListener('change', apply);
  form.addEventListener('submit', e => {{ if (!form.lead.value) {{ e.preventDefault(); apply(); }} }});
  apply();
}})();
</script>
</body></html>
"#,
            repo = escape(&self.repo),
            css = crate::products::style::CSS,
            generated = self.generated,
            total = self.geps.len(),
            attention = attention_html(&self.attention),
            counts = self
                .counts
                .iter()
                .map(|(status, n)| format!("<li><strong>{n}</strong> {status}</li>"))
                .collect::<String>(),
            mesh_checked = if filter.mesh { " checked" } else { "" },
        )
    }
}

/// The attention area: a summary of counts, then each list that has something.
fn attention_html(attention: &Attention) -> String {
    let tiles: String = attention
        .counts()
        .iter()
        .map(|(key, label, n)| {
            format!("<li><a href=\"#{key}\"><strong data-attention=\"{key}\">{n}</strong></a> {label}</li>")
        })
        .collect();
    let gep = |n: u32| format!("GEP-{n}");
    let pull = |n: u64, url: &str| format!("<a href=\"{}\">#{n}</a>", escape(url));
    let mut out = format!("<ul class=\"tiles\" id=\"attention\">{tiles}</ul>\n");
    let mut list = |key: &str, title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        out.push_str(&format!(
            "<h3 id=\"{key}\">{title}</h3>\n<ul>{}</ul>\n",
            items
                .iter()
                .map(|i| format!("<li>{i}</li>"))
                .collect::<String>()
        ));
    };
    list(
        "ready",
        "Ready for their next status",
        attention
            .ready
            .iter()
            .map(|r| format!("{}: {} → {}", gep(r.number), escape(&r.title), r.next))
            .collect(),
    );
    list(
        "awaiting_review",
        "Reviews awaited, by lead",
        attention
            .awaiting_review
            .iter()
            .map(|q| {
                let pulls: Vec<String> = q
                    .pulls
                    .iter()
                    .map(|w| {
                        let geps: Vec<String> = w.geps.iter().map(|n| gep(*n)).collect();
                        let days = w.days.map_or(String::new(), |d| format!(", {d} days"));
                        format!("{} ({}{days})", pull(w.number, &w.url), geps.join(", "))
                    })
                    .collect();
                format!(
                    "<a href=\"?lead={lead}\">{lead}</a>: {}",
                    pulls.join("; "),
                    lead = escape(&q.lead)
                )
            })
            .collect(),
    );
    list(
        "concerns",
        "Open concerns, by who raised them",
        attention
            .concerns
            .iter()
            .map(|c| {
                let items: Vec<String> = c
                    .items
                    .iter()
                    .map(|i| format!("{} on {}", escape(&i.concern), pull(i.number, &i.url)))
                    .collect();
                format!("{}: {}", escape(&c.owner), items.join("; "))
            })
            .collect(),
    );
    list(
        "stale",
        "Stale (no change in months)",
        attention
            .stale
            .iter()
            .map(|s| {
                let since = s
                    .last_changed
                    .map_or(String::new(), |d| format!(", last changed {d}"));
                format!("{}: {}{since}", gep(s.number), escape(&s.title))
            })
            .collect(),
    );
    list(
        "drift",
        "Behind their features (the features went Standard)",
        attention
            .drift
            .iter()
            .map(|d| {
                format!(
                    "{}: {} is {} while {}; likely {}",
                    gep(d.number),
                    escape(&d.title),
                    d.status.map_or("unknown", Status::as_str),
                    escape(&d.features.join(", ")),
                    d.likely
                )
            })
            .collect(),
    );
    out
}

fn row_html(row: &Row, shown: bool) -> String {
    let status = row.status.map_or("unknown", Status::as_str);
    let mut flags = Vec::new();
    if row.mesh {
        flags.push("<span class=\"flag mesh\">mesh</span>".to_owned());
    }
    if row.stale {
        flags.push(format!(
            "<span class=\"flag\" title=\"no change since {}\">stale</span>",
            row.last_changed.map_or(String::new(), |d| d.to_string())
        ));
    }
    if row.past_probation {
        flags.push("<span class=\"flag\">past probation</span>".to_owned());
    }
    let criteria: String = row
        .readiness
        .criteria
        .iter()
        .map(|c| {
            format!(
                "<li class=\"{}\" title=\"{}\"><span aria-hidden=\"true\">{}</span> {} <span class=\"muted\">({})</span></li>",
                if c.met { "met" } else { "unmet" },
                escape(&c.detail),
                if c.met { "&#10003;" } else { "&#10007;" },
                escape(&c.criterion),
                if c.met { "met" } else { "not yet" },
            )
        })
        .collect();
    let criteria = if criteria.is_empty() {
        "<span class=\"muted\">no next step to judge</span>".to_owned()
    } else {
        format!("<ul>{criteria}</ul>")
    };
    let pulls: String = row
        .pulls
        .iter()
        .map(|p| {
            format!(
                "<li><a href=\"{}\">#{}</a>: {}</li>",
                escape(&p.url),
                p.number,
                escape(&p.review)
            )
        })
        .collect();
    let pulls = if pulls.is_empty() {
        pulls
    } else {
        format!("<ul>{pulls}</ul>")
    };
    let since = match row.in_status_since {
        Some(day) if row.in_status_since_at_least => format!("at least since {day}"),
        Some(day) => day.to_string(),
        None => String::new(),
    };
    format!(
        "<tr data-status=\"{status}\" data-mesh=\"{mesh}\"{hidden}><td data-label=\"GEP\"><a href=\"{folder}\">GEP-{number}</a>: {title} (<a href=\"{issue}\">#{number}</a>)</td><td data-label=\"In status since\">{since}</td><td data-label=\"Flags\">{flags}</td><td data-label=\"Readiness\">{criteria}</td><td data-label=\"Open pull requests\">{pulls}</td><td data-label=\"Findings\">{errors} error{es}, {warnings} warning{ws}</td></tr>\n",
        mesh = u8::from(row.mesh),
        hidden = if shown { "" } else { " hidden" },
        folder = escape(&row.folder_url),
        issue = escape(&row.issue_url),
        number = row.number,
        title = escape(&row.title),
        flags = flags.join(" "),
        errors = row.errors,
        warnings = row.warnings,
        es = if row.errors == 1 { "" } else { "s" },
        ws = if row.warnings == 1 { "" } else { "s" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn stale_is_six_months_without_a_change_in_a_status_still_moving() {
        let today = day("2026-12-01");
        assert!(is_stale(
            Some(Status::Experimental),
            Some(day("2026-06-01")),
            today,
            STALE_MONTHS
        ));
        assert!(!is_stale(
            Some(Status::Experimental),
            Some(day("2026-06-02")),
            today,
            STALE_MONTHS
        ));
        assert!(!is_stale(
            Some(Status::Standard),
            Some(day("2020-01-01")),
            today,
            STALE_MONTHS
        ));
        assert!(!is_stale(
            Some(Status::Provisional),
            None,
            today,
            STALE_MONTHS
        ));
    }

    #[test]
    fn a_title_cannot_open_markup() {
        let row = Row {
            title: "<script>alert(1)</script>".into(),
            mesh: true,
            ..row(1, Status::Provisional, vec![])
        };
        let page = Dashboard::new("o/r", day("2026-12-01"), vec![row]).html();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)"));
    }

    fn row(number: u32, status: Status, pulls: Vec<build::Pull>) -> Row {
        Row {
            number,
            title: format!("GEP {number}"),
            status: Some(status),
            mesh: false,
            folder_url: String::new(),
            issue_url: String::new(),
            in_status_since: None,
            in_status_since_at_least: false,
            last_changed: None,
            stale: false,
            past_probation: false,
            readiness: Readiness {
                features: vec![],
                criteria: vec![],
                in_status_since: None,
                probation_ends: None,
            },
            errors: 0,
            warnings: 0,
            pulls,
        }
    }

    #[test]
    fn attention_lists_each_pull_once_per_lead_and_concerns_by_who_raised_them() {
        let pull = build::Pull {
            number: 7,
            url: "u7".into(),
            review: String::new(),
            pending: vec!["ana".into(), "bo".into()],
            opened: Some(day("2026-11-01")),
            concerns: vec![build::OpenConcern {
                name: "naming".into(),
                raised_by: "bo".into(),
            }],
        };
        // One pull request that changes two GEPs.
        let rows = vec![
            row(10, Status::Provisional, vec![pull.clone()]),
            row(11, Status::Experimental, vec![pull]),
            row(12, Status::Provisional, vec![]),
        ];
        let dashboard = Dashboard::new("o/r", day("2026-12-01"), rows);
        let a = &dashboard.attention;
        assert_eq!(a.awaiting_review.len(), 2);
        assert_eq!(a.awaiting_review[0].lead, "ana");
        assert_eq!(a.awaiting_review[0].pulls[0].geps, [10, 11]);
        assert_eq!(a.awaiting_review[0].pulls[0].days, Some(30));
        assert_eq!(a.concerns[0].owner, "bo");
        assert_eq!(a.concerns[0].items[0].concern, "naming");
        // Grouped: Provisional first, newest first.
        let order: Vec<u32> = dashboard.geps.iter().map(|r| r.number).collect();
        assert_eq!(order, [12, 10, 11]);
        // Bo's queue: their review and their concern, and the GEPs those touch.
        let bo = dashboard.of_lead("bo");
        assert_eq!(bo.attention.awaiting_review.len(), 1);
        assert_eq!(bo.attention.concerns.len(), 1);
        let geps: Vec<u32> = bo.geps.iter().map(|r| r.number).collect();
        assert_eq!(geps, [10, 11]);
        let page = dashboard.html_filtered(&Filter {
            lead: Some("bo".into()),
            ..Filter::default()
        });
        assert!(
            page.contains("data-attention=\"awaiting_review\">1<"),
            "{page}"
        );
    }
}
