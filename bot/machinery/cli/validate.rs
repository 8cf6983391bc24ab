//! `gep-bot validate [PATH...] [--template FILE] [--format human|json|github] [--strict]
//! [--base REF] [--fix [--dry-run]]`

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
    /// Apply the fixes that need no judgement (a title's form, a Status line that disagrees with
    /// metadata.yaml, a relationship at the top level, a Go constant for a feature name, a
    /// missing Issue line, a wrong apiVersion or kind) as minimal line edits, say what changed,
    /// then report what is left.
    #[arg(long, conflicts_with = "base")]
    fix: bool,
    /// With --fix: print the changes as a unified diff and write nothing.
    #[arg(long, requires = "fix")]
    dry_run: bool,
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
    let mut set = validate::load(&args.paths)?;
    let options = Options {
        strict: args.strict,
        features: validate::features_beside(&set)?,
        ..Options::default()
    };
    if args.fix {
        let fixed = fix(&mut set, &template, &options)?;
        write_fixes(&fixed, args.dry_run, args.format)?;
        // What is left, as the files now are.
        set = validate::load(&args.paths)?;
    }
    findings.extend(validate::validate(&set, &template, &options));
    let summary = Summary::of(&findings, set.checked_count());
    let sources: Vec<&SourceText> = set.sources().chain(template_source.iter()).collect();
    print(args.format, &findings, sources, summary, None)
}

/// What `--fix` did to one file: its text before and after, and each fix applied.
struct Fixed {
    file: PathBuf,
    before: String,
    after: String,
    applied: Vec<Finding>,
}

/// The fixes applied to the set's texts in memory, round after round (a fix that overlapped
/// another waits a round; validation again finds what is left), until none is left.
fn fix(
    set: &mut validate::GepSet,
    template: &Template,
    options: &Options,
) -> anyhow::Result<Vec<Fixed>> {
    let mut fixed: Vec<Fixed> = Vec::new();
    for _round in 0..8 {
        let findings = validate::validate(set, template, options);
        let mut by_file: std::collections::BTreeMap<&Path, Vec<&Finding>> = Default::default();
        for finding in &findings {
            if let Some(fix) = &finding.fix {
                by_file.entry(fix.file.as_path()).or_default().push(finding);
            }
        }
        let mut progressed = false;
        for (file, found) in by_file {
            let Some(source) = set.source_mut(file) else {
                continue;
            };
            let fixes: Vec<&validate::Fix> = found.iter().filter_map(|f| f.fix.as_ref()).collect();
            let done = validate::apply(source.text(), &fixes)
                .map_err(|changed| anyhow::anyhow!("{}: {changed}", file.display()))?;
            let entry = match fixed.iter().position(|f| f.file == file) {
                Some(i) => &mut fixed[i],
                None => {
                    fixed.push(Fixed {
                        file: file.to_owned(),
                        before: source.text().to_owned(),
                        after: String::new(),
                        applied: Vec::new(),
                    });
                    fixed.last_mut().expect("just pushed")
                }
            };
            entry
                .applied
                .extend(done.applied.iter().map(|&i| found[i].clone()));
            entry.after = done.text.clone();
            progressed |= !done.applied.is_empty();
            *source = SourceText::new(file, done.text);
        }
        if !progressed {
            break;
        }
    }
    fixed.retain(|f| f.before != f.after);
    Ok(fixed)
}

/// The fixes written to their files (each still as it was read: one changed meanwhile is not
/// overwritten) and said, or with `dry_run` shown as a unified diff.
fn write_fixes(fixed: &[Fixed], dry_run: bool, format: Format) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut said: Box<dyn Write> = if dry_run || format == Format::Human {
        Box::new(stdout.lock())
    } else {
        Box::new(std::io::stderr().lock())
    };
    for file in fixed {
        if dry_run {
            let name = file.file.display().to_string();
            let diff = similar::TextDiff::from_lines(&file.before, &file.after);
            write!(said, "{}", diff.unified_diff().header(&name, &name))?;
            continue;
        }
        let now = std::fs::read_to_string(&file.file)?;
        if now != file.before {
            writeln!(
                said,
                "not fixed: {} changed since it was validated; validate again",
                file.file.display()
            )?;
            continue;
        }
        let temporary = file.file.with_extension("gep-bot-fix");
        std::fs::write(&temporary, &file.after)?;
        std::fs::rename(&temporary, &file.file)?;
        for finding in &file.applied {
            writeln!(
                said,
                "fixed {}:{}: {} {}",
                finding.file.display(),
                finding.line,
                finding.code,
                finding.message
            )?;
        }
    }
    said.flush()?;
    Ok(())
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
