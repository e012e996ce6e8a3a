//! Every damaged copy of a freshly written checkpoint is rejected as corrupt
//! (issue 19): truncations on a grid and seeded single-byte changes, half of
//! them in the safetensors header (length prefix and JSON: config, schema,
//! preprocessing, tensor table), loaded from memory. None may load, none may
//! panic, and each error must be a checkpoint error that says the file is
//! corrupt. The format and the rule are described in docs/checkpoint-format.md.

mod common;

use common::{small_config, synthetic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scmosaic::{Error, Model, ModelConfig};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Default, Debug)]
struct Tally {
    tried: usize,
    accepted: Vec<String>,
    panicked: Vec<String>,
    wrong_error: Vec<String>,
}

impl Tally {
    fn load(&mut self, what: String, bytes: &[u8]) {
        self.tried += 1;
        match catch_unwind(AssertUnwindSafe(|| Model::from_bytes(bytes))) {
            Err(_) => self.panicked.push(what),
            Ok(Ok(_)) => self.accepted.push(what),
            Ok(Err(e)) => {
                let msg = e.to_string();
                if !matches!(e, Error::Checkpoint(_)) || !msg.contains("corrupt") {
                    self.wrong_error.push(format!("{what}: {msg}"));
                }
            }
        }
    }
}

/// Damages `bytes` in every way of the test and tallies the outcomes.
fn probe(bytes: &[u8], seed: u64) -> Tally {
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert!(header_end < bytes.len(), "header inside the file");
    let mut t = Tally::default();
    // Truncations: every length up to the end of the header plus 64 bytes
    // (that is where parsing is delicate), then a grid of 200 lengths.
    let dense_until = (header_end + 64).min(bytes.len());
    let grid = (0..200).map(|k| dense_until + k * (bytes.len() - dense_until) / 200);
    for cut in (0..dense_until).step_by(7).chain(grid) {
        if cut < bytes.len() {
            t.load(format!("truncated to {cut} bytes"), &bytes[..cut]);
        }
    }
    // 300 single-byte changes, half in the header.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for k in 0..300 {
        let at = if k % 2 == 0 {
            rng.random_range(0..header_end)
        } else {
            rng.random_range(header_end..bytes.len())
        };
        let mut copy = bytes.to_vec();
        copy[at] ^= rng.random_range(1..=255u8);
        t.load(
            format!(
                "byte {at} changed from {:#04x} to {:#04x}",
                bytes[at], copy[at]
            ),
            &copy,
        );
    }
    t
}

fn check(label: &str, bytes: &[u8], seed: u64) {
    assert!(Model::from_bytes(bytes).is_ok(), "{label}: the intact copy");
    let t = probe(bytes, seed);
    assert!(t.tried > 500, "{label}: {} damaged copies", t.tried);
    assert!(
        t.accepted.is_empty() && t.panicked.is_empty() && t.wrong_error.is_empty(),
        "{label}: of {} damaged copies, {} loaded: {:?}; {} panicked: {:?}; \
         {} gave another error than a corrupt-checkpoint one: {:?}",
        t.tried,
        t.accepted.len(),
        t.accepted,
        t.panicked.len(),
        t.panicked,
        t.wrong_error.len(),
        t.wrong_error
    );
}

#[test]
fn damaged_scvaeit_checkpoints_are_rejected_as_corrupt() {
    let (data, _) = synthetic(60, 30, 5, 21);
    let m = Model::new(&small_config(1), &data).unwrap();
    check("scvaeit", &m.to_bytes().unwrap(), 1);
}

#[test]
fn damaged_multigrate_checkpoints_are_rejected_as_corrupt() {
    let (data, _) = synthetic(60, 30, 5, 22);
    let mut cfg = ModelConfig::from_json(
        r#"{"model": "multigrate", "latent_dim": 4, "hidden": [16],
            "multigrate": {"integrate_on": "batch", "alignment": "mmd", "cond_dim": 4}}"#,
    )
    .unwrap();
    cfg.train.epochs = 1;
    let m = Model::new(&cfg, &data).unwrap();
    check("multigrate", &m.to_bytes().unwrap(), 2);
}
