//! GitHub at the edge: the client (auth: who the bot is; transport: octocrab underneath, our
//! pacing, conditional requests and sorting of answers on top; GraphQL), the reads capabilities
//! gather through ([`Repo`], implementing the core's read traits), and the executor that turns planned actions into writes. The types those speak
//! (events, actions, read traits, errors) are the core's, not this folder's.

pub mod auth;
pub mod executor;
pub mod graphql;
pub mod reads;
pub mod snapshot;
pub mod transport;

pub use auth::Credentials;
pub use executor::Executor;
pub use reads::Repo;
pub use transport::GitHub;
