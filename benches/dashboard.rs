//! The cost of building the GEP dashboard from upstream's real files (the 36 GEPs of the shared
//! copy, and 61 made from them: upstream's count at the pinned commit), against reading the files
//! alone, in the same run:
//! - read: `geps/`, `pkg/features/*.go` and the 184 conformance reports into memory (the floor);
//! - full rebuild: read, parse the features and the reports, build the rows (every GEP validated,
//!   its readiness judged), write the JSON and the page: what `gep-bot dashboard` does, and what
//!   `serve` does when the folders changed (there its files come from the API, by blob SHA);
//! - warm: build, JSON and page from what is already parsed: what `serve` does on a refresh
//!   whose folders are unchanged (only the open pull requests read again).
//!
//! Run: `cargo bench --bench dashboard` (release). Targets: warm under 50 ms, full under 1 s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gep_bot::capabilities::mesh::{Matcher, MeshRules};
use gep_bot::domain::gep::Features;
use gep_bot::domain::standing::readiness::Conformance;
use gep_bot::domain::validate::{self, GepSet, Template};
use gep_bot::machinery::cli::repository::conformance_reports;
use gep_bot::products::dashboard::build::{self, History, Inputs};

#[path = "support/process.rs"]
mod process;

use process::{ms, shared, time};

/// `set` grown to `count` GEPs with copies of its own under new numbers (9001, ...).
fn grown(set: &GepSet, count: usize) -> GepSet {
    let mut geps = set.geps.clone();
    for (i, gep) in set
        .geps
        .iter()
        .cycle()
        .take(count.saturating_sub(set.geps.len()))
        .enumerate()
    {
        let number = 9001 + i as u32;
        let mut copy = gep.clone();
        copy.number = Some(number);
        copy.dir = format!("geps/gep-{number}").into();
        geps.push(copy);
    }
    GepSet {
        geps,
        only_files: None,
    }
}

fn main() {
    let root = shared().join("fixtures/gateway-api");
    assert!(
        root.is_dir(),
        "{} not found: set GEP_BOT_SHARED",
        root.display()
    );
    let geps_dir = root.join("geps");
    let features_dir = root.join("pkg/features");
    let reports_dir = root.join("conformance/reports");
    let template = Template::builtin();
    let matcher = Matcher::new(&MeshRules::default()).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let (history, pulls, mesh) = (
        BTreeMap::<u32, History>::new(),
        BTreeMap::new(),
        BTreeSet::new(),
    );

    let read = || {
        let set = validate::load(std::slice::from_ref(&geps_dir)).unwrap();
        let go: Vec<String> = std::fs::read_dir(&features_dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "go"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        let reports = conformance_reports(&reports_dir).unwrap();
        (set, go, reports)
    };
    let (_, _, reports) = read();
    let render = |set: &GepSet, features: Option<&Features>, conformance: &Conformance| {
        let dashboard = build::build(&Inputs {
            repo: "kubernetes-sigs/gateway-api",
            set,
            template: &template,
            features,
            conformance: Some(conformance),
            history: &history,
            pulls: &pulls,
            mesh_issues: &mesh,
            matcher: &matcher,
            today,
            stale_months: 6,
        });
        (serde_json::to_string(&dashboard).unwrap(), dashboard.html())
    };
    println!("reports: {}", reports.len());
    for count in [36, 61] {
        let read_alone = time(30, read);
        let full = time(15, || {
            let (set, _, reports) = read();
            let set = grown(&set, count);
            let features = validate::features_in(&features_dir).unwrap();
            let conformance =
                Conformance::from_reports(reports.iter().map(|(p, t)| (p.as_str(), t.as_str())));
            render(&set, features.as_ref(), &conformance)
        });
        let (set, _, reports) = read();
        let set = grown(&set, count);
        let features = validate::features_in(&features_dir).unwrap();
        let conformance =
            Conformance::from_reports(reports.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        let (json, html) = render(&set, features.as_ref(), &conformance);
        let rows = serde_json::from_str::<serde_json::Value>(&json).unwrap()["geps"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(rows, count, "one row per GEP");
        let warm = time(30, || render(&set, features.as_ref(), &conformance));
        println!(
            "{count} GEPs: page {:.1} KB, JSON {:.1} KB",
            html.len() as f64 / 1024.0,
            json.len() as f64 / 1024.0
        );
        println!(
            "{count} GEPs: read alone {:.2} ms; full rebuild {:.2} ms = {:.2}x read (target < 1 s: {}); \
             warm {:.2} ms = {:.2}x read (target < 50 ms: {})",
            ms(read_alone),
            ms(full),
            full.as_secs_f64() / read_alone.as_secs_f64(),
            if full < Duration::from_secs(1) {
                "met"
            } else {
                "MISSED"
            },
            ms(warm),
            warm.as_secs_f64() / read_alone.as_secs_f64(),
            if warm < Duration::from_millis(50) {
                "met"
            } else {
                "MISSED"
            },
        );
    }
}
