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
    pub last_changed: Option<NaiveDate>,
    pub stale: bool,
    pub past_probation: bool,
    pub readiness: Readiness,
    pub errors: usize,
    pub warnings: usize,
    /// Open pull requests that change the GEP's folder, with their lead-review standing.
    pub pulls: Vec<build::Pull>,
}

/// Which rows a page shows (`?status=Experimental&mesh=1`); the rest are there, hidden, for the
/// script to show again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "checkbox")]
    pub mesh: bool,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub repo: String,
    pub generated: NaiveDate,
    pub counts: BTreeMap<String, usize>,
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

impl Dashboard {
    pub fn new(repo: &str, generated: NaiveDate, mut geps: Vec<Row>) -> Dashboard {
        geps.sort_by_key(|row| row.number);
        let mut counts = BTreeMap::new();
        for row in &geps {
            let status = row.status.map_or("unknown", Status::as_str);
            *counts.entry(status.to_owned()).or_insert(0) += 1;
        }
        Dashboard {
            repo: repo.to_owned(),
            generated,
            counts,
            geps,
        }
    }

    /// The page: a filter form, counts, one table row per GEP, every row shown.
    pub fn html(&self) -> String {
        self.html_filtered(&Filter::default())
    }

    /// The page with the rows `filter` leaves out hidden (so it filters without JavaScript).
    pub fn html_filtered(&self, filter: &Filter) -> String {
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
        let rows: String = self
            .geps
            .iter()
            .map(|row| row_html(row, filter.shows(row)))
            .collect();
        let shown = self.geps.iter().filter(|row| filter.shows(row)).count();
        let counts: String = self
            .counts
            .iter()
            .map(|(status, n)| format!("<li>{status}: {n}</li>"))
            .collect();
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GEPs of {repo}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
.flag {{ font-size: .8rem; padding: 0 .3rem; border-radius: .2rem; background: #fde68a; }}
.mesh {{ background: #bfdbfe; }}
.met {{ color: #166534; }} .unmet {{ color: #991b1b; }}
</style></head>
<body>
<h1>GEPs of {repo}</h1>
<p>Generated {generated}. <span id="shown">{shown}</span> of {total} GEPs shown.</p>
<ul id="counts">{counts}</ul>
<form id="filters" method="get">
<label>Status <select name="status"><option value="">any</option>{options}</select></label>
<label><input type="checkbox" name="mesh" value="1"{mesh_checked}> mesh only</label>
<button type="submit">Filter</button>
</form>
<table id="geps"><thead><tr><th>GEP</th><th>Status</th><th>In status since</th><th>Flags</th><th>Readiness</th><th>Open pull requests</th><th>Findings</th></tr></thead>
<tbody>
{rows}</tbody></table>
<script>
// Applies the form's filters (from the address, then on every change) by hiding rows.
(function () {{
  const form = document.getElementById('filters');
  const params = new URLSearchParams(location.search);
  form.status.value = params.get('status') || '';
  form.mesh.checked = params.get('mesh') === '1';
  function apply() {{
    let shown = 0;
    for (const row of document.querySelectorAll('#geps tbody tr')) {{
      const ok = (!form.status.value || row.dataset.status === form.status.value)
        && (!form.mesh.checked || row.dataset.mesh === '1');
      row.hidden = !ok;
      if (ok) shown++;
    }}
    document.getElementById('shown').textContent = shown;
  }}
  form.addEventListener('change', apply);
  form.addEventListener('submit', e => {{ e.preventDefault(); apply(); }});
  apply();
}})();
</script>
</body></html>
"#,
            repo = escape(&self.repo),
            generated = self.generated,
            total = self.geps.len(),
            mesh_checked = if filter.mesh { " checked" } else { "" },
        )
    }
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
                "<li class=\"{}\" title=\"{}\">{} {}</li>",
                if c.met { "met" } else { "unmet" },
                escape(&c.detail),
                if c.met { "&#10003;" } else { "&#10007;" },
                escape(&c.criterion)
            )
        })
        .collect();
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
    format!(
        "<tr data-status=\"{status}\" data-mesh=\"{mesh}\"{hidden}><td><a href=\"{folder}\">GEP-{number}</a>: {title} (<a href=\"{issue}\">#{number}</a>)</td><td>{status}</td><td>{since}</td><td>{flags}</td><td><ul>{criteria}</ul></td><td><ul>{pulls}</ul></td><td>{errors} error{es}, {warnings} warning{ws}</td></tr>\n",
        mesh = u8::from(row.mesh),
        hidden = if shown { "" } else { " hidden" },
        folder = escape(&row.folder_url),
        issue = escape(&row.issue_url),
        number = row.number,
        title = escape(&row.title),
        since = row.in_status_since.map_or(String::new(), |d| d.to_string()),
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
            number: 1,
            title: "<script>alert(1)</script>".into(),
            status: Some(Status::Provisional),
            mesh: true,
            folder_url: "u".into(),
            issue_url: "i".into(),
            in_status_since: None,
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
            pulls: vec![],
        };
        let page = Dashboard::new("o/r", day("2026-12-01"), vec![row]).html();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)"));
    }
}
