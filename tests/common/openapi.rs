//! GitHub's own description of its API as the judge of what the bot sends: every REST request
//! matched to an operation of `../shared/fixtures/github-api/api.github.com.json` (method, path
//! template, query parameters the operation declares, the JSON body valid against its
//! `requestBody` schema with `$ref`s resolved), and every GraphQL document validated against
//! `schema.graphql`. A request that fails says which operation and which JSON pointer.
//!
//! The operations a test binary's requests matched are appended to
//! `$CARGO_TARGET_TMPDIR/github-operations.txt`, so the coverage of the suite can be counted
//! (`sort -u target/tmp/github-operations.txt | wc -l`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

struct Operation {
    id: String,
    method: String,
    segments: Vec<Segment>,
    query: Vec<String>,
    /// The JSON body's schema (compiled when a request first needs it).
    body: Option<Value>,
    body_required: bool,
}

enum Segment {
    Literal(String),
    Param,
    /// `{path}` in the contents API: the rest of the path, slashes and all.
    Rest,
}

struct Description {
    operations: Vec<Operation>,
    components: Value,
    validators: std::sync::Mutex<BTreeMap<String, std::sync::Arc<jsonschema::Validator>>>,
    graphql: apollo_compiler::validation::Valid<apollo_compiler::Schema>,
}

fn description() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(|| {
        let dir = super::shared().join("fixtures/github-api");
        let text = std::fs::read_to_string(dir.join("api.github.com.json")).unwrap();
        let spec: Value = serde_json::from_str(&text).unwrap();
        let components = spec["components"].clone();
        let resolve = |value: &Value| -> Value {
            match value["$ref"].as_str() {
                Some(reference) => {
                    let pointer = reference.trim_start_matches('#');
                    spec.pointer(pointer).cloned().unwrap_or(Value::Null)
                }
                None => value.clone(),
            }
        };
        let mut operations = Vec::new();
        for (template, item) in spec["paths"].as_object().unwrap() {
            let segments = template
                .trim_matches('/')
                .split('/')
                .map(|s| match s {
                    "{path}" => Segment::Rest,
                    s if s.starts_with('{') => Segment::Param,
                    s => Segment::Literal(s.to_owned()),
                })
                .collect::<Vec<_>>();
            for (method, op) in item.as_object().unwrap() {
                if !["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                    continue;
                }
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(resolve)
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect();
                let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
                let body = (!body.is_null()).then_some(body);
                operations.push(Operation {
                    id: op["operationId"].as_str().unwrap_or(template).to_owned(),
                    method: method.to_uppercase(),
                    segments: segments
                        .iter()
                        .map(|s| match s {
                            Segment::Literal(l) => Segment::Literal(l.clone()),
                            Segment::Param => Segment::Param,
                            Segment::Rest => Segment::Rest,
                        })
                        .collect(),
                    query: params,
                    body,
                    body_required: op["requestBody"]["required"] == true,
                });
            }
        }
        // Literal segments win over parameters (`issues/comments/{id}` over `issues/{number}`).
        operations.sort_by_key(|op| {
            op.segments
                .iter()
                .filter(|s| !matches!(s, Segment::Literal(_)))
                .count()
        });
        // GitHub's SDL breaks a few of the specification's rules: read it leniently, validate
        // documents against what it declares.
        let sdl = std::fs::read_to_string(dir.join("schema.graphql")).unwrap();
        let schema = match apollo_compiler::Schema::parse(sdl, "schema.graphql") {
            Ok(schema) => schema,
            Err(with_errors) => with_errors.partial,
        };
        Description {
            operations,
            components,
            validators: Default::default(),
            graphql: apollo_compiler::validation::Valid::assume_valid(schema),
        }
    })
}

impl Description {
    fn validator(&self, id: &str, schema: &Value) -> std::sync::Arc<jsonschema::Validator> {
        let mut validators = self.validators.lock().unwrap();
        validators
            .entry(id.to_owned())
            .or_insert_with(|| {
                let mut root =
                    serde_json::json!({ "allOf": [schema], "components": self.components });
                if let Some(object) = schema.as_object() {
                    root = Value::Object(object.clone());
                    root["components"] = self.components.clone();
                }
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("{id}: {e}"));
                std::sync::Arc::new(validator)
            })
            .clone()
    }
}

fn matches(segments: &[Segment], path: &[&str]) -> bool {
    match (segments.first(), path.first()) {
        (None, None) => true,
        (Some(Segment::Rest), Some(_)) => true,
        (Some(Segment::Literal(l)), Some(p)) if l == p => matches(&segments[1..], &path[1..]),
        (Some(Segment::Param), Some(p)) if !p.is_empty() => matches(&segments[1..], &path[1..]),
        _ => false,
    }
}

/// The operation a REST request is, or why it is none of GitHub's.
pub fn check(
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<String, String> {
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    let description = description();
    let Some(op) = description
        .operations
        .iter()
        .find(|op| op.method == method && matches(&op.segments, &path))
    else {
        return Err(format!(
            "{method} /{}: no operation of GitHub's REST description has this method and path",
            path.join("/")
        ));
    };
    for (key, _) in query {
        if !op.query.contains(key) {
            return Err(format!(
                "{}: query parameter `{key}` is not one the operation declares ({:?})",
                op.id, op.query
            ));
        }
    }
    if body.is_empty() && !op.body_required {
        // An optional body left out.
    } else if let Some(schema) = &op.body {
        let validator = description.validator(&op.id, schema);
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{}: the body is not JSON: {e}", op.id))?;
        if let Some(error) = validator.iter_errors(&value).next() {
            return Err(format!(
                "{}: the body fails its schema at `{}`: {error}",
                op.id,
                error.instance_path()
            ));
        }
    } else if !body.is_empty() && method != "GET" {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if !value.is_null() {
            return Err(format!("{}: the operation takes no body", op.id));
        }
    }
    record(&op.id);
    Ok(op.id.clone())
}

/// A GraphQL document is valid against GitHub's schema, with its variables' names declared.
pub fn check_graphql(body: &[u8]) -> Result<String, String> {
    let request: Value = serde_json::from_slice(body).map_err(|e| format!("GraphQL body: {e}"))?;
    let query = request["query"]
        .as_str()
        .ok_or("a GraphQL request without `query`")?;
    let description = description();
    let document = apollo_compiler::ExecutableDocument::parse_and_validate(
        &description.graphql,
        query,
        "query.graphql",
    )
    .map_err(|e| {
        format!(
            "GraphQL document invalid against schema.graphql: {}",
            e.errors
        )
    })?;
    let operation = document
        .operations
        .iter()
        .next()
        .ok_or("a GraphQL document without an operation")?;
    let declared: Vec<String> = operation
        .variables
        .iter()
        .map(|v| v.name.to_string())
        .collect();
    for name in request["variables"]
        .as_object()
        .into_iter()
        .flat_map(|v| v.keys())
    {
        if !declared.contains(name) {
            return Err(format!(
                "GraphQL variable `${name}` is not declared by the document"
            ));
        }
    }
    let id = format!(
        "graphql:{}",
        operation
            .selection_set
            .selections
            .iter()
            .filter_map(|s| s.as_field().map(|f| f.name.to_string()))
            .collect::<Vec<_>>()
            .join("+")
    );
    record(&id);
    Ok(id)
}

fn record(id: &str) {
    static SEEN: OnceLock<std::sync::Mutex<BTreeMap<String, ()>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if seen.lock().unwrap().insert(id.to_owned(), ()).is_none() {
        use std::io::Write as _;
        let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("github-operations.txt");
        if let Ok(mut out) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = writeln!(out, "{id}");
        }
    }
}

/// The operation a request the bot sent is, REST or GraphQL, or why it is none of GitHub's.
pub fn check_request(request: &wiremock::Request) -> Result<String, String> {
    if request.url.path() == "/graphql" {
        return check_graphql(&request.body);
    }
    let query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    check(
        request.method.as_str(),
        request.url.path(),
        &query,
        &request.body,
    )
}

/// Every request `server` received is one GitHub describes (for tests that mount their own
/// mocks rather than the fake GitHub).
pub async fn assert_all_described(server: &wiremock::MockServer) {
    let mut untrue = Vec::new();
    for request in server.received_requests().await.unwrap_or_default() {
        let judged = check_request(&request);
        if let Err(why) = judged {
            untrue.push(why);
        }
    }
    assert!(
        untrue.is_empty(),
        "requests GitHub does not describe: {untrue:#?}"
    );
}
