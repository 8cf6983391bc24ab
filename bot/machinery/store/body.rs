//! Delivery bodies as both stores keep them: LZ4-compressed, a 4-byte length first.
//!
//! Webhook bodies are JSON that compresses about 4:1 (the `issues` fixture: 13.5 KB to 3 KB in
//! ~6 us), and every byte stored is copied several times after: into the page, the WAL, its
//! checksum, the checkpoint. Compressing happens on the request's task, before the writer's
//! queue, so the one writer thread (SQLite) or the group's one statement (PostgreSQL, which
//! would otherwise compress each body again with pglz, ~0.3 ms for a 13 KB webhook) never pays
//! for it. Rows written before compression came in say `identity` and are read as they are.

use crate::core::event::MAX_BODY;
use crate::machinery::store::StoreError;

/// What new rows' `encoding` column says.
pub const ENCODING: &str = "lz4";

/// LZ4 by `lz4_flex` built without its `safe-*` features, for its faster code: under
/// `benches/support/callgrind.sh`, 48k fewer instructions a delivery on intake's threads (0.954x)
/// and 29k fewer a job on the worker's (0.885x). `checked-decode` stays on: every copy of the
/// decoder is bounded by its input and output. That decoder can answer a damaged block with
/// fewer bytes than the row says, which the safe one refused; [`unpack`] refuses it.
pub fn pack(body: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(body)
}

pub fn unpack(encoding: &str, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let unreadable = |why: String| StoreError::Body(format!("{encoding} body: {why}"));
    match encoding {
        "identity" => Ok(stored),
        "lz4" => {
            // The length comes from the row: check it before allocating that much.
            let length = stored
                .first_chunk::<4>()
                .map(|prefix| u32::from_le_bytes(*prefix) as usize)
                .ok_or_else(|| unreadable("shorter than its length prefix".into()))?;
            if length > MAX_BODY {
                return Err(unreadable(format!(
                    "says {length} bytes, over the {MAX_BODY}-byte limit"
                )));
            }
            // Decoded with the length just checked, not the prefix read a second time.
            let body = lz4_flex::block::decompress(&stored[4..], length)
                .map_err(|error| unreadable(error.to_string()))?;
            // A damaged block can decode to fewer bytes than it says, without an error.
            if body.len() != length {
                return Err(unreadable(format!(
                    "decodes to {} bytes, not the {length} it says",
                    body.len()
                )));
            }
            Ok(body)
        }
        other => Err(StoreError::Body(format!("unknown body encoding `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_come_back_as_they_went_in_and_smaller_on_disk() {
        let body = br#"{"action":"opened","issue":{"title":"mesh","body":"service mesh service mesh service mesh"}}"#.repeat(50);
        let packed = pack(&body);
        assert!(packed.len() * 4 < body.len(), "{} bytes", packed.len());
        assert_eq!(unpack(ENCODING, packed).unwrap(), body);
        assert_eq!(unpack("identity", b"{}".to_vec()).unwrap(), b"{}");
    }

    /// `stored` with bytes after its length prefix flipped (`at`, `by`) and then cut short.
    fn damaged(mut stored: Vec<u8>, flips: &[(usize, u8)], cut: usize) -> Vec<u8> {
        for &(at, by) in flips {
            let at = 4 + at % (stored.len() - 4).max(1);
            if at < stored.len() {
                stored[at] ^= by;
            }
        }
        stored.truncate(4 + cut % (stored.len() - 3));
        stored
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        #[test]
        fn a_damaged_row_is_an_error_or_its_length_never_memory_trouble(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..8),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let stored = pack(&body);
            proptest::prop_assert_eq!(unpack(ENCODING, stored.clone()).unwrap(), body.clone());
            if let Ok(read) = unpack(ENCODING, damaged(stored, &flips, cut)) {
                proptest::prop_assert_eq!(read.len(), body.len());
            }
        }
    }

    #[test]
    fn a_block_damaged_to_decode_short_is_an_error() {
        // Found by the property above: the decoder answers 6 bytes of the 35 the row says.
        let body = [
            0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
        ]
        .into_iter()
        .chain([0; 10])
        .collect::<Vec<u8>>();
        let stored = damaged(
            pack(&body),
            &[(3454772775401135457, 144)],
            6874169652064508669,
        );
        let error = unpack(ENCODING, stored).unwrap_err().to_string();
        assert!(error.contains("not the 35 it says"), "{error}");
    }

    #[test]
    fn damaged_rows_are_errors_not_huge_allocations() {
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"garbage");
        assert!(
            unpack(ENCODING, huge)
                .unwrap_err()
                .to_string()
                .contains("over the")
        );
        assert!(unpack(ENCODING, vec![1, 2]).is_err());
        assert!(unpack(ENCODING, pack(b"{}")[..5].to_vec()).is_err());
        assert!(unpack("gzip", vec![]).is_err());
    }
}
