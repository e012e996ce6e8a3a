//! The one place that knows every model family: what a model's network is
//! built from ([`Arch`]), how many values its weights hold, its data-derived
//! output biases, and which burn module implements it. Everything else goes
//! through [`Runner`](super::engine::Runner) and the
//! [`Network`](crate::module::network::Network) seam.

use super::engine::{Build, Engine, Init, Place, Runner};
use crate::backend::Compute;
use crate::config::{ModelKind, ModelSettings, ResolvedConfig};
use crate::data::Likelihood;
use crate::error::Result;
use crate::module::network::Growth;
use crate::module::{multigrate, scvaeit, Layout, MgLayout, MultiVae, OutputConstants, ScVaeIt};
use crate::preprocess::FeatureStats;
use crate::schema::Schema;
use burn::backend::Autodiff;

/// What a model's network is built from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arch {
    /// scVAEIT: its layout and data-derived output constants.
    ScVaeIt(Layout, OutputConstants),
    /// Multigrate: its layout and the data-derived starts of its NB-mixture
    /// modalities (none for weights that come from elsewhere).
    MultiVae(MgLayout, Vec<Option<multigrate::MixStart>>),
}

/// What a new model's data-derived initialisation reads from the training data.
pub(crate) struct InitStats<'a> {
    /// Per-feature statistics of the transformed values over observed
    /// entries (when [`Arch::needs_stats`] asked for them).
    pub stats: Option<&'a FeatureStats>,
    /// Per modality: mean share of each feature in the cells' libraries.
    pub shares: &'a [Vec<f32>],
    /// The model's likelihood of each modality.
    pub likelihoods: &'a [Likelihood],
    /// The training data, matched to the model.
    pub aligned: &'a crate::align::Aligned<'a>,
}

impl Arch {
    /// Whether building a new model of `cfg` needs the per-feature
    /// statistics of the training values (one pass over the data).
    pub fn needs_stats(cfg: &ResolvedConfig, likelihoods: &[Likelihood], head_bias: bool) -> bool {
        match cfg.kind() {
            ModelKind::Scvaeit => true,
            ModelKind::Multigrate => {
                head_bias
                    && likelihoods
                        .iter()
                        .any(|l| !matches!(l, Likelihood::Nb | Likelihood::Zinb))
            }
        }
    }

    /// The architecture of a new model of `cfg` on data with `schema`.
    pub fn new(
        cfg: &ResolvedConfig,
        schema: &Schema,
        layout: &Layout,
        init: &InitStats<'_>,
    ) -> Arch {
        match &cfg.model {
            ModelSettings::Scvaeit(s) => {
                let stats = init.stats.expect("scVAEIT needs the training statistics");
                let consts = crate::preprocess::output_constants(
                    schema,
                    init.likelihoods,
                    stats,
                    s.max_disp,
                );
                Arch::ScVaeIt(layout.clone(), consts)
            }
            ModelSettings::Multigrate(_) => {
                let l = MgLayout::new(cfg, schema);
                let starts = multigrate::mixture_starts(&l, init.aligned);
                Arch::MultiVae(l, starts)
            }
        }
    }

    /// The architecture of a model whose weights (scVAEIT: constants
    /// included) come from elsewhere: a checkpoint, another device, surgery.
    pub fn for_weights(cfg: &ResolvedConfig, schema: &Schema, layout: &Layout) -> Arch {
        match cfg.kind() {
            ModelKind::Scvaeit => {
                let d = layout.n_features;
                let placeholder = OutputConstants {
                    center: vec![0.0; d],
                    lo: vec![0.0; d],
                    hi: vec![1.0; d],
                };
                Arch::ScVaeIt(layout.clone(), placeholder)
            }
            ModelKind::Multigrate => Arch::MultiVae(MgLayout::new(cfg, schema), Vec::new()),
        }
    }

    /// The data-derived output biases (`head_bias = "data"`), per output layer.
    pub fn head_bias(&self, schema: &Schema, init: &InitStats<'_>) -> Vec<Option<Vec<f32>>> {
        match self {
            Arch::ScVaeIt(layout, _) => scvaeit::head_bias(
                init.stats.expect("scVAEIT needs the training statistics"),
                layout,
            ),
            Arch::MultiVae(_, starts) => {
                multigrate::head_bias(init.stats, init.shares, schema, init.likelihoods, starts)
            }
        }
    }

    /// Number of scalars the network holds (every float parameter, constants
    /// included); `None` on overflow. Checked against a checkpoint's tensors
    /// before any allocation, so a corrupt header cannot request a huge model.
    pub fn expected_elements(&self) -> Option<usize> {
        match self {
            Arch::ScVaeIt(l, _) => scvaeit::expected_elements(l),
            Arch::MultiVae(l, _) => l.expected_elements(),
        }
    }

    /// The tensors query mapping grows with new covariate levels.
    pub fn query_growth(&self) -> Vec<Growth> {
        match self {
            Arch::ScVaeIt(l, _) => scvaeit::query_growth(l),
            Arch::MultiVae(l, _) => multigrate::query_growth(l),
        }
    }

    /// Latent dimension.
    pub fn latent(&self) -> usize {
        match self {
            Arch::ScVaeIt(l, _) => l.latent,
            Arch::MultiVae(l, _) => l.latent,
        }
    }
}

impl Build for Arch {
    fn engine<B: Compute>(&self, at: Place<B>, init: Init<'_>) -> Result<Box<dyn Runner>> {
        let dev = &at.device;
        match self {
            Arch::ScVaeIt(l, consts) => {
                let net = ScVaeIt::<Autodiff<B>>::new(l.clone(), consts, init.rng, dev);
                Engine::<B, _>::boxed(net, at, init.tensors)
            }
            Arch::MultiVae(l, starts) => {
                let mix: Vec<_> = starts
                    .iter()
                    .map(|s| s.as_ref().map(|s| s.background))
                    .collect();
                let net = MultiVae::<Autodiff<B>>::new(l.clone(), &mix, init.rng, dev);
                Engine::<B, _>::boxed(net, at, init.tensors)
            }
        }
    }
}
