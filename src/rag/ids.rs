//! Content-derived ids and hashes, computed exactly as LightRAG computes them, so that the same
//! document, entity, relation or LLM call gets the same key in lrt as upstream.

use md5::{Digest, Md5};

/// Lowercase hex MD5 of the UTF-8 bytes of `text` (Python's `md5(text.encode()).hexdigest()`).
pub fn md5_hex(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(text.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// `prefix` + MD5 of `content`: upstream's `compute_mdhash_id`, the base of every stored id.
pub fn compute_mdhash_id(content: &str, prefix: &str) -> String {
    format!("{prefix}{}", md5_hex(content))
}

/// Upstream's `compute_args_hash` (LLM cache keys) over arguments already rendered with
/// Python's `str()`. Zero or one argument: the plain MD5 of their concatenation (the legacy
/// form, kept stable). Two or more: each argument is written as `"{len}:{arg}"`, `len` in code
/// points, so that `("ab", "c")` and `("a", "bc")` hash differently.
pub fn compute_args_hash(args: &[&str]) -> String {
    if args.len() <= 1 {
        return md5_hex(&args.concat());
    }
    let framed: String = args.iter().map(|a| format!("{}:{a}", a.chars().count())).collect();
    md5_hex(&framed)
}

/// A relation is undirected: both ends in code-point order (Python's `sorted`). UTF-8 byte
/// order is code-point order, so `str`'s `Ord` is the right comparison.
fn sorted_pair<'a>(src: &'a str, tgt: &'a str) -> (&'a str, &'a str) {
    if src <= tgt { (src, tgt) } else { (tgt, src) }
}

/// Vector-store id of the relation between `src` and `tgt`, either direction:
/// `rel-` + MD5 of the sorted names concatenated without a separator.
pub fn relation_vdb_id(src: &str, tgt: &str) -> String {
    let (a, b) = sorted_pair(src, tgt);
    compute_mdhash_id(&format!("{a}{b}"), "rel-")
}

/// The reverse-order relation id that older upstream versions could write. Upstream deletes it
/// on every relation upsert, so a store migrated from LightRAG keeps no stale rows. It equals
/// [`relation_vdb_id`] when both concatenation orders coincide (e.g. `src == tgt`).
pub fn legacy_relation_vdb_id(src: &str, tgt: &str) -> String {
    let (a, b) = sorted_pair(src, tgt);
    compute_mdhash_id(&format!("{b}{a}"), "rel-")
}

/// Key under which a relation's source chunks are tracked: the sorted names joined by `<SEP>`.
pub fn relation_chunk_key(src: &str, tgt: &str) -> String {
    let (a, b) = sorted_pair(src, tgt);
    format!("{a}<SEP>{b}")
}

/// Vector-store id of an entity: `ent-` + MD5 of its (normalised) name.
pub fn entity_id(name: &str) -> String {
    compute_mdhash_id(name, "ent-")
}

/// Id of a document given by content: `doc-` + MD5 of the (sanitised) text.
pub fn doc_id(content: &str) -> String {
    compute_mdhash_id(content, "doc-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_empty_string() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn args_hash_frames_two_or_more_args() {
        assert_eq!(compute_args_hash(&[]), md5_hex(""));
        assert_eq!(compute_args_hash(&["abc"]), md5_hex("abc"));
        assert_eq!(compute_args_hash(&["ab", "c"]), md5_hex("2:ab1:c"));
        assert_eq!(compute_args_hash(&["é", "🦀"]), md5_hex("1:é1:🦀"));
    }

    #[test]
    fn relation_ids_ignore_direction() {
        assert_eq!(relation_vdb_id("b", "a"), relation_vdb_id("a", "b"));
        assert_eq!(relation_vdb_id("a", "b"), compute_mdhash_id("ab", "rel-"));
        assert_eq!(legacy_relation_vdb_id("a", "b"), compute_mdhash_id("ba", "rel-"));
        assert_eq!(relation_chunk_key("b", "a"), "a<SEP>b");
        assert_eq!(entity_id("x"), format!("ent-{}", md5_hex("x")));
        assert_eq!(doc_id("x"), format!("doc-{}", md5_hex("x")));
    }
}
