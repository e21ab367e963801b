//! A small seeded generator: the sandbox must be deterministic for a given
//! seed, and needs nothing cryptographic.

/// SplitMix64: tiny, fast, and good enough for simulated prices and ids.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator derived from this seed and a label, independent of the
    /// order in which labels are asked for.
    pub(crate) fn derive(seed: u64, label: &str) -> Self {
        let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in label.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        Rng(h)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `-span..=span`.
    pub(crate) fn symmetric(&mut self, span: i64) -> i64 {
        let width = u64::try_from(span).unwrap_or(0) * 2 + 1;
        i64::try_from(self.next_u64() % width).unwrap_or(0) - span
    }

    /// A UUID-shaped id (version 4 layout), deterministic for the seed.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_uuid_shape() {
        let mut a = Rng::derive(7, "t");
        let mut b = Rng::derive(7, "t");
        assert_eq!(a.uuid(), b.uuid());
        let id = Rng::derive(1, "x").uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!((0..1000).all(|_| a.symmetric(3).abs() <= 3));
    }
}
