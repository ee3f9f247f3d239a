//! The world's one seeded random generator. Each component draws from its own
//! sub-stream (derived from the world seed and a stable name), so adding a
//! draw in one layer does not shift the numbers another layer sees.

/// SplitMix64: small, fast, and good enough for jitter and seeded choices.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The sub-stream of `seed` named `name` (e.g. `"guest/8"`).
    pub fn substream(seed: u64, name: &str) -> Rng {
        let mut r = Rng::new(seed ^ fnv1a(name).rotate_left(17));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// `base` scaled by a factor drawn uniformly from [1 - spread, 1 + spread].
    pub fn jitter(&mut self, base: u64, spread: f64) -> u64 {
        let f = 1.0 + spread * (2.0 * self.unit() - 1.0);
        (base as f64 * f).max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_substreams_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::substream(7, "guest/8");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::substream(7, "guest/8");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::substream(7, "guest/9");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
