//! The deployment files agree with the binary: ports, probes, routes, the variables it reads, and
//! the App's permissions and events (SPEC section 11).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gep_bot::machinery::config::Config;
use gep_bot::machinery::pipeline::{Intake, Secrets};
use gep_bot::machinery::store::SqliteStore;
use gep_bot::products::calendar::{Schedule, http};
use gep_bot::products::dashboard::served::Served;
use serde_yaml_ng::Value;
use tower::ServiceExt;

fn manifest(name: &str) -> Value {
    let path = common::repo().join("deploy/kubernetes").join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text<'v>(value: &'v Value, path: &[&str]) -> &'v str {
    let mut at = value;
    for key in path {
        at = match key.parse::<usize>() {
            Ok(i) => &at[i],
            Err(_) => &at[*key],
        };
    }
    at.as_str().unwrap_or_else(|| panic!("no text at {path:?}"))
}

/// Every route the server answers, as `serve` composes them.
async fn served(path: &str, method: &str) -> StatusCode {
    let intake = Arc::new(Intake {
        store: Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap()),
        secrets: Secrets::parse("s"),
        queued: Arc::new(tokio::sync::Notify::new()),
        clock: || 0,
        bodies: Default::default(),
        last_failure: Default::default(),
    });
    let schedule =
        Schedule::load(&common::repo().join(Config::default().calendar.schedule)).unwrap();
    let calendar = Arc::new(http::Calendar::new(
        schedule,
        None,
        Arc::new(chrono::Utc::now),
    ));
    let dashboard = Served::new("kubernetes-sigs/gateway-api", "geps/", "area/mesh");
    let app = gep_bot::machinery::cli::serve::routes(intake, calendar, Some(dashboard));
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn deployment_service_and_route_agree_with_the_binary() {
    let deployment = manifest("deployment.yaml");
    let service = manifest("service.yaml");
    let route = manifest("httproute.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];

    // The container listens where GEP_BOT_LISTEN says, on the binary's default port.
    let default_port: u64 = Config::default()
        .listen
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"].as_u64(), Some(default_port));
    let env: Vec<&Value> = container["env"].as_sequence().unwrap().iter().collect();
    let listen = env.iter().find(|e| e["name"] == "GEP_BOT_LISTEN").unwrap();
    assert!(text(listen, &["value"]).ends_with(&format!(":{default_port}")));
    // Only variables the bot reads.
    for variable in &env {
        let name = text(variable, &["name"]);
        assert!(
            Config::ENV_VARIABLES.contains(&name),
            "{name} is not read by gep-bot"
        );
    }

    // Probes point at routes the server answers, on the admin listener's port (outside the
    // public port's connection cap), and Prometheus scrapes it there too.
    let admin_listen = env
        .iter()
        .find(|e| e["name"] == "GEP_BOT_ADMIN_LISTEN")
        .expect("the Deployment sets GEP_BOT_ADMIN_LISTEN");
    let admin_port: u64 = text(admin_listen, &["value"])
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let admin = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["containerPort"].as_u64() == Some(admin_port))
        .expect("a container port for the admin listener");
    for (probe, expected) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(text(container, &[probe, "httpGet", "path"]), expected);
        assert_eq!(
            text(container, &[probe, "httpGet", "port"]),
            text(admin, &["name"])
        );
        assert_eq!(served(expected, "GET").await, StatusCode::OK, "{expected}");
    }
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        text(annotations, &["prometheus.io/port"]),
        admin_port.to_string()
    );
    assert_eq!(text(annotations, &["prometheus.io/path"]), "/metrics");

    // The Service selects the Deployment's pods and targets the container's port.
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(
        text(&service, &["spec", "ports", "0", "targetPort"]),
        text(port, &["name"])
    );

    // The route sends exactly the public paths to that Service, and each is a route we serve.
    let rule = &route["spec"]["rules"][0];
    assert_eq!(
        text(rule, &["backendRefs", "0", "name"]),
        text(&service, &["metadata", "name"])
    );
    assert_eq!(
        rule["backendRefs"][0]["port"],
        service["spec"]["ports"][0]["port"]
    );
    let matches: BTreeSet<(&str, &str)> = rule["matches"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| (text(m, &["path", "value"]), text(m, &["method"])))
        .collect();
    assert_eq!(
        matches,
        BTreeSet::from([
            ("/calendar", "GET"),
            ("/calendar.ics", "GET"),
            ("/geps", "GET"),
            ("/geps.json", "GET"),
            ("/webhook", "POST")
        ])
    );
    for (path, method) in matches {
        let status = served(path, method).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }

    // The key file the Deployment names is where the Secret volume puts it.
    let key_path = text(
        env.iter()
            .find(|e| e["name"] == "GEP_BOT_PRIVATE_KEY_PATH")
            .unwrap(),
        &["value"],
    );
    let mount = text(container, &["volumeMounts", "0", "mountPath"]);
    let item = text(
        &deployment["spec"]["template"]["spec"]["volumes"][0],
        &["secret", "items", "0", "path"],
    );
    assert_eq!(key_path, format!("{mount}/{item}"));

    let kustomization = manifest("kustomization.yaml");
    let listed: Vec<&str> = kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["deployment.yaml", "service.yaml", "httproute.yaml"]
    );
}

#[test]
fn the_app_manifest_asks_for_the_permissions_and_events_of_the_spec() {
    let path = common::repo().join("deploy/github-app-manifest.json");
    let app: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        app["default_permissions"],
        serde_json::json!({
            "issues": "write", "pull_requests": "write", "checks": "write", "statuses": "write",
            "contents": "read", "discussions": "write", "metadata": "read"
        })
    );
    let events: BTreeSet<&str> = app["default_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        BTreeSet::from([
            "issues",
            "issue_comment",
            "pull_request",
            "pull_request_review",
            "discussion",
            "discussion_comment",
            // The dashboard refreshes on pushes to the default branch.
            "push"
        ])
    );
    assert!(
        app["hook_attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/webhook")
    );
}

/// Every `.rs` file under `bot/`, with its text.
fn bot_sources() -> Vec<(std::path::PathBuf, String)> {
    let mut sources = Vec::new();
    let mut stack = vec![common::repo().join("bot")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                sources.push((path, source));
            }
        }
    }
    sources
}

#[test]
fn every_variable_the_source_reads_is_declared() {
    let mut found = BTreeSet::new();
    for (_, source) in bot_sources() {
        for (i, _) in source.match_indices("\"GEP_BOT_") {
            let name: String = source[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    let declared: BTreeSet<String> = Config::ENV_VARIABLES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, declared);
}

#[test]
fn the_container_runs_as_a_non_root_user_with_a_health_check() {
    let dockerfile = std::fs::read_to_string(common::repo().join("deploy/Dockerfile")).unwrap();
    assert_eq!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM")),
        2,
        "multi-stage"
    );
    assert!(dockerfile.contains("ca-certificates"));
    assert!(dockerfile.contains("USER 10001"));
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/healthz"));
    let (build, runtime) = dockerfile.rsplit_once("\nFROM ").unwrap();
    // What the binary builds in (include_str!, the migrations) must be in the build stage: the
    // schedule and the template are compiled into the binary.
    let mut built_in = BTreeSet::new();
    for (path, source) in bot_sources() {
        for (i, _) in source.match_indices("include_str!(\"") {
            let rest = &source[i + "include_str!(\"".len()..];
            let included = path
                .parent()
                .unwrap()
                .join(&rest[..rest.find('"').unwrap()]);
            let included = included.canonicalize().unwrap();
            let top = included
                .strip_prefix(common::repo().canonicalize().unwrap())
                .unwrap()
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            built_in.insert(top);
        }
    }
    assert!(
        built_in.contains("schedules") && built_in.contains("gep-templates"),
        "{built_in:?}"
    );
    for top in &built_in {
        assert!(
            build.contains(&format!("COPY {top} ")),
            "the build stage must copy {top}/: the binary includes files from it"
        );
    }
    // The runtime image: the binary, CA certificates for GitHub, a user; no shell tools for the
    // health check (the binary's own port answers it) and no files the binary carries.
    assert!(!runtime.contains("curl"), "curl is not needed at run time");
    assert!(
        !runtime.contains("COPY schedules"),
        "the schedule is built in"
    );
    let deployment = manifest("deployment.yaml");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_u64(),
        Some(10001)
    );
}

#[test]
fn the_readmes_command_table_is_the_one_gep_help_answers_with() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let table = gep_bot::capabilities::help::table(gep_bot::capabilities::Capabilities::HELP);
    assert!(
        readme.contains(&table),
        "README.md's command table is out of date; it should read:\n{table}"
    );
}

/// The operator's guide's example `bot.toml` is one the binary accepts, and says what it says.
#[test]
fn the_readmes_example_configuration_parses() {
    let readme = std::fs::read_to_string(common::repo().join("docs/operations.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    let example = blocks
        .iter()
        .find(|b| b.contains("[lifecycle]"))
        .expect("the operator guide's example bot.toml");
    let config = Config::parse(example, std::path::Path::new("docs/operations.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.lifecycle.frozen_label, "lifecycle/frozen");
    assert_eq!(config.review.quorum, 2);
    assert_eq!(config.retention_days, 14);
    assert_eq!(config.dashboard.stale_months, 6);
    assert!(config.dashboard.check().is_ok());
}
