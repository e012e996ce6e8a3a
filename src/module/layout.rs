//! Where each modality and block sits in the concatenated feature axis, and
//! the layer widths derived from a resolved config.

use crate::config::ResolvedConfig;
use crate::data::Likelihood;
use crate::schema::Schema;
use std::ops::Range;

/// One block of features (a contiguous slice of one modality).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockLayout {
    /// Index of the modality the block belongs to.
    pub modality: usize,
    /// First feature (global column).
    pub start: usize,
    /// Number of features.
    pub len: usize,
    /// Width of the block's encoder input and decoder output layers.
    pub hidden: usize,
    /// First column of the block's mask embedding.
    pub embed_start: usize,
    /// Width of the block's mask embedding.
    pub embed_len: usize,
    /// Observation model.
    pub likelihood: Likelihood,
}

impl BlockLayout {
    /// Global feature columns of the block.
    pub fn range(&self) -> Range<usize> {
        self.start..self.start + self.len
    }
    /// Columns of the block's mask embedding.
    pub fn embed_range(&self) -> Range<usize> {
        self.embed_start..self.embed_start + self.embed_len
    }
}

/// Shapes of an scVAEIT network.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// All blocks, modality by modality.
    pub blocks: Vec<BlockLayout>,
    /// Global feature columns of each modality.
    pub modality_ranges: Vec<Range<usize>>,
    /// Block indices of each modality.
    pub modality_blocks: Vec<Range<usize>>,
    /// Total features `D`.
    pub n_features: usize,
    /// Total mask-embedding width `E`.
    pub n_embed: usize,
    /// Covariate width `nb`: one-hot categorical columns, then the continuous covariates.
    pub n_cov: usize,
    /// Latent dimension.
    pub latent: usize,
    /// Trunk widths.
    pub hidden: Vec<usize>,
    /// LeakyReLU slope.
    pub leaky: f64,
    /// Skip connections from encoder to decoder blocks.
    pub skip_conn: bool,
    /// Dispersion clip.
    pub max_disp: f64,
    /// Batch-norm momentum and epsilon.
    pub bn: (f64, f64),
}

impl Layout {
    /// Layout for a resolved config and its schema. For Multigrate (which has
    /// its own [`MgLayout`](super::MgLayout)) this describes only where each
    /// modality's features sit, one block per modality.
    pub fn new(cfg: &ResolvedConfig, schema: &Schema) -> Layout {
        let sv = cfg.scvaeit();
        let mut blocks = Vec::new();
        let mut modality_ranges = Vec::new();
        let mut modality_blocks = Vec::new();
        let (mut col, mut emb) = (0usize, 0usize);
        for (mi, ms) in schema.modalities.iter().enumerate() {
            let likelihood = cfg.modalities[mi].likelihood;
            let first_block = blocks.len();
            let start = col;
            match sv.map(|s| s.blocks[mi]) {
                // One output block per modality (no feature blocks).
                None => {
                    blocks.push(BlockLayout {
                        modality: mi,
                        start: col,
                        len: ms.features.len(),
                        hidden: 0,
                        embed_start: 0,
                        embed_len: 0,
                        likelihood,
                    });
                    col += ms.features.len();
                }
                Some(w) => {
                    for b in &ms.blocks {
                        blocks.push(BlockLayout {
                            modality: mi,
                            start: col,
                            len: b.len,
                            hidden: w.hidden,
                            embed_start: emb,
                            embed_len: w.embed,
                            likelihood,
                        });
                        col += b.len;
                        emb += w.embed;
                    }
                }
            }
            modality_ranges.push(start..col);
            modality_blocks.push(first_block..blocks.len());
        }
        Layout {
            blocks,
            modality_ranges,
            modality_blocks,
            n_features: col,
            n_embed: emb,
            n_cov: schema.n_covariate_columns() + schema.n_continuous(),
            latent: cfg.latent_dim,
            hidden: cfg.hidden.clone(),
            leaky: sv.map_or(0.0, |s| s.leaky_slope),
            skip_conn: sv.is_some_and(|s| s.skip_conn),
            max_disp: sv.map_or(0.0, |s| s.max_disp),
            bn: sv.map_or((0.0, 0.0), |s| (s.bn_momentum, s.bn_epsilon)),
        }
    }

    /// Number of modalities.
    pub fn n_modalities(&self) -> usize {
        self.modality_ranges.len()
    }
}
