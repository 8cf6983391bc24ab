//! Replicas wake each other: the statement that queues jobs notifies a channel of its schema at
//! commit (`pg_notify`), and each process listens on it with one connection of its own, so a job
//! queued by another replica is claimed at once instead of at this worker's next poll. A lost
//! connection is made again with backoff; meanwhile the worker polls as it always does.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use super::connect::{self, Role};
use crate::machinery::store::StoreError;

/// The channel of the schema the session works in, as SQL: the same expression where jobs are
/// queued (`intake`, which splices it into its statement) and where they are listened for.
/// Hashed: a channel name is at most 63 bytes, a schema name as long.
macro_rules! channel {
    () => {
        "'gep_bot_jobs_' || md5(current_schema())"
    };
}
pub(super) use channel;
const CHANNEL: &str = channel!();

/// How long making the listening connection may take before it counts as failed (an
/// unreachable server must not hold `serve`'s start).
const CONNECTING: Duration = Duration::from_secs(5);

/// Listens for jobs queued in `url`'s schema and tells `queued` of each. Answers once listening,
/// or with why it cannot yet (the worker polls meanwhile); either way it goes on trying, and
/// keeps listening across lost connections.
pub(super) async fn start(url: String, queued: Arc<Notify>) -> Result<(), StoreError> {
    let first = listen(&url, queued.clone()).await;
    let (listening, outcome) = match first {
        Ok(listening) => (Some(listening), Ok(())),
        Err(error) => (None, Err(error)),
    };
    tokio::spawn(keep_listening(url, queued, listening));
    outcome
}

/// Waits for the connection to close, then makes it again, with backoff while that fails.
async fn keep_listening(url: String, queued: Arc<Notify>, mut listening: Option<Listening>) {
    let mut delay = Duration::from_millis(100);
    loop {
        if let Some(closed) = listening.take() {
            if let Err(error) = closed.await.unwrap_or(Ok(())) {
                tracing::warn!(%error, "lost the connection that hears other replicas' jobs");
            }
            delay = Duration::from_millis(100);
        }
        tokio::time::sleep(delay).await;
        match listen(&url, queued.clone()).await {
            Ok(made) => {
                listening = Some(made);
                // Jobs queued while nothing listened were heard by no one: the worker looks
                // now rather than at its next poll.
                queued.notify_one();
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "cannot listen for other replicas' jobs; the worker polls meanwhile");
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// A connection listening on the schema's channel; the task answers when it closes.
type Listening = tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>;

/// `connect_and_listen`, given up after [`CONNECTING`].
async fn listen(url: &str, queued: Arc<Notify>) -> Result<Listening, StoreError> {
    tokio::time::timeout(CONNECTING, connect_and_listen(url, queued))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Config(format!(
                "no answer to LISTEN within {CONNECTING:?}"
            )))
        })
}

async fn connect_and_listen(url: &str, queued: Arc<Notify>) -> Result<Listening, StoreError> {
    let (config, tls) = connect::parse(url, Role::Durable)?;
    let (client, mut connection) = config.connect(tls).await?;
    // The connection must be polled for the LISTEN to be answered and for notifications to
    // arrive.
    let messages = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(_) = message? {
                queued.notify_one();
            }
        }
        Ok(())
    });
    let channel: String = client
        .query_one(&format!("SELECT {CHANNEL}"), &[])
        .await?
        .get(0);
    client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await?;
    // The client is kept while the connection lives: dropping it would close the connection.
    Ok(tokio::spawn(async move {
        let _client = client;
        messages.await.unwrap_or(Ok(()))
    }))
}
