//! `gep-bot validate [PATH...] [--template FILE] [--format human|json|github] [--strict]
//! [--base REF]`

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::checkout::{Checkout, WORKTREE};
use crate::capabilities::checks::{self, CheckRules, PullRequestTrees};
use crate::domain::validate::{self, Finding, Format, Options, SourceText, Summary, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A geps/ folder, gep-N folders, or single index.md / metadata.yaml files.
    #[arg(default_value = "geps")]
    paths: Vec<PathBuf>,
    /// The template whose rules apply (default: gep-bot's own, gep-templates/index.md).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Report every warning as an error.
    #[arg(long, conflicts_with = "base")]
    strict: bool,
    /// Judge the working tree as the App judges a pull request onto REF (a branch or commit):
    /// only what the change introduces is an error; what REF already had is a notice. PATH is
    /// then the checkout's GEP folder, and the template is the repository's own
    /// (`gep-696/index.md` in it) unless --template names one.
    #[arg(long, value_name = "REF")]
    base: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(base) = &args.base {
        return judge(&args, base);
    }
    // A template's unreadable rules are findings like any other, reported with the GEPs'.
    let (template, template_source, mut findings) = match &args.template {
        Some(path) => {
            let (template, source, findings) = super::load_template(path)?;
            (template, Some(source), findings)
        }
        None => (Template::builtin(), None, Vec::new()),
    };
    let set = validate::load(&args.paths)?;
    findings.extend(validate::validate(
        &set,
        &template,
        &Options {
            strict: args.strict,
            features: validate::features_beside(&set)?,
            ..Options::default()
        },
    ));
    let summary = Summary::of(&findings, set.checked_count());
    let sources: Vec<&SourceText> = set.sources().chain(template_source.iter()).collect();
    print(args.format, &findings, sources, summary, None)
}

/// `--base REF`: the working tree's GEP changes against where it left REF, gathered and judged
/// by the check run's own code.
fn judge(args: &Args, base: &str) -> anyhow::Result<ExitCode> {
    let [geps] = args.paths.as_slice() else {
        anyhow::bail!("--base takes one PATH, the checkout's GEP folder (default: geps)");
    };
    let checkout = Checkout::holding(geps.parent().unwrap_or(Path::new(".")))?;
    let absolute = std::path::absolute(geps)?;
    let geps_dir = absolute
        .strip_prefix(std::path::absolute(&checkout.root)?)
        .map(|p| format!("{}/", p.to_string_lossy().trim_end_matches('/')))
        .map_err(|_| {
            anyhow::anyhow!(
                "{} is not inside {}",
                geps.display(),
                checkout.root.display()
            )
        })?;
    let fork_point = checkout.fork_point(base)?;
    let changed = checkout.changed_since(&fork_point)?;
    let mut rules = CheckRules::default();
    if let Some(template) = &args.template {
        rules.template = Some(template.to_string_lossy().into_owned());
    }
    let pull = PullRequestTrees {
        repo: "",
        head_sha: WORKTREE,
        base_sha: &fork_point,
        changed_paths: &changed,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let gathered = runtime
        .block_on(checks::gather(&checkout, &pull, &geps_dir, &rules))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let evaluation = checks::evaluate(&gathered.change());
    let findings: Vec<Finding> = evaluation
        .findings
        .iter()
        .map(|judged| {
            let mut finding = judged.finding.clone();
            if judged.before {
                finding
                    .message
                    .push_str(&format!(" (already so at {base})"));
            }
            finding
        })
        .collect();
    let summary = Summary::of(&findings, evaluation.geps.len());
    let note = format!(
        "{} finding{} already so at {base}; rules: {}",
        evaluation.before(),
        if evaluation.before() == 1 { "" } else { "s" },
        gathered.template.origin
    );
    print(
        args.format,
        &findings,
        gathered.head.sources(),
        summary,
        Some(&note),
    )
}

fn print<'s>(
    format: Format,
    findings: &[Finding],
    sources: impl IntoIterator<Item = &'s SourceText>,
    summary: Summary,
    note: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = stdout.lock();
    validate::render(&mut out, format, findings, sources, summary, color)?;
    if let (Some(note), Format::Human) = (note, format) {
        writeln!(out, "{note}")?;
    }
    out.flush()?;
    Ok(if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
