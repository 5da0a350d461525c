//! How kb.db stores an embedding: losslessly, as the f32 values the model (or an imported
//! upstream store) gave, little-endian, in one of two layouts, whichever is smaller:
//!
//! * dense: the byte `F`, then four bytes per dimension (a length of 1 + 4·dim);
//! * sparse: the byte `P`, the dimension as u32, then `(index: u16, value: f32)` for each
//!   component whose bits are not +0.0, in increasing index order (a length of 5 + 6 per entry).
//!   Embedding dimensions are at most 65,536 (`llm/`), so an index fits a u16; larger vectors
//!   are always dense.
//!
//! Both layouts give back every bit of every value (-0.0 and NaN payloads included), so an
//! imported upstream vector is stored bit-exactly and exact search over kb.db's vectors ranks
//! as upstream's exact f32 search over the same vectors does. Lexical embeddings (the local
//! provider's feature hashing: a relation's text sets about 34 of 1,024 components) are sparse,
//! 209 bytes instead of 4,097.
//!
//! Both new layouts have an odd length and a tag, so they are told apart from what lrt wrote
//! before (read, never written): f16 dense (an even length, two bytes per dimension) and f16
//! sparse (`S`, u32 dimension, `(u16, f16)` entries). A KB written by an older lrt keeps its f16
//! vectors until they are rewritten (an ingest that touches them, or `lrt kb reindex --reembed`);
//! f16 rounding could swap neighbours whose scores differ in the fourth decimal.
//!
//! Schema version 1 stored bare f32; migration 2 converted those to f16 with [`f32_blob_to_f16`].

/// The encoding migration 2 recorded in kb.db's `meta` table under `vector_encoding`; vectors
/// written since are f32 (see above) and readers accept both.
pub const VECTOR_ENCODING: &str = "f16";

/// The first byte of a legacy f16 sparse embedding.
const SPARSE_F16: u8 = b'S';
/// The first byte of a dense f32 embedding.
const DENSE_F32: u8 = b'F';
/// The first byte of a sparse f32 embedding.
const SPARSE_F32: u8 = b'P';

/// Rounds an f32 to the nearest f16 (ties to even), as IEEE 754 conversion does. Values beyond
/// f16's range become infinities, NaN stays NaN.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x007f_ffff;
    if exp == 0xff {
        // Infinity, or NaN (kept quiet and non-zero).
        return sign | 0x7c00 | if man != 0 { 0x0200 | (man >> 13) as u16 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal in f16 (or zero): shift the full significand into place and round.
        if e < -10 {
            return sign;
        }
        let full = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = full & ((1u32 << shift) - 1);
        let mut out = (full >> shift) as u16;
        if rest > half || (rest == half && out & 1 == 1) {
            out += 1;
        }
        return sign | out;
    }
    let mut out = ((e as u32) << 10 | (man >> 13)) as u16;
    let rest = man & 0x1fff;
    // Round to nearest, ties to even; a carry into the exponent is the correct result.
    if rest > 0x1000 || (rest == 0x1000 && out & 1 == 1) {
        out += 1;
    }
    sign | out
}

/// The f32 value of an f16 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x03ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise.
            let shift = man.leading_zeros() - 21;
            let man = (man << shift) & 0x03ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (man << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// Encodes a vector for kb.db: f32, dense or sparse, whichever is smaller.
pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    let nonzero = v.iter().filter(|x| x.to_bits() != 0).count();
    let sparse_len = 5 + 6 * nonzero;
    match u32::try_from(v.len()) {
        Ok(dim) if sparse_len < 1 + 4 * v.len() && v.len() <= 1 << 16 => {
            let mut out = Vec::with_capacity(sparse_len);
            out.push(SPARSE_F32);
            out.extend(dim.to_le_bytes());
            for (i, x) in v.iter().enumerate().filter(|(_, x)| x.to_bits() != 0) {
                out.extend((i as u16).to_le_bytes());
                out.extend(x.to_le_bytes());
            }
            out
        }
        _ => {
            let mut out = Vec::with_capacity(1 + 4 * v.len());
            out.push(DENSE_F32);
            out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
            out
        }
    }
}

/// Encodes a vector as lrt stored it before f32: f16, dense or sparse, whichever is smaller.
/// Only migration 2 writes it now.
pub fn encode_vector_f16(v: &[f32]) -> Vec<u8> {
    let halves: Vec<u16> = v.iter().map(|x| f32_to_f16(*x)).collect();
    let nonzero = halves.iter().filter(|h| **h != 0).count();
    let sparse_len = 5 + 4 * nonzero;
    match u32::try_from(v.len()) {
        Ok(dim) if sparse_len < 2 * v.len() && v.len() <= 1 << 16 => {
            let mut out = Vec::with_capacity(sparse_len);
            out.push(SPARSE_F16);
            out.extend(dim.to_le_bytes());
            for (i, h) in halves.iter().enumerate().filter(|(_, h)| **h != 0) {
                out.extend((i as u16).to_le_bytes());
                out.extend(h.to_le_bytes());
            }
            out
        }
        _ => halves.iter().flat_map(|h| h.to_le_bytes()).collect(),
    }
}

/// Decodes a stored vector (any layout, f32 or legacy f16); `None` when the bytes are none of
/// them (corrupt).
pub fn decode_vector(bytes: &[u8]) -> Option<Vec<f32>> {
    if bytes.len().is_multiple_of(2) {
        return Some(
            bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        );
    }
    let (&tag, rest) = bytes.split_first()?;
    match tag {
        DENSE_F32 if rest.len().is_multiple_of(4) => Some(
            rest.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        SPARSE_F32 => decode_sparse(rest, 4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        SPARSE_F16 => decode_sparse(rest, 2, |b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))),
        _ => None,
    }
}

/// A sparse layout after its tag: u32 dimension, then `(u16 index, value of width bytes)`.
fn decode_sparse(rest: &[u8], width: usize, value: impl Fn(&[u8]) -> f32) -> Option<Vec<f32>> {
    let entry = 2 + width;
    if rest.len() < 4 || !(rest.len() - 4).is_multiple_of(entry) {
        return None;
    }
    let dim = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    if dim > 1 << 16 {
        return None;
    }
    let mut out = vec![0.0f32; dim];
    let mut next = 0usize;
    for e in rest[4..].chunks_exact(entry) {
        let i = usize::from(u16::from_le_bytes([e[0], e[1]]));
        // Indexes strictly increase and stay inside the dimension.
        if i < next || i >= dim {
            return None;
        }
        out[i] = value(&e[2..]);
        next = i + 1;
    }
    Some(out)
}

/// Re-encodes a schema-1 BLOB (little-endian f32); `None` when it is not whole f32s.
pub fn f32_blob_to_f16(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(encode_vector_f16(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f16_survives_a_round_trip_through_f32() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                assert!(
                    f32_to_f16(x) & 0x7c00 == 0x7c00 && f32_to_f16(x) & 0x03ff != 0,
                    "{h:#x}"
                );
            } else {
                assert_eq!(f32_to_f16(x), h, "{h:#x} = {x}");
            }
        }
    }

    #[test]
    fn known_values_and_rounding() {
        let cases: [(f32, u16); 14] = [
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3c00),
            (-2.0, 0xc000),
            (0.1, 0x2e66),
            (1.0 / 3.0, 0x3555),
            (65504.0, 0x7bff),
            (65520.0, 0x7c00), // halfway to the next binade: ties to even, which is infinity
            (1e9, 0x7c00),
            (f32::INFINITY, 0x7c00),
            (5.960_464_5e-8, 0x0001), // 2^-24, the smallest subnormal
            (2.980_232_2e-8, 0x0000), // 2^-25: a tie, to even (zero)
            (4.470_348_4e-8, 0x0001), // 1.5 * 2^-25 rounds up
            (6.097_555e-5, 0x03ff),   // the largest subnormal
        ];
        for (x, h) in cases {
            assert_eq!(f32_to_f16(x), h, "{x}");
        }
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
    }

    /// Every f32 rounds to one of the two f16 values around it, the nearer one.
    #[test]
    fn conversion_rounds_to_nearest() {
        let mut next = crate::rag::xorshift(0x9E37_79B9_7F4A_7C15u64);
        for _ in 0..200_000 {
            let x = f32::from_bits(next() as u32);
            if !x.is_finite() || x.abs() > 65504.0 {
                continue;
            }
            let h = f32_to_f16(x);
            let y = f16_to_f32(h) as f64;
            let error = (y - x as f64).abs();
            for neighbour in [h.wrapping_add(1), h.wrapping_sub(1)] {
                let z = f16_to_f32(neighbour) as f64;
                if z.is_finite() {
                    assert!(error <= (z - x as f64).abs(), "{x} -> {y}, but {z} is nearer");
                }
            }
        }
    }

    #[test]
    fn vectors_round_trip_bit_exactly() {
        let mut v: Vec<f32> = (0..1024).map(|i| ((i as f32) * 0.37).sin() / 16.0).collect();
        v[5] = -0.0;
        v[6] = f32::from_bits(0x7fc0_1234); // a NaN with a payload
        v[7] = f32::MIN_POSITIVE / 3.0; // subnormal
        let bytes = encode_vector(&v);
        assert_eq!(bytes.len(), 1 + 4096, "dense");
        let back = decode_vector(&bytes).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        // Sparse: +0.0 is left out, -0.0 is kept.
        let mut sparse = vec![0.0f32; 1024];
        for (i, x) in [(0usize, 0.5f32), (7, -0.0), (1023, 0.125), (300, 1e-30)] {
            sparse[i] = x;
        }
        let bytes = encode_vector(&sparse);
        assert_eq!((bytes[0], bytes.len()), (b'P', 5 + 6 * 4));
        let back = decode_vector(&bytes).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            sparse.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        // Just past the break-even point the dense layout is used.
        let mut few = vec![0.5f32; 4];
        assert_eq!(encode_vector(&few).len(), 17);
        few[1] = 0.0;
        few[2] = 0.0;
        assert_eq!(encode_vector(&few).len(), 17, "5 + 12 is not smaller");
        few[3] = 0.0;
        assert_eq!(encode_vector(&few).len(), 11);
        assert_eq!(decode_vector(&encode_vector(&[0.0; 8])).unwrap(), vec![0.0; 8]);
        // Beyond u16 indexes: dense.
        assert_eq!(encode_vector(&vec![0.0; 70_000])[0], b'F');
    }

    /// KBs written before f32 storage keep reading their f16 vectors.
    #[test]
    fn legacy_f16_vectors_still_decode() {
        let v: Vec<f32> = (0..1024).map(|i| ((i as f32) * 0.37).sin() / 16.0).collect();
        let bytes = encode_vector_f16(&v);
        assert_eq!(bytes.len(), 2048, "dense");
        let back = decode_vector(&bytes).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= a.abs() / 1024.0 + 1e-7, "{a} vs {b}");
        }
        let legacy: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(f32_blob_to_f16(&legacy).unwrap(), bytes);
        assert!(f32_blob_to_f16(&legacy[..6]).is_none());

        let mut s = vec![0.0f32; 1024];
        for (i, x) in [(0usize, 0.5f32), (7, -0.25), (1023, 0.125), (300, 1e-9)] {
            s[i] = x;
        }
        let bytes = encode_vector_f16(&s);
        // 1e-9 is zero in f16, so three entries.
        assert_eq!((bytes[0], bytes.len()), (b'S', 5 + 4 * 3));
        let dense: Vec<f32> = s.iter().map(|x| f16_to_f32(f32_to_f16(*x))).collect();
        assert_eq!(decode_vector(&bytes).unwrap(), dense);
    }

    #[test]
    fn damaged_vectors_are_refused() {
        let mut v = vec![0.0f32; 64];
        v[3] = 1.0;
        v[9] = 2.0;
        for (good, entry) in [(encode_vector(&v), 6), (encode_vector_f16(&v), 4)] {
            assert!(decode_vector(&good).is_some());
            let mut tag = good.clone();
            tag[0] = b'X';
            assert!(decode_vector(&tag).is_none());
            assert!(decode_vector(&good[..good.len() - entry]).is_some(), "one entry fewer");
            assert!(decode_vector(&good[..good.len() - 2]).is_none());
            // Cut to an even length it reads as a (short) dense f16 vector, which `lrt doctor`
            // reports for its dimension.
            assert!(decode_vector(&good[..good.len() - 1]).is_some_and(|d| d.len() != 64));
            let mut order = good.clone();
            order.swap(5, 5 + entry); // the two indexes out of order
            assert!(decode_vector(&order).is_none());
            let mut outside = good.clone();
            outside[5 + entry] = 64; // index 64 of a 64-dimensional vector
            assert!(decode_vector(&outside).is_none());
            let mut huge = good;
            huge[1..5].copy_from_slice(&(1u32 << 20).to_le_bytes());
            assert!(decode_vector(&huge).is_none());
        }
        let dense = encode_vector(&[0.5; 64]);
        assert_eq!(decode_vector(&dense).unwrap(), vec![0.5; 64]);
        assert!(decode_vector(&dense[..dense.len() - 2]).is_none(), "not whole f32s");
    }
}
