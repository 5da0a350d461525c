//! The hash of the tokenizer's vocabulary table, shared by `build.rs` (which lays the table
//! out) and `rag::tokenizer` (which probes it), so both place a token in the same slot.

/// log2 of the number of slots: 2^19 = 524,288 for o200k's 199,998 tokens (load 0.38), so a
/// probe sequence is short.
pub const TABLE_BITS: u32 = 19;

/// A fast non-cryptographic hash of a token's bytes (8 bytes at a time, multiply-rotate).
pub fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, b) in chunks.remainder().iter().enumerate() {
        tail |= (*b as u64) << (8 * i);
    }
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The first slot to probe for `bytes`.
pub fn slot(bytes: &[u8]) -> usize {
    (hash(bytes) >> (64 - TABLE_BITS)) as usize
}
