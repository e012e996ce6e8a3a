//! Multigrate's data-derived initialisation as the model registry needs it.

use super::MgLayout;
use crate::data::Likelihood;
use crate::module::network::{GrowInit, GrowRows, Growth};
use crate::preprocess::{logits, FeatureStats};
use crate::schema::Schema;

/// Multigrate's data-derived output-head biases (`head_bias = "data"`), per
/// modality: NB/ZINB the log mean proportion of each feature (so the softmax
/// starts at the average profile), Bernoulli the logit of each feature's
/// frequency, Gaussian its mean; features never observed get the modality's
/// average. `None` for modalities left at the default init.
pub(crate) fn head_bias(
    stats: Option<&FeatureStats>,
    shares: &[Vec<f32>],
    schema: &Schema,
    likelihoods: &[Likelihood],
) -> Vec<Option<Vec<f32>>> {
    let mut col = 0;
    let mut out = Vec::with_capacity(schema.modalities.len());
    for (m, ms) in schema.modalities.iter().enumerate() {
        let r = col..col + ms.features.len();
        col = r.end;
        let means = || stats.expect("statistics for non-NB heads").means(r.clone());
        out.push(match likelihoods[m] {
            Likelihood::Nb | Likelihood::Zinb => (!shares[m].is_empty())
                .then(|| shares[m].iter().map(|&f| f.max(1e-8).ln()).collect()),
            Likelihood::Bernoulli => Some(logits(&means())),
            Likelihood::Gaussian => Some(means().iter().map(|&v| v as f32).collect()),
            _ => None,
        });
    }
    out
}

/// The tensors query mapping grows: each categorical covariate's embedding
/// table and, with `integrate_on`, the NB/ZINB dispersions indexed by its
/// groups (new rows start as standard normal draws, as the reference's
/// `nn.Embedding` / `torch.randn`).
pub(crate) fn query_growth(l: &MgLayout) -> Vec<Growth> {
    let mut out: Vec<Growth> = (0..l.cat_levels.len())
        .map(|j| Growth {
            name: format!("cat_embed.{j}"),
            rows: GrowRows::Covariate(j),
            init: GrowInit::Normal,
        })
        .collect();
    if let Some(g) = l.integrate_on {
        out.extend(
            l.modalities
                .iter()
                .enumerate()
                .filter(|(_, m)| m.has_theta())
                .map(|(k, _)| Growth {
                    name: format!("theta.{k}"),
                    rows: GrowRows::Covariate(g),
                    init: GrowInit::Normal,
                }),
        );
    }
    out
}
