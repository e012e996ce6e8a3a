//! Multigrate's data-derived initialisation as the model registry needs it.

use super::MgLayout;
use crate::align::Aligned;
use crate::data::Likelihood;
use crate::distributions::{background_prior, MixInit};
use crate::module::network::{GrowInit, GrowRows, Growth};
use crate::preprocess::{logits, FeatureStats};
use crate::schema::Schema;

/// Multigrate's data-derived output-head biases (`head_bias = "data"`), per
/// modality: NB mixtures their foreground start ([`MixStart`]); NB/ZINB the
/// log mean proportion of each feature (so the softmax starts at the average profile), Bernoulli the logit of each feature's
/// frequency, Gaussian its mean; features never observed get the modality's
/// average. `None` for modalities left at the default init.
pub(crate) fn head_bias(
    stats: Option<&FeatureStats>,
    shares: &[Vec<f32>],
    schema: &Schema,
    likelihoods: &[Likelihood],
    mixtures: &[Option<MixStart>],
) -> Vec<Option<Vec<f32>>> {
    let mut col = 0;
    let mut out = Vec::with_capacity(schema.modalities.len());
    for (m, ms) in schema.modalities.iter().enumerate() {
        let r = col..col + ms.features.len();
        col = r.end;
        let means = || stats.expect("statistics for non-NB heads").means(r.clone());
        if let Some(start) = mixtures.get(m).and_then(|s| s.as_ref()) {
            out.push(Some(start.fore_bias.clone()));
            continue;
        }
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

/// The data-derived start of an NB-mixture modality.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MixStart {
    /// The background head's bias and prior mean (totalVI's rule).
    pub background: MixInit,
    /// The output head's bias: the foreground scale `h` at which the
    /// mixture's mean (half background, half foreground) matches each
    /// feature's mean count.
    pub fore_bias: Vec<f32>,
}

/// The starts of the NB-mixture modalities of `l` from the training data
/// (`None` for other modalities): the background prior from (at most) 100
/// evenly spaced cells with the modality, as totalVI's
/// `_get_totalvi_protein_priors`; the foreground bias from every such cell.
pub(crate) fn mixture_starts(l: &MgLayout, aligned: &Aligned<'_>) -> Vec<Option<MixStart>> {
    l.modalities
        .iter()
        .enumerate()
        .map(|(m, md)| {
            md.nb_mixture?;
            let with: Vec<usize> = (0..aligned.n_cells)
                .filter(|&r| aligned.library(m, r).is_some())
                .collect();
            let d = md.range.len();
            let step = (with.len() / 100).max(1);
            let sample: Vec<usize> = with.iter().step_by(step).take(100).copied().collect();
            let raw = aligned.raw_rows(&sample, m);
            let background = background_prior(raw.chunks(d.max(1)));
            let mut sum = vec![0f64; d];
            for chunk in with.chunks(256) {
                for row in aligned.raw_rows(chunk, m).chunks(d.max(1)) {
                    for (s, &v) in sum.iter_mut().zip(row) {
                        *s += v as f64;
                    }
                }
            }
            let beta = (background.mean as f64).exp();
            let fore_bias = sum
                .iter()
                .map(|s| {
                    let mean = s / with.len().max(1) as f64;
                    (2.0 * mean / beta - 2.0).max(0.1).ln() as f32
                })
                .collect();
            Some(MixStart {
                background,
                fore_bias,
            })
        })
        .collect()
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
