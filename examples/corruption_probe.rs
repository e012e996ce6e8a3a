//! Damages checkpoints the way a careless disk or transfer would and loads
//! every copy through the C ABI (`scm_model_from_buffer`), as issue 19 did.
//!
//! ```text
//! cargo run --release --example corruption_probe -- [--seed S] [FILE.safetensors ...]
//! ```
//!
//! Without files it writes a fresh scVAEIT and a fresh Multigrate checkpoint
//! (2 epochs on 300 cells of the bundled REAP-seq data, with a batch
//! covariate) and probes those. Per file: 400 truncations at seeded random
//! lengths and 600 seeded single-byte changes (300 in the safetensors header,
//! 300 in the tensor data; each byte replaced by another value). Prints, per
//! file, how many copies loaded (accepted), were rejected with
//! `SCM_STATUS_CHECKPOINT` and a message saying the file is corrupt, were
//! rejected otherwise, or panicked (`SCM_STATUS_PANIC`), and lists the
//! accepted changes.

use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scmosaic::ffi::error::{scm_last_error_message, scm_status};
use scmosaic::ffi::model::{scm_model, scm_model_free, scm_model_from_buffer};
use scmosaic::{read_10x_folder, Covariate, Dataset, Likelihood, Modality, Model, ModelConfig};
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::PathBuf;

/// Damages checkpoints and loads every copy through the C ABI.
#[derive(Parser)]
#[command(name = "corruption_probe")]
struct Args {
    /// Seed of the truncation lengths and byte changes.
    #[arg(long, default_value_t = 19)]
    seed: u64,
    /// Checkpoints to probe (default: a fresh scVAEIT and a fresh Multigrate).
    #[arg(value_name = "FILE.safetensors")]
    files: Vec<PathBuf>,
}

#[derive(Default)]
struct Tally {
    accepted: Vec<String>,
    corrupt: usize,
    other: BTreeMap<String, usize>,
    panics: usize,
}

fn load(bytes: &[u8], what: String, t: &mut Tally) {
    let mut model: *mut scm_model = std::ptr::null_mut();
    let st = unsafe { scm_model_from_buffer(bytes.as_ptr(), bytes.len(), &mut model) };
    let msg = unsafe { CStr::from_ptr(scm_last_error_message()) }
        .to_string_lossy()
        .into_owned();
    match st {
        scm_status::SCM_STATUS_OK => {
            unsafe { scm_model_free(model) };
            t.accepted.push(what);
        }
        scm_status::SCM_STATUS_PANIC => t.panics += 1,
        scm_status::SCM_STATUS_CHECKPOINT if msg.contains("corrupt") => t.corrupt += 1,
        _ => *t.other.entry(format!("{st:?}: {msg}")).or_default() += 1,
    }
}

fn probe(label: &str, bytes: &[u8], seed: u64) {
    let header_end =
        (8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize).min(bytes.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Tally::default();
    for _ in 0..400 {
        let cut = rng.random_range(0..bytes.len());
        load(&bytes[..cut], format!("truncated to {cut}"), &mut t);
    }
    for k in 0..600 {
        let at = if k % 2 == 0 || header_end == bytes.len() {
            rng.random_range(0..header_end)
        } else {
            rng.random_range(header_end..bytes.len())
        };
        let mut copy = bytes.to_vec();
        copy[at] ^= rng.random_range(1..=255u8);
        let what = format!("byte {at} {:#04x} -> {:#04x}", bytes[at], copy[at]);
        load(&copy, what, &mut t);
    }
    let rejected = t.corrupt + t.other.values().sum::<usize>();
    println!(
        "{label}: {} bytes (header {header_end}); 1000 damaged copies: {} accepted, {rejected} \
         rejected ({} as a corrupt checkpoint), {} panics",
        bytes.len(),
        t.accepted.len(),
        t.corrupt,
        t.panics
    );
    for (msg, n) in &t.other {
        println!("  rejected otherwise x{n}: {msg}");
    }
    for a in &t.accepted {
        println!("  accepted: {a}");
    }
}

fn fresh(kind: &str) -> Vec<u8> {
    let folder = read_10x_folder(concat!(env!("CARGO_MANIFEST_DIR"), "/data/reap_pbmc2")).unwrap();
    let cells: Vec<usize> = (0..300).collect();
    let (genes, rna) = folder.modality("rna").unwrap();
    let (proteins, adt) = folder.modality("adt").unwrap();
    let gene_cols: Vec<usize> = (0..200).collect();
    let batch: Vec<String> = (0..300).map(|i| format!("b{}", i % 2)).collect();
    let data = Dataset::new(vec![
        Modality::new(
            "rna",
            Likelihood::Nb,
            genes[..200].to_vec(),
            rna.select_rows(&cells).select_cols(&gene_cols).unwrap(),
        )
        .unwrap(),
        Modality::new(
            "adt",
            Likelihood::Nb,
            proteins.to_vec(),
            adt.select_rows(&cells),
        )
        .unwrap(),
    ])
    .unwrap()
    .with_covariate(Covariate::from_labels("batch", &batch).unwrap())
    .unwrap();
    let json = match kind {
        "multigrate" => {
            r#"{"model": "multigrate", "latent_dim": 8, "hidden": [32],
                "multigrate": {"integrate_on": "batch", "alignment": "mmd"}}"#
        }
        _ => r#"{"latent_dim": 8, "hidden": [32]}"#,
    };
    let mut cfg = ModelConfig::from_json(json).unwrap();
    cfg.train.epochs = 2;
    let mut m = Model::new(&cfg, &data).unwrap();
    m.fit(&data).unwrap();
    m.to_bytes().unwrap()
}

fn main() {
    let Args { seed, files } = Args::parse();
    if files.is_empty() {
        for kind in ["scvaeit", "multigrate"] {
            probe(&format!("fresh {kind}"), &fresh(kind), seed);
        }
    }
    for f in files {
        let bytes = match std::fs::read(&f) {
            Ok(b) if b.len() > 8 => b,
            Ok(b) => {
                eprintln!(
                    "error: {}: {} bytes, too short to probe",
                    f.display(),
                    b.len()
                );
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                std::process::exit(1);
            }
        };
        probe(&f.display().to_string(), &bytes, seed);
    }
}
