//! What a setting missing from a stored config means.
//!
//! A checkpoint stores its resolved config as JSON. A config written by an
//! older version lacks the settings added after it; each such setting then
//! means what that version did. Those meanings are the frozen values below
//! (the defaults of scmosaic 0.1.0, which every config field had then, for
//! either model kind). A setting added later joins them with the value that
//! reproduces the behaviour before it existed. These are not the defaults of
//! new models, which each model's file defines (`scvaeit.rs`, `multigrate.rs`).

use serde_json::Value;

/// The top-level settings and the `multigrate` section (filled only where a
/// stored config has one) of 0.1.0, as stored JSON. `beta_unobs` is 2/3 in
/// f64; Multigrate's batch-norm constants were fixed before they were
/// settings; `modality_dropout` (added in 0.2) was 0.
const TOP_0_1_0: &str = r#"{"model":"scvaeit","latent_dim":32,"hidden":[256],"modalities":[],"beta_kl":1.0,"beta_unobs":0.6666666666666666,"p_feat":0.2,"skip_conn":false,"max_disp":6.0,"leaky_slope":0.3,"bn_momentum":0.01,"bn_epsilon":0.001,"head_bias":"data","train":{"epochs":300,"batch_size":512,"learning_rate":0.001,"lr_schedule":{"cosine":{"final_fraction":0.05}},"weight_decay":0.0001,"adam_epsilon":1e-07,"grad_clip_norm":null,"seed":0,"validation_fraction":0.0,"patience":10,"min_delta":0.0001},"inference":{"batch_size":256,"n_draws":50,"batch_norm":"running"}}"#;
const MULTIGRATE_0_1_0: &str = r#"{"cond_dim":16,"dropout":0.2,"normalization":"layer","activation":"leaky_relu","condition_encoders":true,"condition_decoders":true,"mix":"product","alignment_type":"latent","kernel":"gaussian","recon_weight":1.0,"kl_weight":1e-05,"latent":"mean","cont_cov_type":"sigm","bn_momentum":0.01,"bn_epsilon":0.001,"modality_dropout":0.0}"#;

fn table(json: &str) -> Value {
    serde_json::from_str(json).expect("a valid frozen table")
}

/// `stored` with every setting it lacks filled by its meaning (see the module docs).
pub(super) fn fill(stored: Value) -> Value {
    let mut out = table(TOP_0_1_0);
    let section = stored.get("multigrate").filter(|m| m.is_object()).cloned();
    super::merge_json(&mut out, stored);
    if let Some(section) = section {
        let mut mg = table(MULTIGRATE_0_1_0);
        super::merge_json(&mut mg, section);
        out["multigrate"] = mg;
    }
    out
}
