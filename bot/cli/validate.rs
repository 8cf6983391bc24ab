//! `gep-bot validate [PATH...] [--template FILE] [--format human|json|github] [--strict]`

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::validate::{self, Format, Options, SourceText, Summary, Template};

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
    /// Report every finding as an error.
    #[arg(long)]
    strict: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A template's unreadable rules are findings like any other, reported with the GEPs'.
    let (template, template_source, mut findings) = match &args.template {
        Some(path) => {
            let (template, source, findings) = Template::load(path)
                .with_context(|| format!("cannot read template {}", path.display()))?;
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
            ..Options::default()
        },
    ));
    let summary = Summary::of(&findings, set.checked_count());
    let sources: Vec<&SourceText> = set.sources().chain(template_source.iter()).collect();
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = stdout.lock();
    validate::render(&mut out, args.format, &findings, sources, summary, color)?;
    out.flush()?;
    Ok(if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
