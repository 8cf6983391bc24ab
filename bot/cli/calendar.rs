//! `gep-bot calendar [--schedule FILE] [--out FILE] [--list --from DATE --to DATE]`

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the calendar is not built yet")
}
