//! Calibration of imputation intervals: the share of observed values inside
//! central 80% and 95% posterior-predictive intervals on the per-cell CLR
//! scale (the scale the protein scores of reap-impute v1 and hao-mosaic v1
//! use). The intervals come from posterior-predictive draws
//! ([`ImputeRequest::predictive`]: a posterior draw of the latent, decoded,
//! then a sample of the likelihood's own noise), each draw CLR-transformed as
//! a whole cell ([`crate::metrics::clr`]), then the quantiles taken per value.
//! The CLR of a draw depends on all of its cell's features, so the intervals
//! are computed from the draws themselves, not from count-scale quantiles
//! ([`ImputeRequest::quantiles`]), which do not map to the CLR scale.

use crate::metrics::clr;
use scmosaic::{Dataset, ImputeRequest, ImputeScale, Model, Result};
use serde::Serialize;

/// Posterior-predictive draws the protocols' coverage uses.
pub const PP_DRAWS: usize = 50;

/// Coverage of central prediction intervals (all values of all cells).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntervalCoverage {
    /// Share of observed values inside the central 80% interval (the 0.1 and
    /// 0.9 quantiles of the draws).
    pub cover80: f64,
    /// ... inside the central 95% interval (0.025 and 0.975).
    pub cover95: f64,
    /// Mean width of the 80% intervals.
    pub width80: f64,
    /// Mean width of the 95% intervals.
    pub width95: f64,
    /// Draws the quantiles were taken over.
    pub n_draws: usize,
    /// Values scored (cells x features).
    pub n_values: usize,
}

/// The `a` quantile of sorted values (linear interpolation between order
/// statistics, as `Imputation::quantiles`).
fn quantile(sorted: &[f64], a: f64) -> f64 {
    let pos = a * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Coverage of `obs` (`[n, p]`) by the central 80% and 95% intervals of
/// `draws` (`[n_draws, n, p]`, draw-major as `Imputation::draws`), both on
/// the same scale. NaN shares when there is nothing to score.
pub fn interval_coverage(
    draws: &[f64],
    n_draws: usize,
    n: usize,
    p: usize,
    obs: &[f64],
) -> IntervalCoverage {
    assert_eq!(
        draws.len(),
        n_draws * n * p,
        "draws must be [n_draws, n, p]"
    );
    assert_eq!(obs.len(), n * p, "observations must be [n, p]");
    let t = n * p;
    if n_draws == 0 || t == 0 {
        return IntervalCoverage {
            cover80: f64::NAN,
            cover95: f64::NAN,
            width80: f64::NAN,
            width95: f64::NAN,
            n_draws,
            n_values: t,
        };
    }
    let (mut c80, mut c95, mut w80, mut w95) = (0usize, 0usize, 0.0, 0.0);
    let mut buf = vec![0f64; n_draws];
    for (v, &o) in obs.iter().enumerate() {
        for (s, b) in buf.iter_mut().enumerate() {
            *b = draws[s * t + v];
        }
        buf.sort_by(|a, b| a.total_cmp(b));
        let (l80, h80) = (quantile(&buf, 0.1), quantile(&buf, 0.9));
        let (l95, h95) = (quantile(&buf, 0.025), quantile(&buf, 0.975));
        c80 += usize::from(o >= l80 && o <= h80);
        c95 += usize::from(o >= l95 && o <= h95);
        w80 += h80 - l80;
        w95 += h95 - l95;
    }
    let t = t as f64;
    IntervalCoverage {
        cover80: c80 as f64 / t,
        cover95: c95 as f64 / t,
        width80: w80 / t,
        width95: w95 / t,
        n_draws,
        n_values: obs.len(),
    }
}

/// Coverage on the per-cell CLR scale: each draw of `draws` (`[n_draws, n,
/// p]`, counts) and each cell of `obs_counts` (`[n, p]`) CLR-transformed,
/// then [`interval_coverage`].
pub fn clr_coverage(
    draws: &[f32],
    n_draws: usize,
    n: usize,
    p: usize,
    obs_counts: &[f64],
) -> IntervalCoverage {
    let d: Vec<f64> = draws.iter().map(|&x| x as f64).collect();
    interval_coverage(&clr(&d, p), n_draws, n, p, &clr(obs_counts, p))
}

/// Imputes `modality`'s `features` of the cells of `data` with `n_draws`
/// posterior-predictive draws on the count scale (seeded by the model's
/// training seed) and scores them against the observed counts `obs_counts`
/// (`[cells, features]`) with [`clr_coverage`].
pub fn predictive_clr_coverage(
    model: &Model,
    data: &Dataset,
    modality: &str,
    features: &[String],
    obs_counts: &[f64],
    n_draws: usize,
) -> Result<IntervalCoverage> {
    let mut req = ImputeRequest::new(modality);
    req.features = Some(features.to_vec());
    req.scale = ImputeScale::Counts;
    req.n_draws = Some(n_draws);
    req.draws = true;
    req.predictive = true;
    let imp = model.impute(data, &req)?;
    let p = features.len();
    if obs_counts.len() != imp.n_cells * p {
        return Err(crate::invalid_data(format!(
            "coverage: {} observed values for {} cells x {p} features",
            obs_counts.len(),
            imp.n_cells
        )));
    }
    let draws = imp
        .draws
        .as_ref()
        .ok_or_else(|| crate::invalid_data("coverage: the imputation returned no draws"))?;
    Ok(clr_coverage(draws, imp.n_draws, imp.n_cells, p, obs_counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_coverage_of_a_known_case() {
        // 101 draws 0, 1, ..., 100 of every value: the 80% interval is
        // [10, 90], the 95% one [2.5, 97.5].
        let (n, p, s) = (2, 2, 101);
        let draws: Vec<f64> = (0..s)
            .flat_map(|k| std::iter::repeat_n(k as f64, n * p))
            .collect();
        // 50: in both; 5: in the 95% only; 99: in neither; 90: on the edge (in both)
        let obs = [50.0, 5.0, 99.0, 90.0];
        let c = interval_coverage(&draws, s, n, p, &obs);
        assert_eq!((c.cover80, c.cover95), (0.5, 0.75));
        assert!((c.width80 - 80.0).abs() < 1e-12, "{}", c.width80);
        assert!((c.width95 - 95.0).abs() < 1e-12, "{}", c.width95);
        assert_eq!((c.n_draws, c.n_values), (101, 4));
    }

    #[test]
    fn interval_coverage_reads_draw_major_order() {
        // cell 0's draws are 0..=10, cell 1's are 100..=110 (one feature):
        // an observation of 5 is covered in cell 0 only.
        let draws: Vec<f64> = (0..11).flat_map(|k| [k as f64, 100.0 + k as f64]).collect();
        let c = interval_coverage(&draws, 11, 2, 1, &[5.0, 5.0]);
        assert_eq!((c.cover80, c.cover95), (0.5, 0.5));
    }

    #[test]
    fn clr_coverage_compares_per_cell_clr() {
        // Every draw of cell 0 is flat (CLR 0 everywhere); cell 1's draws
        // put 1..=20 on the first feature, 0 on the second.
        let (n, p, s) = (2, 2, 20);
        let draws: Vec<f32> = (0..s)
            .flat_map(|k| [5.0, 5.0, (k + 1) as f32, 0.0])
            .collect();
        // cell 0: a flat observation (any library) is covered, a skewed
        // one not; cell 1: CLR of (7, 0) lies inside its draws' range.
        let flat = clr_coverage(&draws, s, n, p, &[40.0, 40.0, 7.0, 0.0]);
        assert_eq!((flat.cover80, flat.cover95), (1.0, 1.0));
        let skewed = clr_coverage(&draws, s, n, p, &[40.0, 1.0, 7.0, 0.0]);
        assert_eq!((skewed.cover80, skewed.cover95), (0.5, 0.5));
        // the first feature of cell 1 above every draw (CLR of (1000, 0)): not covered
        let high = clr_coverage(&draws, s, n, p, &[40.0, 40.0, 1000.0, 0.0]);
        assert_eq!((high.cover80, high.cover95), (0.5, 0.5));
    }
}
