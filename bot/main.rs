//! The `gep-bot` binary: logging set up, then the command line.

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    // SAFETY: nothing has used SQLite yet, and no other thread runs.
    unsafe { gep_bot::machinery::store::without_memory_statistics() };
    // `serve` logs what it does (a migration applied included); a command run by a person says
    // its result on stdout and brings only warnings here, not a library's info lines.
    let serving = std::env::args().nth(1).as_deref() == Some("serve");
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GEP_BOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // JSON for log collectors (one object a line, with the delivery id of the job being worked
    // on); text for people at a terminal. GEP_BOT_LOG_FORMAT=json|text chooses explicitly.
    let json = match std::env::var("GEP_BOT_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    gep_bot::machinery::cli::run()
}
