//! Time and peak memory for inputs built to make the bot do unbounded work, each beside a real
//! input of the same kind measured the same way (the ratio is what the table shows). Every row
//! runs in a fresh child process of this benchmark, so its peak RSS (`VmHWM`) is its own.
//!
//! The inputs are `benches/support/hostile_inputs.rs`; `tests/bounded_work.rs` holds what each
//! is answered. Run: `cargo bench --bench bounded_work`.

#[path = "support/hostile_inputs.rs"]
mod hostile_inputs;
#[path = "support/process.rs"]
mod process;
use process::shared;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use gep_bot::core::Event;
use gep_bot::domain::validate::{GepFiles, GepSet, Options, SourceText, Template, validate};
use gep_bot::machinery::pipeline::{self, Intake, Secrets, sign};
use gep_bot::machinery::store::SqliteStore;
use gep_bot::products::calendar::{Schedule, ics};
use tower::ServiceExt;

const ROW: &str = "BOUNDED_WORK_ROW";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(shared().join("fixtures").join(path)).expect("fixture")
}

fn comment_payload(text: &str) -> Vec<u8> {
    let mut body: serde_json::Value = serde_json::from_slice(&fixture(
        "octokit-webhooks/issue_comment/created.payload.json",
    ))
    .unwrap();
    body["comment"]["body"] = text.into();
    serde_json::to_vec(&body).unwrap()
}

/// Intake (signature, well-formedness, the store) and then the worker's parse of the event.
fn webhook(event: &str, body: Vec<u8>) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        let intake = Arc::new(Intake::new(
            Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap()),
            Secrets::parse("bench"),
        ));
        let request = Request::post("/webhook")
            .header("x-github-event", event)
            .header("x-github-delivery", "row")
            .header("x-hub-signature-256", sign(b"bench", &body))
            .header("content-length", body.len())
            .body(Body::from(body.clone()))
            .unwrap();
        pipeline::router(intake)
            .oneshot(request)
            .await
            .unwrap()
            .status()
    });
    let parsed = match Event::parse(event, &body) {
        Ok(event) => format!(
            "event, {} commands",
            event.comment.map_or(0, |c| c.commands.len())
        ),
        Err(error) => error.to_string().chars().take(40).collect(),
    };
    format!("{} / {parsed}", status.as_u16())
}

fn gep(index: Option<String>, metadata: String) -> String {
    let set = GepSet {
        geps: vec![GepFiles {
            dir: "geps/gep-713".into(),
            number: Some(713),
            index: index.map(|text| SourceText::new("geps/gep-713/index.md", text)),
            metadata: Some(SourceText::new("geps/gep-713/metadata.yaml", metadata)),
            checked: true,
        }],
        only_files: None,
    };
    let findings = validate(&set, &Template::builtin(), &Options::default());
    format!("{} findings", findings.len())
}

fn schedule(text: &str) -> String {
    let schedule = Schedule::parse(text, "bench.toml").unwrap();
    format!("{} bytes of feed", ics::feed(&schedule).len())
}

/// The child's side: runs one row and prints `MS KB ANSWER`.
fn run_row(name: &str) {
    let real_index = || String::from_utf8(fixture("gateway-api/geps/gep-713/index.md")).unwrap();
    let real_metadata =
        || String::from_utf8(fixture("gateway-api/geps/gep-713/metadata.yaml")).unwrap();
    let shipped = || {
        std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schedules/gamma.toml"),
        )
        .unwrap()
    };
    // Inputs are built before the clock starts; their memory counts in the peak, as it would in
    // the process that received them.
    let work: Box<dyn FnOnce() -> String> = match name {
        "comment-real" => {
            let body = fixture("octokit-webhooks/issue_comment/created.payload.json");
            Box::new(move || webhook("issue_comment", body))
        }
        "comment-10k" => {
            let body = comment_payload(&hostile_inputs::ten_thousand_commands());
            Box::new(move || webhook("issue_comment", body))
        }
        "webhook-real" => {
            let body = fixture("octokit-webhooks/issues/opened.payload.json");
            Box::new(move || webhook("issues", body))
        }
        "nested-100k" => {
            let body = hostile_inputs::nested_array();
            Box::new(move || webhook("issues", body))
        }
        "array-20mb" => {
            let body = hostile_inputs::twenty_megabyte_array();
            Box::new(move || webhook("issues", body))
        }
        "gep-real" => {
            let (index, metadata) = (real_index(), real_metadata());
            Box::new(move || gep(Some(index), metadata))
        }
        "gep-50mb" => {
            let (index, metadata) = (
                hostile_inputs::fifty_megabyte_index(&real_index()),
                real_metadata(),
            );
            Box::new(move || gep(Some(index), metadata))
        }
        "yaml-real" => {
            let metadata = real_metadata();
            Box::new(move || gep(None, metadata))
        }
        "yaml-bomb" => {
            let metadata = hostile_inputs::alias_bomb();
            Box::new(move || gep(None, metadata))
        }
        "schedule-shipped" => {
            let text = shipped();
            Box::new(move || schedule(&text))
        }
        "schedule-10k" => {
            let text = hostile_inputs::schedule_with_exceptions(10_000);
            Box::new(move || schedule(&text))
        }
        "schedule-100k" => {
            let text = hostile_inputs::schedule_with_exceptions(100_000);
            Box::new(move || schedule(&text))
        }
        other => panic!("no row {other}"),
    };
    let started = Instant::now();
    let answer = work();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("{ms:.2} {} {answer}", process::status_kb("self", "VmHWM:"));
}

struct Measured {
    ms: f64,
    kb: u64,
    answer: String,
}

fn measure(name: &str) -> Measured {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(ROW, name)
        .output()
        .expect("the row runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "row {name} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut parts = text.trim().splitn(3, ' ');
    Measured {
        ms: parts.next().unwrap().parse().unwrap(),
        kb: parts.next().unwrap().parse().unwrap(),
        answer: parts.next().unwrap_or("").to_owned(),
    }
}

fn main() {
    if let Ok(name) = std::env::var(ROW) {
        return run_row(&name);
    }
    let rows = [
        (
            "1 MB comment, 10,000 /gep lines",
            "comment-10k",
            "comment-real",
        ),
        (
            "webhook JSON nested 100,000 deep",
            "nested-100k",
            "webhook-real",
        ),
        ("20 MB JSON array", "array-20mb", "webhook-real"),
        ("50 MB index.md", "gep-50mb", "gep-real"),
        ("YAML alias bomb in metadata.yaml", "yaml-bomb", "yaml-real"),
        (
            "schedule, 10,000 exceptions",
            "schedule-10k",
            "schedule-shipped",
        ),
        (
            "schedule, 100,000 exceptions",
            "schedule-100k",
            "schedule-shipped",
        ),
    ];
    println!(
        "{:<36} {:>10} {:>9} {:>10} {:>9}  answer (baseline: the real input of the kind)",
        "input", "time ms", "x base", "peak MB", "x base"
    );
    let mut schedule_ms = Vec::new();
    for (label, row, baseline) in rows {
        let (m, b) = (measure(row), measure(baseline));
        if row.starts_with("schedule-1") {
            schedule_ms.push(m.ms);
        }
        println!(
            "{label:<36} {:>10.1} {:>8.1}x {:>10.1} {:>8.2}x  {}",
            m.ms,
            m.ms / b.ms.max(0.01),
            m.kb as f64 / 1024.0,
            m.kb as f64 / b.kb.max(1) as f64,
            m.answer
        );
    }
    println!(
        "schedule exceptions, 100,000 vs 10,000: {:.1}x the time (linear: ~10x; it was ~55x)",
        schedule_ms[1] / schedule_ms[0].max(0.01)
    );
}
