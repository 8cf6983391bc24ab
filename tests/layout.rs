//! The shape of the source (SPEC 14), read from `bot/` itself so that it stays true: the pure
//! core imports nothing of the machinery, no module imports another that imports it back, no
//! capability names an event or action as a string or reads the clock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn bot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bot")
}

/// Every `.rs` file under `dir`, with its module path (`capabilities::mesh`).
fn modules(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(bot()).unwrap().with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                // A `tests.rs` beside a module is that module's tests, not part of the graph.
                if parts.last().map(String::as_str) != Some("tests") {
                    out.insert(parts.join("::"), path);
                }
            }
        }
    }
    out
}

/// The source without its `#[cfg(test)] mod ... { }` part (tests may import anything).
fn without_tests(source: &str) -> &str {
    source.split("#[cfg(test)]\nmod ").next().unwrap_or(source)
}

/// The `crate::...` paths a source names, with `{a, b::c}` groups spelled out one level deep.
fn crate_paths(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        let head: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let head = head.trim_end_matches(':').to_owned();
        out.push(head.clone());
        if let Some(group) = rest[head.len()..].strip_prefix("::{") {
            let inner = group.split('}').next().unwrap_or_default();
            for item in inner.split(',') {
                let item = item.split_whitespace().next().unwrap_or_default();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{head}::{item}"));
                }
            }
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(&bot());
    let mut graph = BTreeMap::new();
    for (name, path) in &modules {
        let source = std::fs::read_to_string(path).unwrap();
        let mut targets = BTreeSet::new();
        for used in crate_paths(without_tests(&source)) {
            if let Some(target) = module_of(&used, &modules)
                && target != name
                && !name.starts_with(&format!("{target}::"))
            {
                targets.insert(target.to_owned());
            }
        }
        graph.insert(name.clone(), targets);
    }
    graph
}

/// The modules that reach themselves again through the graph.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                found.push(start.clone());
                break;
            }
            if seen.insert(next) {
                stack.extend(graph.get(next).into_iter().flatten());
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = import_graph();
    assert!(graph.len() > 50, "the graph was not read: {graph:?}");
    let looped = cycles(&graph);
    assert!(looped.is_empty(), "modules in import cycles: {looped:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), ["a", "b", "c"]);
    assert_eq!(
        crate_paths("use crate::core::{Event, reads::Memo};"),
        ["core", "core::Event", "core::reads::Memo"]
    );
}

#[test]
fn the_pure_core_imports_nothing_of_the_machinery_or_the_capabilities() {
    let graph = import_graph();
    for (module, targets) in graph.iter().filter(|(m, _)| m.starts_with("core")) {
        for target in targets {
            assert!(
                target.starts_with("core") || target.starts_with("domain"),
                "{module} imports {target}"
            );
        }
    }
}

/// Every `.rs` file of the capabilities, their tests' modules (`tests.rs`) included.
fn capability_files() -> Vec<(PathBuf, String)> {
    modules(&bot().join("capabilities"))
        .into_values()
        .map(|path| {
            let source = std::fs::read_to_string(&path).unwrap();
            (path, source)
        })
        .collect()
}

#[test]
fn no_capability_matches_an_event_or_action_by_its_name() {
    // The code and its inline tests; a `tests.rs` table may name the deliveries it builds.
    let sources: Vec<(PathBuf, String)> = capability_files()
        .into_iter()
        .filter(|(path, _)| !path.ends_with("tests.rs"))
        .collect();
    assert!(sources.len() >= 7, "{sources:?}");
    let names = [
        "issues",
        "issue_comment",
        "pull_request",
        "discussion",
        "pull_request_review",
        "discussion_comment",
        "push",
        "opened",
        "edited",
        "closed",
        "reopened",
        "labeled",
        "unlabeled",
        "synchronize",
        "created",
        "submitted",
        "dismissed",
        "gep-bot.agenda",
    ];
    for (path, source) in sources {
        for name in names {
            assert!(
                !source.contains(&format!("\"{name}\"")),
                "{}: names the event or action {name:?} as a string; match on EventKind/EventAction",
                path.display()
            );
        }
    }
}

#[test]
fn no_capability_reads_the_clock() {
    // Tests included: a plan takes the time as an input, and a test says which.
    for (path, source) in capability_files() {
        for clock in ["Utc::now", "SystemTime::now", "Instant::now", "Local::now"] {
            // The agenda's scheduler is the capability's timed trigger, machinery of its own.
            let planning = source
                .split("pub struct Scheduler")
                .next()
                .unwrap_or_default();
            assert!(
                !planning.contains(clock),
                "{}: reads the clock ({clock}); a plan takes `now`",
                path.display()
            );
        }
    }
}

/// The README's map names every capability's folder (adding one is its folder, one line in the
/// list, and this line of the README).
#[test]
fn the_readme_names_every_capability_folder() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("| `bot/capabilities/` |"))
        .expect("the README's row for bot/capabilities/");
    let folders: BTreeSet<String> = modules(&bot().join("capabilities"))
        .keys()
        .filter_map(|module| module.split("::").nth(1).map(str::to_owned))
        .collect();
    assert!(folders.len() >= 9, "{folders:?}");
    for folder in &folders {
        if folder == "capability" {
            continue;
        }
        assert!(
            line.contains(&format!("`{folder}`")),
            "README lacks `{folder}`: {line}"
        );
    }
}
