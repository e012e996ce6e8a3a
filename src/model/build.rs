//! Building a new model from a config and its training data: the resolved
//! config, the schema, the preprocessing constants, the network's
//! architecture and its data-derived initialisation.

use super::engine::{on_device, Init};
use super::registry::{Arch, InitStats};
use super::Model;
use crate::align::align;
use crate::backend::Device;
use crate::config::{ContinuousScaling, HeadBias, ModelConfig, Normalization};
use crate::data::Dataset;
use crate::error::Result;
use crate::module::Layout;
use crate::preprocess::{FeatureStats, ModalityPreprocessing, Preprocessing};
use crate::schema::{Schema, Standardization};
use crate::train::{rng_for, Stream};

impl Model {
    /// Builds an untrained model for `data` on the default CPU device.
    ///
    /// Resolves `config` against the data (modalities, features, covariates),
    /// computes the preprocessing constants (feature shares, median library
    /// sizes, output bounds) from `data`, and initialises the weights from
    /// `config.train.seed`.
    pub fn new(config: &ModelConfig, data: &Dataset) -> Result<Model> {
        let full = Schema::from_dataset(data);
        let cfg = config.resolve(&full)?;
        let mut schema = full;
        schema.covariates = cfg
            .covariates
            .iter()
            .filter_map(|n| schema.covariates.iter().find(|c| &c.name == n).cloned())
            .collect();
        for (ms, mc) in schema.modalities.iter_mut().zip(&cfg.modalities) {
            ms.likelihood = mc.likelihood;
        }
        // Continuous covariates: z-scored with the training cells' mean and
        // sd, or taken as they are (see `ContinuousScaling`).
        for (cs, dc) in schema
            .continuous
            .iter_mut()
            .zip(data.continuous_covariates())
        {
            match cfg.model.continuous_scaling() {
                ContinuousScaling::Standardize => {
                    cs.standardize = Some(Standardization::fit(&dc.values))
                }
                ContinuousScaling::Raw { non_negative } => cs.non_negative = non_negative,
            }
        }
        let mut pre = Preprocessing {
            modalities: cfg
                .modalities
                .iter()
                .map(|m| ModalityPreprocessing {
                    normalization: m.normalization,
                    median_library: 0.0,
                    feature_fraction: Vec::new(),
                })
                .collect(),
        };
        // Mean share of each feature in the cells' libraries, per modality.
        let mut shares = Vec::with_capacity(schema.modalities.len());
        {
            let aligned = align(data, &schema, &pre)?;
            for m in 0..schema.modalities.len() {
                let (f, med) = aligned.library_stats(m);
                pre.modalities[m].median_library = med;
                if matches!(
                    pre.modalities[m].normalization,
                    Normalization::LogNormalize { .. }
                ) {
                    pre.modalities[m].feature_fraction = f.clone();
                }
                shares.push(f);
            }
        }
        let layout = Layout::new(&cfg, &schema);
        let likelihoods = cfg.likelihoods();
        let aligned = align(data, &schema, &pre)?;
        // One pass over the transformed training values, when the model's
        // constants or data-derived output biases need them.
        let head_bias = cfg.head_bias == HeadBias::Data;
        let stats = if Arch::needs_stats(&cfg, &likelihoods, head_bias) {
            Some(FeatureStats::observed(&aligned))
        } else {
            None
        };
        let init = InitStats {
            stats: stats.as_ref(),
            shares: &shares,
            likelihoods: &likelihoods,
            aligned: &aligned,
        };
        let arch = Arch::new(&cfg, &schema, &layout, &init);
        let mut rng = rng_for(cfg.train.seed, Stream::Init, 0);
        let fresh = Init {
            rng: &mut rng,
            tensors: None,
        };
        let mut engine = on_device(Device::cpu(), &arch, fresh)?;
        if head_bias {
            engine.set_head_bias(&arch.head_bias(&schema, &init));
        }
        Ok(Model {
            config: cfg,
            schema,
            pre,
            layout,
            arch,
            engine,
            frozen: None,
            epochs_trained: 0,
            threads: 0,
            pool: None,
        })
    }
}
