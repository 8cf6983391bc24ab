//! `/gep help` wherever the bot listens (issues, pull requests, discussions), built from every
//! capability's declared entries, never written twice; and the one short reply that a command of
//! GEP pull requests gets where it does nothing (a plain issue, a discussion, a pull request that
//! changes no GEP).

use crate::commands::{Command, HelpEntry};
use crate::github::event::SubjectKind;
use crate::github::{Action, Event, ExecError, Plan, Reads};
use crate::review::{self, ReviewRules};
use crate::text::sanitize;

pub const HELP: &[HelpEntry] = &[HelpEntry {
    usage: "/gep help",
    description: "shows this help",
    who: "anyone",
}];

/// The command table, from the capabilities' entries in the order given.
pub fn table(entries: &[&[HelpEntry]]) -> String {
    let mut body = String::from("| Command | What it does | Who may use it |\n|---|---|---|\n");
    for entry in entries.iter().flat_map(|e| e.iter()) {
        body.push_str(&format!(
            "| `{}` | {} | {} |\n",
            entry.usage, entry.description, entry.who
        ));
    }
    body
}

pub async fn handle(
    event: &Event,
    entries: &[&[HelpEntry]],
    rules: &ReviewRules,
    reads: &impl Reads,
) -> Result<Plan, ExecError> {
    let (Some(comment), Some(subject)) = (&event.comment, &event.subject) else {
        return Ok(Plan::default());
    };
    let unknown: Vec<&str> = comment
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::GepUnknown(words) => Some(words.as_str()),
            _ => None,
        })
        .collect();
    let asks_help = !unknown.is_empty() || comment.commands.contains(&Command::GepHelp);
    let review_commands: Vec<&Command> = comment
        .commands
        .iter()
        .filter(|c| review::is_review_command(c))
        .collect();
    let misplaced = !review_commands.is_empty()
        && match subject.kind {
            SubjectKind::PullRequest => !rules.touches_geps(
                &reads
                    .pull_request_files(&event.repo, subject.number)
                    .await?,
            ),
            SubjectKind::Issue | SubjectKind::Discussion => true,
        };
    let mut said = Vec::new();
    if misplaced {
        let mut usages: Vec<&str> = review_commands.iter().map(|c| usage(c)).collect();
        usages.dedup();
        said.push(format!(
            "{} applies to GEP pull requests (those that change `{}`); here it does nothing.",
            usages
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", "),
            sanitize(&rules.geps_dir, 100)
        ));
    }
    for words in unknown {
        said.push(format!("`/gep {}` is not a command.", sanitize(words, 100)));
    }
    if asks_help {
        let rules = &rules.of_repository(&event.repo, reads).await?;
        let leads: Vec<String> = rules.leads.iter().map(|l| sanitize(l, 39)).collect();
        said.push(format!(
            "{}\nGEP leads: {}. Quorum: {}.",
            table(entries),
            leads.join(", "),
            rules.quorum
        ));
    }
    let mut plan = Plan::default();
    if said.is_empty() {
        return Ok(plan);
    }
    let body = said.join("\n\n");
    plan.actions.push(match subject.kind {
        SubjectKind::Discussion => Action::DiscussionReply {
            repo: event.repo.clone(),
            number: subject.number,
            node_id: subject.node_id.clone(),
            body,
        },
        _ => Action::Reply {
            repo: event.repo.clone(),
            issue: subject.number,
            body,
        },
    });
    Ok(plan)
}

fn usage(command: &Command) -> &'static str {
    match command {
        Command::GepApprove => "/gep approve",
        Command::GepApproveCancel => "/gep approve cancel",
        Command::GepConcern(_) => "/gep concern NAME",
        Command::GepResolve(_) => "/gep resolve NAME",
        _ => "this command",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::event::Comment;
    use crate::github::{Actor, MemoryPull, MemoryRepo, Subject};
    use crate::pipeline::capabilities::HELP as EVERY;

    fn on(kind: SubjectKind, author: &str, body: &str) -> Event {
        let person = Actor {
            login: author.into(),
            kind: "User".into(),
        };
        Event {
            name: "issue_comment".into(),
            action: "created".into(),
            repo: "o/r".into(),
            installation: None,
            sender: person.clone(),
            subject: Some(Subject {
                kind,
                number: 7,
                node_id: "D_7".into(),
                title: String::new(),
                body: String::new(),
                labels: Vec::new(),
                author: person.clone(),
            }),
            comment: Some(Comment::new(1, body.into(), None, person, String::new())),
            ..Event::default()
        }
    }

    async fn reply(event: &Event, repo: &MemoryRepo) -> Vec<Action> {
        handle(event, EVERY, &ReviewRules::default(), repo)
            .await
            .unwrap()
            .actions
    }

    #[tokio::test]
    async fn help_in_a_plain_issue_lists_every_command_including_status() {
        let actions = reply(
            &on(SubjectKind::Issue, "someone", "/gep help"),
            &MemoryRepo::default(),
        )
        .await;
        let [Action::Reply { issue: 7, body, .. }] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        for entry in EVERY.iter().flat_map(|e| e.iter()) {
            assert!(body.contains(&format!("`{}`", entry.usage)), "{body}");
        }
        assert!(body.contains("`/gep status [N]`"), "{body}");
        assert!(body.contains("Quorum: 2"), "{body}");
    }

    #[tokio::test]
    async fn a_review_command_where_it_does_nothing_gets_one_reply_saying_where_it_applies() {
        let event = on(
            SubjectKind::Issue,
            "someone",
            "/gep approve\n/gep approve\n/gep concern x",
        );
        let actions = reply(&event, &MemoryRepo::default()).await;
        let [Action::Reply { body, .. }] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        assert!(
            body.starts_with("`/gep approve`, `/gep concern NAME` applies to GEP pull requests"),
            "{body}"
        );
        // A pull request that changes no GEP is elsewhere too; one that does is the review's.
        let mut repo = MemoryRepo::default();
        repo.pulls.insert(
            7,
            MemoryPull {
                files: vec!["site/x.md".into()],
                ..MemoryPull::default()
            },
        );
        let event = on(SubjectKind::PullRequest, "someone", "/gep approve");
        assert_eq!(reply(&event, &repo).await.len(), 1);
        repo.pulls.get_mut(&7).unwrap().files = vec!["geps/gep-7/index.md".into()];
        assert!(reply(&event, &repo).await.is_empty());
    }

    #[tokio::test]
    async fn an_unknown_subcommand_is_named_and_answered_with_the_help_in_a_discussion_too() {
        let event = on(SubjectKind::Discussion, "someone", "/gep aprove");
        let actions = reply(&event, &MemoryRepo::default()).await;
        let [Action::DiscussionReply { node_id, body, .. }] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        assert_eq!(node_id, "D_7");
        assert!(
            body.starts_with("`/gep aprove` is not a command."),
            "{body}"
        );
        assert!(body.contains("`/gep help`"), "{body}");
        assert!(
            reply(
                &on(SubjectKind::Issue, "x", "thanks!"),
                &MemoryRepo::default()
            )
            .await
            .is_empty()
        );
    }
}
