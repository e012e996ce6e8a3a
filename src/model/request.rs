//! What embedding and imputation are asked to do, as serde types: their JSON
//! form is the one definition of the options that the C ABI, C++, Julia and
//! R pass.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What [`Model::embed_with`](super::Model::embed_with) returns. Its JSON
/// form (keys optional, unknown keys are errors) is what the bindings pass:
/// `{"sample": bool, "seed": int}`; the modality is given apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedRequest {
    /// Latent of this modality alone (`None`: the joint latent from every
    /// measured modality). scVAEIT encodes the cell with the other modalities
    /// hidden; Multigrate returns that modality's own posterior (its expert),
    /// NaN for cells that lack the modality.
    #[serde(skip)]
    pub modality: Option<String>,
    /// One posterior sample per cell instead of the mean (`None`: the
    /// config's choice, `multigrate.latent`, the mean for scVAEIT).
    pub sample: Option<bool>,
    /// Seed of the sample (`None`: the training seed).
    pub seed: Option<u64>,
}

impl EmbedRequest {
    /// The request for `modality` (`None`: the joint latent) with the JSON
    /// options `options` (see the type's docs).
    pub fn from_json(modality: Option<&str>, options: Option<&str>) -> Result<Self> {
        let mut req: EmbedRequest = parse_options("embed", options)?;
        req.modality = modality.map(str::to_string);
        Ok(req)
    }
}

/// Output scale of imputed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImputeScale {
    /// The likelihood's own scale: log-normalized values (`log1p` of counts
    /// per `target_sum`) for log-normalized modalities, probabilities for
    /// Bernoulli, the input scale otherwise.
    #[default]
    Normalized,
    /// Raw-count scale for log-normalized modalities: each draw's decoder mean is
    /// mapped to `expm1(v) * library / target_sum` and then averaged (the posterior
    /// mean of the count-scale value), the library being the cell's own for that
    /// modality when measured, else the median training library. Other modalities
    /// as `Normalized`.
    Counts,
}

/// What to impute. Its JSON form (every key optional, unknown keys are
/// errors) is what the C ABI, C++, Julia and R pass:
/// `{"features": [..], "hide_target": bool, "n_draws": int, "scale":
/// "normalized" | "counts", "covariates": {"batch": "b1"}, "variance": bool,
/// "draws": bool, "seed": int, "predictive": bool, "quantiles": [number]}`;
/// the modality is given apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImputeRequest {
    /// Modality to output.
    #[serde(skip)]
    pub modality: String,
    /// Features to output (names); `None` = all of the modality's features.
    pub features: Option<Vec<String>>,
    /// Hide the target modality from the encoder even where it was measured
    /// (pure cross-modal prediction). Otherwise measured values are used and
    /// the output is their denoised reconstruction.
    pub hide_target: bool,
    /// Posterior draws averaged (`None` = the config's `inference.n_draws`;
    /// 0 = decode the posterior mean only).
    pub n_draws: Option<usize>,
    /// Output scale.
    pub scale: ImputeScale,
    /// Decode under these covariate levels (`(covariate, level)`), e.g. to
    /// remove a batch effect; other covariates keep each cell's own level
    /// (JSON: an object from covariate to level).
    #[serde(with = "level_map")]
    pub covariates: Vec<(String, String)>,
    /// Also return the per-value variance over draws.
    pub variance: bool,
    /// Also return every draw.
    pub draws: bool,
    /// Seed of the posterior draws (`None` = the training seed).
    pub seed: Option<u64>,
    /// Posterior-predictive draws: each posterior draw of the latent also
    /// samples the observation model's own noise (negative binomial counts,
    /// Gaussian noise, ...) at the decoded parameters instead of returning
    /// the decoder mean, so the draws' quantiles are prediction intervals
    /// for the values a measurement would give (count models use the cell's
    /// library, else the median training library). Needs `n_draws >= 1`.
    pub predictive: bool,
    /// Also return these quantiles (each in `[0, 1]`) over the draws, e.g.
    /// `[0.1, 0.9]` for central 80% intervals (with `predictive`:
    /// prediction intervals). Needs `n_draws >= 1`.
    pub quantiles: Vec<f64>,
}

impl ImputeRequest {
    /// Defaults: all features of `modality`, config draws, normalized scale.
    pub fn new(modality: impl Into<String>) -> Self {
        ImputeRequest {
            modality: modality.into(),
            features: None,
            hide_target: false,
            n_draws: None,
            scale: ImputeScale::Normalized,
            covariates: Vec::new(),
            variance: false,
            draws: false,
            seed: None,
            predictive: false,
            quantiles: Vec::new(),
        }
    }

    /// The request for `modality` with the JSON options `options` (see the
    /// type's docs; `None` or `{}`: the defaults).
    pub fn from_json(modality: impl Into<String>, options: Option<&str>) -> Result<Self> {
        let mut req: ImputeRequest = parse_options("impute", options)?;
        req.modality = modality.into();
        Ok(req)
    }
}

impl Default for ImputeRequest {
    fn default() -> Self {
        ImputeRequest::new("")
    }
}

impl std::str::FromStr for ImputeScale {
    type Err = Error;

    /// `"normalized"` or `"counts"`.
    fn from_str(s: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            Error::config(format!(
                "impute scale '{s}' is not \"normalized\" or \"counts\""
            ))
        })
    }
}

/// `Vec<(covariate, level)>` as a JSON object.
mod level_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .cloned()
            .collect::<BTreeMap<String, String>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// Options given as a JSON object (`None`: the defaults).
fn parse_options<T: serde::de::DeserializeOwned + Default>(
    what: &str,
    json: Option<&str>,
) -> Result<T> {
    let Some(json) = json else {
        return Ok(T::default());
    };
    let bad = |e: serde_json::Error| Error::config(format!("{what} options: {e}"));
    let v: serde_json::Value = serde_json::from_str(json).map_err(bad)?;
    if !v.is_object() {
        return Err(Error::config(format!(
            "{what} options must be a JSON object"
        )));
    }
    serde_json::from_value(v).map_err(bad)
}
