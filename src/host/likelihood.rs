//! Fused negative-binomial log-likelihoods evaluated on the host, with
//! analytic gradients.
//!
//! Written with tensor ops, an NB log-likelihood over a `[256, 2000]` gene
//! block is ~40 element-wise kernels forward and as many backward, each a
//! fresh 2 MB buffer; on the CPU that was most of an epoch (matrix products
//! were ~12% of Multigrate's profile). Here one pass over the block computes
//! the per-cell masked sum `sum_j a_ij ll_ij` and its derivatives with respect
//! to the decoder output and the dispersion parameters, skipping the
//! transcendental work that vanishes at `x = 0` (most entries of a count
//! matrix). The result enters the autodiff graph through a linear surrogate:
//! `value + S - detach(S)` with `S = sum_j t_ij g_ij` for every input `t`,
//! whose value is exactly `value` and whose gradient with respect to `t` is
//! `g` (see [`Compute::attach`]).
//!
//! The host path is used on CPU backends only ([`Compute::HOST`]); on a GPU the
//! tensor-op formulas of `likelihood.rs` / `multigrate.rs` stay on the device.
//! Both are checked against each other, values and gradients, in the tests.

// The kernels index several parallel slices by `j`, a form LLVM vectorises.
#![allow(clippy::needless_range_loop)]

use super::HostCols;
use crate::backend::Compute;
use crate::nn::to_vec;
use crate::special::{digamma, lgamma};
use burn::tensor::{backend::Backend, Tensor};
use rayon::prelude::*;

const EPS: f64 = 1e-8;

/// `e^x` in f32 (Cephes `expf`: relative error ~1e-7), written without
/// branches or library calls so that loops over slices vectorise.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // round(x log2 e) by the 1.5 * 2^23 trick
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r2 + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `ln x` in f32 for normal `x > 0` (Cephes `logf`: relative error ~1e-7),
/// branch-free so that loops over slices vectorise.
#[inline(always)]
fn fast_ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    // mantissa in [0.5, 1)
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= small as i32;
    let f = if small { m + m - 1.0 } else { m - 1.0 };
    let e = e as f32;
    let z = f * f;
    let mut y = (((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f
        - 1.242_014_1e-1)
        * f
        + 1.424_932_3e-1)
        * f
        - 1.666_805_8e-1)
        * f
        + 2.000_071_4e-1)
        * f
        - 2.499_999_4e-1)
        * f
        + 3.333_333e-1;
    y *= f * z;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    f + y + 0.693_359_4 * e
}

/// The terms `lnΓ(x+r) - lnΓ(r)` and `ψ(x+r) - ψ(r)` (the latter only when
/// `grad`) for `x != 0`; `gr` holds `(lnΓ(r), ψ(r))` when known. Small
/// integer counts use `Π (r+k)` and `Σ 1/(r+k)`, `k < x`.
#[inline]
fn gamma_terms(x: f64, r: f64, gr: Option<(f64, f64)>, grad: bool) -> (f64, f64) {
    if x <= 16.0 && x.fract() == 0.0 {
        let (mut prod, mut inv) = (1.0, 0.0);
        let mut k = 0.0;
        while k < x {
            prod *= r + k;
            inv += 1.0 / (r + k);
            k += 1.0;
        }
        return (prod.ln(), inv);
    }
    let (lg_r, dg_r) = gr.unwrap_or_else(|| (lgamma(r), if grad { digamma(r) } else { 0.0 }));
    let lg = lgamma(x + r) - lg_r;
    let dg = if grad { digamma(x + r) - dg_r } else { 0.0 };
    (lg, dg)
}

/// `(lnΓ(r), ψ(r))` per feature.
fn gamma_of(r: &[f32], grad: bool) -> Vec<(f64, f64)> {
    r.iter()
        .map(|&r| {
            let r = r as f64;
            (lgamma(r), if grad { digamma(r) } else { 0.0 })
        })
        .collect()
}

/// Scratch buffers of one row (one set per worker thread, reused across rows).
struct Row {
    /// Means `μ`.
    mu: Vec<f32>,
    /// `ln1p(μ / (r + ε))`.
    l1p: Vec<f32>,
    /// Masked log-likelihood terms.
    terms: Vec<f32>,
    /// Sigmoid of the decoder output (scVAEIT's NB mean).
    sig: Vec<f32>,
    /// Per-cell inverse dispersions `r` and `dr/ds` (dispersions that vary by cell).
    r: Vec<f32>,
    dr: Vec<f32>,
}

impl Row {
    fn new(d: usize) -> Row {
        let z = || vec![0f32; d];
        Row {
            mu: z(),
            l1p: z(),
            terms: z(),
            sig: z(),
            r: z(),
            dr: z(),
        }
    }
}

/// `ln(1 + u)` for `u > -1`, accurate for small `u` (Goldberg's correction
/// of `ln(1 + u)` by `u / ((1 + u) - 1)`); branch-free, vectorises.
#[inline(always)]
fn fast_ln1p(u: f32) -> f32 {
    let w = 1.0 + u;
    let d = w - 1.0;
    let corrected = fast_ln(w) * (u / d);
    if d == 0.0 {
        u
    } else {
        corrected
    }
}

/// Sum of `v` in f64 with independent lanes (vectorises).
fn sum_f64(v: &[f32]) -> f64 {
    let mut lanes = [0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&x| x as f64).sum();
    for c in chunks {
        for k in 0..8 {
            lanes[k] += c[k] as f64;
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// One row of NB terms given the means `row.mu` and inverse dispersions `r`:
/// returns `sum_j a_j ll_j` (`gamma_r`: `(lnΓ(r_j), ψ(r_j))` when shared
/// by all rows); with `grad`, writes `a_j dll/dμ_j` into `gmu`
/// and `a_j dll/dr_j` into `gr`. With `rm = r + μ + ε`,
/// `r (ln(r+ε) - ln rm) = -r ln1p(μ / (r+ε))` is evaluated in that form (no
/// cancellation for large `r`), and so is its derivative.
#[allow(clippy::too_many_arguments)]
fn nb_row(
    row: &mut Row,
    x: &[f32],
    a: &[f32],
    r: &[f32],
    gamma_r: Option<&[(f64, f64)]>,
    grad: bool,
    gmu: &mut [f32],
    gr: &mut [f32],
) -> f64 {
    let d = x.len();
    let eps = EPS as f32;
    let (mu, l1p, ll) = (&row.mu[..d], &mut row.l1p[..d], &mut row.terms[..d]);
    let (a, r) = (&a[..d], &r[..d]);
    // x = 0 part for every entry (vectorised), then the x != 0 terms.
    for j in 0..d {
        let (m, rj) = (mu[j], r[j]);
        let rm = rj + m + eps;
        l1p[j] = fast_ln1p(m / (rj + eps));
        ll[j] = a[j] * (-rj * l1p[j] - x[j] * fast_ln(rm));
    }
    let mut total = sum_f64(ll);
    if grad {
        let (gmu, gr) = (&mut gmu[..d], &mut gr[..d]);
        for j in 0..d {
            let (m, rj, xj) = (mu[j], r[j], x[j]);
            let inv_rm = 1.0 / (rj + m + eps);
            gmu[j] = -a[j] * (rj + xj) * inv_rm;
            // d/dr [r ln(r+ε) - (r + x) ln rm] = -ln1p(μ/(r+ε)) + r/(r+ε) - (r+x)/rm
            //   = -ln1p(μ/(r+ε)) + (r (μ - x) - x ε) / ((r+ε) rm)
            let frac = (rj * (m - xj) - xj * eps) * inv_rm / (rj + eps);
            gr[j] = a[j] * (frac - l1p[j]);
        }
    }
    for j in 0..d {
        if x[j] == 0.0 || a[j] == 0.0 {
            continue;
        }
        let (xj, rj, aj) = (x[j] as f64, r[j] as f64, a[j] as f64);
        let m = mu[j] as f64;
        let (lg, dg) = gamma_terms(xj, rj, gamma_r.map(|g| g[j]), grad);
        total += aj * (xj * (m + EPS).ln() + lg);
        if grad {
            gmu[j] += (aj * xj / (m + EPS)) as f32;
            gr[j] += (aj * dg) as f32;
        }
    }
    total
}

/// The `(tensor, gradient)` parts to attach: all of them with gradients, none without.
fn parts<B: Backend>(
    grad: bool,
    parts: Vec<(Tensor<B, 2>, Vec<f32>)>,
) -> Vec<(Tensor<B, 2>, Vec<f32>)> {
    if grad {
        parts
    } else {
        Vec::new()
    }
}

/// Runs `work(i, value_i, grad_a_i, grad_b_i, scratch)` over the rows in
/// parallel, with `grads` (0, 1 or 2) gradient buffers of `[n, d]`; a buffer
/// not asked for is passed as an empty slice (the kernels write gradients
/// only when they compute them).
fn per_row(
    n: usize,
    d: usize,
    grads: usize,
    work: impl Fn(usize, &mut f32, &mut [f32], &mut [f32], &mut Row) + Sync,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut value = vec![0f32; n];
    let mut ga = vec![0f32; if grads >= 1 { n * d } else { 0 }];
    let mut gb = vec![0f32; if grads >= 2 { n * d } else { 0 }];
    let w = d.max(1);
    let init = || Row::new(d);
    match grads {
        0 => value
            .par_iter_mut()
            .enumerate()
            .for_each_init(init, |row, (i, v)| work(i, v, &mut [], &mut [], row)),
        1 => value
            .par_iter_mut()
            .zip(ga.par_chunks_mut(w))
            .enumerate()
            .for_each_init(init, |row, (i, (v, a))| work(i, v, a, &mut [], row)),
        _ => value
            .par_iter_mut()
            .zip(ga.par_chunks_mut(w))
            .zip(gb.par_chunks_mut(w))
            .enumerate()
            .for_each_init(init, |row, (i, ((v, a), b))| work(i, v, a, b, row)),
    }
    (value, ga, gb)
}

/// Host values of a `[rows, d]` tensor with `rows` 1 or `n`; returns the values
/// and whether rows are per cell.
fn rows_of<B: Backend>(t: &Tensor<B, 2>, n: usize) -> (Vec<f32>, bool) {
    let [r, _] = t.dims();
    debug_assert!(r == 1 || r == n);
    (to_vec(t.clone()), r == n && n != 1)
}

/// Multigrate's NB (scvi parameterisation): per-cell `sum_j a_ij ll_ij` with
/// `μ = softmax(h) l`, `r = exp(log_theta)`.
///
/// # Shapes
/// - `h`: `[n, d]`, `log_theta`: `[n or 1, d]`, `x`, `avail`: `[n, d]`,
///   `size_factor`: `[n, 1]` -> `[n, 1]`
pub fn mg_nb_masked_ll<B: Compute>(
    h: Tensor<B, 2>,
    log_theta: Tensor<B, 2>,
    x: Tensor<B, 2>,
    avail: Tensor<B, 2>,
    size_factor: Tensor<B, 2>,
    host: Option<[HostCols<'_>; 2]>,
) -> Tensor<B, 2> {
    let [n, d] = h.dims();
    let device = h.device();
    let grad = B::ad_enabled(&device);
    let hv = to_vec(h.clone());
    let (ltv, lt_rows) = rows_of(&log_theta, n);
    let mut copies = Vec::new();
    let [xc, ac] = HostCols::or_copies(host, [x, avail], d, &mut copies);
    let lib = to_vec(size_factor);
    // r = exp(lt), once per feature when shared by all cells.
    let theta = |lt: &[f32], r: &mut [f32]| {
        for j in 0..lt.len() {
            r[j] = fast_exp(lt[j]);
        }
    };
    let mut r0 = vec![0f32; d];
    let mut g0 = Vec::new();
    if !lt_rows {
        theta(&ltv[..d], &mut r0);
        g0 = gamma_of(&r0, grad);
    }
    let (value, gh, glt) = per_row(n, d, 2 * grad as usize, |i, val, gh, glt, row| {
        let rg = i * d..(i + 1) * d;
        let (h, x, a) = (&hv[rg.clone()], xc.row(i, d), ac.row(i, d));
        let mut r_own = std::mem::take(&mut row.r);
        let gamma_r = if lt_rows {
            theta(&ltv[rg], &mut r_own);
            None
        } else {
            Some(&g0[..])
        };
        let r = if lt_rows { &r_own[..] } else { &r0[..] };
        let max = h.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        for (m, &hj) in row.mu.iter_mut().zip(h) {
            *m = fast_exp(hj - max);
        }
        let z = sum_f64(&row.mu);
        let scale = (lib[i] as f64 / z) as f32;
        for m in row.mu.iter_mut() {
            *m *= scale;
        }
        *val = nb_row(row, x, a, r, gamma_r, grad, gh, glt) as f32;
        if grad {
            // dll/dh_k = a_k c_k μ_k - p_k sum_j a_j c_j μ_j, p = μ / l; dll/dlt = r dll/dr
            let mut acm = 0.0f64;
            for j in 0..d {
                gh[j] *= row.mu[j];
                acm += gh[j] as f64;
            }
            let k = (acm / lib[i].max(f32::MIN_POSITIVE) as f64) as f32;
            for j in 0..d {
                gh[j] -= row.mu[j] * k;
                glt[j] *= r[j];
            }
        }
        row.r = r_own;
    });
    B::attach(value, parts(grad, vec![(h, gh), (log_theta, glt)]), &device)
}

/// scVAEIT's NB: per-cell `sum_j m_ij ll_ij` with `μ = lo + sigmoid(h) (hi - lo)`,
/// dispersion `φ = clip(softplus(disp), 1e-4, max_disp)` (the clip keeps the
/// identity gradient) and `r = 1/φ`.
///
/// `host`, when given, holds `x` and `mask` on the host (read in place
/// instead of copying the tensors).
///
/// # Shapes
/// - `h`: `[n, d]`, `disp`: `[n or 1, d]`, `lo`, `hi`: `[1, d]`,
///   `x`, `mask`: `[n, d]` -> `[n, 1]`
#[allow(clippy::too_many_arguments)]
pub fn scvaeit_nb_masked_ll<B: Compute>(
    h: Tensor<B, 2>,
    disp: Tensor<B, 2>,
    lo: Tensor<B, 2>,
    hi: Tensor<B, 2>,
    max_disp: f64,
    x: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    host: Option<[HostCols<'_>; 2]>,
) -> Tensor<B, 2> {
    let [n, d] = h.dims();
    let device = h.device();
    let grad = B::ad_enabled(&device);
    let hv = to_vec(h.clone());
    let (dv, d_rows) = rows_of(&disp, n);
    let (lov, hiv) = (to_vec(lo), to_vec(hi));
    let mut copies = Vec::new();
    let [xc, mc] = HostCols::or_copies(host, [x, mask], d, &mut copies);
    // r = 1/φ and dr/ds = -1/φ² sigmoid(s) (identity gradient through the clip)
    let disp_terms = |s: &[f32], r: &mut [f32], dr: &mut [f32]| {
        for j in 0..s.len() {
            let s = s[j] as f64;
            let sp = s.max(0.0) + (-s.abs()).exp().ln_1p();
            let phi = sp.clamp(1e-4, max_disp);
            r[j] = (1.0 / phi) as f32;
            dr[j] = (-(1.0 / (phi * phi)) / (1.0 + (-s).exp())) as f32;
        }
    };
    let (mut r0, mut dr0) = (vec![0f32; d], vec![0f32; d]);
    let mut g0 = Vec::new();
    if !d_rows {
        disp_terms(&dv[..d], &mut r0, &mut dr0);
        g0 = gamma_of(&r0, grad);
    }
    let (value, gh, gd) = per_row(n, d, 2 * grad as usize, |i, val, gh, gd, row| {
        let rg = i * d..(i + 1) * d;
        let (h, x, m) = (&hv[rg.clone()], xc.row(i, d), mc.row(i, d));
        let (mut r_own, mut dr_own) = (std::mem::take(&mut row.r), std::mem::take(&mut row.dr));
        let gamma_r = if d_rows {
            disp_terms(&dv[rg], &mut r_own, &mut dr_own);
            None
        } else {
            Some(&g0[..])
        };
        let (r, dr) = if d_rows {
            (&r_own[..], &dr_own[..])
        } else {
            (&r0[..], &dr0[..])
        };
        // μ = lo + sigmoid(h) (hi - lo), written as (hi - lo) / (1 + e^-h)
        let sig = &mut row.sig[..d];
        for (sg, &hj) in sig.iter_mut().zip(h) {
            *sg = 1.0 + fast_exp(-hj);
        }
        for (m, (&den, (&lo, &hi))) in row.mu.iter_mut().zip(sig.iter().zip(lov.iter().zip(&hiv))) {
            *m = lo + (hi - lo) / den;
        }
        for sg in sig.iter_mut() {
            *sg = 1.0 / *sg;
        }
        *val = nb_row(row, x, m, r, gamma_r, grad, gh, gd) as f32;
        if grad {
            let sig = &row.sig[..d];
            for j in 0..d {
                gh[j] *= sig[j] * (1.0 - sig[j]) * (hiv[j] - lov[j]);
                gd[j] *= dr[j];
            }
        }
        (row.r, row.dr) = (r_own, dr_own);
    });
    B::attach(value, parts(grad, vec![(h, gh), (disp, gd)]), &device)
}

/// Bernoulli on logits: per-cell `sum_j a_ij (x_ij η_ij - softplus(η_ij))`
/// with `η = clamp(h, -bound, bound)` (the clip keeps the identity gradient,
/// as scVAEIT's; `None`: no clip, Multigrate's BCE); `d/dh = a (x - sigmoid(η))`.
///
/// # Shapes
/// - `h`, `x`, `avail`: `[n, d]` -> `[n, 1]`
pub fn bernoulli_masked_ll<B: Compute>(
    h: Tensor<B, 2>,
    x: Tensor<B, 2>,
    avail: Tensor<B, 2>,
    bound: Option<f32>,
    host: Option<[HostCols<'_>; 2]>,
) -> Tensor<B, 2> {
    let [n, d] = h.dims();
    let device = h.device();
    let grad = B::ad_enabled(&device);
    let hv = to_vec(h.clone());
    let mut copies = Vec::new();
    let [xc, ac] = HostCols::or_copies(host, [x, avail], d, &mut copies);
    let bound = bound.unwrap_or(f32::INFINITY);
    let (value, gh, _) = per_row(n, d, grad as usize, |i, val, gh, _, row| {
        let (h, x, a) = (&hv[i * d..(i + 1) * d], xc.row(i, d), ac.row(i, d));
        let terms = &mut row.terms[..d];
        for j in 0..d {
            let eta = h[j].clamp(-bound, bound);
            // softplus(η) = max(η, 0) + ln1p(e^-|η|)
            let e = fast_exp(-eta.abs());
            terms[j] = a[j] * (x[j] * eta - (eta.max(0.0) + fast_ln1p(e)));
        }
        *val = sum_f64(terms) as f32;
        if grad {
            let gh = &mut gh[..d];
            for j in 0..d {
                let eta = h[j].clamp(-bound, bound);
                gh[j] = a[j] * (x[j] - 1.0 / (1.0 + fast_exp(-eta)));
            }
        }
    });
    B::attach(value, parts(grad, vec![(h, gh)]), &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::nn::tensor2;

    #[test]
    fn fast_exp_ln_are_accurate() {
        let mut x = -80.0f32;
        while x < 80.0 {
            let (a, b) = (fast_exp(x) as f64, (x as f64).exp());
            assert!(((a - b) / b).abs() < 3e-7, "exp {x}: {a} vs {b}");
            x += 0.0137;
        }
        let mut x = 1e-9f32;
        while x < 1e9 {
            let (a, b) = (fast_ln(x) as f64, (x as f64).ln());
            assert!((a - b).abs() < 3e-7 * (1.0 + b.abs()), "ln {x}: {a} vs {b}");
            x *= 1.013;
        }
    }

    type AB = burn::backend::Autodiff<CpuBackend>;

    fn t(v: Vec<f32>, r: usize, c: usize) -> Tensor<AB, 2> {
        tensor2::<AB>(v, r, c, &Default::default())
    }

    /// Counts with many zeros (integers, or fractional like log-normalized values).
    fn data(n: usize, d: usize, integer: bool) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let x = (0..n * d)
            .map(|_| {
                if rng.random::<f32>() < 0.6 {
                    0.0
                } else if integer {
                    rng.random_range(1..40) as f32
                } else {
                    rng.random_range(0.05f32..6.0)
                }
            })
            .collect();
        let mask = (0..n * d)
            .map(|_| (rng.random::<f32>() < 0.8) as u8 as f32)
            .collect();
        let h = (0..n * d).map(|_| rng.random_range(-3.0f32..3.0)).collect();
        (x, mask, h)
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * scale,
                "{what}[{i}]: {x} vs {y} (scale {scale})"
            );
        }
    }

    /// Value and gradients (w.r.t. `h` and the dispersion input) of
    /// `sum_i w_i f_i` for a per-cell function `f`.
    /// `[n, d]` placed at columns `2..2 + d` of `[n, d + 5]` filled with junk.
    fn widen(v: &[f32], n: usize, d: usize) -> Vec<f32> {
        let mut w = vec![-7.5f32; n * (d + 5)];
        for i in 0..n {
            w[i * (d + 5) + 2..i * (d + 5) + 2 + d].copy_from_slice(&v[i * d..(i + 1) * d]);
        }
        w
    }

    fn in_wide(w: &[f32], d: usize) -> HostCols<'_> {
        HostCols {
            data: w,
            stride: d + 5,
            start: 2,
        }
    }

    fn value_and_grads(
        f: impl Fn(Tensor<AB, 2>, Tensor<AB, 2>) -> Tensor<AB, 2>,
        h: &[f32],
        disp: &[f32],
        n: usize,
        d: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let h = t(h.to_vec(), n, d).require_grad();
        let rows = disp.len() / d;
        let p = t(disp.to_vec(), rows, d).require_grad();
        // computed (non-leaf) inputs, as in a network
        let cell = f(h.clone() * 1.0, p.clone() * 1.0); // [n, 1]
        let w = t((0..n).map(|i| 0.5 + i as f32 * 0.25).collect(), n, 1);
        let grads = (cell.clone() * w).sum().backward();
        let gh = to_vec(h.grad(&grads).expect("grad h"));
        let gp = p.grad(&grads).map(to_vec).unwrap_or_default();
        (to_vec(cell), gh, gp)
    }

    #[test]
    fn multigrate_nb_matches_tensor_ops() {
        use crate::data::Likelihood;
        use crate::distributions::{mg_log_prob, MgOutput};
        let (n, d) = (5, 9);
        let (x, a, h) = data(n, d, true);
        let sf = vec![30.0, 200.0, 1.0, 57.0, 1000.0];
        for rows in [1, n] {
            let lt: Vec<f32> = (0..rows * d)
                .map(|k| -1.5 + 0.37 * (k % 11) as f32)
                .collect();
            // in tensors, and the same block read in place from a wider host buffer
            let (xw, aw) = (widen(&x, n, d), widen(&a, n, d));
            let run = |host: Option<[HostCols<'_>; 2]>| {
                value_and_grads(
                    |h, lt| {
                        let (xt, at) = (t(x.clone(), n, d), t(a.clone(), n, d));
                        mg_nb_masked_ll(h, lt, xt, at, t(sf.clone(), n, 1), host)
                    },
                    &h,
                    &lt,
                    n,
                    d,
                )
            };
            let host = run(None);
            let strided = run(Some([in_wide(&xw, d), in_wide(&aw, d)]));
            assert_eq!(strided, host, "host columns read in place");
            let ops = value_and_grads(
                |h, lt| {
                    let out = MgOutput {
                        h,
                        zi_logit: None,
                        mix: None,
                    };
                    let lp = mg_log_prob(
                        Likelihood::Nb,
                        &out,
                        t(x.clone(), n, d),
                        Some(t(sf.clone(), n, 1)),
                        Some(lt),
                    );
                    (lp * t(a.clone(), n, d)).sum_dim(1)
                },
                &h,
                &lt,
                n,
                d,
            );
            close(&host.0, &ops.0, 2e-5, "value");
            close(&host.1, &ops.1, 1e-4, "grad h");
            close(&host.2, &ops.2, 1e-4, "grad log_theta");
        }
    }

    #[test]
    fn scvaeit_nb_matches_tensor_ops() {
        use crate::data::Likelihood;
        use crate::distributions::{BlockOutput, LikelihoodParams};
        let (n, d) = (4, 7);
        let (x, m, h) = data(n, d, false);
        let lo: Vec<f32> = (0..d).map(|j| 0.01 * j as f32).collect();
        let hi: Vec<f32> = (0..d).map(|j| 3.0 + j as f32).collect();
        let params = || LikelihoodParams::<AB> {
            kind: Likelihood::Nb,
            lo: t(lo.clone(), 1, d),
            hi: t(hi.clone(), 1, d),
            center: t(vec![0.0; d], 1, d),
            max_disp: 6.0,
        };
        for rows in [1, n] {
            // includes values clipped at both ends (softplus < 1e-4 and > 6)
            let disp: Vec<f32> = (0..rows * d)
                .map(|k| -10.0 + 2.1 * (k % 9) as f32)
                .collect();
            // in tensors, and the same block read in place from a wider host buffer
            let (xw, mw) = (widen(&x, n, d), widen(&m, n, d));
            let run = |cols: Option<[HostCols<'_>; 2]>| {
                value_and_grads(
                    |h, s| {
                        let p = params();
                        let (xt, mt) = (t(x.clone(), n, d), t(m.clone(), n, d));
                        scvaeit_nb_masked_ll(h, s, p.lo, p.hi, p.max_disp, xt, mt, cols)
                    },
                    &h,
                    &disp,
                    n,
                    d,
                )
            };
            let host = run(None);
            let strided = run(Some([in_wide(&xw, d), in_wide(&mw, d)]));
            assert_eq!(strided, host, "host columns read in place");
            let ops = value_and_grads(
                |h, s| {
                    let out = BlockOutput {
                        h,
                        zi_logit: None,
                        disp: Some(s),
                    };
                    (params().log_prob(&out, t(x.clone(), n, d), false) * t(m.clone(), n, d))
                        .sum_dim(1)
                },
                &h,
                &disp,
                n,
                d,
            );
            // Values and dispersion gradients against an f64 evaluation (the
            // f32 tensor path loses ~1e-3 to cancellation in lnΓ(x + r) - lnΓ(r)
            // at r = 1e4, where the clip puts the smallest dispersions).
            let ll = |k: usize, j: usize, s: f64| {
                let phi = (s.max(0.0) + (-s.abs()).exp().ln_1p()).clamp(1e-4, 6.0);
                let r = 1.0 / phi;
                let sg = 1.0 / (1.0 + (-(h[k] as f64)).exp());
                let mu = lo[j] as f64 + sg * (hi[j] - lo[j]) as f64;
                let xv = x[k] as f64;
                m[k] as f64
                    * (lgamma(xv + r) - lgamma(r)
                        + r * ((r + EPS).ln() - (r + mu + EPS).ln())
                        + xv * ((mu + EPS).ln() - (r + mu + EPS).ln()))
            };
            let sidx = |k: usize| if rows == 1 { k % d } else { k };
            let want: Vec<f32> = (0..n)
                .map(|i| {
                    (0..d)
                        .map(|j| ll(i * d + j, j, disp[sidx(i * d + j)] as f64))
                        .sum::<f64>() as f32
                })
                .collect();
            // d/ds with the clip's identity gradient: d softplus(s)/ds = sigmoid(s), dr/dφ = -1/φ²
            let mut want_gd = vec![0f64; rows * d];
            for k in 0..n * d {
                let (i, j) = (k / d, k % d);
                let s0 = disp[sidx(k)] as f64;
                let phi = (s0.max(0.0) + (-s0.abs()).exp().ln_1p()).clamp(1e-4, 6.0);
                let r = 1.0 / phi;
                let sg = 1.0 / (1.0 + (-(h[k] as f64)).exp());
                let mu = lo[j] as f64 + sg * (hi[j] - lo[j]) as f64;
                let step = 1e-6 * r;
                let f = |r: f64| {
                    let xv = x[k] as f64;
                    lgamma(xv + r) - lgamma(r)
                        + r * ((r + EPS).ln() - (r + mu + EPS).ln())
                        + xv * ((mu + EPS).ln() - (r + mu + EPS).ln())
                };
                let dll_dr = (f(r + step) - f(r - step)) / (2.0 * step);
                let dr_ds = -(1.0 / (phi * phi)) / (1.0 + (-s0).exp());
                want_gd[sidx(k)] += (0.5 + i as f64 * 0.25) * m[k] as f64 * dll_dr * dr_ds;
            }
            let want_gd: Vec<f32> = want_gd.iter().map(|&v| v as f32).collect();
            close(&host.0, &want, 2e-6, "value");
            close(&ops.0, &want, 1e-3, "tensor-op value");
            close(&host.1, &ops.1, 1e-4, "grad h");
            close(&host.2, &want_gd, 1e-4, "grad disp");
        }
    }

    #[test]
    fn bernoulli_matches_tensor_ops() {
        use crate::distributions::softplus;
        let (n, d) = (4, 6);
        let (_, a, h) = data(n, d, true);
        let x: Vec<f32> = (0..n * d).map(|k| (k % 3 == 0) as u8 as f32).collect();
        // with large logits, past the clip
        let h: Vec<f32> = h
            .iter()
            .enumerate()
            .map(|(k, v)| if k % 5 == 0 { v * 8.0 } else { *v })
            .collect();
        for bound in [None, Some(11.512_915f32)] {
            let (xw, aw) = (widen(&x, n, d), widen(&a, n, d));
            let run = |host: Option<[HostCols<'_>; 2]>| {
                value_and_grads(
                    |h, _| {
                        let (xt, at) = (t(x.clone(), n, d), t(a.clone(), n, d));
                        bernoulli_masked_ll(h, xt, at, bound, host)
                    },
                    &h,
                    &[0.0; 6],
                    n,
                    d,
                )
            };
            let host = run(None);
            let strided = run(Some([in_wide(&xw, d), in_wide(&aw, d)]));
            assert_eq!(strided, host, "host columns read in place");
            let ops = value_and_grads(
                |h, _| {
                    let eta = match bound {
                        Some(b) => crate::distributions::clip_preserve_grad(h, -b as f64, b as f64),
                        None => h,
                    };
                    ((t(x.clone(), n, d) * eta.clone() - softplus(eta)) * t(a.clone(), n, d))
                        .sum_dim(1)
                },
                &h,
                &[0.0; 6],
                n,
                d,
            );
            close(&host.0, &ops.0, 1e-5, "value");
            close(&host.1, &ops.1, 1e-5, "grad h");
        }
    }

    // The CPU backends, plain and with autodiff, use the host path.
    const _: () = assert!(<CpuBackend as Compute>::HOST);
    const _: () = assert!(<burn::backend::Autodiff<CpuBackend> as Compute>::HOST);
}
