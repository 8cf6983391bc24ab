//! gep-bot: the GitHub App, calendar publisher and command-line tool of the Gateway API GEP process.
//!
//! One module per capability. Each capability keeps a pure core (inputs in, findings or actions out)
//! and leaves IO to its edge, so the command line, the server and the tests all drive the same code.

pub mod agenda;
pub mod calendar;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod edge;
pub mod gep;
pub mod github;
pub mod help;
pub mod lifecycle;
pub mod memory;
pub mod mesh;
pub mod pipeline;
pub mod report;
pub mod review;
pub mod status;
pub mod store;
pub mod text;
pub mod validate;
