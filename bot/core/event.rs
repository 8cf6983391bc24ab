//! Webhook bodies parsed into the few fields the handlers use.
//!
//! Our own serde types rather than octocrab's models: real payloads carry nulls and omit fields
//! that strict models require (`user: null`, no `installation.node_id`), and one missing field
//! must not drop a delivery. Every field is optional or defaulted unless a handler cannot work
//! without it.

use serde::Deserialize;

use crate::domain::commands::{self, Command};

/// GitHub caps webhook payloads at 25 MiB: intake refuses larger bodies, the store reads none.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// Who caused an event or wrote a comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Actor {
    #[serde(default)]
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Actor {
    /// GitHub Apps and other automation (`sender.type == "Bot"`): the bot ignores them.
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot" || self.login.ends_with("[bot]")
    }
}

/// An issue, pull request or discussion: what labels attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub number: u64,
    pub node_id: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub author: Actor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Issue,
    PullRequest,
    Discussion,
}

impl SubjectKind {
    const ALL: [SubjectKind; 3] = [
        SubjectKind::Issue,
        SubjectKind::PullRequest,
        SubjectKind::Discussion,
    ];

    /// The kind as the bot stores it (an activity's `detail`).
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Issue => "issue",
            SubjectKind::PullRequest => "pull_request",
            SubjectKind::Discussion => "discussion",
        }
    }

    /// The kind a stored name says.
    pub fn of(name: &str) -> Option<SubjectKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The kind in words, for people.
    pub fn in_words(self) -> &'static str {
        match self {
            SubjectKind::Issue => "issue",
            SubjectKind::PullRequest => "pull request",
            SubjectKind::Discussion => "discussion",
        }
    }
}

/// A comment on an issue, pull request or discussion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// For an edited comment, the body before the edit: only newly added commands run.
    pub previous_body: Option<String>,
    pub author: Actor,
    /// The author's standing in the repository, as GitHub says it (`author_association`).
    pub association: Association,
    pub url: String,
    /// The commands the comment adds, parsed once for every capability: all of a new
    /// comment's, only the new ones of an edit, none of a bot's.
    pub commands: Vec<Command>,
}

impl Comment {
    pub fn new(
        id: u64,
        body: String,
        previous_body: Option<String>,
        author: Actor,
        url: String,
    ) -> Comment {
        let commands = if author.is_bot() {
            Vec::new()
        } else {
            commands::added(&body, previous_body.as_deref())
        };
        Comment {
            id,
            body,
            previous_body,
            author,
            association: Association::default(),
            url,
            commands,
        }
    }
}

/// A pull request review (`pull_request_review` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub author: String,
    /// `approved`, `changes_requested`, `commented`, `dismissed` (as webhooks spell it).
    pub state: String,
}

/// An enum of names, each variant with the text it is spelled as, and `Other` for every text
/// that is none of them: the one place each name is written.
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            Other(String),
        }

        impl $name {
            /// The variant `text` names, else `Other(text)`.
            pub fn of(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The text as GitHub (or the bot's scheduler) spells it.
            pub fn name(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named! {
    /// What kind of event a delivery is: the `X-GitHub-Event` header typed once, here. Events the
    /// bot does not handle are kept as `Other` with the name they came with.
    pub enum EventKind {
        CheckRun = "check_run",
        CheckSuite = "check_suite",
        Discussion = "discussion",
        DiscussionComment = "discussion_comment",
        Installation = "installation",
        InstallationRepositories = "installation_repositories",
        IssueComment = "issue_comment",
        Issues = "issues",
        Label = "label",
        Ping = "ping",
        PullRequest = "pull_request",
        PullRequestReview = "pull_request_review",
        PullRequestReviewComment = "pull_request_review_comment",
        Push = "push",
        /// The bot's own timed work: an agenda pass before a meeting (never a webhook's: intake
        /// refuses names starting `gep-bot.`).
        Agenda = "gep-bot.agenda",
        /// The bot's own timed work: a GEP's graduation readiness as the dashboard's refresh
        /// found it, to say on its tracking issue.
        Graduation = "gep-bot.graduation",
    }
}

impl EventKind {
    /// Events about an issue, a pull request or a discussion itself (not a comment on it).
    pub fn is_about_subject(&self) -> bool {
        matches!(
            self,
            EventKind::Issues | EventKind::PullRequest | EventKind::Discussion
        )
    }

    /// Events about a comment on an issue, a pull request or a discussion.
    pub fn is_comment(&self) -> bool {
        matches!(self, EventKind::IssueComment | EventKind::DiscussionComment)
    }
}

named! {
    /// What happened, by the payload's `action`, typed once here. Actions the bot does not act on
    /// are kept as `Other`; an event without one (a push) has `Other("")`.
    pub enum EventAction {
        Opened = "opened",
        Edited = "edited",
        Closed = "closed",
        Reopened = "reopened",
        Labeled = "labeled",
        Unlabeled = "unlabeled",
        Synchronize = "synchronize",
        ReadyForReview = "ready_for_review",
        Created = "created",
        Deleted = "deleted",
        Submitted = "submitted",
        Dismissed = "dismissed",
    }
}

named! {
    /// A comment author's standing in the repository: the payload's `author_association`.
    pub enum Association {
        Owner = "OWNER",
        Member = "MEMBER",
        Collaborator = "COLLABORATOR",
        Contributor = "CONTRIBUTOR",
        FirstTimeContributor = "FIRST_TIME_CONTRIBUTOR",
        FirstTimer = "FIRST_TIMER",
        Mannequin = "MANNEQUIN",
        None = "NONE",
    }
}

impl Association {
    /// The repository's owner, a member of its organization, or a collaborator on it.
    pub fn is_member(&self) -> bool {
        matches!(
            self,
            Association::Owner | Association::Member | Association::Collaborator
        )
    }
}

/// The event name of a scheduled agenda pass.
pub const AGENDA_EVENT: &str = "gep-bot.agenda";

/// One webhook delivery, as the handlers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub action: EventAction,
    pub repo: String,
    pub installation: Option<u64>,
    pub sender: Actor,
    pub subject: Option<Subject>,
    pub comment: Option<Comment>,
    /// The label of a `labeled` / `unlabeled` action.
    pub label: Option<String>,
    /// For pull requests: the head commit, and the base commit it is compared with.
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    pub review: Option<Review>,
    /// For a push: what it changed.
    pub push: Option<Push>,
    /// When it happened, by the payload (ms): the review's submission, the comment's creation,
    /// the subject's opening or closing, else its last update.
    pub at_ms: Option<i64>,
    /// Timed work the bot scheduled for itself (event names starting `gep-bot.`): what it is
    /// about, as the scheduler wrote it.
    pub scheduled: Option<serde_json::Value>,
}

/// A push, as far as its webhook says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Push {
    /// To the repository's default branch.
    pub to_default_branch: bool,
    /// The paths its commits added, changed or removed, as the payload lists them.
    pub paths: Vec<String>,
    /// Whether `paths` is all it changed: not when the push was forced (commits left the branch)
    /// or listed the most commits a payload holds (GitHub lists at most 20).
    pub complete: bool,
}

/// The names of the events the bot schedules for itself (never GitHub's).
pub const SCHEDULED_PREFIX: &str = "gep-bot.";

/// The body stored for timed work about `repo`, shaped as a webhook's so the worker reads it the
/// same way; `scheduled` is what it is about ([`Event::scheduled`]).
pub fn scheduled_body(
    repo: &str,
    installation: Option<u64>,
    scheduled: &impl serde::Serialize,
) -> Vec<u8> {
    let mut body = serde_json::json!({
        "action": "due",
        "repository": { "full_name": repo },
        "sender": { "login": "gep-bot", "type": "Bot" },
        "scheduled": scheduled,
    });
    if let Some(id) = installation {
        body["installation"] = serde_json::json!({ "id": id });
    }
    serde_json::to_vec(&body).expect("timed work is JSON")
}

/// The most commits a push payload lists ("The array includes a maximum of 20 commits").
pub const PUSH_COMMITS_LISTED: usize = 20;

impl Push {
    /// Whether the push may have changed something under one of `folders` (each ending in `/`).
    pub fn may_touch(&self, folders: &[&str]) -> bool {
        self.to_default_branch
            && (!self.complete
                || self
                    .paths
                    .iter()
                    .any(|p| folders.iter().any(|f| p.starts_with(f))))
    }
}

/// `event` as a metric label: itself when the bot knows it, else `other` (the header is whatever
/// the sender wrote, and every label value is kept until the process exits).
pub fn metric_label(event: &str) -> &str {
    match EventKind::of(event) {
        EventKind::Other(_) | EventKind::Agenda | EventKind::Graduation => "other",
        _ => event,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the body is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// Well-formed JSON, but not an object with the fields' types GitHub sends.
    #[error("the body is JSON but not the shape of a GitHub event: {0}")]
    WrongShape(serde_json::Error),
    /// Repository names build API paths: one that is not GitHub's shape could steer a request
    /// to another endpoint (`../../user/repos#`), so the event is refused.
    #[error(
        "repository.full_name {0:?} is not OWNER/NAME of letters, digits, `-`, `_` and `.` (GitHub's rule)"
    )]
    BadRepository(String),
}

impl From<serde_json::Error> for EventError {
    fn from(error: serde_json::Error) -> Self {
        match error.classify() {
            serde_json::error::Category::Data => EventError::WrongShape(error),
            _ => EventError::NotJson(error),
        }
    }
}

/// `owner/name` as GitHub allows them: letters, digits, `-`, `_`, `.`, neither `.` nor `..`.
pub fn is_repository_name(full_name: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(full_name.split_once('/'), Some((owner, name)) if part(owner) && part(name))
}

impl Event {
    /// Parses a delivery. Events the bot does not handle parse too, with only the common fields.
    pub fn parse(name: &str, body: &[u8]) -> Result<Event, EventError> {
        let mut raw: RawEvent = serde_json::from_slice(body)?;
        raw.default_branch = raw
            .repository
            .as_ref()
            .and_then(|r| r.default_branch.clone());
        if let Some(repository) = &raw.repository
            && !is_repository_name(&repository.full_name)
        {
            return Err(EventError::BadRepository(repository.full_name.clone()));
        }
        let stamp = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
        };
        let action = raw.action.clone().unwrap_or_default();
        let subject_raw = raw
            .issue
            .as_ref()
            .or(raw.pull_request.as_ref())
            .or(raw.discussion.as_ref());
        let at_ms = raw
            .review
            .as_ref()
            .and_then(|r| stamp(&r.submitted_at))
            .or_else(|| {
                raw.comment.as_ref().and_then(|c| match action.as_str() {
                    "created" => stamp(&c.created_at),
                    _ => stamp(&c.updated_at),
                })
            })
            .or_else(|| {
                subject_raw.and_then(|s| match action.as_str() {
                    "opened" | "created" => stamp(&s.created_at),
                    "closed" => stamp(&s.closed_at),
                    _ => stamp(&s.updated_at),
                })
            });
        let subject = match name {
            "issues" | "issue_comment" => raw.issue.map(|i| {
                let kind = if i.pull_request.is_some() {
                    SubjectKind::PullRequest
                } else {
                    SubjectKind::Issue
                };
                i.into_subject(kind)
            }),
            "pull_request" | "pull_request_review" | "pull_request_review_comment" => raw
                .pull_request
                .clone()
                .map(|p| p.into_subject(SubjectKind::PullRequest)),
            "discussion" | "discussion_comment" => raw
                .discussion
                .map(|d| d.into_subject(SubjectKind::Discussion)),
            _ => None,
        };
        let comment = raw.comment.map(|c| Comment {
            association: Association::of(c.author_association.as_deref().unwrap_or_default()),
            ..Comment::new(
                c.id,
                c.body.unwrap_or_default(),
                raw.changes.and_then(|ch| ch.body).map(|b| b.from),
                c.user.unwrap_or_default(),
                c.html_url.unwrap_or_default(),
            )
        });
        let review = raw.review.map(|r| Review {
            author: r.user.map(|u| u.login).unwrap_or_default(),
            state: r.state.unwrap_or_default(),
        });
        Ok(Event {
            kind: EventKind::of(name),
            action: EventAction::of(&raw.action.unwrap_or_default()),
            repo: raw.repository.map(|r| r.full_name).unwrap_or_default(),
            installation: raw.installation.map(|i| i.id),
            sender: raw.sender.unwrap_or_default(),
            subject,
            comment,
            label: raw.label.map(|l| l.name),
            head_sha: raw
                .pull_request
                .as_ref()
                .and_then(|p| p.head.clone())
                .map(|h| h.sha),
            base_sha: raw.pull_request.and_then(|p| p.base).map(|b| b.sha),
            review,
            at_ms,
            scheduled: name
                .starts_with(SCHEDULED_PREFIX)
                .then_some(raw.scheduled)
                .flatten(),
            push: (name == "push").then(|| {
                let commits = raw.commits.unwrap_or_default();
                let default = raw.default_branch.as_deref().unwrap_or("main");
                Push {
                    to_default_branch: raw.git_ref.as_deref()
                        == Some(format!("refs/heads/{default}").as_str()),
                    complete: !raw.forced && commits.len() < PUSH_COMMITS_LISTED,
                    paths: commits
                        .into_iter()
                        .flat_map(|c| [c.added, c.modified, c.removed])
                        .flatten()
                        .collect(),
                }
            }),
        })
    }
}

impl Event {
    /// What timed work of `kind` is about, as its scheduler wrote it; none for another event or
    /// a body of another shape.
    pub fn scheduled_as<T: serde::de::DeserializeOwned>(&self, kind: EventKind) -> Option<T> {
        let scheduled = self.scheduled.as_ref().filter(|_| self.kind == kind)?;
        serde_json::from_value(scheduled.clone()).ok()
    }
}

/// Builders, for tests and tools that make an event by hand: every field a default but those
/// named, so a test says only what matters to it.
impl Event {
    /// An event of `kind` and `action` on `repo`, sent by nobody in particular, about nothing.
    pub fn new(kind: EventKind, action: EventAction, repo: &str) -> Event {
        Event {
            kind,
            action,
            repo: repo.to_owned(),
            ..Event::default()
        }
    }

    /// As [`Event::new`], with the kind and action as a delivery names them.
    pub fn named(kind: &str, action: &str, repo: &str) -> Event {
        Event::new(EventKind::of(kind), EventAction::of(action), repo)
    }

    pub fn sent_by(mut self, sender: Actor) -> Event {
        self.sender = sender;
        self
    }

    pub fn on(mut self, subject: Subject) -> Event {
        self.subject = Some(subject);
        self
    }

    pub fn in_installation(mut self, installation: u64) -> Event {
        self.installation = Some(installation);
        self
    }

    /// With a comment by the sender, parsed as a delivery's would be.
    pub fn with_comment(mut self, id: u64, body: &str, previous: Option<&str>) -> Event {
        self.comment = Some(Comment::new(
            id,
            body.to_owned(),
            previous.map(str::to_owned),
            self.sender.clone(),
            String::new(),
        ));
        self
    }

    /// The comment's author standing as `association` in the repository.
    pub fn by(mut self, association: Association) -> Event {
        if let Some(comment) = &mut self.comment {
            comment.association = association;
        }
        self
    }

    /// The label of a `labeled` or `unlabeled` action.
    pub fn with_label(mut self, label: &str) -> Event {
        self.label = Some(label.to_owned());
        self
    }
}

impl Actor {
    /// A person.
    pub fn user(login: &str) -> Actor {
        Actor {
            login: login.to_owned(),
            kind: "User".to_owned(),
        }
    }
}

impl Subject {
    /// Issue, pull request or discussion `number`, opened by `author`, untitled and unlabelled.
    pub fn new(kind: SubjectKind, number: u64, author: Actor) -> Subject {
        Subject {
            kind,
            number,
            node_id: String::new(),
            title: String::new(),
            body: String::new(),
            labels: Vec::new(),
            author,
        }
    }

    pub fn node(mut self, node_id: &str) -> Subject {
        self.node_id = node_id.to_owned();
        self
    }

    pub fn titled(mut self, title: &str) -> Subject {
        self.title = title.to_owned();
        self
    }

    pub fn labelled(mut self, labels: &[&str]) -> Subject {
        self.labels = labels.iter().map(|l| (*l).to_owned()).collect();
        self
    }
}

#[derive(Deserialize)]
struct RawEvent {
    action: Option<String>,
    repository: Option<RawRepository>,
    installation: Option<RawInstallation>,
    sender: Option<Actor>,
    issue: Option<RawSubject>,
    pull_request: Option<RawSubject>,
    discussion: Option<RawSubject>,
    comment: Option<RawComment>,
    label: Option<RawLabel>,
    changes: Option<RawChanges>,
    review: Option<RawReview>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    scheduled: Option<serde_json::Value>,
    #[serde(default)]
    forced: bool,
    commits: Option<Vec<RawCommit>>,
    #[serde(skip)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RawCommit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

#[derive(Deserialize)]
struct RawReview {
    user: Option<Actor>,
    state: Option<String>,
    submitted_at: Option<String>,
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RawInstallation {
    id: u64,
}

#[derive(Clone, Deserialize)]
struct RawSubject {
    number: u64,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Option<Vec<RawLabel>>,
    #[serde(default)]
    user: Option<Actor>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
    #[serde(default)]
    head: Option<RawHead>,
    #[serde(default)]
    base: Option<RawHead>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl RawSubject {
    fn into_subject(self, kind: SubjectKind) -> Subject {
        Subject {
            kind,
            number: self.number,
            node_id: self.node_id,
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            labels: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            author: self.user.unwrap_or_default(),
        }
    }
}

#[derive(Clone, Deserialize)]
struct RawHead {
    sha: String,
}

#[derive(Clone, Deserialize)]
struct RawLabel {
    name: String,
}

#[derive(Deserialize)]
struct RawComment {
    id: u64,
    body: Option<String>,
    user: Option<Actor>,
    author_association: Option<String>,
    html_url: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct RawChanges {
    body: Option<RawFrom>,
}

#[derive(Deserialize)]
struct RawFrom {
    from: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_and_actions_are_typed_and_spelled_back_as_they_came() {
        assert_eq!(EventKind::of("pull_request"), EventKind::PullRequest);
        assert_eq!(EventKind::of(AGENDA_EVENT), EventKind::Agenda);
        assert_eq!(EventKind::of("gollum"), EventKind::Other("gollum".into()));
        assert_eq!(EventKind::of("gollum").name(), "gollum");
        assert_eq!(EventKind::IssueComment.name(), "issue_comment");
        assert_eq!(
            EventAction::of("ready_for_review"),
            EventAction::ReadyForReview
        );
        assert_eq!(EventAction::of(""), EventAction::default());
        let event = Event::parse(
            "pull_request_review",
            br#"{"action": "submitted", "repository": {"full_name": "o/r"}}"#,
        )
        .unwrap();
        assert_eq!(
            (event.kind, event.action),
            (EventKind::PullRequestReview, EventAction::Submitted)
        );
    }

    #[test]
    fn json_of_the_wrong_shape_is_not_called_not_json() {
        let shape = Event::parse("issues", br#"[1, 2, 3]"#).unwrap_err();
        assert!(matches!(shape, EventError::WrongShape(_)), "{shape}");
        assert!(
            shape.to_string().contains("JSON but not the shape"),
            "{shape}"
        );
        let typed = Event::parse("issues", br#"{"action": 7}"#).unwrap_err();
        assert!(matches!(typed, EventError::WrongShape(_)), "{typed}");
        let broken = Event::parse("issues", b"{\"action\": ").unwrap_err();
        assert!(matches!(broken, EventError::NotJson(_)), "{broken}");
        assert_eq!(metric_label("issues"), "issues");
        assert_eq!(metric_label("issues\n"), "other");
    }

    #[test]
    fn a_repository_name_that_could_steer_a_path_is_refused_when_the_event_is_parsed() {
        for bad in [
            "../../user/repos#",
            "Codertocat/Hello-World/forks#",
            "Codertocat/x?per_page=1",
            "Codertocat/..",
            "Codertocat",
            "Codertocat/%2e%2e",
            "/x",
        ] {
            let body =
                serde_json::json!({ "action": "opened", "repository": { "full_name": bad } });
            let error = Event::parse("issues", &serde_json::to_vec(&body).unwrap()).unwrap_err();
            assert!(
                matches!(error, EventError::BadRepository(_)),
                "{bad}: {error}"
            );
            assert!(error.to_string().contains("GitHub's rule"), "{error}");
        }
        for good in [
            "Codertocat/Hello-World",
            "kubernetes-sigs/gateway-api",
            "o.k/x_y.z",
        ] {
            assert!(is_repository_name(good), "{good}");
        }
    }
}
