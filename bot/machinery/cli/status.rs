//! `gep-bot status N [--repo-dir DIR] [--format human|json]`: the GEP status report, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use super::HumanOrJson as Format;

use anyhow::Context;

use crate::domain::standing as status;
use crate::domain::validate::{self, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GEP number (its tracking issue's number).
    number: u32,
    /// A checkout of the repository holding `geps/`.
    #[arg(long, default_value = ".", value_name = "DIR")]
    repo_dir: PathBuf,
    /// The template whose rules apply (default: gep-bot's own).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Not an unknown GEP (exit 1): a wrong place to look (exit 2).
    let geps = super::geps_folder(&args.repo_dir)?;
    let folder = geps.join(format!("gep-{}", args.number));
    match std::fs::metadata(&folder) {
        Ok(m) if m.is_dir() => {}
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            // There, but unreadable (a symlink loop, no permission): not "does not exist".
            anyhow::bail!("cannot read {}: {e}", folder.display());
        }
        _ => {
            eprintln!(
                "gep-bot: GEP-{} does not exist: no {}",
                args.number,
                folder.display()
            );
            return Ok(ExitCode::from(1));
        }
    }
    let template = match &args.template {
        Some(path) => super::load_template(path)?.0,
        None => Template::builtin(),
    };
    let set = validate::load(&[folder])?;
    let repository = super::repository::Repository::open(&args.repo_dir)?;
    // `pkg/features` is read once, for the findings and the readiness both.
    let options = validate::Options {
        features: repository.features.clone().filter(|_| set.lists_features()),
        ..Default::default()
    };
    let mut report = status::report(&set, args.number, &template, &options)
        .context("the GEP folder has no GEP")?;
    let gep = set
        .geps
        .iter()
        .find(|g| g.number == Some(args.number))
        .context("the GEP folder has no GEP")?;
    report.readiness = Some(repository.readiness(
        args.number,
        gep,
        &validate::summarize(gep, &template),
        report.next.last(),
        chrono::Utc::now().date_naive(),
    )?);
    match args.format {
        Format::Human => print!("{}", report.human()),
        Format::Json => println!("{}", serde_json::to_string(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}
