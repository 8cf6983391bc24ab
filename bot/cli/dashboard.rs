//! `gep-bot dashboard [--repo-dir DIR] --out OUT [--repo OWNER/NAME]`: the GEP dashboard of a
//! checkout, written as `OUT/index.html` and `OUT/geps.json` (SPEC section 12).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::repository::Repository;
use crate::dashboard::{Dashboard, Row, is_stale};
use crate::gep::Status;
use crate::mesh::{Matcher, MeshRules};
use crate::validate::{self, Severity, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A checkout of the repository holding `geps/` (and `pkg/features`, `conformance/reports`).
    #[arg(long, default_value = ".", value_name = "DIR")]
    repo_dir: PathBuf,
    /// The folder to write `index.html` and `geps.json` into (made if missing).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// The GitHub repository the links point at.
    #[arg(
        long,
        default_value = "kubernetes-sigs/gateway-api",
        value_name = "OWNER/NAME"
    )]
    repo: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let geps = super::geps_folder(&args.repo_dir)?;
    if !crate::github::event::is_repository_name(&args.repo) {
        anyhow::bail!("--repo {:?} is not OWNER/NAME", args.repo);
    }
    let set = validate::load(&[geps])?;
    let template = Template::builtin();
    let repository = Repository::open(&args.repo_dir)?;
    let options = validate::Options {
        features: repository.features.clone(),
        ..Default::default()
    };
    let validated = validate::validate_and_summarize(&set, &template, &options);
    let matcher = Matcher::new(&MeshRules::default())?;
    let today = chrono::Utc::now().date_naive();
    let mut rows = Vec::new();
    for gep in set.geps.iter().filter(|g| g.checked) {
        let (Some(number), Some(summary)) = (gep.number, validated.summaries.get(&gep.dir)) else {
            continue;
        };
        let next = crate::status::next_steps(gep, summary, &template);
        let readiness = repository.readiness(number, gep, summary, next.last(), today)?;
        let last_changed = repository.last_changed(number)?;
        let own = || {
            validated
                .findings
                .iter()
                .filter(|f| f.file.starts_with(&gep.dir))
        };
        let title = summary.title.clone().unwrap_or_default();
        rows.push(Row {
            number,
            mesh: matcher.matches(&title),
            folder_url: format!(
                "https://github.com/{}/tree/main/geps/gep-{number}",
                args.repo
            ),
            issue_url: format!("https://github.com/{}/issues/{number}", args.repo),
            in_status_since: readiness.in_status_since,
            last_changed,
            stale: is_stale(summary.status, last_changed, today),
            past_probation: summary.status == Some(Status::Experimental)
                && readiness.probation_ends.is_some_and(|end| end <= today),
            errors: own().filter(|f| f.severity == Severity::Error).count(),
            warnings: own().filter(|f| f.severity == Severity::Warning).count(),
            title,
            status: summary.status,
            readiness,
        });
    }
    let dashboard = Dashboard::new(&args.repo, today, rows);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot make {}", args.out.display()))?;
    let write = |name: &str, text: String| {
        let path = args.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("index.html", dashboard.html())?;
    write(
        "geps.json",
        serde_json::to_string_pretty(&dashboard)? + "\n",
    )?;
    println!(
        "wrote {} GEPs to {}/index.html and geps.json",
        dashboard.geps.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
