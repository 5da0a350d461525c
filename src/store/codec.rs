//! How kb.db stores an embedding: IEEE 754 half precision (f16), little-endian, in one of two
//! layouts, whichever is smaller:
//!
//! * dense: two bytes per dimension (an even length);
//! * sparse: the byte `S`, the dimension as u32, then `(index: u16, value: f16)` for each
//!   non-zero component in increasing index order (an odd length, 5 + 4 per entry). Embedding
//!   dimensions are at most 65,536 (`model.rs`), so an index fits a u16.
//!
//! Dense model embeddings are always dense. Lexical embeddings (the local provider's feature
//! hashing: a relation's text sets about 34 of 1,024 components) are sparse, 140 bytes instead
//! of 2,048. Both layouts hold exactly the same f16 values.
//!
//! Embeddings are unit-length cosine vectors whose components are far inside f16's
//! range; rounding to f16's 11 significant bits changes a cosine similarity by well under 1e-3,
//! which neither ranking nor the 0.2 similarity threshold notices (tests in `tests/query.rs`
//! and the recall tests of `vectors.rs`), for half the bytes of f32.
//!
//! Schema version 1 stored f32; migration 2 converts those BLOBs with [`f32_blob_to_f16`].

/// The encoding recorded in kb.db's `meta` table under `vector_encoding`.
pub const VECTOR_ENCODING: &str = "f16";

/// The first byte of a sparse embedding.
const SPARSE: u8 = b'S';

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

/// Encodes a vector for kb.db: f16, dense or sparse, whichever is smaller.
pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    let halves: Vec<u16> = v.iter().map(|x| f32_to_f16(*x)).collect();
    let nonzero = halves.iter().filter(|h| **h != 0).count();
    let sparse_len = 5 + 4 * nonzero;
    match u32::try_from(v.len()) {
        Ok(dim) if sparse_len < 2 * v.len() && v.len() <= 1 << 16 => {
            let mut out = Vec::with_capacity(sparse_len);
            out.push(SPARSE);
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

/// Decodes a stored vector; `None` when the bytes are neither layout (corrupt).
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
    if tag != SPARSE || rest.len() < 4 || !(rest.len() - 4).is_multiple_of(4) {
        return None;
    }
    let dim = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    if dim > 1 << 16 {
        return None;
    }
    let mut out = vec![0.0f32; dim];
    let mut next = 0usize;
    for entry in rest[4..].chunks_exact(4) {
        let i = usize::from(u16::from_le_bytes([entry[0], entry[1]]));
        // Indexes strictly increase and stay inside the dimension.
        if i < next || i >= dim {
            return None;
        }
        out[i] = f16_to_f32(u16::from_le_bytes([entry[2], entry[3]]));
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
    Some(encode_vector(&v))
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
    fn vectors_round_trip_at_half_precision() {
        let v: Vec<f32> = (0..1024).map(|i| ((i as f32) * 0.37).sin() / 16.0).collect();
        let bytes = encode_vector(&v);
        assert_eq!(bytes.len(), 2048, "dense");
        let back = decode_vector(&bytes).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= a.abs() / 1024.0 + 1e-7, "{a} vs {b}");
        }
        let legacy: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(f32_blob_to_f16(&legacy).unwrap(), bytes);
        assert!(f32_blob_to_f16(&legacy[..6]).is_none());
    }

    #[test]
    fn sparse_vectors_are_stored_sparse_with_the_same_values() {
        let mut v = vec![0.0f32; 1024];
        for (i, x) in [(0usize, 0.5f32), (7, -0.25), (1023, 0.125), (300, 1e-9)] {
            v[i] = x;
        }
        let bytes = encode_vector(&v);
        // 1e-9 is zero in f16, so three entries.
        assert_eq!(bytes.len(), 5 + 4 * 3);
        let back = decode_vector(&bytes).unwrap();
        assert_eq!(back.len(), 1024);
        let dense: Vec<f32> = v.iter().map(|x| f16_to_f32(f32_to_f16(*x))).collect();
        assert_eq!(back, dense);
        // Just past the break-even point the dense layout is used.
        let mut full = vec![0.5f32; 4];
        assert_eq!(encode_vector(&full).len(), 8);
        full[1] = 0.0;
        full[2] = 0.0;
        full[3] = 0.0;
        assert_eq!(encode_vector(&full).len(), 8);
        assert_eq!(encode_vector(&[0.0; 8]).len(), 5);
        assert_eq!(decode_vector(&encode_vector(&[0.0; 8])).unwrap(), vec![0.0; 8]);
    }

    #[test]
    fn damaged_sparse_vectors_are_refused() {
        let mut v = vec![0.0f32; 64];
        v[3] = 1.0;
        v[9] = 2.0;
        let good = encode_vector(&v);
        assert!(decode_vector(&good).is_some());
        let mut tag = good.clone();
        tag[0] = b'X';
        assert!(decode_vector(&tag).is_none());
        assert!(decode_vector(&good[..good.len() - 2]).is_none());
        // Cut to an even length it reads as a (short) dense vector, which `lrt doctor` reports
        // for its dimension.
        assert!(decode_vector(&good[..good.len() - 1]).is_some_and(|d| d.len() != 64));
        let mut order = good.clone();
        order.swap(5, 9); // the two indexes out of order
        assert!(decode_vector(&order).is_none());
        let mut outside = good.clone();
        outside[9] = 64; // index 64 of a 64-dimensional vector
        assert!(decode_vector(&outside).is_none());
        let mut huge = good;
        huge[1..5].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(decode_vector(&huge).is_none());
    }
}
