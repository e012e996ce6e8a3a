//! Named random streams derived from one seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The independent random streams of training and inference.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    Init = 1,
    Shuffle = 2,
    Masks = 3,
    Noise = 4,
    Split = 5,
    Impute = 6,
    ValidationMasks = 7,
    ValidationNoise = 8,
    Dropout = 9,
    Embed = 10,
    Predictive = 11,
}

/// A ChaCha8 stream for `(seed, stream, index)`; `index` separates epochs.
pub(crate) fn rng_for(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((stream as u64) << 40) ^ index);
    rng
}
