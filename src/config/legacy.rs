//! What a setting missing from a stored config means.
//!
//! A checkpoint stores its resolved config as JSON. A config written by an
//! older version lacks the settings added after it; each such setting then
//! means what that version did. Those meanings are the frozen values below
//! (the defaults of scmosaic 0.1.0, which every config field had then, for
//! either model kind). A setting added later joins them with the value that
//! reproduces the behaviour before it existed. These are not the defaults of
//! new models, which each model's file defines (`scvaeit.rs`, `multigrate.rs`).

use serde_json::{json, Value};

/// Top-level settings.
fn top() -> Value {
    json!({
        "model": "scvaeit",
        "latent_dim": 32,
        "hidden": [256],
        "modalities": [],
        "beta_kl": 1.0,
        "beta_unobs": 2.0 / 3.0,
        "p_feat": 0.2,
        "skip_conn": false,
        "max_disp": 6.0,
        "leaky_slope": 0.3,
        "bn_momentum": 0.01,
        "bn_epsilon": 1e-3,
        "head_bias": "data",
        "train": {
            "epochs": 300,
            "batch_size": 512,
            "learning_rate": 1e-3,
            "lr_schedule": {"cosine": {"final_fraction": 0.05}},
            "weight_decay": 1e-4,
            "adam_epsilon": 1e-7,
            "grad_clip_norm": null,
            "seed": 0,
            "validation_fraction": 0.0,
            "patience": 10,
            "min_delta": 1e-4
        },
        "inference": {"batch_size": 256, "n_draws": 50, "batch_norm": "running"}
    })
}

/// The `multigrate` section (filled only where a stored config has one).
fn multigrate() -> Value {
    json!({
        "cond_dim": 16,
        "dropout": 0.2,
        "normalization": "layer",
        "activation": "leaky_relu",
        "condition_encoders": true,
        "condition_decoders": true,
        "mix": "product",
        "alignment_type": "latent",
        "kernel": "gaussian",
        "recon_weight": 1.0,
        "kl_weight": 1e-5,
        "latent": "mean",
        "cont_cov_type": "sigm",
        // batch-norm constants were fixed before they were settings
        "bn_momentum": 0.01,
        "bn_epsilon": 1e-3
    })
}

/// `stored` with every setting it lacks filled by its meaning (see the module docs).
pub(super) fn fill(stored: Value) -> Value {
    let mut out = top();
    let section = stored.get("multigrate").filter(|m| m.is_object()).cloned();
    super::merge_json(&mut out, stored);
    if let Some(section) = section {
        let mut mg = multigrate();
        super::merge_json(&mut mg, section);
        out["multigrate"] = mg;
    }
    out
}
