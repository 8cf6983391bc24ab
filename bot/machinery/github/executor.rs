//! Turns actions into GitHub writes, or into log lines in dry-run. Each write is made
//! idempotent here: a label added only when missing, the bot's comment found by its marker and
//! edited (or left alone when it already says the same), a commit status set only when the
//! commit does not show it, a check run keyed by head SHA. Reads for the handlers are not here:
//! they go through [`super::reads::Reads`].
//!
//! A reply is the one write that is not idempotent by itself, so it carries a marker of its
//! own ([`Attempt::reply_marker`]: the delivery and the action). A job that may have written in
//! an attempt that died before recording it ([`Attempt::recovering`]) looks for that marker
//! before replying, and for labels already on the issue before adding them; the normal path
//! reads nothing more.

use http::Method;
use serde_json::{Value, json};

use super::auth::Credentials;
use super::transport::{GitHub, encode};
use crate::core::ExecError;
use crate::core::{Action, LabelTarget};

/// GitHub takes at most 50 annotations in one check-run request; later updates append.
const MAX_ANNOTATIONS: usize = 50;

/// The attempt of a job an action belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The delivery the job runs: with the action's key, it names a reply for good.
    pub delivery: &'a str,
    /// An earlier attempt may have written before its process died (the job was claimed
    /// before): what is not idempotent is looked for on GitHub before it is written.
    pub recovering: bool,
    /// When the delivery arrived: an earlier attempt wrote nothing before.
    pub since_ms: i64,
}

impl Attempt<'_> {
    /// The hidden marker of one reply of one delivery, the same in every attempt.
    pub fn reply_marker(&self, action: &Action) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(format!("{}\n{}", self.delivery, action.key()));
        format!("<!-- gep-bot:reply {} -->", hex::encode(&digest[..8]))
    }
}

pub enum Executor {
    /// Plans are logged and nothing is sent (no credentials, or `GEP_BOT_DRY_RUN=1`).
    DryRun,
    GitHub(std::sync::Arc<GitHub>),
}

/// What became of an action that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written, found written, or (in dry-run) logged.
    Done,
    /// GitHub refused it for good (a 422 on a write that helps but decides nothing): logged,
    /// not retried, and what the bot remembers of it is [`Action::refused`].
    Refused(String),
}

impl Executor {
    /// Whether actions reach GitHub (not dry-run).
    pub fn writes(&self) -> bool {
        matches!(self, Executor::GitHub(_))
    }

    pub async fn execute(
        &self,
        installation: Option<u64>,
        action: &Action,
        attempt: &Attempt<'_>,
    ) -> Result<Outcome, ExecError> {
        match self {
            Executor::DryRun => {
                let json = serde_json::to_string(action).unwrap_or_default();
                tracing::info!(action = %json, "dry-run: not sent");
                Ok(Outcome::Done)
            }
            Executor::GitHub(github) => {
                if attempt.recovering {
                    match github.done_before(installation, action, attempt).await {
                        Ok(true) => {
                            tracing::info!(
                                kind = action.kind(),
                                "found on GitHub from an earlier attempt; not written again"
                            );
                            return Ok(Outcome::Done);
                        }
                        Ok(false) => {}
                        // A look GitHub refuses for good decides nothing: the write says what
                        // holds. One that may pass later is tried again with the job.
                        Err(ExecError::Permanent(why)) => {
                            tracing::warn!(kind = action.kind(), %why, "cannot look for an earlier attempt's write");
                        }
                        Err(error) => return Err(error),
                    }
                }
                match github.execute(installation, action, attempt).await {
                    // A write that helps but decides nothing: GitHub's 422 (it will not take it,
                    // now or on a retry) is logged and the action done.
                    Err(ExecError::Permanent(why))
                        if refusable(action) && why.starts_with("422") =>
                    {
                        tracing::warn!(kind = action.kind(), %why, "GitHub refused it; not retried");
                        Ok(Outcome::Refused(said_by_github(&why)))
                    }
                    other => other.map(|()| Outcome::Done),
                }
            }
        }
    }
}

/// What GitHub said in a refusal, for people: the error without its status and request
/// (`422 POST /repos/o/r/...: ` comes first).
fn said_by_github(error: &str) -> String {
    error
        .split_once(": ")
        .map_or(error, |(_, said)| said)
        .to_owned()
}

/// The writes that help but decide nothing, whose refusal is not a failure: a review request
/// (GitHub refuses a reviewer who is not a collaborator), suggestions (a line outside the diff
/// once the head moved on).
fn refusable(action: &Action) -> bool {
    matches!(
        action,
        Action::RequestReview { .. } | Action::SuggestChanges { .. }
    )
}

/// A comment of the bot's, as GitHub has it now.
struct FoundComment {
    id: u64,
    body: String,
}

impl GitHub {
    /// Whether an earlier attempt's write of `action` is on GitHub already: a reply with its
    /// marker among the comments since the delivery arrived, labels already on the issue. For
    /// the other actions, which find their own effect before writing, `false`.
    async fn done_before(
        &self,
        installation: Option<u64>,
        action: &Action,
        attempt: &Attempt<'_>,
    ) -> Result<bool, ExecError> {
        match action {
            Action::Reply { repo, issue, .. } => {
                let since = chrono::DateTime::from_timestamp_millis(attempt.since_ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let comments = self
                    .pages(
                        installation,
                        &format!("/repos/{repo}/issues/{issue}/comments?since={since}"),
                        50,
                    )
                    .await?;
                let bots_only = matches!(self.credentials, Credentials::App { .. });
                let marker = attempt.reply_marker(action);
                Ok(marked_comment(comments, &marker, bots_only).is_some())
            }
            Action::DiscussionReply { repo, number, .. } => {
                let marker = attempt.reply_marker(action);
                let (_, found) = self
                    .find_discussion_comment(installation, repo, *number, &marker)
                    .await?;
                Ok(found.is_some())
            }
            Action::AddLabels {
                repo,
                target: LabelTarget::Issue { number },
                labels,
            } => {
                let on = self
                    .pages(
                        installation,
                        &format!("/repos/{repo}/issues/{number}/labels"),
                        10,
                    )
                    .await?;
                Ok(labels
                    .iter()
                    .all(|label| on.iter().any(|l| l["name"].as_str() == Some(label))))
            }
            _ => Ok(false),
        }
    }

    async fn execute(
        &self,
        installation: Option<u64>,
        action: &Action,
        attempt: &Attempt<'_>,
    ) -> Result<(), ExecError> {
        match action {
            Action::AddLabels {
                repo,
                target: LabelTarget::Issue { number },
                labels,
            } => {
                let path = format!("/repos/{repo}/issues/{number}/labels");
                self.send(
                    installation,
                    Method::POST,
                    &path,
                    Some(json!({ "labels": labels })),
                    true,
                )
                .await
                .map(drop)
            }
            Action::AddLabels {
                repo,
                target: LabelTarget::Discussion { node_id, .. },
                labels,
            } => {
                let ids = self.label_ids(installation, repo, labels).await?;
                let mutation = "mutation($id: ID!, $labels: [ID!]!) { addLabelsToLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId } }";
                self.graphql(
                    installation,
                    mutation,
                    json!({ "id": node_id, "labels": ids }),
                    true,
                )
                .await
                .map(drop)
            }
            Action::RemoveLabel {
                repo,
                target: LabelTarget::Issue { number },
                label,
            } => {
                let path = format!("/repos/{repo}/issues/{number}/labels/{}", encode(label));
                // Already gone (404): the action's goal holds.
                self.send_unless_missing(installation, Method::DELETE, &path, true)
                    .await
                    .map(drop)
            }
            Action::RemoveLabel {
                repo,
                target: LabelTarget::Discussion { node_id, .. },
                label,
            } => {
                let ids = self
                    .label_ids(installation, repo, std::slice::from_ref(label))
                    .await?;
                let mutation = "mutation($id: ID!, $labels: [ID!]!) { removeLabelsFromLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId } }";
                self.graphql(
                    installation,
                    mutation,
                    json!({ "id": node_id, "labels": ids }),
                    true,
                )
                .await
                .map(drop)
            }
            Action::CreateComment {
                repo,
                issue,
                marker,
                body,
            } => {
                let text = format!("{marker}\n{body}");
                match self
                    .find_comment(installation, repo, *issue, marker)
                    .await?
                {
                    // Already says it (a redelivery, a retry, an event that changed nothing):
                    // no write, so none waits for this installation's pacing.
                    Some(found) if found.body == text => Ok(()),
                    Some(found) => self.edit_comment(installation, repo, found.id, &text).await,
                    None => self.post_comment(installation, repo, *issue, &text).await,
                }
            }
            Action::UpdateComment {
                repo,
                comment_id,
                body,
            } => {
                self.edit_comment(installation, repo, *comment_id, body)
                    .await
            }
            Action::Reply { repo, issue, body } => {
                let text = format!("{body}\n\n{}", attempt.reply_marker(action));
                self.post_comment(installation, repo, *issue, &text).await
            }
            Action::CreateDiscussionComment {
                repo,
                discussion,
                marker,
                body,
            } => {
                let text = format!("{marker}\n{body}");
                let (id, found) = self
                    .find_discussion_comment(installation, repo, *discussion, marker)
                    .await?;
                match found {
                    Some((_, found)) if found == text => Ok(()),
                    Some((comment, _)) => {
                        let mutation = "mutation($id: ID!, $body: String!) { updateDiscussionComment(input: {commentId: $id, body: $body}) { comment { id } } }";
                        self.graphql(
                            installation,
                            mutation,
                            json!({ "id": comment, "body": text }),
                            true,
                        )
                        .await
                        .map(drop)
                    }
                    None => {
                        let mutation = "mutation($id: ID!, $body: String!) { addDiscussionComment(input: {discussionId: $id, body: $body}) { comment { id } } }";
                        self.graphql(
                            installation,
                            mutation,
                            json!({ "id": id, "body": text }),
                            true,
                        )
                        .await
                        .map(drop)
                    }
                }
            }
            Action::DiscussionReply { node_id, body, .. } => {
                let text = format!("{body}\n\n{}", attempt.reply_marker(action));
                let mutation = "mutation($id: ID!, $body: String!) { addDiscussionComment(input: {discussionId: $id, body: $body}) { comment { id } } }";
                self.graphql(
                    installation,
                    mutation,
                    json!({ "id": node_id, "body": text }),
                    true,
                )
                .await
                .map(drop)
            }
            Action::SetCommitStatus {
                repo,
                sha,
                context,
                state,
                description,
            } => {
                let current = self.commit_status(installation, repo, sha, context).await?;
                if current.as_ref().is_some_and(|current| {
                    current["state"] == state.as_str()
                        && current["description"] == description.as_str()
                }) {
                    // GitHub keeps every status set (up to 1,000 a context on a commit): one
                    // that says the same again would only use up a paced write.
                    return Ok(());
                }
                let path = format!("/repos/{repo}/statuses/{}", encode(sha));
                let body =
                    json!({ "state": state, "context": context, "description": description });
                self.send(installation, Method::POST, &path, Some(body), true)
                    .await
                    .map(drop)
            }
            Action::CreateCheckRun {
                repo,
                head_sha,
                name,
                conclusion,
                title,
                summary,
                annotations,
                ..
            } => {
                // The App's own runs only: another App may run a check of the same name.
                let app = match &self.credentials {
                    Credentials::App { app_id, .. } => format!("&app_id={app_id}"),
                    Credentials::Token(_) => String::new(),
                };
                let existing = self
                    .send(
                        installation,
                        Method::GET,
                        &format!(
                            "/repos/{repo}/commits/{}/check-runs?check_name={}{app}&filter=latest",
                            encode(head_sha),
                            encode(name)
                        ),
                        None,
                        false,
                    )
                    .await?;
                let newest = &existing["check_runs"][0];
                let output = &newest["output"];
                if newest["conclusion"] == conclusion.as_str()
                    && output["title"] == title.as_str()
                    && output["summary"] == summary.as_str()
                    && output["annotations_count"].as_u64() == Some(annotations.len() as u64)
                {
                    // Checked again with the same result (a redelivery, a retry, a reopen):
                    // re-sending would append every annotation a second time.
                    return Ok(());
                }
                // A new result: a new run, so the SHA shows exactly this evaluation's
                // annotations (an update would add them to the old ones).
                let mut batches = annotations.chunks(MAX_ANNOTATIONS);
                let first: &[_] = batches.next().unwrap_or(&[]);
                let output = json!({ "title": title, "summary": summary, "annotations": first });
                let body = json!({ "name": name, "head_sha": head_sha, "status": "completed", "conclusion": conclusion, "output": output });
                let run = self
                    .send(
                        installation,
                        Method::POST,
                        &format!("/repos/{repo}/check-runs"),
                        Some(body),
                        true,
                    )
                    .await?;
                let id = run["id"]
                    .as_u64()
                    .ok_or_else(|| ExecError::Transient("check run without an id".into()))?;
                for batch in batches {
                    let output =
                        json!({ "title": title, "summary": summary, "annotations": batch });
                    self.send(
                        installation,
                        Method::PATCH,
                        &format!("/repos/{repo}/check-runs/{id}"),
                        Some(json!({ "output": output })),
                        true,
                    )
                    .await?;
                }
                Ok(())
            }
            Action::RequestReview {
                repo,
                pull,
                reviewer,
            } => {
                let path = format!("/repos/{repo}/pulls/{pull}/requested_reviewers");
                let body = json!({ "reviewers": [reviewer] });
                // GitHub refuses a reviewer who is not a collaborator of the repository (a 422,
                // see `refusable`): asking again will not change that.
                self.send(installation, Method::POST, &path, Some(body), true)
                    .await
                    .map(drop)
            }
            Action::SuggestChanges {
                repo,
                pull,
                head_sha,
                marker,
                body,
                comments,
            } => {
                let reviews = self
                    .pages(
                        installation,
                        &format!("/repos/{repo}/pulls/{pull}/reviews"),
                        30,
                    )
                    .await?;
                if reviews.iter().any(|r| {
                    r["body"]
                        .as_str()
                        .is_some_and(|b| b.contains(marker.as_str()))
                }) {
                    // This head has its suggestions (a re-check, a retry, a redelivery).
                    return Ok(());
                }
                let comments: Vec<Value> = comments
                    .iter()
                    .map(|c| {
                        let mut comment = json!({ "path": c.path, "line": c.line, "side": "RIGHT", "body": c.body });
                        if let Some(start) = c.start_line {
                            comment["start_line"] = json!(start);
                            comment["start_side"] = json!("RIGHT");
                        }
                        comment
                    })
                    .collect();
                let review = json!({
                    "commit_id": head_sha,
                    "event": "COMMENT",
                    "body": format!("{body}\n\n{marker}"),
                    "comments": comments,
                });
                let path = format!("/repos/{repo}/pulls/{pull}/reviews");
                // GitHub refuses a comment on a line outside the diff (the head moved on, say; a
                // 422, see `refusable`): suggestions are a help, not a result.
                self.send(installation, Method::POST, &path, Some(review), true)
                    .await
                    .map(drop)
            }
            Action::UpdateCheckRun {
                repo,
                check_run_id,
                conclusion,
                title,
                summary,
            } => {
                let body = json!({ "status": "completed", "conclusion": conclusion, "output": { "title": title, "summary": summary } });
                self.send(
                    installation,
                    Method::PATCH,
                    &format!("/repos/{repo}/check-runs/{check_run_id}"),
                    Some(body),
                    true,
                )
                .await
                .map(drop)
            }
        }
    }

    async fn post_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        issue: u64,
        body: &str,
    ) -> Result<(), ExecError> {
        let path = format!("/repos/{repo}/issues/{issue}/comments");
        self.send_comment(installation, Method::POST, &path, body)
            .await
    }

    async fn edit_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<(), ExecError> {
        let path = format!("/repos/{repo}/issues/comments/{id}");
        self.send_comment(installation, Method::PATCH, &path, body)
            .await
    }

    async fn send_comment(
        &self,
        installation: Option<u64>,
        method: Method,
        path: &str,
        body: &str,
    ) -> Result<(), ExecError> {
        self.send(
            installation,
            method,
            path,
            Some(json!({ "body": body })),
            true,
        )
        .await
        .map(drop)
    }

    /// The bot's comment carrying `marker` on an issue, if it wrote one.
    async fn find_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        issue: u64,
        marker: &str,
    ) -> Result<Option<FoundComment>, ExecError> {
        let comments = self
            .pages(
                installation,
                &format!("/repos/{repo}/issues/{issue}/comments"),
                50,
            )
            .await?;
        let bots_only = matches!(self.credentials, Credentials::App { .. });
        Ok(marked_comment(comments, marker, bots_only))
    }

    /// A discussion's node id, and the bot's comment in it that carries `marker` (its node id and
    /// body), among the latest 100 comments.
    async fn find_discussion_comment(
        &self,
        installation: Option<u64>,
        repo: &str,
        number: u64,
        marker: &str,
    ) -> Result<(String, Option<(String, String)>), ExecError> {
        let (owner, name) = super::graphql::owner_and_name(repo)?;
        let query = "query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, name: $name) { discussion(number: $number) { id comments(last: 100) { nodes { id body author { __typename login } } } } } }";
        let data = self
            .graphql(
                installation,
                query,
                json!({ "owner": owner, "name": name, "number": number }),
                false,
            )
            .await?;
        let discussion = &data["repository"]["discussion"];
        let Some(id) = discussion["id"].as_str() else {
            return Err(ExecError::Permanent(format!(
                "404 {repo} has no discussion #{number}"
            )));
        };
        let bots_only = matches!(self.credentials, Credentials::App { .. });
        let found = discussion["comments"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| !bots_only || c["author"]["__typename"] == "Bot")
            .find_map(|c| {
                let body = c["body"].as_str()?;
                body.contains(marker).then(|| {
                    (
                        c["id"].as_str().unwrap_or_default().to_owned(),
                        body.to_owned(),
                    )
                })
            });
        Ok((id.to_owned(), found))
    }

    /// The latest status `context` has on commit `sha`, if it has one: GitHub's combined status
    /// lists each context's latest (the first 100 contexts; past them, none is found and the
    /// status is set again, which is harmless).
    async fn commit_status(
        &self,
        installation: Option<u64>,
        repo: &str,
        sha: &str,
        context: &str,
    ) -> Result<Option<Value>, ExecError> {
        let path = format!("/repos/{repo}/commits/{}/status?per_page=100", encode(sha));
        // A commit GitHub does not know: the write that follows says why.
        let Some(mut combined) = self
            .send_unless_missing(installation, Method::GET, &path, false)
            .await?
        else {
            return Ok(None);
        };
        let Value::Array(statuses) = combined["statuses"].take() else {
            return Ok(None);
        };
        Ok(statuses.into_iter().find(|s| s["context"] == context))
    }
}

/// The first of `comments` that carries `marker`. The marker is plain text anyone can paste
/// into a comment of their own, so an App (`bots_only`) takes only comments written by a bot
/// account, as its own are: otherwise a person's comment, posted first with the marker, would
/// be edited over, or the edit refused and the bot's status never published. A token
/// (development) writes as a person, so there every author counts.
fn marked_comment(comments: Vec<Value>, marker: &str, bots_only: bool) -> Option<FoundComment> {
    comments.into_iter().find_map(|mut c| {
        if bots_only && c["user"]["type"] != "Bot" {
            return None;
        }
        let Value::String(body) = c["body"].take() else {
            return None;
        };
        let id = c["id"].as_u64()?;
        body.contains(marker).then_some(FoundComment { id, body })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_edits_only_a_bots_comment_however_many_carry_its_marker() {
        let marker = "<!-- gep-bot:lead-review -->";
        let comments = || {
            vec![
                json!({ "id": 1, "body": format!("{marker}\nplanted"), "user": { "login": "mallory", "type": "User" } }),
                json!({ "id": 2, "body": "unrelated", "user": { "login": "gep-bot[bot]", "type": "Bot" } }),
                json!({ "id": 3, "body": format!("{marker}\nstatus"), "user": { "login": "gep-bot[bot]", "type": "Bot" } }),
            ]
        };
        let found = marked_comment(comments(), marker, true).unwrap();
        assert_eq!(
            (found.id, found.body.as_str()),
            (3, "<!-- gep-bot:lead-review -->\nstatus")
        );
        assert_eq!(marked_comment(comments(), marker, false).unwrap().id, 1);
        assert!(marked_comment(comments()[..2].to_vec(), marker, true).is_none());
    }
}
