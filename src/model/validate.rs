//! Checks that a checkpoint's config, schema and preprocessing agree with
//! each other before any network is built from them.

use crate::config::{ContCovType, ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::preprocess::Preprocessing;
use crate::schema::Schema;
use std::collections::HashSet;

/// Rejects metadata that no released version writes (inconsistent or
/// unresolved), with a checkpoint error naming what is wrong.
pub(crate) fn validate_schema(
    schema: &Schema,
    cfg: &ModelConfig,
    pre: &Preprocessing,
) -> Result<()> {
    let bad = |m: String| Err(Error::checkpoint(m));
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
        let scvaeit = cfg.model == ModelKind::Scvaeit;
        if mc.likelihood.is_none()
            || mc.weight.is_none()
            || (scvaeit && (mc.block_hidden.is_none() || mc.embed_dim.is_none()))
            || mc.normalization.is_none()
        {
            return bad(format!("modality '{}': config not resolved", ms.name));
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
    match cfg.model {
        ModelKind::Scvaeit => {
            if cfg.beta_reverse.is_none()
                || cfg.p_modal.as_ref().map(|p| p.len()) != Some(schema.modalities.len())
            {
                return bad("config not resolved (beta_reverse / p_modal)".into());
            }
        }
        ModelKind::Multigrate => {
            let Some(mg) = &cfg.multigrate else {
                return bad("config not resolved (multigrate section)".into());
            };
            if mg.integ_weight.is_none() || mg.kl_warmup_epochs.is_none() {
                return bad("config not resolved (multigrate weights)".into());
            }
            if let Some(g) = &mg.integrate_on {
                if !schema.covariates.iter().any(|c| &c.name == g) {
                    return bad(format!(
                        "integrate_on '{g}' is not a covariate of the model"
                    ));
                }
            }
            if cfg
                .modalities
                .iter()
                .any(|m| m.likelihood == Some(crate::data::Likelihood::Poisson))
            {
                return bad("Multigrate has no poisson loss".into());
            }
        }
    }
    let covs: Vec<&String> = schema.covariates.iter().map(|c| &c.name).collect();
    if cfg
        .covariates
        .as_ref()
        .map(|c| c.iter().collect::<Vec<_>>())
        != Some(covs)
    {
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
        let ok = match (cfg.model, c.standardize) {
            (ModelKind::Scvaeit, Some(st)) => {
                st.mean.is_finite() && st.sd.is_finite() && st.sd > 0.0 && !c.non_negative
            }
            (ModelKind::Multigrate, None) => {
                let logsigm = cfg
                    .multigrate
                    .as_ref()
                    .is_some_and(|m| m.cont_cov_type == ContCovType::Logsigm);
                c.non_negative == logsigm
            }
            _ => false,
        };
        if !ok {
            return bad(format!(
                "continuous covariate '{}': scaling inconsistent with the model",
                c.name
            ));
        }
    }
    Ok(())
}
