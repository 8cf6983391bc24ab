//! GraphQL requests: one POST to the GraphQL endpoint, errors in a 200 answer sorted like REST's,
//! and the queries that have no REST form worth its cost (label ids for discussions).

use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use chrono::{DateTime, Utc};
use http::HeaderMap;

#[cfg(test)]
use super::transport::graphql_endpoint;
use super::transport::{Exchange, GitHub, JSON};
use crate::core::ExecError;

impl GitHub {
    pub(super) async fn label_ids(
        &self,
        installation: Option<u64>,
        repo: &str,
        labels: &[String],
    ) -> Result<Vec<String>, ExecError> {
        let (owner, name) = owner_and_name(repo)?;
        let query = "query($owner: String!, $name: String!, $label: String!) { repository(owner: $owner, name: $name) { label(name: $label) { id } } }";
        let mut ids = Vec::new();
        for label in labels {
            let data = self
                .graphql(
                    installation,
                    query,
                    json!({ "owner": owner, "name": name, "label": label }),
                    false,
                )
                .await?;
            let id = data["repository"]["label"]["id"].as_str().ok_or_else(|| {
                ExecError::Permanent(format!(
                    "label `{label}` does not exist in {repo}: create it"
                ))
            })?;
            ids.push(id.to_owned());
        }
        Ok(ids)
    }

    pub(super) async fn graphql(
        &self,
        installation: Option<u64>,
        query: &str,
        variables: Value,
        write: bool,
    ) -> Result<Value, ExecError> {
        let answer = self
            .exchange(
                installation,
                Exchange {
                    method: Method::POST,
                    url: &self.graphql,
                    what: "/graphql",
                    body: Some(json!({ "query": query, "variables": variables })),
                    write,
                    accept: JSON,
                },
            )
            .await?;
        let result = outcome(answer.json(), &answer.headers, Utc::now());
        // A rate limit said in a 200 holds the installation back like one said in a 403.
        if let Err(error) = &result {
            self.hold(installation, error);
        }
        result
    }
}

/// What a GraphQL answer means. GitHub answers errors with HTTP 200: a rate limit
/// (`RATE_LIMITED`, with `x-ratelimit-reset`) waits until the reset; errors beside partial data
/// may pass on another attempt; errors without data will not.
pub(super) fn outcome(
    mut response: Value,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Value, ExecError> {
    let Some(errors) = response.get("errors").filter(|e| !e.is_null()) else {
        return Ok(response["data"].take());
    };
    let text: String = errors.to_string().chars().take(500).collect();
    let limited = errors
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["type"] == "RATE_LIMITED");
    if limited {
        let reset = headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let wait = reset.map_or(60, |reset| (reset - now.timestamp()).max(1) as u64);
        return Err(ExecError::RateLimited {
            wait: Duration::from_secs(wait),
            reason: format!("GraphQL rate limit: {text}"),
            secondary: reset.is_none(),
        });
    }
    if response["data"].is_null() {
        Err(ExecError::Permanent(format!("GraphQL: {text}")))
    } else {
        Err(ExecError::Transient(format!(
            "GraphQL, partial data: {text}"
        )))
    }
}

/// `owner/name` split in two, as GraphQL asks for a repository.
pub(super) fn owner_and_name(repo: &str) -> Result<(&str, &str), ExecError> {
    repo.split_once('/')
        .ok_or_else(|| ExecError::Permanent(format!("bad repository name {repo}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graphql_rate_limit_answered_200_waits_until_the_reset() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1700000090".parse().unwrap());
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let limited = json!({ "data": null, "errors": [{ "type": "RATE_LIMITED", "message": "API rate limit exceeded" }] });
        let e = outcome(limited.clone(), &headers, now).unwrap_err();
        assert!(
            matches!(e, ExecError::RateLimited { wait, secondary: false, .. } if wait == Duration::from_secs(90)),
            "{e:?}"
        );
        let partial = json!({ "data": { "repository": null }, "errors": [{ "type": "NOT_FOUND", "message": "x" }] });
        assert!(matches!(
            outcome(partial, &headers, now),
            Err(ExecError::Transient(_))
        ));
        let refused = json!({ "data": null, "errors": [{ "type": "FORBIDDEN", "message": "x" }] });
        assert!(matches!(
            outcome(refused, &headers, now),
            Err(ExecError::Permanent(_))
        ));
        let fine = json!({ "data": { "a": 1 } });
        assert_eq!(outcome(fine, &headers, now).unwrap(), json!({ "a": 1 }));
    }

    #[test]
    fn graphql_goes_where_github_and_github_enterprise_serve_it() {
        assert_eq!(
            graphql_endpoint("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_endpoint("https://github.example.com/api/v3"),
            "https://github.example.com/api/graphql"
        );
        assert_eq!(
            graphql_endpoint("http://127.0.0.1:4010"),
            "http://127.0.0.1:4010/graphql"
        );
    }
}
