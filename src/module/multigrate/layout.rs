//! Shapes and settings of a Multigrate network, from a resolved config and
//! the data schema.

use crate::config::{ContCovType, Mix, ResolvedConfig};
use crate::data::Likelihood;
use crate::nn::FcSpec;
use crate::schema::Schema;
use std::ops::Range;

/// One modality of the network.
#[derive(Debug, Clone, PartialEq)]
pub struct MgModality {
    /// Global feature columns.
    pub range: Range<usize>,
    /// Loss.
    pub likelihood: Likelihood,
    /// totalVI's NB mixture on the raw counts instead of `likelihood`'s own model.
    pub nb_mixture: Option<crate::config::NbMixture>,
}

impl MgModality {
    /// Whether the modality has a per-feature dispersion `theta`.
    pub fn has_theta(&self) -> bool {
        matches!(self.likelihood, Likelihood::Nb | Likelihood::Zinb)
    }
}

/// Shapes and settings of a Multigrate network.
#[derive(Debug, Clone, PartialEq)]
pub struct MgLayout {
    /// Modalities in model order.
    pub modalities: Vec<MgModality>,
    /// Total features `D`.
    pub n_features: usize,
    /// Latent dimension `Z`.
    pub latent: usize,
    /// Hidden widths (encoder `[d_m] + hidden + [Z]`, decoder `[Z] + hidden + [hidden.last]`).
    pub hidden: Vec<usize>,
    /// Covariate embedding width `C`.
    pub cond_dim: usize,
    /// Levels of each categorical covariate (one-hot widths, model order).
    pub cat_levels: Vec<usize>,
    /// Number of continuous covariates `K_cont` (their columns follow the one-hot ones).
    pub n_cont: usize,
    /// Transform of the continuous covariates.
    pub cont_type: ContCovType,
    /// Index of the `integrate_on` covariate.
    pub integrate_on: Option<usize>,
    /// Covariate embeddings enter the encoders.
    pub cond_enc: bool,
    /// Covariate embeddings enter the decoders.
    pub cond_dec: bool,
    /// Posterior combination.
    pub mix: Mix,
    /// Layer settings.
    pub fc: FcSpec,
}

impl MgLayout {
    /// Layout for a resolved Multigrate config and its schema.
    pub fn new(cfg: &ResolvedConfig, schema: &Schema) -> MgLayout {
        let mg = &cfg
            .multigrate()
            .expect("a Multigrate layout is built for Multigrate configs")
            .section;
        let mut col = 0;
        let modalities = schema
            .modalities
            .iter()
            .zip(&cfg.modalities)
            .map(|(ms, mc)| {
                let r = col..col + ms.features.len();
                col = r.end;
                MgModality {
                    range: r,
                    likelihood: mc.likelihood,
                    nb_mixture: mc.nb_mixture,
                }
            })
            .collect();
        let covs: Vec<&str> = schema.covariates.iter().map(|c| c.name.as_str()).collect();
        MgLayout {
            modalities,
            n_features: col,
            latent: cfg.latent_dim,
            hidden: cfg.hidden.clone(),
            cond_dim: mg.cond_dim,
            cat_levels: schema.covariates.iter().map(|c| c.levels.len()).collect(),
            n_cont: schema.n_continuous(),
            cont_type: mg.cont_cov_type,
            integrate_on: mg
                .integrate_on
                .as_ref()
                .and_then(|g| covs.iter().position(|c| c == g)),
            cond_enc: mg.condition_encoders,
            cond_dec: mg.condition_decoders,
            mix: mg.mix,
            fc: FcSpec {
                norm: mg.normalization,
                activation: mg.activation,
                dropout: mg.dropout,
                bn: (mg.bn_momentum, mg.bn_epsilon),
            },
        }
    }

    /// Number of `C`-wide covariate embeddings: one per categorical
    /// covariate, plus one for all continuous covariates together.
    fn n_embeddings(&self) -> usize {
        self.cat_levels.len() + (self.n_cont > 0) as usize
    }

    /// Width of the covariate embedding vector `e`.
    pub fn embed_width(&self) -> usize {
        self.cond_dim * self.n_embeddings()
    }

    /// Number of `integrate_on` groups (1 without it).
    pub fn n_groups(&self) -> usize {
        self.integrate_on.map_or(1, |g| self.cat_levels[g])
    }

    /// One-hot columns of covariate `j`.
    pub fn cov_columns(&self, j: usize) -> Range<usize> {
        let start: usize = self.cat_levels[..j].iter().sum();
        start..start + self.cat_levels[j]
    }

    /// Columns of the continuous covariates in the covariate vector.
    pub fn cont_columns(&self) -> Range<usize> {
        let start: usize = self.cat_levels.iter().sum();
        start..start + self.n_cont
    }

    pub(super) fn enc_dims(&self) -> Vec<usize> {
        let mut d = self.hidden.clone();
        d.push(self.latent);
        d
    }

    pub(super) fn dec_dims(&self) -> Vec<usize> {
        let mut d = self.hidden.clone();
        d.push(*self.hidden.last().expect("non-empty hidden"));
        d
    }

    /// Number of scalars of a network with this layout (every float
    /// parameter); `None` on overflow. Checked against a checkpoint before
    /// any allocation.
    pub fn expected_elements(&self) -> Option<usize> {
        let mut n = 0usize;
        let mut add = |v: Option<usize>| -> Option<()> {
            n = n.checked_add(v?)?;
            Some(())
        };
        let e = self.cond_dim.checked_mul(self.n_embeddings())?;
        for &l in &self.cat_levels {
            add(l.checked_mul(self.cond_dim))?;
        }
        if self.n_cont > 0 {
            // W_cont [K_cont, C], beta and b [1, K_cont]
            add(self.n_cont.checked_mul(self.cond_dim.checked_add(2)?))?;
        }
        let bn = matches!(self.fc.norm, crate::config::LayerNormKind::Batch);
        let stack = |d_in: usize, dims: &[usize]| -> Option<usize> {
            let mut t = 0usize;
            let mut w = d_in;
            for &o in dims {
                t = t.checked_add(w.checked_mul(o)?.checked_add(o)?)?;
                if bn {
                    t = t.checked_add(o.checked_mul(4)?)?;
                }
                w = o;
            }
            Some(t)
        };
        let z = self.latent;
        let h = *self.hidden.last()?;
        for m in &self.modalities {
            let d = m.range.len();
            let ein = if self.cond_enc { e } else { 0 };
            let din = if self.cond_dec { e } else { 0 };
            add(stack(d.checked_add(ein)?, &self.enc_dims()))?;
            add(z.checked_mul(z)?.checked_add(z)?.checked_mul(2))?;
            add(stack(z.checked_add(din)?, &self.dec_dims()))?;
            let head = h.checked_mul(d)?.checked_add(d)?;
            add(Some(head))?;
            if m.likelihood == Likelihood::Zinb {
                add(Some(head))?;
            }
            if m.nb_mixture.is_some() {
                add(crate::distributions::mix_heads_elements(h, d))?;
            }
            if m.has_theta() {
                add(d.checked_mul(self.n_groups()))?;
            }
        }
        Some(n)
    }
}
