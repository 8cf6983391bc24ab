//! The agenda's passes on the shipped schedule, and what it says from given activity.

use super::*;
use crate::core::state::Concern;

fn gamma() -> Schedule {
    Schedule::parse(crate::products::calendar::BUILTIN, "schedules/gamma.toml").unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The meeting of Monday 2026-12-07 (23:00Z), the one before it 2026-12-01.
fn meeting_of_2026_12_07() -> Due {
    for_date(
        &gamma(),
        "o/r",
        Target::Issue(9),
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
    )
    .unwrap()
}

/// Activity of `o/r` seen at `at`.
fn seen(kind: ActivityKind, number: u64, detail: String, at: &str) -> Activity {
    Activity {
        repo: "o/r".into(),
        kind,
        number,
        detail,
        at_ms: Some(utc(at).timestamp_millis()),
    }
}

#[test]
fn each_meeting_gets_two_passes_named_by_meeting_due_before_it() {
    let rules = AgendaRules::default();
    // Tuesday 2026-12-01 08:00 PST (16:00Z, week B) and Monday 2026-12-07 15:00 PST (23:00Z,
    // week A) are next.
    let passes = passes(
        &gamma(),
        &rules,
        "o/r",
        Target::Issue(9),
        utc("2026-12-01T12:00:00Z"),
    );
    let first: Vec<(String, String)> = passes
        .iter()
        .take(4)
        .map(|(at, due)| (at.to_rfc3339(), due.delivery_id()))
        .collect();
    assert_eq!(
        first,
        [
            // 24 hours before has passed: now.
            (
                "2026-12-01T12:00:00+00:00".to_owned(),
                "agenda:o/r:2026-12-01T16:00Z:first".to_owned()
            ),
            (
                "2026-12-01T15:00:00+00:00".to_owned(),
                "agenda:o/r:2026-12-01T16:00Z:refresh".to_owned()
            ),
            (
                "2026-12-06T23:00:00+00:00".to_owned(),
                "agenda:o/r:2026-12-07T23:00Z:first".to_owned()
            ),
            (
                "2026-12-07T22:00:00+00:00".to_owned(),
                "agenda:o/r:2026-12-07T23:00Z:refresh".to_owned()
            ),
        ]
    );
    let due = &passes[2].1;
    assert_eq!(due.previous, Some(utc("2026-12-01T16:00:00Z")));
    assert_eq!(due.local, "Monday 2026-12-07 15:00 PST");
    assert_eq!(due.slots, ["Monday 15:00", "Tuesday 08:00"]);
    // Two weeks ahead: 12-01 and 12-07; 12-15 08:00 PST (16:00Z) is past the window's end
    // (12-15 12:00Z).
    assert_eq!(passes.len(), 4);
    // Later the same day (that meeting begun) the passes are the same deliveries as before.
    let later = super::passes(
        &gamma(),
        &rules,
        "o/r",
        Target::Issue(9),
        utc("2026-12-01T18:00:00Z"),
    );
    assert_eq!(later[0], passes[2]);
    // A pass whose time has passed before the meeting runs now.
    let close = super::passes(
        &gamma(),
        &rules,
        "o/r",
        Target::Issue(9),
        utc("2026-12-07T22:30:00Z"),
    );
    assert_eq!(close[0].0, utc("2026-12-07T22:30:00Z"));
    assert_eq!(
        close[0].1.delivery_id(),
        "agenda:o/r:2026-12-07T23:00Z:first"
    );
}

#[test]
fn the_agenda_lists_what_happened_since_the_previous_meeting_and_who_is_pending() {
    let due = meeting_of_2026_12_07();
    assert_eq!(due.meeting, utc("2026-12-07T23:00:00Z"));
    let seen = |kind, number, detail: &str, at: &str| seen(kind, number, detail.into(), at);
    let activity = vec![
        seen(
            ActivityKind::MeshOpened,
            40,
            "issue",
            "2026-11-20T10:00:00Z",
        ),
        seen(
            ActivityKind::MeshOpened,
            41,
            "discussion",
            "2026-12-02T10:00:00Z",
        ),
        seen(
            ActivityKind::StatusChanged,
            1731,
            "Experimental -> Standard",
            "2026-12-03T10:00:00Z",
        ),
        seen(ActivityKind::ReviewStarted, 12, "", "2026-11-01T10:00:00Z"),
        seen(ActivityKind::ReviewStarted, 13, "", "2026-11-02T10:00:00Z"),
        seen(ActivityKind::PullClosed, 13, "", "2026-11-03T10:00:00Z"),
    ];
    assert_eq!(open_reviews(&activity), [12]);
    let mut state = ReviewState::default();
    state.votes.insert("howardjohn".into(), Vote::Approved);
    state.concerns.push(Concern {
        name: "naming".into(),
        raised_by: "kflynn".into(),
        url: "u".into(),
        open: true,
    });
    let rules = ReviewRules::default();
    let agenda = agenda(&due, &activity, &[(12, Some(state))], &rules);
    assert_eq!(agenda.new_mesh, [("discussion".to_owned(), 41)]);
    assert_eq!(
        agenda.status_changes,
        [(1731, "Experimental -> Standard".to_owned())]
    );
    assert_eq!(
        agenda.awaiting_review[0].pending,
        ["mikemorris", "kflynn", "LiorLieberman"]
    );
    let text = agenda.markdown();
    assert!(
        text.starts_with("## Agenda: Gateway API community meeting (with GAMMA), 2026-12-07\n"),
        "{text}"
    );
    assert_eq!(
        agenda.due.marker(),
        "<!-- gep-bot:agenda-2026-12-07T23:00Z -->"
    );
    assert!(text.contains("**When:** Monday 2026-12-07 23:00 UTC (Monday 2026-12-07 15:00 PST). Slots: Monday 15:00 PT / Tuesday 08:00 PT."), "{text}");
    assert!(text.contains("since the meeting of 2026-12-01"), "{text}");
    assert!(
        text.contains("- discussion #41\n") && !text.contains("#40"),
        "{text}"
    );
    assert!(
        text.contains("- GEP-1731: Experimental -> Standard"),
        "{text}"
    );
    assert!(text.contains("- #12: 1/2 approvals; pending: mikemorris, kflynn, LiorLieberman; open concerns: naming (raised by kflynn)"), "{text}");
    assert!(!text.contains('@'), "no one is pinged: {text}");
}

#[test]
fn rules_that_cannot_work_say_so() {
    let rules = AgendaRules {
        issue: Some(9),
        ..AgendaRules::default()
    };
    assert!(rules.problem().unwrap().contains("no repository"));
    let rules = AgendaRules {
        repo: Some("o/r".into()),
        lead_time_hours: 1,
        refresh_hours: 1,
        ..AgendaRules::default()
    };
    assert!(rules.problem().unwrap().contains("lead_time_hours"));
    assert!(AgendaRules::default().problem().is_none());
}

#[test]
fn nominations_since_the_previous_meeting_stand_until_cancelled() {
    let due = meeting_of_2026_12_07();
    let said = |kind, number, by: &str, reason: &str, comment, at: &str| {
        let nomination = Nomination {
            item: if number == 5 { "discussion" } else { "issue" }.into(),
            by: by.into(),
            reason: reason.into(),
            comment,
        };
        seen(kind, number, serde_json::to_string(&nomination).unwrap(), at)
    };
    use ActivityKind::{Nominated as N, NominationCancelled as C};
    let activity = vec![
        // Before the previous meeting (2026-12-01 16:00Z): that meeting has passed.
        said(N, 1, "robscott", "old", 1, "2026-11-30T10:00:00Z"),
        said(N, 2, "robscott", "retries", 2, "2026-12-02T10:00:00Z"),
        said(N, 3, "kflynn", "", 3, "2026-12-02T11:00:00Z"),
        said(C, 3, "kflynn", "", 4, "2026-12-03T11:00:00Z"),
        // Cancelled, then nominated again by a new comment: on.
        said(N, 5, "mikemorris", "first try", 5, "2026-12-02T12:00:00Z"),
        said(C, 5, "mikemorris", "", 6, "2026-12-03T12:00:00Z"),
        said(N, 5, "mikemorris", "*again* @all", 7, "2026-12-04T12:00:00Z"),
    ];
    let agenda = agenda(&due, &activity, &[], &ReviewRules::default());
    let on: Vec<(u64, &str)> = agenda
        .nominated
        .iter()
        .map(|n| (n.number, n.of.reason.as_str()))
        .collect();
    assert_eq!(on, [(2, "retries"), (5, "*again* @all")]);
    let text = agenda.markdown();
    assert!(
        text.contains(
            "### Nominated\n\n- issue #2, by robscott: retries\n- discussion #5, by mikemorris: \\*again\\* @\u{2060}all\n"
        ),
        "{text}"
    );
    // Nothing nominated: the section says so.
    let empty = super::agenda(&due, &[], &[], &ReviewRules::default());
    assert!(empty.markdown().contains("### Nominated\n\nNone.\n"));
}
