//! Checks that a checkpoint's config, schema and preprocessing agree with
//! each other before any network is built from them.

use crate::config::{ContinuousScaling, ModelConfig, ModelSettings, ResolvedConfig};
use crate::error::{Error, Result};
use crate::preprocess::Preprocessing;
use crate::schema::Schema;
use std::collections::HashSet;

/// The resolved config of a checkpoint's stored config, after checking that
/// it, the schema and the preprocessing agree; metadata that no released
/// version writes (inconsistent or unresolved) is a checkpoint error naming
/// what is wrong.
pub(crate) fn resolve_stored(
    schema: &Schema,
    stored: &ModelConfig,
    pre: &Preprocessing,
) -> Result<ResolvedConfig> {
    let bad = |m: String| Err(Error::checkpoint(m));
    let Some(cfg) = ResolvedConfig::from_stored(stored) else {
        return bad("config not resolved (a setting is missing)".into());
    };
    if schema.modalities.is_empty() {
        return bad("schema has no modalities".into());
    }
    if cfg.modalities.len() != schema.modalities.len()
        || pre.modalities.len() != schema.modalities.len()
    {
        return bad("config, schema and preprocessing disagree on the modalities".into());
    }
    let mut names = HashSet::new();
    for (ms, mc) in schema.modalities.iter().zip(&cfg.modalities) {
        if ms.name != mc.name || !names.insert(ms.name.as_str()) {
            return bad(format!("modality '{}' inconsistent or repeated", ms.name));
        }
        let feats: HashSet<&str> = ms.features.iter().map(|s| s.as_str()).collect();
        if ms.features.is_empty() || feats.len() != ms.features.len() {
            return bad(format!(
                "modality '{}': empty or repeated feature names",
                ms.name
            ));
        }
        let total: usize = ms.blocks.iter().map(|b| b.len).sum();
        if total != ms.features.len() || ms.blocks.iter().any(|b| b.len == 0) {
            return bad(format!(
                "modality '{}': blocks do not cover the features",
                ms.name
            ));
        }
    }
    for (mp, ms) in pre.modalities.iter().zip(&schema.modalities) {
        if !mp.feature_fraction.is_empty() && mp.feature_fraction.len() != ms.features.len() {
            return bad(format!(
                "modality '{}': feature fractions have the wrong length",
                ms.name
            ));
        }
    }
    match &cfg.model {
        ModelSettings::Scvaeit(sv) => {
            if sv.p_modal.len() != schema.modalities.len() {
                return bad("config not resolved (p_modal)".into());
            }
        }
        ModelSettings::Multigrate(mg) => {
            if let Some(g) = &mg.section.integrate_on {
                if !schema.covariates.iter().any(|c| &c.name == g) {
                    return bad(format!(
                        "integrate_on '{g}' is not a covariate of the model"
                    ));
                }
            }
            if cfg
                .modalities
                .iter()
                .any(|m| m.likelihood == crate::data::Likelihood::Poisson)
            {
                return bad("Multigrate has no poisson loss".into());
            }
        }
    }
    let covs: Vec<&String> = schema.covariates.iter().map(|c| &c.name).collect();
    if cfg.covariates.iter().collect::<Vec<_>>() != covs {
        return bad("config covariates do not match the schema".into());
    }
    for c in &schema.covariates {
        if c.levels.is_empty() || c.levels.iter().collect::<HashSet<_>>().len() != c.levels.len() {
            return bad(format!("covariate '{}': empty or repeated levels", c.name));
        }
    }
    let mut all_names: HashSet<&str> = schema.covariates.iter().map(|c| c.name.as_str()).collect();
    for c in &schema.continuous {
        if c.name.is_empty() || !all_names.insert(c.name.as_str()) {
            return bad(format!(
                "continuous covariate '{}': empty or repeated name",
                c.name
            ));
        }
        let ok = match (cfg.model.continuous_scaling(), c.standardize) {
            (ContinuousScaling::Standardize, Some(st)) => {
                st.mean.is_finite() && st.sd.is_finite() && st.sd > 0.0 && !c.non_negative
            }
            (ContinuousScaling::Raw { non_negative }, None) => c.non_negative == non_negative,
            _ => false,
        };
        if !ok {
            return bad(format!(
                "continuous covariate '{}': scaling inconsistent with the model",
                c.name
            ));
        }
    }
    Ok(cfg)
}
