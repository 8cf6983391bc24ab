//! `gep-bot status N [--repo-dir DIR] [--format human|json]`: the GEP status report, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use super::HumanOrJson as Format;

use anyhow::Context;

use crate::status;
use crate::validate::{self, Template};

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
    let geps = args.repo_dir.join("geps");
    if !geps.is_dir() {
        // Not an unknown GEP (exit 1): a wrong place to look (exit 2).
        anyhow::bail!(
            "no {} folder: run it in a checkout of the repository, or name one with --repo-dir",
            geps.display()
        );
    }
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
    let options = validate::Options {
        features: validate::features_beside(&set)?,
        ..Default::default()
    };
    let mut report = status::report(&set, args.number, &template, &options)
        .context("the GEP folder has no GEP")?;
    report.readiness = Some(readiness(&args, &set, &report, options.features.as_ref())?);
    match args.format {
        Format::Human => print!("{}", report.human()),
        Format::Json => println!("{}", serde_json::to_string(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// The GEP's graduation readiness from the checkout: its features (pkg/features), the newest
/// conformance report of each implementation (conformance/reports), and its history (git).
fn readiness(
    args: &Args,
    set: &validate::GepSet,
    report: &status::Report,
    features: Option<&crate::gep::Features>,
) -> anyhow::Result<status::readiness::Readiness> {
    let gep = set
        .geps
        .iter()
        .find(|g| g.number == Some(args.number))
        .context("the GEP folder has no GEP")?;
    let metadata_path = format!("geps/gep-{}/metadata.yaml", args.number);
    let feature_names = validate::summarize(gep, &Template::builtin()).feature_names;
    let reports = conformance_reports(&args.repo_dir.join("conformance/reports"))?;
    let conformance = status::readiness::Conformance::from_reports(
        reports.iter().map(|(p, t)| (p.as_str(), t.as_str())),
    );
    let in_status_since = match (
        report.status,
        super::checkout::Checkout::holding(&args.repo_dir),
    ) {
        (Some(status), Ok(checkout)) => {
            let relative = std::path::absolute(args.repo_dir.join(&metadata_path))?;
            let relative = relative
                .strip_prefix(std::path::absolute(&checkout.root)?)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or(metadata_path);
            checkout.in_status_since(&relative, status)?
        }
        _ => None,
    };
    let next = report.next.last();
    Ok(status::readiness::readiness(&status::readiness::Facts {
        status: report.status,
        feature_names: &feature_names,
        features,
        conformance: &conformance,
        sections_owed: next.map_or(&[][..], |n| n.sections.as_slice()),
        next: next.map(|n| n.status),
        in_status_since,
        today: chrono::Utc::now().date_naive(),
    }))
}

/// Every `VERSION/IMPLEMENTATION/*.yaml` under `dir`, as (that path, its text); none when the
/// folder is not there.
fn conformance_reports(dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut reports = Vec::new();
    let Ok(versions) = std::fs::read_dir(dir) else {
        return Ok(reports);
    };
    for version in versions.flatten().filter(|e| e.path().is_dir()) {
        for implementation in std::fs::read_dir(version.path())?.flatten() {
            let Ok(files) = std::fs::read_dir(implementation.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    let name = |e: &std::fs::DirEntry| e.file_name().to_string_lossy().into_owned();
                    reports.push((
                        format!(
                            "{}/{}/{}",
                            name(&version),
                            name(&implementation),
                            name(&file)
                        ),
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    ));
                }
            }
        }
    }
    Ok(reports)
}
