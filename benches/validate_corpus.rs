//! Validates the real 36-GEP corpus and prints the time per GEP and the whole-process time, each
//! beside a baseline measured in the same run (these machines are noisy; ratios travel better).
//!
//! Run: `cargo bench --bench validate_corpus` (release build). Target: the whole corpus in under
//! 20 ms as one process.

use std::process::Command;
use std::time::Duration;

use gep_bot::domain::validate::{self, Options, Template};

#[path = "support/process.rs"]
mod process;

use process::{ms, shared, time};

fn main() {
    let corpus = shared().join("fixtures/gateway-api/geps");
    assert!(
        corpus.is_dir(),
        "corpus not found at {}: set GEP_BOT_SHARED",
        corpus.display()
    );
    let paths = vec![corpus.clone()];
    let template = Template::builtin();
    let set = validate::load(&paths).expect("corpus loads");
    let geps = set.checked_count();

    // In process: reading the files (the floor any validator pays) against reading + validating.
    let read = time(50, || validate::load(&paths).unwrap());
    let check = time(50, || {
        validate::validate(&set, &template, &Options::default())
    });
    let both = read + check;
    println!("corpus: {geps} GEPs");
    println!(
        "in process: read {:.3} ms, validate {:.3} ms ({:.1} us per GEP), read+validate = {:.2}x read alone",
        ms(read),
        ms(check),
        check.as_secs_f64() * 1e6 / geps as f64,
        both.as_secs_f64() / read.as_secs_f64()
    );

    // Whole process: `gep-bot validate` on the corpus against `gep-bot --version` (start-up alone).
    let bin = env!("CARGO_BIN_EXE_gep-bot");
    let run = |args: &[&str]| {
        time(20, || {
            Command::new(bin).args(args).output().expect("gep-bot runs")
        })
    };
    let startup = run(&["--version"]);
    let whole = run(&["validate", corpus.to_str().unwrap(), "--format", "json"]);
    println!(
        "whole process: validate {:.2} ms, start-up alone {:.2} ms, ratio {:.2}x; target < 20 ms: {}",
        ms(whole),
        ms(startup),
        whole.as_secs_f64() / startup.as_secs_f64(),
        if whole < Duration::from_millis(20) {
            "met"
        } else {
            "MISSED"
        }
    );
}
