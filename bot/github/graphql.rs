//! GraphQL requests: one POST to the GraphQL endpoint, errors in a 200 answer sorted like REST's,
//! and the queries that have no REST form worth its cost (label ids for discussions).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::transport::{ExecError, GitHub};

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
        let response = self
            .send_to(
                installation,
                Method::POST,
                &self.graphql,
                "/graphql",
                Some(json!({ "query": query, "variables": variables })),
                write,
            )
            .await?;
        if let Some(errors) = response.get("errors").filter(|e| !e.is_null()) {
            let text = errors.to_string();
            if text.contains("RATE_LIMITED") {
                return Err(ExecError::RateLimited {
                    wait: Duration::from_secs(60),
                    reason: text,
                });
            }
            return Err(ExecError::Permanent(format!("GraphQL: {text}")));
        }
        Ok(response["data"].clone())
    }
}

/// GitHub's GraphQL endpoint for a REST API base: `https://api.github.com/graphql`, but on GitHub
/// Enterprise Server, whose REST base is `https://HOST/api/v3`, `https://HOST/api/graphql`.
pub(super) fn graphql_endpoint(api: &str) -> String {
    match api.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{api}/graphql"),
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
