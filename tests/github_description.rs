//! The checker the fake GitHub applies to every request refuses what GitHub would: a path no
//! operation has, a query parameter the operation does not declare, a body off its schema (with
//! the JSON pointer), a GraphQL field the schema does not have.

mod common;

use common::openapi::{check, check_graphql};
use serde_json::json;

fn body(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn requests_github_describes_pass_and_name_their_operation() {
    let labels = body(json!({ "labels": ["area/mesh"] }));
    assert_eq!(
        check("POST", "/repos/o/r/issues/5/labels", &[], &labels),
        Ok("issues/add-labels".into())
    );
    let query = [("ref".to_owned(), "abc".to_owned())];
    assert_eq!(
        check(
            "GET",
            "/repos/o/r/contents/geps/gep-1/index.md",
            &query,
            &[]
        ),
        Ok("repos/get-content".into())
    );
}

#[test]
fn what_github_does_not_describe_is_refused_saying_where() {
    let error = check("GET", "/repos/o/r/nonsense/1", &[], &[]).unwrap_err();
    assert!(error.contains("no operation"), "{error}");
    let query = [("colour".to_owned(), "red".to_owned())];
    let error = check("GET", "/repos/o/r/pulls/1/files", &query, &[]).unwrap_err();
    assert!(
        error.contains("pulls/list-files: query parameter `colour`"),
        "{error}"
    );
    let bad = body(json!({ "state": "green", "context": "gep/template" }));
    let error = check("POST", "/repos/o/r/statuses/abc", &[], &bad).unwrap_err();
    assert!(error.contains("repos/create-commit-status"), "{error}");
    assert!(error.contains("at `/state`"), "{error}");
    let run = body(json!({ "name": "GEP template", "head_sha": "abc", "conclusion": "maybe" }));
    let error = check("POST", "/repos/o/r/check-runs", &[], &run).unwrap_err();
    assert!(
        error.contains("checks/create") && error.contains("/conclusion"),
        "{error}"
    );
}

#[test]
fn graphql_documents_are_checked_against_githubs_schema() {
    let good = body(json!({
        "query": "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }",
        "variables": { "owner": "o", "name": "r" }
    }));
    assert!(check_graphql(&good).is_ok());
    let unknown_field =
        body(json!({ "query": "{ repository(owner: \"o\", name: \"r\") { colour } }" }));
    assert!(check_graphql(&unknown_field).is_err());
    let undeclared = body(json!({
        "query": "query { viewer { login } }",
        "variables": { "owner": "o" }
    }));
    let error = check_graphql(&undeclared).unwrap_err();
    assert!(error.contains("$owner"), "{error}");
}

/// The bot knows every `author_association` GitHub's REST description lists (none falls to
/// `Other`), and a member is exactly OWNER, MEMBER or COLLABORATOR: who may `/gep nominate`.
#[test]
fn every_author_association_github_describes_is_known() {
    use gep_bot::core::Association;
    let text =
        std::fs::read_to_string(common::shared().join("fixtures/github-api/api.github.com.json"))
            .unwrap();
    let description: serde_json::Value = serde_json::from_str(&text).unwrap();
    let values = description["components"]["schemas"]["author-association"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(values.len(), 8);
    let members: Vec<&str> = values
        .iter()
        .map(|v| v.as_str().unwrap())
        .filter(|v| {
            let association = Association::of(v);
            assert!(!matches!(association, Association::Other(_)), "{v}");
            assert_eq!(association.name(), *v);
            association.is_member()
        })
        .collect();
    assert_eq!(members, ["COLLABORATOR", "MEMBER", "OWNER"]);
}
