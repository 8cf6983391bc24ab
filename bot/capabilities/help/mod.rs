//! `/gep help` wherever the bot listens (issues, pull requests, discussions), built from every
//! capability's declared entries, never written twice; and the one short reply that a command of
//! GEP pull requests gets where it does nothing (a plain issue, a discussion, a pull request that
//! changes no GEP).

use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::core::{Action, Comment, Event, ExecError, Plan, Reads, Remembered, SubjectKind};
use crate::domain::commands::{Command, HelpEntry, usage};
use crate::capabilities::review::{self, ReviewRules};
use crate::domain::text::sanitize;

pub const HELP: &[HelpEntry] = &[HelpEntry {
    usage: usage::GEP_HELP,
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

/// `/gep help`, and the one reply to lead-review commands used where they do nothing.
pub struct Help {
    pub rules: ReviewRules,
    /// Every capability's entries, in the order the help lists them.
    pub entries: &'static [&'static [HelpEntry]],
}

impl Help {
    pub fn new(rules: &ReviewRules, entries: &'static [&'static [HelpEntry]]) -> Help {
        Help {
            rules: rules.clone(),
            entries,
        }
    }
}

/// What the reply needs beyond the comment.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The comment holds lead-review commands where they do nothing.
    pub misplaced: bool,
    /// The repository's rules, read when the help is asked for (its leads and quorum).
    pub rules: Option<ReviewRules>,
}

/// The comment's unknown `/gep` subcommands.
fn unknown(comment: &Comment) -> Vec<&str> {
    comment
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::GepUnknown(words) => Some(words.as_str()),
            _ => None,
        })
        .collect()
}

fn asks_help(comment: &Comment) -> bool {
    !unknown(comment).is_empty() || comment.commands.contains(&Command::GepHelp)
}

impl Capability for Help {
    const NAME: &'static str = "help";
    const HELP: &'static [HelpEntry] = HELP;
    type Gathered = Gathered;

    fn wants(&self, event: &Event) -> bool {
        event.subject.is_some() && event.comment.as_ref().is_some_and(|c| !c.commands.is_empty())
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        _memory: &impl Remembered,
    ) -> Result<Gathered, ExecError> {
        let (Some(comment), Some(subject)) = (&event.comment, &event.subject) else {
            return Ok(Gathered::default());
        };
        let reviewing = comment.commands.iter().any(review::is_review_command);
        let misplaced = reviewing
            && match subject.kind {
                SubjectKind::PullRequest => !self.rules.touches_geps(
                    &reads
                        .pull_request_files(&event.repo, subject.number)
                        .await?,
                ),
                SubjectKind::Issue | SubjectKind::Discussion => true,
            };
        let rules = if asks_help(comment) {
            Some(self.rules.of_repository(&event.repo, reads).await?)
        } else {
            None
        };
        Ok(Gathered { misplaced, rules })
    }

    fn plan(&self, event: &Event, gathered: Gathered, _now: DateTime<Utc>) -> Plan {
        let mut plan = Plan::default();
        let Some(comment) = &event.comment else {
            return plan;
        };
        let mut said = Vec::new();
        if gathered.misplaced {
            let mut usages: Vec<&str> = comment
                .commands
                .iter()
                .filter(|c| review::is_review_command(c))
                .map(Command::usage)
                .collect();
            usages.dedup();
            said.push(format!(
                "{} applies to GEP pull requests (those that change `{}`); here it does nothing.",
                usages
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                sanitize(&self.rules.geps_dir, 100)
            ));
        }
        for words in unknown(comment) {
            said.push(format!("`/gep {}` is not a command.", sanitize(words, 100)));
        }
        if let Some(rules) = gathered.rules.filter(|_| asks_help(comment)) {
            let leads: Vec<String> = rules.leads.iter().map(|l| sanitize(l, 39)).collect();
            said.push(format!(
                "{}\nGEP leads: {}. Quorum: {}.",
                table(self.entries),
                leads.join(", "),
                rules.quorum
            ));
        }
        if said.is_empty() {
            return plan;
        }
        let body = said.join("\n\n");
        plan.actions.extend(Action::reply_to(event, body));
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Actor, EventAction, EventKind, MemoryPull, MemoryRepo, Subject};
    use crate::capabilities::Capabilities;
    const EVERY: &[&[HelpEntry]] = Capabilities::HELP;

    fn on(kind: SubjectKind, author: &str, body: &str) -> Event {
        let person = Actor {
            login: author.into(),
            kind: "User".into(),
        };
        Event::new(EventKind::IssueComment, EventAction::Created, "o/r")
            .sent_by(person.clone())
            .on(Subject::new(kind, 7, person).node("D_7"))
            .with_comment(1, body, None)
    }

    async fn reply(event: &Event, repo: &MemoryRepo) -> Vec<Action> {
        let help = Help::new(&ReviewRules::default(), EVERY);
        let store = crate::machinery::store::SqliteStore::open("sqlite::memory:")
            .await
            .unwrap();
        help.run(event, repo, &store, crate::capabilities::capability::test_now())
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
