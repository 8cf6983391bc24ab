//! GitHub at the edge: incoming webhook events as our own small types, the actions handlers
//! plan, the narrow read seam capabilities gather through, and the client under both: auth
//! (tokens, App JWTs), transport (send, pace, classify), GraphQL, reads, and the executor (writes).

pub mod action;
pub mod auth;
pub mod event;
pub mod executor;
pub mod graphql;
pub mod reads;
pub mod snapshot;
pub mod transport;

pub use action::{Action, Annotation, LabelTarget, Plan};
pub use auth::Credentials;
pub use event::{Actor, Event, EventError, Review, Subject};
pub use executor::Executor;
pub use reads::{Happening, Memo, MemoryPull, MemoryRepo, PullRequestInfo, Reads, Repo, Trees};
pub use transport::{ExecError, GitHub};
