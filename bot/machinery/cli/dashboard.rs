//! `gep-bot dashboard [--repo-dir DIR] --out OUT [--repo OWNER/NAME]`: the GEP dashboard of a
//! checkout, written as `OUT/index.html` and `OUT/geps.json` (SPEC section 12).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use std::collections::{BTreeMap, BTreeSet};

use super::repository::Repository;
use crate::capabilities::mesh::{Matcher, MeshRules};
use crate::domain::validate::{self, Template};
use crate::products::dashboard::build::{self, History, Inputs};

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
    /// A GEP still moving that has not changed for this many months is stale.
    #[arg(long, default_value_t = crate::products::dashboard::STALE_MONTHS, value_name = "MONTHS",
          value_parser = clap::value_parser!(u32).range(1..))]
    stale_months: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let geps = super::geps_folder(&args.repo_dir)?;
    if !crate::core::event::is_repository_name(&args.repo) {
        anyhow::bail!("--repo {:?} is not OWNER/NAME", args.repo);
    }
    let set = validate::load(&[geps])?;
    let repository = Repository::open(&args.repo_dir)?;
    let mut history = BTreeMap::new();
    for gep in set.geps.iter().filter(|g| g.checked) {
        let Some(number) = gep.number else { continue };
        let (in_status_since, in_status_since_at_least) = match build::metadata_status(gep) {
            Some(status) => repository.in_status_since(number, status)?,
            None => (None, false),
        };
        let last_changed = repository.last_changed(number)?;
        history.insert(
            number,
            History {
                in_status_since,
                in_status_since_at_least,
                last_changed,
            },
        );
    }
    let matcher = Matcher::new(&MeshRules::default())?;
    let dashboard = build::build(&Inputs {
        repo: &args.repo,
        set: &set,
        template: &Template::builtin(),
        features: repository.features.as_ref(),
        conformance: Some(repository.conformance()?),
        history: &history,
        // A checkout knows no pull requests and no labels.
        pulls: &BTreeMap::new(),
        mesh_issues: &BTreeSet::new(),
        matcher: &matcher,
        today: chrono::Utc::now().date_naive(),
        stale_months: args.stale_months,
    });
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
