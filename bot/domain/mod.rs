//! The GEP process itself, independent of GitHub and of the bot's runtime: GEP documents,
//! statuses and features, the validator and its findings, the comment commands, and text
//! helpers. Capabilities, products and the command line all build on it; it knows no IO beyond
//! reading a checkout for the command line.

pub mod commands;
pub mod gep;
pub mod standing;
pub mod text;
pub mod validate;
