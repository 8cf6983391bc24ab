//! GitHub at the edge: incoming webhook events as our own small types, the actions handlers plan,
//! and the executor that turns actions into API calls (or prints them in dry-run and replay).

pub mod action;
pub mod event;
pub mod executor;
pub mod reads;

pub use action::{Action, Annotation, LabelTarget, Plan, StateChange};
pub use event::{Actor, Event, EventError, Review, Subject};
pub use reads::{InstallationReads, MemoryTrees, Reads};
