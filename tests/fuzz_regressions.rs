//! Replays the fuzz harnesses (fuzz/harness.rs) on every saved regression
//! input (fuzz/regressions/) and on a few hundred seeded random inputs, so
//! that what the coverage-guided fuzzer found stays fixed. Long fuzz runs:
//! `cargo +nightly fuzz run checkpoint` / `dataset` in fuzz/ (see fuzz/README.md).

#[path = "../fuzz/harness.rs"]
mod harness;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn replay(dir: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("regression folder") {
        let path = entry.unwrap().path();
        if path.is_file() {
            f(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn saved_inputs_stay_fixed() {
    let a = replay("checkpoint", harness::checkpoint);
    let b = replay("dataset", harness::dataset);
    assert!(a + b > 0, "no regression inputs found");
}

#[test]
fn random_datasets() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..300 {
        let mut buf = vec![0u8; rng.random_range(0..600)];
        rng.fill_bytes(&mut buf);
        harness::dataset(&buf);
    }
}

#[test]
fn mutated_checkpoints() {
    // Format 1.0 (tensor-only checksum) and 1.1 (integrity over everything)
    // seeds, so both loading rules are exercised.
    for (k, name) in [
        "seed-valid.safetensors",
        "seed-valid-1.1-scvaeit.safetensors",
        "seed-valid-1.1-multigrate.safetensors",
    ]
    .into_iter()
    .enumerate()
    {
        let seed = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/regressions/checkpoint")
                .join(name),
        )
        .expect("seed checkpoint");
        mutate(&seed, 11 + k as u64);
    }
}

fn mutate(seed: &[u8], rng_seed: u64) {
    harness::checkpoint(seed);
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    for _ in 0..400 {
        let mut buf = seed.to_vec();
        match rng.random_range(0..4) {
            0 => buf.truncate(rng.random_range(0..seed.len())),
            1 => {
                // flip bytes in the JSON header (first 8 bytes: its length)
                let hdr = (u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize + 8)
                    .min(seed.len());
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..hdr);
                    buf[i] = rng.random();
                }
            }
            2 => {
                let i = rng.random_range(0..buf.len());
                buf[i] ^= 1 << rng.random_range(0..8);
            }
            _ => {
                let at = rng.random_range(0..buf.len());
                let extra: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                buf.splice(at..at, extra);
            }
        }
        harness::checkpoint(&buf);
    }
}
