//! Matching a dataset to a model by name, and assembling dense minibatches.
//!
//! [`align`] maps each model modality to the dataset's modality of the same
//! name and each model feature to the dataset column of the same name. Model
//! features absent from the data are treated as unmeasured in every cell;
//! data features unknown to the model are ignored; the counts are reported in
//! an [`Alignment`]. Covariate levels are matched by name too. Continuous
//! covariates must be exactly the model's (by name): a missing or an extra one
//! is an error.
//!
//! [`Aligned::fill`] writes the transformed values and availability of a
//! list of cells into dense `[cells, D]` buffers: only the minibatch is ever
//! dense, whatever the input format.

use crate::data::{Dataset, Matrix};
use crate::error::{Error, Result};
use crate::preprocess::{median, ModalityPreprocessing, Preprocessing};
use crate::schema::Schema;

const NONE: u32 = u32::MAX;

/// How one model modality was matched to the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModalityAlignment {
    /// Modality name.
    pub name: String,
    /// Whether the data have this modality at all.
    pub in_data: bool,
    /// Model features found in the data.
    pub matched: usize,
    /// Model features absent from the data (treated as unmeasured).
    pub missing: usize,
    /// Data features unknown to the model (ignored).
    pub extra: usize,
}

/// How a dataset was matched to a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    /// One entry per model modality, in model order.
    pub modalities: Vec<ModalityAlignment>,
}

pub(crate) struct AlignedModality<'a> {
    data: &'a Matrix,
    measured: &'a [bool],
    /// Data column -> model-local feature (or NONE).
    col_map: Vec<u32>,
    /// Per panel: model-local feature observed.
    panel_obs: Vec<Vec<bool>>,
    cell_panel: Option<&'a [u32]>,
    /// Per cell multiplier applied before the transform.
    scale: Vec<f32>,
    /// Per cell library over the observed features (raw scale).
    library: Vec<f32>,
    /// Per cell value subtracted from every observed feature after the
    /// transform (the CLR centre; 0 for other transforms).
    shift: Vec<f32>,
    pre: ModalityPreprocessing,
    /// First global column of the modality.
    offset: usize,
    len: usize,
}

/// A dataset matched to a model's schema.
pub(crate) struct Aligned<'a> {
    pub n_cells: usize,
    pub mods: Vec<Option<AlignedModality<'a>>>,
    /// Per model covariate: model level code of each cell.
    pub cov_codes: Vec<Vec<u32>>,
    pub cov_widths: Vec<usize>,
    /// Per model continuous covariate: each cell's value as the network sees
    /// it (z-scored, NaN -> 0, for scVAEIT; raw for Multigrate).
    pub cont_values: Vec<Vec<f32>>,
    /// Global feature columns of each model modality.
    pub mod_ranges: Vec<std::ops::Range<usize>>,
    pub n_features: usize,
    pub alignment: Alignment,
}

/// Matches `data` to `schema`. `pre` gives the transforms; with
/// `pre = None` (building a model), feature fractions are computed from the
/// data themselves and returned in the preprocessing.
pub(crate) fn align<'a>(
    data: &'a Dataset,
    schema: &Schema,
    pre: &Preprocessing,
) -> Result<Aligned<'a>> {
    for m in data.modalities() {
        if schema.modality(m.name()).is_none() {
            return Err(Error::NotFound(format!(
                "the data have modality '{}', which the model does not know (model modalities: {})",
                m.name(),
                schema.modality_names().join(", ")
            )));
        }
    }
    let mut mods = Vec::new();
    let mut report = Vec::new();
    let mut mod_ranges = Vec::new();
    let mut offset = 0;
    for (mi, ms) in schema.modalities.iter().enumerate() {
        let len = ms.features.len();
        mod_ranges.push(offset..offset + len);
        let Some(dm) = data.modality(&ms.name) else {
            report.push(ModalityAlignment {
                name: ms.name.clone(),
                in_data: false,
                matched: 0,
                missing: len,
                extra: 0,
            });
            mods.push(None);
            offset += len;
            continue;
        };
        // The model's likelihood decides (the data's declared one may differ,
        // e.g. a Gaussian-declared matrix passed to an NB model); values must suit it.
        if ms.likelihood.needs_non_negative() && dm.likelihood() != ms.likelihood {
            dm.data().check_non_negative(&format!(
                "modality '{}' ({} likelihood in the model)",
                ms.name,
                ms.likelihood.as_str()
            ))?;
        }
        if matches!(
            pre.modalities[mi].normalization,
            crate::config::Normalization::Clr | crate::config::Normalization::LogNormalize { .. }
        ) && !dm.likelihood().needs_non_negative()
        {
            dm.data().check_non_negative(&format!(
                "modality '{}' (log-transformed by the model)",
                ms.name
            ))?;
        }
        let index = ms.feature_index();
        let col_map: Vec<u32> = dm
            .features()
            .iter()
            .map(|f| index.get(f.as_str()).map_or(NONE, |&i| i as u32))
            .collect();
        let matched = col_map.iter().filter(|&&c| c != NONE).count();
        if matched == 0 {
            return Err(Error::data(format!(
                "modality '{}': none of the {} data features matches the model's {} features \
                 (first data feature '{}', first model feature '{}')",
                ms.name,
                dm.features().len(),
                len,
                dm.features()[0],
                ms.features[0]
            )));
        }
        report.push(ModalityAlignment {
            name: ms.name.clone(),
            in_data: true,
            matched,
            missing: len - matched,
            extra: dm.features().len() - matched,
        });
        // Observed model features per panel.
        let data_panels: Vec<Vec<bool>> = match dm.panels() {
            Some(p) => p.observed.clone(),
            None => vec![vec![true; dm.features().len()]],
        };
        let panel_obs: Vec<Vec<bool>> = data_panels
            .iter()
            .map(|p| {
                let mut obs = vec![false; len];
                for (c, &m) in col_map.iter().enumerate() {
                    if m != NONE && p[c] {
                        obs[m as usize] = true;
                    }
                }
                obs
            })
            .collect();
        let mp = pre.modalities[mi].clone();
        let share: Vec<f64> = panel_obs
            .iter()
            .map(|obs| {
                if mp.feature_fraction.is_empty() {
                    1.0
                } else {
                    obs.iter()
                        .zip(&mp.feature_fraction)
                        .filter(|(o, _)| **o)
                        .map(|(_, &f)| f as f64)
                        .sum()
                }
            })
            .collect();
        let cell_panel = dm.panels().map(|p| p.cell_panel.as_slice());
        let n = data.n_cells();
        let mut scale = vec![1f32; n];
        let mut library = vec![0f32; n];
        let clr = mp.normalization == crate::config::Normalization::Clr;
        let mut shift = vec![0f32; if clr { n } else { 0 }];
        let n_obs: Vec<usize> = panel_obs
            .iter()
            .map(|o| o.iter().filter(|&&b| b).count())
            .collect();
        for r in 0..n {
            if !dm.measured()[r] {
                continue;
            }
            let g = cell_panel.map_or(0, |c| c[r] as usize);
            let obs = &panel_obs[g];
            let (mut lib, mut logs) = (0f64, 0f64);
            for (c, v) in dm.data().row(r) {
                if col_map[c] != NONE && obs[col_map[c] as usize] {
                    lib += v as f64;
                    logs += (v as f64).ln_1p();
                }
            }
            library[r] = lib as f32;
            scale[r] = mp.cell_scale(lib, share[g]);
            if clr && n_obs[g] > 0 {
                shift[r] = (logs / n_obs[g] as f64) as f32;
            }
        }
        mods.push(Some(AlignedModality {
            data: dm.data(),
            measured: dm.measured(),
            col_map,
            panel_obs,
            cell_panel,
            scale,
            library,
            shift,
            pre: mp,
            offset,
            len,
        }));
        offset += len;
    }
    let mut cov_codes = Vec::new();
    let mut cov_widths = Vec::new();
    for cs in &schema.covariates {
        let dc = data
            .covariates()
            .iter()
            .find(|c| c.name == cs.name)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "the model is conditioned on covariate '{}', which the data do not have",
                    cs.name
                ))
            })?;
        let map: Vec<u32> = dc
            .levels
            .iter()
            .map(|l| {
                cs.levels
                    .iter()
                    .position(|m| m == l)
                    .map(|p| p as u32)
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "covariate '{}' level '{l}' is not known to the model (known: {})",
                            cs.name,
                            cs.levels.join(", ")
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        cov_codes.push(dc.codes.iter().map(|&c| map[c as usize]).collect());
        cov_widths.push(cs.levels.len());
    }
    let cont_values = continuous_values(data, schema)?;
    Ok(Aligned {
        n_cells: data.n_cells(),
        mods,
        cov_codes,
        cov_widths,
        cont_values,
        mod_ranges,
        n_features: offset,
        alignment: Alignment { modalities: report },
    })
}

/// The model's continuous covariates from the data, transformed as the
/// schema says; an error when the data lack one or have one the model does
/// not know, and for NaN (raw values) or negative values (`non_negative`).
fn continuous_values(data: &Dataset, schema: &Schema) -> Result<Vec<Vec<f32>>> {
    let known = schema.continuous_names();
    if let Some(extra) = data
        .continuous_covariates()
        .iter()
        .find(|c| !known.contains(&c.name))
    {
        return Err(Error::data(format!(
            "the data have continuous covariate '{}', which the model was not trained with \
             (model continuous covariates: {})",
            extra.name,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    schema
        .continuous
        .iter()
        .map(|cs| {
            let dc = data
                .continuous_covariates()
                .iter()
                .find(|c| c.name == cs.name)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "the model is conditioned on continuous covariate '{}', which the data do not have",
                        cs.name
                    ))
                })?;
            if cs.non_negative {
                if let Some(i) = dc.values.iter().position(|&v| v < 0.0) {
                    return Err(Error::data(format!(
                        "continuous covariate '{}' is {} in cell {i}; the model takes log1p of \
                         it (multigrate.cont_cov_type \"logsigm\"), so values must be >= 0",
                        cs.name, dc.values[i]
                    )));
                }
            }
            match cs.standardize {
                Some(st) => Ok(dc
                    .values
                    .iter()
                    .map(|&v| {
                        if v.is_nan() {
                            0.0
                        } else {
                            ((v as f64 - st.mean) / st.sd) as f32
                        }
                    })
                    .collect()),
                None => {
                    if let Some(i) = dc.values.iter().position(|v| v.is_nan()) {
                        return Err(Error::data(format!(
                            "continuous covariate '{}' is NaN (missing) in cell {i}; this model \
                             (Multigrate) takes the values as they are and needs one for every cell",
                            cs.name
                        )));
                    }
                    Ok(dc.values.clone())
                }
            }
        })
        .collect()
}

impl Aligned<'_> {
    /// Width of the covariate vector: one-hot categorical columns, then one
    /// column per continuous covariate.
    pub fn cov_dim(&self) -> usize {
        self.cov_widths.iter().sum::<usize>() + self.cont_values.len()
    }

    /// Writes transformed values and availability (1 = measured) of `cells`
    /// into `x` and `avail`, both `[cells.len(), D]` row-major.
    pub fn fill(&self, cells: &[usize], x: &mut [f32], avail: &mut [f32]) {
        let d = self.n_features;
        debug_assert_eq!(x.len(), cells.len() * d);
        x.fill(0.0);
        avail.fill(0.0);
        for (i, &r) in cells.iter().enumerate() {
            let xrow = &mut x[i * d..(i + 1) * d];
            let arow = &mut avail[i * d..(i + 1) * d];
            for m in self.mods.iter().flatten() {
                if !m.measured[r] {
                    continue;
                }
                let g = m.cell_panel.map_or(0, |c| c[r] as usize);
                let obs = &m.panel_obs[g];
                let xa = &mut xrow[m.offset..m.offset + m.len];
                let aa = &mut arow[m.offset..m.offset + m.len];
                for (a, &o) in aa.iter_mut().zip(obs) {
                    *a = o as u8 as f32;
                }
                let s = m.scale[r];
                let shift = m.shift.get(r).copied().unwrap_or(0.0);
                if shift != 0.0 {
                    for (x, &o) in xa.iter_mut().zip(obs) {
                        if o {
                            *x = -shift;
                        }
                    }
                }
                for (c, v) in m.data.row(r) {
                    let j = m.col_map[c];
                    if j != NONE && obs[j as usize] {
                        xa[j as usize] = m.pre.transform(v, s) - shift;
                    }
                }
            }
        }
    }

    /// Raw (untransformed) values of model modality `m` for `cells`,
    /// `[cells.len(), d_m]` row-major: 0 where a feature is unobserved or the
    /// cell lacks the modality (likelihoods on raw counts of a transformed input).
    pub fn raw_rows(&self, cells: &[usize], m: usize) -> Vec<f32> {
        let d = self.mod_ranges[m].len();
        let mut out = vec![0f32; cells.len() * d];
        let Some(am) = self.mods[m].as_ref() else {
            return out;
        };
        for (i, &r) in cells.iter().enumerate() {
            if !am.measured[r] {
                continue;
            }
            let obs = &am.panel_obs[am.cell_panel.map_or(0, |c| c[r] as usize)];
            let row = &mut out[i * d..(i + 1) * d];
            for (c, v) in am.data.row(r) {
                let j = am.col_map[c];
                if j != NONE && obs[j as usize] {
                    row[j as usize] = v;
                }
            }
        }
        out
    }

    /// Covariates of `cells` into `out` (`[cells.len(), cov_dim]`): one-hot
    /// categorical columns (with `override_codes[k] = Some(level)`, that
    /// level for every cell), then the continuous values.
    pub fn fill_covariates(
        &self,
        cells: &[usize],
        override_codes: &[Option<u32>],
        out: &mut [f32],
    ) {
        let nb = self.cov_dim();
        out.fill(0.0);
        for (i, &r) in cells.iter().enumerate() {
            let mut off = 0;
            for (k, codes) in self.cov_codes.iter().enumerate() {
                let c = override_codes.get(k).copied().flatten().unwrap_or(codes[r]);
                out[i * nb + off + c as usize] = 1.0;
                off += self.cov_widths[k];
            }
            for (k, values) in self.cont_values.iter().enumerate() {
                out[i * nb + off + k] = values[r];
            }
        }
    }

    /// Mean share of the library per feature of model modality `m` over its
    /// measured cells (normalised to sum to 1; uniform if there are no counts),
    /// and the median library size.
    pub fn library_stats(&self, m: usize) -> (Vec<f32>, f32) {
        let Some(am) = self.mods[m].as_ref() else {
            return (Vec::new(), 0.0);
        };
        let mut share = vec![0f64; am.len];
        let mut count = vec![0u64; am.len];
        let mut libs = Vec::new();
        for r in 0..self.n_cells {
            if !am.measured[r] {
                continue;
            }
            let lib = am.library[r];
            libs.push(lib);
            if lib <= 0.0 {
                continue;
            }
            let obs = &am.panel_obs[am.cell_panel.map_or(0, |c| c[r] as usize)];
            for (c, v) in am.data.row(r) {
                let j = am.col_map[c];
                if j != NONE && obs[j as usize] {
                    share[j as usize] += v as f64 / lib as f64;
                }
            }
            for (n, &o) in count.iter_mut().zip(obs) {
                *n += o as u64;
            }
        }
        let mut f: Vec<f64> = share
            .iter()
            .zip(&count)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect();
        let total: f64 = f.iter().sum();
        if total > 0.0 {
            f.iter_mut().for_each(|v| *v /= total);
        } else {
            f.iter_mut().for_each(|v| *v = 1.0 / am.len as f64);
        }
        (f.into_iter().map(|v| v as f32).collect(), median(libs))
    }

    /// The model's median training library of modality `m` (0 when the
    /// data lack the modality).
    pub fn median_library(&self, m: usize) -> f32 {
        self.mods[m]
            .as_ref()
            .map_or(0.0, |am| am.pre.median_library)
    }

    /// Library size (raw scale, over observed features) of cell `r` in model modality `m`,
    /// or `None` when the modality was not measured for it.
    pub fn library(&self, m: usize, r: usize) -> Option<f32> {
        self.mods[m]
            .as_ref()
            .filter(|am| am.measured[r])
            .map(|am| am.library[r])
    }
}
