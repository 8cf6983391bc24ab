//! The words the lead review puts on GitHub. Anything taken from people (logins, concern names)
//! is neutralised: an `@` cannot ping, markup cannot break the comment, nothing runs long.

use crate::domain::commands::{Command, usage};
pub use crate::domain::text::sanitize;

use super::{PullRequest, ReviewRules, ReviewState, Vote};

/// One line for the commit status (GitHub cuts descriptions at 140 characters).
pub fn status_line(state: &ReviewState, rules: &ReviewRules) -> String {
    if state.is_approved(rules) {
        return format!("{}/{} lead approvals", state.approvals(rules), rules.quorum);
    }
    let mut missing = Vec::new();
    let needed = rules.quorum.saturating_sub(state.approvals(rules));
    if needed > 0 {
        missing.push(format!(
            "needs {needed} more lead approval{}",
            if needed == 1 { "" } else { "s" }
        ));
    }
    let changes = state
        .votes
        .values()
        .filter(|v| **v == Vote::ChangesRequested)
        .count();
    if changes > 0 {
        missing.push(format!("{changes} lead requested changes"));
    }
    let open = state.concerns.iter().filter(|c| c.open).count();
    if open > 0 {
        missing.push(format!(
            "{open} open concern{}",
            if open == 1 { "" } else { "s" }
        ));
    }
    missing.join(", ")
}

pub fn status_comment(state: &ReviewState, rules: &ReviewRules, pr: &PullRequest) -> String {
    let mut body = String::from("### GEP lead review\n\n| Lead | Review |\n|---|---|\n");
    for lead in &rules.leads {
        let key = lead.to_lowercase();
        let standing = if key == pr.author.to_lowercase() {
            "author (does not count)".to_owned()
        } else {
            match (state.votes.get(&key), state.refused.get(&key)) {
                (Some(Vote::Approved), _) => "✅ approved".to_owned(),
                (Some(Vote::ChangesRequested), _) => "❌ changes requested".to_owned(),
                (None, Some(why)) => format!(
                    "⏳ pending; GitHub refused the review request ({})",
                    sanitize(why, 200)
                ),
                (None, None) if state.requested.contains(&key) => {
                    "⏳ pending, review requested".to_owned()
                }
                (None, None) => "⏳ pending".to_owned(),
            }
        };
        // Leads are named without `@`: the comment is edited often and must not ping each time.
        body.push_str(&format!("| {} | {standing} |\n", sanitize(lead, 39)));
    }
    let open: Vec<_> = state.concerns.iter().filter(|c| c.open).collect();
    if !open.is_empty() {
        body.push_str("\n**Open concerns**\n\n");
        for concern in open {
            body.push_str(&format!(
                "- [{}]({}) raised by {}\n",
                sanitize(&concern.name, 100),
                concern.url.replace(['(', ')', ' '], ""),
                sanitize(&concern.raised_by, 39)
            ));
        }
    }
    body.push('\n');
    if state.is_approved(rules) {
        body.push_str(&format!(
            "**Approved** by {} of {} required leads.\n",
            state.approvals(rules),
            rules.quorum
        ));
    } else {
        body.push_str(&format!(
            "**Not yet approved:** {}.\n",
            status_line(state, rules)
        ));
    }
    let commands: Vec<String> = super::HELP
        .iter()
        .map(|entry| format!("`{}`", entry.usage))
        .collect();
    body.push_str(&format!(
        "\nLeads (from {}): {}. `{}` for more.\n",
        rules.leads_from,
        commands.join(", "),
        usage::GEP_HELP
    ));
    body
}

pub fn not_allowed(command: &Command, rules: &ReviewRules) -> String {
    let usage = command.name();
    let leads: Vec<String> = rules.leads.iter().map(|l| sanitize(l, 39)).collect();
    format!(
        "Only the GEP leads may use `{usage}`: {}.",
        leads.join(", ")
    )
}
