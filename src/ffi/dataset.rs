//! `scm_dataset`: cells x modalities, built from caller buffers (copied).

use super::error::FfiError;
use super::{arg, emit, out_arg, release, slice_arg, str_arg, strings_arg, Locked};
use crate::{ContinuousCovariate, Covariate, Dataset, Likelihood, Matrix, Modality};
use std::ffi::c_char;

/// A dataset under construction or in use: a fixed number of cells, one or
/// more modalities, optional categorical covariates (batch labels), continuous
/// covariates and cell names.
/// Create with `scm_dataset_new`, free with `scm_dataset_free`.
pub struct scm_dataset {
    pub(crate) inner: Locked<DatasetState>,
}

/// The parts of a dataset; assembled into a [`Dataset`] on first use.
pub(crate) struct DatasetState {
    n_cells: usize,
    modalities: Vec<Modality>,
    covariates: Vec<Covariate>,
    continuous: Vec<ContinuousCovariate>,
    cell_names: Option<Vec<String>>,
    built: Option<Dataset>,
}

impl DatasetState {
    /// Moves the parts out of an assembled dataset before a change.
    /// Checks that a per-cell array has one entry per cell; `what` names
    /// the array in the error ("3 cell names for a dataset of 4 cells").
    fn expect_cells(&self, n_cells: usize, what: impl FnOnce() -> String) -> Result<(), FfiError> {
        if n_cells == self.n_cells {
            return Ok(());
        }
        Err(FfiError::invalid_arg(format!(
            "{} for a dataset of {} cells",
            what(),
            self.n_cells
        )))
    }

    fn unbuild(&mut self) {
        if let Some(d) = self.built.take() {
            let parts = d.into_parts();
            self.modalities = parts.modalities;
            self.covariates = parts.covariates;
            self.continuous = parts.continuous;
            self.cell_names = parts.cell_names;
        }
    }

    /// The assembled dataset (validated as each part was added).
    pub(crate) fn dataset(&mut self) -> Result<&Dataset, FfiError> {
        if self.built.is_none() {
            if self.modalities.is_empty() {
                return Err(FfiError::new(
                    super::error::scm_status::SCM_STATUS_INVALID_DATA,
                    "the dataset has no modality yet (add one with scm_dataset_add_dense/_csr/_csc)",
                ));
            }
            let mut d = Dataset::new(std::mem::take(&mut self.modalities))?;
            for c in std::mem::take(&mut self.covariates) {
                d = d.with_covariate(c)?;
            }
            for c in std::mem::take(&mut self.continuous) {
                d = d.with_continuous_covariate(c)?;
            }
            if let Some(n) = self.cell_names.take() {
                d = d.with_cell_names(n)?;
            }
            self.built = Some(d);
        }
        Ok(self.built.as_ref().expect("just built"))
    }

    fn add(&mut self, m: Modality) -> Result<(), FfiError> {
        self.unbuild();
        if self.modalities.iter().any(|o| o.name() == m.name()) {
            return Err(
                crate::Error::InvalidData(format!("modality '{}' given twice", m.name())).into(),
            );
        }
        self.modalities.push(m);
        Ok(())
    }

    fn modality_index(&self, name: &str) -> Result<usize, FfiError> {
        self.modalities
            .iter()
            .position(|m| m.name() == name)
            .ok_or_else(|| {
                crate::Error::NotFound(format!(
                    "modality '{name}' (dataset modalities: {})",
                    self.modalities
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into()
            })
    }

    /// Applies `f` to modality `name` in place (the setters validate before
    /// changing anything, so an error leaves the modality as it was).
    fn update(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Modality) -> crate::Result<()>,
    ) -> Result<(), FfiError> {
        self.unbuild();
        let i = self.modality_index(name)?;
        Ok(f(&mut self.modalities[i])?)
    }
}

fn likelihood(s: *const c_char) -> Result<Likelihood, FfiError> {
    let s = unsafe { str_arg(s, "likelihood") }?;
    Likelihood::parse(s).map_err(|_| {
        FfiError::invalid_arg(format!(
            "unknown likelihood '{s}' (one of: nb, zinb, bernoulli, gaussian, poisson)"
        ))
    })
}

/// Creates an empty dataset of `n_cells` cells (> 0).
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_new(
    n_cells: usize,
    out: *mut *mut scm_dataset,
) -> super::error::scm_status {
    super::guard(|| {
        out_arg(out, "out")?;
        if n_cells == 0 {
            return Err(FfiError::invalid_arg("n_cells must be > 0"));
        }
        emit(
            out,
            scm_dataset {
                inner: Locked::new(DatasetState {
                    n_cells,
                    modalities: Vec::new(),
                    covariates: Vec::new(),
                    continuous: Vec::new(),
                    cell_names: None,
                    built: None,
                }),
            },
        );
        Ok(())
    })
}

/// Adds a modality from a dense matrix: `values` holds `n_values = n_cells *
/// n_features` floats, row-major cells x features (the same memory as a
/// column-major features x cells matrix in R or Julia). `likelihood` is one of
/// `"nb"`, `"zinb"`, `"bernoulli"`, `"gaussian"`, `"poisson"`; count
/// likelihoods reject negative values; NaN/Inf are rejected. Feature names
/// must be unique. The data are copied.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_add_dense(
    dataset: *mut scm_dataset,
    name: *const c_char,
    likelihood: *const c_char,
    feature_names: *const *const c_char,
    n_features: usize,
    values: *const f32,
    n_values: usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(name, "name")?;
        let lik = self::likelihood(likelihood)?;
        if n_features == 0 {
            return Err(FfiError::invalid_arg("n_features must be > 0"));
        }
        let features = strings_arg(feature_names, n_features, "feature_names")?;
        let mut st = ds.inner.lock("dataset")?;
        let expected = st
            .n_cells
            .checked_mul(n_features)
            .ok_or_else(|| FfiError::invalid_arg("n_cells * n_features overflows"))?;
        if n_values != expected {
            return Err(FfiError::invalid_arg(format!(
                "modality '{name}': {n_values} values given, but {} cells x {n_features} features need {expected}",
                st.n_cells
            )));
        }
        let values = slice_arg(values, n_values, "values")?.to_vec();
        let m = Matrix::dense(st.n_cells, n_features, values)?;
        st.add(Modality::new(name, lik, features, m)?)
    })
}

/// Adds a modality from a sparse cells x features CSR matrix: `row_ptr` has
/// `n_cells + 1` entries, `col_idx` and `values` have `nnz` entries; indices
/// start at `index_base` (0 for C and R, 1 for Julia) and are strictly
/// increasing within a row. Other rules as `scm_dataset_add_dense`. When
/// `nnz` is 0, `col_idx` and `values` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_add_csr(
    dataset: *mut scm_dataset,
    name: *const c_char,
    likelihood: *const c_char,
    feature_names: *const *const c_char,
    n_features: usize,
    row_ptr: *const i64,
    col_idx: *const i64,
    values: *const f32,
    nnz: usize,
    index_base: i32,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(name, "name")?;
        let lik = self::likelihood(likelihood)?;
        if n_features == 0 {
            return Err(FfiError::invalid_arg("n_features must be > 0"));
        }
        if index_base != 0 && index_base != 1 {
            return Err(FfiError::invalid_arg(format!(
                "index_base must be 0 or 1, got {index_base}"
            )));
        }
        let base = index_base as i64;
        let features = strings_arg(feature_names, n_features, "feature_names")?;
        let mut st = ds.inner.lock("dataset")?;
        let n = st.n_cells;
        let raw_ptr = slice_arg(row_ptr, n + 1, "pointers")?;
        let conv = |v: i64, what: &str, i: usize| -> Result<usize, FfiError> {
            v.checked_sub(base)
                .filter(|x| *x >= 0)
                .map(|x| x as usize)
                .ok_or_else(|| {
                    FfiError::new(
                        super::error::scm_status::SCM_STATUS_INVALID_DATA,
                        format!(
                            "modality '{name}': {what}[{i}] = {v} is below the index base {base}"
                        ),
                    )
                })
        };
        let indptr = raw_ptr
            .iter()
            .enumerate()
            .map(|(i, &v)| conv(v, "pointers", i))
            .collect::<Result<Vec<_>, _>>()?;
        let (indices, vals) = if nnz == 0 {
            (Vec::new(), Vec::new())
        } else {
            let raw_idx = slice_arg(col_idx, nnz, "indices")?;
            let indices = raw_idx
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let j = conv(v, "indices", i)?;
                    u32::try_from(j).map_err(|_| {
                        FfiError::new(
                            super::error::scm_status::SCM_STATUS_INVALID_DATA,
                            format!("modality '{name}': feature index {j} is too large"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (indices, slice_arg(values, nnz, "values")?.to_vec())
        };
        let m = Matrix::csr(n, n_features, indptr, indices, vals).map_err(|e| match e {
            crate::Error::InvalidData(m) => {
                FfiError::from(crate::Error::InvalidData(format!("modality '{name}': {m}")))
            }
            other => FfiError::from(other),
        })?;
        st.add(Modality::new(name, lik, features, m)?)
    })
}

/// Adds a modality from a sparse features x cells CSC matrix, the layout of
/// R's `dgCMatrix` and Julia's `SparseMatrixCSC`: `col_ptr` has `n_cells + 1`
/// entries (one column per cell), `row_idx` holds feature indices. This is the
/// same memory as the CSR form of `scm_dataset_add_csr`; the rules are the same.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_add_csc(
    dataset: *mut scm_dataset,
    name: *const c_char,
    likelihood: *const c_char,
    feature_names: *const *const c_char,
    n_features: usize,
    col_ptr: *const i64,
    row_idx: *const i64,
    values: *const f32,
    nnz: usize,
    index_base: i32,
) -> super::error::scm_status {
    scm_dataset_add_csr(
        dataset,
        name,
        likelihood,
        feature_names,
        n_features,
        col_ptr,
        row_idx,
        values,
        nnz,
        index_base,
    )
}

/// Marks which cells measured a modality: `measured[i] != 0` for measured
/// cells, 0 for cells where the modality is missing (their values are
/// ignored). `n_cells` must equal the dataset's number of cells.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_set_measured(
    dataset: *mut scm_dataset,
    modality: *const c_char,
    measured: *const u8,
    n_cells: usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(modality, "modality")?;
        let mut st = ds.inner.lock("dataset")?;
        st.expect_cells(n_cells, || format!("{n_cells} measured flags"))?;
        let flags: Vec<bool> = slice_arg(measured, n_cells, "measured")?
            .iter()
            .map(|&b| b != 0)
            .collect();
        st.update(name, |m| m.set_measured(flags))
    })
}

/// Splits a modality's features into blocks by chromosome, from feature names
/// such as `chr1-10000-10500` or `chr1:10000-10500` (for ATAC peaks).
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_set_chromosome_blocks(
    dataset: *mut scm_dataset,
    modality: *const c_char,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(modality, "modality")?;
        ds.inner
            .lock("dataset")?
            .update(name, |m| m.set_chromosome_blocks())
    })
}

/// Adds a categorical covariate such as the batch: `codes[i]` (0-based, one per
/// cell) indexes `levels` (`n_levels` unique names).
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_set_covariate(
    dataset: *mut scm_dataset,
    name: *const c_char,
    codes: *const i32,
    n_cells: usize,
    levels: *const *const c_char,
    n_levels: usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(name, "name")?;
        if n_levels == 0 {
            return Err(FfiError::invalid_arg("n_levels must be > 0"));
        }
        let levels = strings_arg(levels, n_levels, "levels")?;
        let mut st = ds.inner.lock("dataset")?;
        st.expect_cells(n_cells, || format!("covariate '{name}': {n_cells} codes"))?;
        let codes = slice_arg(codes, n_cells, "codes")?
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                // Negative codes cannot become u32; the range is checked with the rest.
                u32::try_from(c).map_err(|_| {
                    FfiError::new(
                        super::error::scm_status::SCM_STATUS_INVALID_DATA,
                        format!("covariate '{name}': code {c} of cell {i} is negative"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cov = Covariate {
            name: name.to_string(),
            levels,
            codes,
        };
        st.unbuild();
        cov.check(st.n_cells, &st.covariates)?;
        if st.continuous.iter().any(|c| c.name == cov.name) {
            return Err(crate::Error::InvalidData(format!(
                "covariate '{name}' has the name of a continuous covariate"
            ))
            .into());
        }
        st.covariates.push(cov);
        Ok(())
    })
}

/// Adds a continuous covariate such as the percentage of mitochondrial reads:
/// `values[i]` is cell `i`'s value (`n_cells` floats). NaN marks a missing
/// value (scVAEIT maps it to the training mean; Multigrate models reject it
/// when the dataset is used); infinite values are rejected. The name must
/// differ from every other covariate's, categorical or continuous. A model
/// uses every continuous covariate of its training data, and later datasets
/// (embed, impute, query mapping) must carry exactly the same ones.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_set_continuous_covariate(
    dataset: *mut scm_dataset,
    name: *const c_char,
    values: *const f32,
    n_cells: usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let name = str_arg(name, "name")?;
        let mut st = ds.inner.lock("dataset")?;
        st.expect_cells(n_cells, || {
            format!("continuous covariate '{name}': {n_cells} values")
        })?;
        let cov = ContinuousCovariate::new(name, slice_arg(values, n_cells, "values")?.to_vec());
        st.unbuild();
        cov.check(st.n_cells, &st.covariates, &st.continuous)?;
        st.continuous.push(cov);
        Ok(())
    })
}

/// Attaches cell names (`n_cells` strings).
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_set_cell_names(
    dataset: *mut scm_dataset,
    names: *const *const c_char,
    n_cells: usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        let mut st = ds.inner.lock("dataset")?;
        st.expect_cells(n_cells, || format!("{n_cells} cell names"))?;
        let names = strings_arg(names, n_cells, "names")?;
        st.unbuild();
        st.cell_names = Some(names);
        Ok(())
    })
}

/// Writes the number of cells to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_n_cells(
    dataset: *const scm_dataset,
    out: *mut usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        out_arg(out, "out")?;
        *out = ds.inner.lock("dataset")?.n_cells;
        Ok(())
    })
}

/// Writes the number of modalities added so far to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_n_modalities(
    dataset: *const scm_dataset,
    out: *mut usize,
) -> super::error::scm_status {
    super::guard(|| {
        let ds = arg(dataset, "dataset")?;
        out_arg(out, "out")?;
        let st = ds.inner.lock("dataset")?;
        *out = match &st.built {
            Some(d) => d.modalities().len(),
            None => st.modalities.len(),
        };
        Ok(())
    })
}

/// Frees a dataset (NULL is accepted).
#[no_mangle]
pub unsafe extern "C" fn scm_dataset_free(dataset: *mut scm_dataset) {
    release(dataset)
}
