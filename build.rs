//! Lays out tiktoken's `o200k_base` vocabulary as three little-endian tables in `OUT_DIR`,
//! which `rag::tokenizer` embeds and reads in place: loading the vocabulary through
//! tiktoken-rs (base64 lines into hash maps) costs 100–150 ms per process, which is most of a
//! cold `lrt query`.
//!
//! * `o200k_bytes.bin`: every token's bytes, by rank, back to back;
//! * `o200k_offsets.bin`: `u32` start of each rank in the bytes, plus the end (N + 1 values);
//! * `o200k_table.bin`: `u32` open-addressing slots (`rank + 1`, 0 = empty), placed by
//!   `src/rag/vocab_hash.rs` with linear probing.

#[path = "src/rag/vocab_hash.rs"]
mod vocab_hash;

use std::path::PathBuf;

/// o200k_base's ordinary tokens are the ranks 0..199,998 (the special tokens come after a gap).
const O200K_TOKENS: u32 = 199_998;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/rag/vocab_hash.rs");
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base loads");
    let mut bytes = Vec::with_capacity(2 << 20);
    let mut offsets = Vec::with_capacity(4 * (O200K_TOKENS as usize + 1));
    let mut table = vec![0u32; 1 << vocab_hash::TABLE_BITS];
    let mask = table.len() - 1;
    for rank in 0..O200K_TOKENS {
        let token = bpe.decode_bytes(&[rank]).expect("every rank below 199,998 is a token");
        offsets.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&token);
        let mut slot = vocab_hash::slot(&token);
        while table[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        table[slot] = rank + 1;
    }
    assert!(
        bpe.decode_bytes(&[O200K_TOKENS]).is_err(),
        "o200k_base has more ordinary tokens than expected"
    );
    offsets.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    let table: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("o200k_bytes.bin"), bytes).expect("write o200k_bytes.bin");
    std::fs::write(out.join("o200k_offsets.bin"), offsets).expect("write o200k_offsets.bin");
    std::fs::write(out.join("o200k_table.bin"), table).expect("write o200k_table.bin");
}
