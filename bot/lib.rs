//! gep-bot: the GitHub App, calendar publisher and command-line tool of the Gateway API GEP process.
//!
//! Five folders, by what a module is:
//! - [`core`]: the pure language the rest speaks (events, actions, plans, state changes, the read
//!   traits, errors). No IO, no clock.
//! - [`capabilities`]: what reacts to events, one folder each, all of one shape
//!   ([`capabilities::Capability`]), listed once.
//! - [`products`]: what the bot publishes for people (the calendar, the dashboard, the report).
//! - [`domain`]: the GEP process itself (GEP documents and statuses, validation, comment commands),
//!   used by capabilities, products and the command line alike.
//! - [`machinery`]: IO at the edge (the webhook pipeline, the stores, the GitHub client, the HTTP
//!   edge, the command line, configuration).

pub mod capabilities;
pub mod core;
pub mod domain;
pub mod machinery;
pub mod products;
