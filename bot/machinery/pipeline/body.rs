//! Reading a webhook body. Its signature can only be checked once all of it is in, so until then
//! the bytes are anyone's: the bodies being received share one memory budget (a delivery that
//! does not fit is answered 503 with `Retry-After`, never queued), and a body must arrive within
//! a deadline (GitHub gives up on a delivery after 10 seconds anyway).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::MAX_BODY;

/// The budget `serve` uses unless configured: four bodies of the largest size GitHub sends.
pub const DEFAULT_BUDGET: usize = 4 * MAX_BODY;
/// The time a body has to arrive in full once its headers are in.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// The budget is counted in units of this many bytes (a semaphore's permits are `u32`).
const UNIT: usize = 1024;
/// A body of unknown length reserves this much more each time it outgrows its reservation.
const STEP: usize = 64 * UNIT;
/// What a delivery refused for want of memory asks GitHub (or an operator) to wait.
pub const RETRY_AFTER_SECONDS: u64 = 5;
/// The most of a refused body read (and thrown away) before its connection is closed: past a
/// body over the limit, so that a client writing all of it before reading still reads the answer.
pub const DRAIN_MOST: usize = 64 << 20;
/// The longest a refused body is read for.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Memory that bodies in flight may take together, shared by all requests of one intake.
#[derive(Clone)]
pub struct Budget {
    units: Arc<Semaphore>,
    total: usize,
}

impl Budget {
    pub fn new(bytes: usize) -> Budget {
        // At least one body of the largest size, so every valid delivery can get in alone.
        let units = bytes.max(MAX_BODY).div_ceil(UNIT);
        Budget {
            units: Arc::new(Semaphore::new(units)),
            total: units,
        }
    }

    /// Bytes reserved by bodies being received now.
    pub fn in_use(&self) -> usize {
        (self.total - self.units.available_permits()) * UNIT
    }

    fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let units = u32::try_from(bytes.div_ceil(UNIT)).ok()?;
        self.units.clone().try_acquire_many_owned(units).ok()
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_BUDGET)
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Over [`MAX_BODY`]: 413.
    TooLarge,
    /// The budget is spent: 503 with `Retry-After`.
    Busy,
    /// Not all of it within [`DEADLINE`]: 408.
    TooSlow,
    /// The client went away or sent a broken body: 400.
    Broken,
}

impl Refused {
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refused::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refused::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Refused::Broken => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refused::TooLarge => {
                format!("the body is over {} MiB, GitHub's limit\n", MAX_BODY >> 20)
            }
            Refused::Busy => format!(
                "too many bodies being received; redeliver in {RETRY_AFTER_SECONDS} seconds\n"
            ),
            Refused::TooSlow => format!("the body did not arrive within {DEADLINE:?}\n"),
            Refused::Broken => "the body could not be read\n".to_owned(),
        }
    }

    pub fn outcome(&self) -> &'static str {
        match self {
            Refused::TooLarge => "too_large",
            Refused::Busy => "busy",
            Refused::TooSlow => "too_slow",
            Refused::Broken => "bad_request",
        }
    }
}

/// A body read in full, with the share of the budget it holds until dropped.
pub struct Received {
    pub bytes: Bytes,
    _reserved: Option<OwnedSemaphorePermit>,
}

/// Reads `body` within the budget and [`DEADLINE`]. A declared `Content-Length` is reserved
/// before a byte is read (and refused at once when over [`MAX_BODY`] or the budget); a body of
/// unknown length reserves as it grows.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    budget: &Budget,
    deadline: Duration,
) -> Result<Received, Refused> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        drain(headers, body).await;
        return Err(Refused::TooLarge);
    }
    let declared = declared.map(|n| n as usize);
    // One permit for the whole body; what it may still grow into is what it holds.
    let mut reserved = match declared {
        Some(n) => match budget.reserve(n) {
            Some(permit) => Some(permit),
            None => {
                drain(headers, body).await;
                return Err(Refused::Busy);
            }
        },
        None => None,
    };
    let room = |reserved: &Option<OwnedSemaphorePermit>| {
        reserved.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    };
    let collect = async {
        // Sized once from the declared length: no doubling copies of a large body.
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| Refused::Broken)?;
            if bytes.len() + chunk.len() > MAX_BODY {
                drop(bytes);
                drain_stream(stream).await;
                return Err(Refused::TooLarge);
            }
            while bytes.len() + chunk.len() > room(&reserved) {
                let Some(more) = budget.reserve(STEP) else {
                    drop(bytes);
                    drain_stream(stream).await;
                    return Err(Refused::Busy);
                };
                match &mut reserved {
                    Some(permit) => permit.merge(more),
                    None => reserved = Some(more),
                }
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    let bytes = tokio::time::timeout(deadline, collect)
        .await
        .map_err(|_| Refused::TooSlow)??;
    Ok(Received {
        bytes: Bytes::from(bytes),
        _reserved: reserved,
    })
}

/// Reads a body that is refused and throws it away ([`DRAIN_MOST`] bytes and [`DRAIN_TIME`] at
/// most), so that the answer reaches a client that writes all of its body before reading:
/// closing a connection with unread bytes makes the kernel reset it, and such a client then
/// sees the reset instead of the answer. A client that waits for `100 Continue` has sent
/// nothing, and is answered at once.
pub async fn drain(headers: &HeaderMap, body: Body) {
    let waits_to_send = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if !waits_to_send {
        // Read beside the answer, not before it: a client that reads early has it at once.
        tokio::spawn(drain_stream(body.into_data_stream()));
    }
}

async fn drain_stream(mut stream: axum::body::BodyDataStream) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > DRAIN_MOST {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(n: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, n.into());
        headers
    }

    #[tokio::test]
    async fn a_declared_length_is_reserved_before_reading_and_given_back_after() {
        let budget = Budget::new(MAX_BODY);
        let first = read(
            &declared(3 * UNIT),
            Body::from(vec![b'x'; 3 * UNIT]),
            &budget,
            DEADLINE,
        )
        .await
        .unwrap();
        assert_eq!(budget.in_use(), 3 * UNIT);
        // The rest of the budget is what a second body may have.
        let too_big = MAX_BODY - 2 * UNIT;
        let refused = read(&declared(too_big), Body::empty(), &budget, DEADLINE).await;
        assert_eq!(refused.err(), Some(Refused::Busy));
        drop(first);
        assert_eq!(budget.in_use(), 0);
        assert!(
            read(
                &declared(too_big),
                Body::from(vec![0; too_big]),
                &budget,
                DEADLINE
            )
            .await
            .is_ok()
        );
    }

    #[tokio::test]
    async fn a_body_of_unknown_length_reserves_as_it_grows() {
        let budget = Budget::new(MAX_BODY);
        let chunks = futures::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; STEP]))),
        );
        let got = read(
            &HeaderMap::new(),
            Body::from_stream(chunks),
            &budget,
            DEADLINE,
        )
        .await
        .unwrap();
        assert_eq!(got.bytes.len(), 4 * STEP);
        assert_eq!(budget.in_use(), 4 * STEP);
    }

    #[tokio::test]
    async fn over_the_limit_is_too_large_declared_or_not() {
        let budget = Budget::default();
        let declared_over = read(&declared(MAX_BODY + 1), Body::empty(), &budget, DEADLINE).await;
        assert_eq!(declared_over.err(), Some(Refused::TooLarge));
        let chunks = futures::stream::iter(
            (0..=MAX_BODY / STEP).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0; STEP]))),
        );
        let streamed = read(
            &HeaderMap::new(),
            Body::from_stream(chunks),
            &budget,
            DEADLINE,
        )
        .await;
        assert_eq!(streamed.err(), Some(Refused::TooLarge));
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn a_body_that_trickles_past_the_deadline_is_too_slow() {
        let budget = Budget::default();
        let trickle = futures::stream::unfold(0, |i| async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"{")), i + 1))
        });
        let got = read(
            &declared(100),
            Body::from_stream(trickle),
            &budget,
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(got.err(), Some(Refused::TooSlow));
        assert_eq!(budget.in_use(), 0, "given back when refused");
    }
}
