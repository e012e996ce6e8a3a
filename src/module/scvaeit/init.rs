//! scVAEIT's shapes and data-derived initialisation as the model registry
//! needs them: the number of values a network holds (checked against a
//! checkpoint before any allocation) and the output biases.

use crate::data::Likelihood;
use crate::module::network::{GrowInit, GrowRows, Growth};
use crate::module::Layout;
use crate::preprocess::{logits, FeatureStats};

/// scVAEIT's data-derived output biases (`head_bias = "data"`), per block:
/// Bernoulli blocks the logit of each peak's frequency among the cells
/// where it is observed (features never observed: the block's average);
/// `None` (keep zero) for the other blocks, whose outputs are already mapped
/// into data-derived bounds.
pub(crate) fn head_bias(stats: &FeatureStats, layout: &Layout) -> Vec<Option<Vec<f32>>> {
    layout
        .blocks
        .iter()
        .map(|b| (b.likelihood == Likelihood::Bernoulli).then(|| logits(&stats.means(b.range()))))
        .collect()
}

/// Number of scalars a network with `layout` holds (every float parameter,
/// constants included); `None` on overflow. Checked against a checkpoint's
/// tensors before any allocation, so a corrupt header cannot request a huge model.
pub(crate) fn expected_elements(l: &Layout) -> Option<usize> {
    let mul = |a: usize, b: usize| a.checked_mul(b);
    let mut n: usize = 0;
    let add = |n: &mut usize, v: Option<usize>| -> Option<()> {
        *n = n.checked_add(v?)?;
        Some(())
    };
    let d = l.n_features;
    add(&mut n, mul(d, l.n_embed))?;
    add(&mut n, Some(l.n_embed))?;
    add(&mut n, mul(d, 3))?; // center, out_lo, out_hi
    let mut width = 0usize;
    for b in &l.blocks {
        let fan_in = b.len.checked_add(b.embed_len)?.checked_add(l.n_cov)?;
        add(&mut n, mul(fan_in, b.hidden))?;
        width = width.checked_add(b.hidden)?;
    }
    for &w in &l.hidden {
        add(&mut n, mul(width, w)?.checked_add(w))?;
        add(&mut n, mul(w, 4))?; // batch norm
        width = w;
    }
    add(
        &mut n,
        mul(width, l.latent)?
            .checked_mul(2)?
            .checked_add(2 * l.latent),
    )?;
    add(&mut n, mul(l.latent, 4))?;
    let rev: Vec<usize> = l.hidden.iter().rev().copied().collect();
    let fan = l.latent.checked_add(l.n_embed)?.checked_add(l.n_cov)?;
    add(&mut n, mul(fan, rev[0])?.checked_add(rev[0]))?;
    add(&mut n, mul(rev[0], 4))?;
    for p in rev.windows(2) {
        add(&mut n, mul(p[0], p[1])?.checked_add(p[1]))?;
        add(&mut n, mul(p[1], 4))?;
    }
    let g = *rev.last()?;
    for b in &l.blocks {
        add(&mut n, mul(g, b.hidden)?.checked_add(b.hidden))?;
        let out = mul(b.hidden, b.len)?.checked_add(b.len)?;
        add(&mut n, Some(out))?;
        if b.likelihood == Likelihood::Zinb {
            add(&mut n, Some(out))?;
        }
        if matches!(
            b.likelihood,
            Likelihood::Nb | Likelihood::Zinb | Likelihood::Gaussian
        ) {
            add(&mut n, Some(b.len))?;
            if l.n_cov > 0 {
                add(&mut n, mul(l.n_cov, b.len))?;
            }
        }
    }
    Some(n)
}

/// The tensors query mapping grows: the covariate rows of the encoder block
/// layers, of the dispersion weights and of the first decoder layer (new
/// rows start at zero).
pub(crate) fn query_growth(l: &Layout) -> Vec<Growth> {
    let mut names = Vec::new();
    if l.n_cov > 0 {
        for (k, b) in l.blocks.iter().enumerate() {
            let idx = (b.len > 0) as usize + (b.embed_len > 0) as usize;
            names.push(format!("enc_blocks.{k}.parts.{idx}"));
            names.push(format!("disp_weight.{k}"));
        }
        names.push(format!("dec_first.parts.{}", 1 + (l.n_embed > 0) as usize));
    }
    names
        .into_iter()
        .map(|name| Growth {
            name,
            rows: GrowRows::AllCovariates,
            init: GrowInit::Zeros,
        })
        .collect()
}
