//! Delivery bodies as both stores keep them: LZ4-compressed, a 4-byte length first.
//!
//! Webhook bodies are JSON that compresses about 4:1 (the `issues` fixture: 13.5 KB to 3 KB in
//! ~6 us), and every byte stored is copied several times after: into the page, the WAL, its
//! checksum, the checkpoint. Compressing happens on the request's task, before the writer's
//! queue, so the one writer thread (SQLite) or the group's one statement (PostgreSQL, which
//! would otherwise compress each body again with pglz, ~0.3 ms for a 13 KB webhook) never pays
//! for it. Rows written before compression came in say `identity` and are read as they are.

use crate::github::event::MAX_BODY;
use crate::store::StoreError;

/// What new rows' `encoding` column says.
pub const ENCODING: &str = "lz4";

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
            lz4_flex::decompress_size_prepended(&stored)
                .map_err(|error| unreadable(error.to_string()))
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
