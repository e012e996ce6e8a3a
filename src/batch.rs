//! One minibatch as every network sees it, in training, validation and
//! inference alike: the transformed values, which entries are available, the
//! covariates, per-modality presence and library sizes, the rows' covariate
//! codes, and (on backends with host kernels) the same values on the host.
//!
//! Only the minibatch is ever dense: [`Batch::new`] densifies the listed cells
//! of an aligned dataset.

use crate::align::Aligned;
use crate::backend::Compute;
use crate::host::HostCols;
use crate::nn::tensor2;
use burn::tensor::Tensor;
use std::ops::Range;
use std::sync::Arc;

/// Host copies of a batch's `[n, D]` inputs, row-major (CPU backends).
#[derive(Debug)]
pub(crate) struct HostBatch {
    /// Transformed values.
    pub x: Vec<f32>,
    /// Availability (1 = usable as input).
    pub avail: Vec<f32>,
}

/// A minibatch on the device.
#[derive(Debug, Clone)]
pub(crate) struct Batch<B: Compute> {
    /// Transformed values, `[n, D]` (0 where unavailable).
    pub x: Tensor<B, 2>,
    /// 1 where an entry may be used as input, `[n, D]`.
    pub avail: Tensor<B, 2>,
    /// Covariates, `[n, nb]`: one-hot categorical columns, then the
    /// continuous values (`None` without covariates).
    pub cov: Option<Tensor<B, 2>>,
    /// 1 where the cell has any available feature of the modality, `[n, M]`.
    pub present: Tensor<B, 2>,
    /// The same on the host, row-major `[n, M]`.
    pub present_host: Vec<bool>,
    /// Library size per cell and modality (raw row sums over the observed
    /// features; 0 where not measured), `[n, M]`.
    pub libs: Tensor<B, 2>,
    /// Per categorical covariate: the level code of each row.
    pub codes: Vec<Vec<u32>>,
    /// `x` and `avail` on the host (see [`Batch::host_view`]).
    host: Arc<HostBatch>,
    /// Global feature columns of each modality.
    pub ranges: Vec<Range<usize>>,
    /// The rows' cells (indices into the aligned data the batch was built from).
    pub cells: Vec<usize>,
}

impl<B: Compute> Batch<B> {
    /// The rows `cells` of `aligned`. `hide` lists global column ranges made
    /// unavailable in every row (e.g. a modality to be predicted from the others).
    pub fn new(
        aligned: &Aligned<'_>,
        cells: &[usize],
        hide: &[Range<usize>],
        device: &B::Device,
    ) -> Self {
        let n = cells.len();
        let d = aligned.n_features;
        let (mut x, mut avail) = (vec![0f32; n * d], vec![0f32; n * d]);
        aligned.fill(cells, &mut x, &mut avail);
        for r in hide {
            for i in 0..n {
                avail[i * d + r.start..i * d + r.end].fill(0.0);
            }
        }
        let nb = aligned.cov_dim();
        let cov = (nb > 0).then(|| {
            let mut c = vec![0f32; n * nb];
            aligned.fill_covariates(cells, &[], &mut c);
            tensor2::<B>(c, n, nb, device)
        });
        let ranges = aligned.mod_ranges.clone();
        let m = ranges.len();
        let mut present_host = vec![false; n * m];
        let mut libs = vec![0f32; n * m];
        for (i, &r) in cells.iter().enumerate() {
            for (k, range) in ranges.iter().enumerate() {
                present_host[i * m + k] = avail[i * d + range.start..i * d + range.end]
                    .iter()
                    .any(|&a| a > 0.0);
                libs[i * m + k] = aligned.library(k, r).unwrap_or(0.0);
            }
        }
        let present = tensor2(
            present_host.iter().map(|&p| p as u8 as f32).collect(),
            n,
            m,
            device,
        );
        let codes = aligned
            .cov_codes
            .iter()
            .map(|c| cells.iter().map(|&r| c[r]).collect())
            .collect();
        let host = Arc::new(HostBatch {
            x: x.clone(),
            avail: avail.clone(),
        });
        Batch {
            x: tensor2(x, n, d, device),
            avail: tensor2(avail, n, d, device),
            cov,
            present,
            present_host,
            libs: tensor2(libs, n, m, device),
            codes,
            host,
            ranges,
            cells: cells.to_vec(),
        }
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.x.dims()[0]
    }

    /// Total features `D`.
    pub fn n_features(&self) -> usize {
        self.x.dims()[1]
    }

    /// Whether row `i` has modality `m`.
    pub fn has(&self, i: usize, m: usize) -> bool {
        self.present_host[i * self.ranges.len() + m]
    }

    /// Rows that have modality `m`.
    pub fn rows_with(&self, m: usize) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.has(i, m)).collect()
    }

    /// Whether any row has modality `m`.
    pub fn any_with(&self, m: usize) -> bool {
        (0..self.n()).any(|i| self.has(i, m))
    }

    /// The host `x` and `avail`, on backends with host kernels
    /// ([`Compute::HOST`]): read in place by the sparse first layers and the
    /// fused likelihoods.
    pub fn host_view(&self) -> Option<&HostBatch> {
        B::HOST.then_some(&*self.host)
    }

    /// The host `x` and `avail` on any backend (e.g. to draw masks from).
    pub fn host_copy(&self) -> &HostBatch {
        &self.host
    }

    /// Columns `cols` (global) of the host `x` and `avail` (host backends).
    pub fn host_cols(&self, cols: &Range<usize>) -> Option<[HostCols<'_>; 2]> {
        let h = self.host_view()?;
        let stride = self.n_features();
        Some([&h.x, &h.avail].map(|data| HostCols {
            data,
            stride,
            start: cols.start,
        }))
    }
}
