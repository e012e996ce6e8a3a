//! Posterior-predictive draws: the observation model of a block per decoded
//! row (host values), and sampling from it. With posterior draws of the
//! latent, one sample per draw gives draws from the posterior predictive
//! (decoder uncertainty plus the likelihood's own noise), whose quantiles
//! are prediction intervals for the values a measurement would give.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};

/// The observation model of one block for `rows` decoded rows, row-major
/// `[rows, d]` host values (parameters shared by all rows have `d` values).
#[derive(Debug, Clone)]
pub enum Noise {
    /// Negative binomial (gamma-Poisson) with mean `mu` and inverse
    /// dispersion `r`; `zero`: zero-inflation probability (ZINB).
    /// `per_library`: `mu` are proportions, to be multiplied by the cell's library.
    Nb {
        /// Mean (or proportion).
        mu: Vec<f32>,
        /// Inverse dispersion, `[rows or 1, d]`.
        r: Vec<f32>,
        /// Zero-inflation probability.
        zero: Option<Vec<f32>>,
        /// `mu` is scaled by the library before sampling.
        per_library: bool,
    },
    /// Normal with location `loc` and standard deviation `sd` (`[rows or 1, d]`).
    Gaussian {
        /// Location.
        loc: Vec<f32>,
        /// Standard deviation.
        sd: Vec<f32>,
    },
    /// Bernoulli with probability `p`.
    Bernoulli {
        /// Probability of a 1.
        p: Vec<f32>,
    },
    /// Poisson with rate `rate`.
    Poisson {
        /// Rate.
        rate: Vec<f32>,
    },
    /// totalVI's protein model: with probability `p_back` an NB of mean
    /// `back`, else an NB of mean `fore`, both with inverse dispersion `r`.
    NbMixture {
        /// Background mean.
        back: Vec<f32>,
        /// Foreground mean.
        fore: Vec<f32>,
        /// Inverse dispersion, `[rows or 1, d]`.
        r: Vec<f32>,
        /// Probability of the background component.
        p_back: Vec<f32>,
    },
}

fn at(v: &[f32], row: usize, d: usize, j: usize) -> f32 {
    if v.len() == d {
        v[j]
    } else {
        v[row * d + j]
    }
}

/// One NB (gamma-Poisson) draw.
fn nb(mu: f32, r: f32, rng: &mut ChaCha8Rng) -> f32 {
    if !(mu > 0.0) {
        return 0.0;
    }
    let r = r.max(1e-6) as f64;
    let lambda = match Gamma::new(r, mu as f64 / r) {
        Ok(g) => g.sample(rng),
        Err(_) => mu as f64,
    };
    if !(lambda > 0.0) {
        return 0.0;
    }
    if lambda > 1e7 {
        return lambda as f32;
    }
    Poisson::new(lambda).map_or(lambda as f32, |p| p.sample(rng) as f32)
}

impl Noise {
    /// Features per row.
    pub fn width(&self, rows: usize) -> usize {
        let n = match self {
            Noise::Nb { mu, .. } => mu.len(),
            Noise::Gaussian { loc, .. } => loc.len(),
            Noise::Bernoulli { p } => p.len(),
            Noise::Poisson { rate } => rate.len(),
            Noise::NbMixture { back, .. } => back.len(),
        };
        n / rows.max(1)
    }

    /// Whether the means are proportions scaled by the cell's library.
    pub fn per_library(&self) -> bool {
        matches!(
            self,
            Noise::Nb {
                per_library: true,
                ..
            }
        )
    }

    /// Whether draws are on the raw-count scale (library included), so no
    /// further mapping to counts applies.
    pub fn on_counts(&self) -> bool {
        matches!(
            self,
            Noise::Nb {
                per_library: true,
                ..
            } | Noise::NbMixture { .. }
        )
    }

    /// Samples row `row` (`d` features) into `out`; `library` scales
    /// proportions (`per_library`).
    pub fn sample(
        &self,
        row: usize,
        d: usize,
        library: f32,
        rng: &mut ChaCha8Rng,
        out: &mut [f32],
    ) {
        for (j, o) in out.iter_mut().enumerate().take(d) {
            *o = match self {
                Noise::Nb {
                    mu,
                    r,
                    zero,
                    per_library,
                } => {
                    let z = zero.as_ref().map_or(0.0, |z| at(z, row, d, j));
                    if z > 0.0 && rng.random::<f32>() < z {
                        0.0
                    } else {
                        let m = at(mu, row, d, j) * if *per_library { library } else { 1.0 };
                        nb(m, at(r, row, d, j), rng)
                    }
                }
                Noise::Gaussian { loc, sd } => {
                    let e: f32 = rng.sample(StandardNormal);
                    at(loc, row, d, j) + at(sd, row, d, j) * e
                }
                Noise::Bernoulli { p } => (rng.random::<f32>() < at(p, row, d, j)) as u8 as f32,
                Noise::Poisson { rate } => {
                    let l = at(rate, row, d, j) as f64;
                    if l > 0.0 {
                        Poisson::new(l).map_or(l as f32, |p| p.sample(rng) as f32)
                    } else {
                        0.0
                    }
                }
                Noise::NbMixture {
                    back,
                    fore,
                    r,
                    p_back,
                } => {
                    let m = if rng.random::<f32>() < at(p_back, row, d, j) {
                        at(back, row, d, j)
                    } else {
                        at(fore, row, d, j)
                    };
                    nb(m, at(r, row, d, j), rng)
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn nb_and_gaussian_draws_have_their_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let noise = Noise::Nb {
            mu: vec![4.0, 0.5],
            r: vec![2.0, 10.0],
            zero: None,
            per_library: false,
        };
        let n = 40_000;
        let mut s = [0f64; 2];
        let mut s2 = [0f64; 2];
        let mut out = [0f32; 2];
        for _ in 0..n {
            noise.sample(0, 2, 1.0, &mut rng, &mut out);
            for j in 0..2 {
                s[j] += out[j] as f64;
                s2[j] += (out[j] as f64).powi(2);
            }
        }
        for (j, (mu, r)) in [(4.0, 2.0), (0.5, 10.0)].into_iter().enumerate() {
            let m = s[j] / n as f64;
            let v = s2[j] / n as f64 - m * m;
            assert!((m - mu).abs() < 0.05 * mu.max(1.0), "mean {m} vs {mu}");
            let want = mu + mu * mu / r;
            assert!((v - want).abs() < 0.08 * want, "var {v} vs {want}");
        }
        let g = Noise::Gaussian {
            loc: vec![1.0],
            sd: vec![0.5],
        };
        let (mut a, mut b) = (0f64, 0f64);
        let mut o = [0f32; 1];
        for _ in 0..n {
            g.sample(0, 1, 1.0, &mut rng, &mut o);
            a += o[0] as f64;
            b += (o[0] as f64).powi(2);
        }
        let m = a / n as f64;
        assert!((m - 1.0).abs() < 0.01 && ((b / n as f64 - m * m) - 0.25).abs() < 0.01);
    }
}
