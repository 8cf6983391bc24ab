//! IO at the edge: the webhook pipeline (intake, the worker), the stores (SQLite, PostgreSQL),
//! the GitHub client (auth, transport, reads, the executor that writes), the HTTP edge, the
//! command line and configuration. It runs the capabilities; it knows nothing of what they
//! decide.

pub mod cli;
pub mod config;
pub mod edge;
pub mod github;
pub mod pipeline;
pub mod store;
