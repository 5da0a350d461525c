//! How kb.db stores an embedding: IEEE 754 half precision (f16), little-endian, two bytes per
//! dimension. Embeddings are unit-length cosine vectors whose components are far inside f16's
//! range; rounding to f16's 11 significant bits changes a cosine similarity by well under 1e-3,
//! which neither ranking nor the 0.2 similarity threshold notices (tests in `tests/query.rs`
//! and the recall tests of `vectors.rs`), for half the bytes of f32.
//!
//! Schema version 1 stored f32; migration 2 converts those BLOBs with [`f32_blob_to_f16`].

/// The encoding recorded in kb.db's `meta` table under `vector_encoding`.
pub const VECTOR_ENCODING: &str = "f16";

/// Bytes per dimension of a stored embedding.
pub const BYTES_PER_DIM: usize = 2;

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

/// Encodes a vector for kb.db: f16, little-endian.
pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| f32_to_f16(*x).to_le_bytes()).collect()
}

/// Decodes a stored vector; a length that is not a whole number of f16s is corrupt.
pub fn decode_vector(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(BYTES_PER_DIM) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
    )
}

/// Re-encodes a schema-1 BLOB (little-endian f32) as f16; `None` when it is not whole f32s.
pub fn f32_blob_to_f16(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .flat_map(|b| f32_to_f16(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes())
            .collect(),
    )
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
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f32::from_bits(state as u32);
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
        assert_eq!(bytes.len(), 2048);
        let back = decode_vector(&bytes).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= a.abs() / 1024.0 + 1e-7, "{a} vs {b}");
        }
        assert!(decode_vector(&bytes[..5]).is_none());
        let legacy: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(f32_blob_to_f16(&legacy).unwrap(), bytes);
        assert!(f32_blob_to_f16(&legacy[..6]).is_none());
    }
}
