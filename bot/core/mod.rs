//! The pure core: what happened (events), what the bot wants done (actions, plans, state
//! changes), what it may read (the read traits) and why something failed (errors).
//!
//! Capabilities and the machinery meet here. Nothing in this module knows HTTP, tokens, SQL or
//! a clock: it is the language the handlers speak, so it imports nothing of `machinery`.

pub mod action;
pub mod error;
pub mod event;
pub mod reads;
pub mod state;

pub use action::{Action, Annotation, LabelTarget, Plan, ReviewComment};
pub use error::ExecError;
pub use event::{
    Actor, Association, Comment, Event, EventAction, EventError, EventKind, Push, Review, Subject,
    SubjectKind,
};
pub use reads::{Happening, Memo, MemoryPull, MemoryRepo, PullRequestInfo, Reads, Trees};
pub use state::{Remembered, StateChange};
