//! A dense layer's product over a sparse data input: `y = X W` with `X` a
//! host minibatch block in compressed rows and `W` a weight `[d, h]`.
//!
//! scVAEIT's first encoder layer of a gene or peak block multiplies the
//! masked data (`(x - center) * avail`, 93% zeros for REAP-seq genes, more
//! after masking) by a `[d_k, hidden_k]` weight in each of the three passes of
//! a step, forward and for the weight gradient: about 30% of the model's
//! matrix-product FLOPs spent mostly on zeros. On `Autodiff<Flex>` (the
//! default CPU training backend) [`Compute::sparse_matmul`] is a custom autodiff node
//! that touches only the non-zeros, forward (`Y[i] = sum_j X[i, j] W[j]`) and
//! backward (`dW[j] = sum_i X[i, j] dY[i]`; the data gets no gradient).
//! Other backends, and blocks that are not sparse enough to gain, keep the
//! dense product.

use super::HostCols;
#[cfg(doc)]
use crate::backend::Compute;
use rayon::prelude::*;

/// Largest fraction of non-zeros for which the sparse product is used; above
/// it the dense matrix product is faster.
pub const MAX_DENSITY: f64 = 0.15;

/// Non-zero entries of an `[n, d]` host block, by row and by column.
#[derive(Debug, Clone)]
pub struct SparseRows {
    n: usize,
    d: usize,
    /// Row `i`'s entries are `row_ptr[i]..row_ptr[i + 1]` of `cols`/`vals`.
    row_ptr: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f32>,
    /// Column `j`'s entries are `col_ptr[j]..col_ptr[j + 1]` of `rows`/`cvals`
    /// (rows ascending).
    col_ptr: Vec<usize>,
    rows: Vec<u32>,
    cvals: Vec<f32>,
}

impl SparseRows {
    /// The non-zeros of `(x - center) * avail` (`center` 0 when `None`) over
    /// a block of `d` columns of `n` rows, or `None` when more than
    /// `max_density` of the entries are non-zero (or the block is empty).
    ///
    /// # Shapes
    /// - `x`, `avail`: `n` rows of the block; `center`: `[d]`
    pub fn gather(
        x: HostCols<'_>,
        avail: HostCols<'_>,
        center: Option<&[f32]>,
        n: usize,
        d: usize,
        max_density: f64,
    ) -> Option<SparseRows> {
        debug_assert!(center.is_none_or(|c| c.len() == d));
        let limit = (max_density * (n * d) as f64) as usize;
        if n == 0 || d == 0 || limit == 0 {
            return None;
        }
        let mut row_ptr = Vec::with_capacity(n + 1);
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        let mut col_count = vec![0usize; d];
        row_ptr.push(0);
        for i in 0..n {
            let (xr, ar) = (x.row(i, d), avail.row(i, d));
            for j in 0..d {
                let v = (xr[j] - center.map_or(0.0, |c| c[j])) * ar[j];
                if v != 0.0 {
                    cols.push(j as u32);
                    vals.push(v);
                    col_count[j] += 1;
                }
            }
            if vals.len() > limit {
                return None;
            }
            row_ptr.push(vals.len());
        }
        let mut col_ptr = Vec::with_capacity(d + 1);
        col_ptr.push(0);
        for c in &col_count {
            col_ptr.push(col_ptr.last().copied().unwrap_or(0) + c);
        }
        let mut next = col_ptr[..d].to_vec();
        let mut rows = vec![0u32; vals.len()];
        let mut cvals = vec![0f32; vals.len()];
        for i in 0..n {
            for p in row_ptr[i]..row_ptr[i + 1] {
                let j = cols[p] as usize;
                rows[next[j]] = i as u32;
                cvals[next[j]] = vals[p];
                next[j] += 1;
            }
        }
        Some(SparseRows {
            n,
            d,
            row_ptr,
            cols,
            vals,
            col_ptr,
            rows,
            cvals,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.d
    }

    /// Number of non-zero entries.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    /// `X W` for row-major `w` `[d, h]` -> `[n, h]`.
    pub fn matmul(&self, w: &[f32], h: usize) -> Vec<f32> {
        debug_assert_eq!(w.len(), self.d * h);
        combine_rows(&self.row_ptr, &self.cols, &self.vals, w, h)
    }

    /// `X^T g` for row-major `g` `[n, h]` -> `[d, h]` (the weight gradient).
    pub fn t_matmul(&self, g: &[f32], h: usize) -> Vec<f32> {
        debug_assert_eq!(g.len(), self.n * h);
        combine_rows(&self.col_ptr, &self.rows, &self.cvals, g, h)
    }
}

/// Output row `i` (of `ptr.len() - 1`) is `sum_p vals[p] m[idx[p]]` over
/// `p` in `ptr[i]..ptr[i + 1]`, rows in parallel.
fn combine_rows(ptr: &[usize], idx: &[u32], vals: &[f32], m: &[f32], h: usize) -> Vec<f32> {
    let mut out = vec![0f32; (ptr.len() - 1) * h];
    if h == 0 {
        return out;
    }
    out.par_chunks_mut(h).enumerate().for_each(|(i, oi)| {
        let r = ptr[i]..ptr[i + 1];
        gather_rows(&idx[r.clone()], &vals[r], m, h, oi);
    });
    out
}

/// `out = sum_p vals[p] m[idx[p]]` over rows of the row-major `m` (`h` wide),
/// in the order of `idx` (so the result does not depend on threads); AVX2 +
/// FMA where the CPU has them, chosen at run time.
fn gather_rows(idx: &[u32], vals: &[f32], m: &[f32], h: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { gather_rows_fma(idx, vals, m, h, out) };
        return;
    }
    gather_rows_body::<false>(idx, vals, m, h, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gather_rows_fma(idx: &[u32], vals: &[f32], m: &[f32], h: usize, out: &mut [f32]) {
    gather_rows_body::<true>(idx, vals, m, h, out);
}

#[inline(always)]
fn gather_rows_body<const FMA: bool>(
    idx: &[u32],
    vals: &[f32],
    m: &[f32],
    h: usize,
    out: &mut [f32],
) {
    let out = &mut out[..h];
    for (&j, &v) in idx.iter().zip(vals) {
        let row = &m[j as usize * h..(j as usize + 1) * h];
        for (o, &w) in out.iter_mut().zip(row) {
            *o = if FMA { v.mul_add(w, *o) } else { v * w + *o };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Compute, CpuBackend};
    use crate::nn::tensor2;
    use burn::backend::Autodiff;
    use std::sync::Arc;

    type AD = Autodiff<CpuBackend>;

    /// A `[n, d]` block at columns `1..1 + d` of `[n, d + 3]` buffers.
    fn block(n: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
        let w = d + 3;
        let x: Vec<f32> = (0..n * w)
            .map(|k| {
                if k % 7 == 0 {
                    1.5 + (k % 5) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let a: Vec<f32> = (0..n * w).map(|k| (k % 11 != 3) as u8 as f32).collect();
        (x, a)
    }

    fn cols(v: &[f32], d: usize) -> HostCols<'_> {
        HostCols {
            data: v,
            stride: d + 3,
            start: 1,
        }
    }

    /// Without burn-flex there is no sparse path: the caller's dense product runs.
    #[test]
    #[cfg(not(feature = "flex"))]
    fn other_backends_fall_back_to_the_dense_product() {
        let (n, d) = (6, 9);
        let (x, a) = block(n, d);
        let sp = Arc::new(SparseRows::gather(cols(&x, d), cols(&a, d), None, n, d, 1.0).unwrap());
        let w = tensor2::<AD>(vec![0.5; d * 2], d, 2, &Default::default());
        assert!(<AD as Compute>::sparse_matmul(&sp, &w).is_none());
    }

    /// Values and weight gradients equal the dense product's, with a
    /// centred block and an upstream gradient that differs per entry.
    #[test]
    #[cfg(feature = "flex")]
    fn sparse_product_matches_the_dense_one() {
        let dev = Default::default();
        let (n, d, h) = (6, 9, 5);
        let (x, a) = block(n, d);
        let center: Vec<f32> = (0..d).map(|j| if j == 4 { 0.5 } else { 0.0 }).collect();
        let sp = Arc::new(
            SparseRows::gather(cols(&x, d), cols(&a, d), Some(&center), n, d, 1.0).unwrap(),
        );
        let dense: Vec<f32> = (0..n)
            .flat_map(|i| {
                let (xr, ar) = (cols(&x, d).row(i, d), cols(&a, d).row(i, d));
                (0..d)
                    .map(|j| (xr[j] - center[j]) * ar[j])
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(sp.nnz(), dense.iter().filter(|v| **v != 0.0).count());
        let w0: Vec<f32> = (0..d * h).map(|k| ((k as f32) * 0.37).sin()).collect();
        let up: Vec<f32> = (0..n * h).map(|k| ((k as f32) * 0.11).cos()).collect();
        let run = |sparse: bool| {
            let w = tensor2::<AD>(w0.clone(), d, h, &dev).require_grad();
            let w2 = w.clone() * 1.0; // a non-leaf input, as in the model
            let y = if sparse {
                <AD as Compute>::sparse_matmul(&sp, &w2).expect("flex has the sparse path")
            } else {
                tensor2::<AD>(dense.clone(), n, d, &dev).matmul(w2)
            };
            let grads = (y.clone() * tensor2::<AD>(up.clone(), n, h, &dev))
                .sum()
                .backward();
            (
                crate::nn::to_vec(y),
                crate::nn::to_vec(w.grad(&grads).unwrap()),
            )
        };
        let (ys, gs) = run(true);
        let (yd, gd) = run(false);
        let close = |p: &[f32], q: &[f32]| p.iter().zip(q).all(|(a, b)| (a - b).abs() < 1e-4);
        assert!(close(&ys, &yd), "{ys:?} vs {yd:?}");
        assert!(close(&gs, &gd), "{gs:?} vs {gd:?}");
        // inference backend: the same forward product, without a graph
        let w = tensor2::<CpuBackend>(w0.clone(), d, h, &dev);
        let yi = crate::nn::to_vec(
            <CpuBackend as Compute>::sparse_matmul(&sp, &w).expect("flex has the sparse path"),
        );
        assert_eq!(yi, ys);
    }

    #[test]
    fn dense_blocks_are_left_to_the_matrix_product() {
        let (n, d) = (6, 9);
        let (x, a) = block(n, d);
        let sp = SparseRows::gather(cols(&x, d), cols(&a, d), None, n, d, 1.0).unwrap();
        let density = sp.nnz() as f64 / (n * d) as f64;
        assert!(SparseRows::gather(cols(&x, d), cols(&a, d), None, n, d, density * 0.9).is_none());
        assert!(SparseRows::gather(cols(&x, d), cols(&a, d), None, n, d, density).is_some());
        // centred columns make every available entry non-zero
        let shifted = vec![0.25; d];
        assert!(
            SparseRows::gather(cols(&x, d), cols(&a, d), Some(&shifted), n, d, MAX_DENSITY)
                .is_none()
        );
    }

    /// Row-major products against a plain triple loop, for widths that are
    /// not multiples of the vector length.
    #[test]
    fn host_kernels_match_loops() {
        let (n, d, h) = (5, 7, 13);
        let (x, a) = block(n, d);
        let sp = SparseRows::gather(cols(&x, d), cols(&a, d), None, n, d, 1.0).unwrap();
        let w: Vec<f32> = (0..d * h).map(|k| (k as f32 * 0.3).cos()).collect();
        let g: Vec<f32> = (0..n * h).map(|k| (k as f32 * 0.2).sin()).collect();
        let xd: Vec<f32> = (0..n)
            .flat_map(|i| {
                let (xr, ar) = (cols(&x, d).row(i, d), cols(&a, d).row(i, d));
                (0..d).map(|j| xr[j] * ar[j]).collect::<Vec<_>>()
            })
            .collect();
        let y = sp.matmul(&w, h);
        let gt = sp.t_matmul(&g, h);
        for i in 0..n {
            for k in 0..h {
                let want: f32 = (0..d).map(|j| xd[i * d + j] * w[j * h + k]).sum();
                assert!((y[i * h + k] - want).abs() < 1e-4);
            }
        }
        for j in 0..d {
            for k in 0..h {
                let want: f32 = (0..n).map(|i| xd[i * d + j] * g[i * h + k]).sum();
                assert!((gt[j * h + k] - want).abs() < 1e-4);
            }
        }
    }
}
