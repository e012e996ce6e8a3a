//! Datasets built from R: sparse (dgCMatrix slots) or dense matrices,
//! features x cells on the R side, which is cells x features in scmosaic.

use crate::convert::{field, indices, r_error, str_field, strings, usize_field, values_f32, OrR};
use extendr_api::prelude::*;
use extendr_api::Result;
use scmosaic::{ContinuousCovariate, Covariate, Dataset, Likelihood, Matrix, Modality};

/// One modality from the list the R side builds (`R/data.R`).
///
/// A dgCMatrix of features x cells stores, for each cell (column), the
/// feature (row) indices and values of its entries: exactly the CSR layout of
/// the cells x features matrix scmosaic uses, so the slots are copied as they
/// are (converted to `u32`/`f32`) and the matrix is never densified. A dense
/// R matrix is column-major features x cells, which is row-major cells x
/// features.
fn modality(spec: &List) -> Result<Modality> {
    let name = str_field(spec, "name")?;
    let what = format!("modality '{name}'");
    let likelihood = Likelihood::parse(&str_field(spec, "likelihood")?).or_r()?;
    let features = strings(&field(spec, "features")?, &format!("{what} feature names"))?;
    let n_cells = usize_field(spec, "n_cells")?;
    let n_features = usize_field(spec, "n_features")?;
    if features.len() != n_features {
        return Err(r_error(format!(
            "{what}: {} feature names for {n_features} features",
            features.len()
        )));
    }
    let sparse = field(spec, "sparse")?.as_bool().unwrap_or(false);
    let matrix = if sparse {
        let p = field(spec, "p")?;
        let i = field(spec, "i")?;
        let indptr: Vec<usize> = indices(&p, &format!("{what}: column pointers (p)"))?
            .iter()
            .map(|&a| a as usize)
            .collect();
        let idx: Vec<u32> = indices(&i, &format!("{what}: row indices (i)"))?
            .iter()
            .map(|&a| a as u32)
            .collect();
        let values = values_f32(&field(spec, "x")?, &format!("{what}: the counts"))?;
        Matrix::csr(n_cells, n_features, indptr, idx, values)
    } else {
        let values = values_f32(&field(spec, "values")?, &format!("{what}: the counts"))?;
        Matrix::dense(n_cells, n_features, values)
    }
    .map_err(|e| r_error(format!("{what}: {e}")))?;
    let mut m = Modality::new(name, likelihood, features, matrix).or_r()?;
    let measured = field(spec, "measured")?;
    if !measured.is_null() {
        let flags = measured
            .as_logical_slice()
            .ok_or_else(|| r_error(format!("{what}: 'measured' must be logical")))?;
        if flags.iter().any(|b| b.is_na()) {
            return Err(r_error(format!("{what}: 'measured' must not contain NA")));
        }
        m = m
            .with_measured(flags.iter().map(|b| b.is_true()).collect())
            .or_r()?;
    }
    Ok(m)
}

/// Values of a continuous covariate: doubles, NA/NaN = missing (NaN).
fn continuous_values(x: &Robj, name: &str) -> Result<Vec<f32>> {
    let v = x.as_real_slice().ok_or_else(|| {
        r_error(format!(
            "continuous covariate '{name}' must be numeric (double)"
        ))
    })?;
    Ok(v.iter().map(|&a| a as f32).collect())
}

/// Builds a dataset from a list of modality specs, a named list of
/// covariate labels (character vectors) and a named list of continuous
/// covariates (double vectors, NA = missing).
/// @noRd
#[extendr]
fn dataset_new_(modalities: List, covariates: List, continuous: List) -> Result<Robj> {
    let mods = modalities
        .values()
        .map(|m| {
            let spec: List = m
                .try_into()
                .map_err(|_| r_error("internal error: a modality spec is not a list"))?;
            modality(&spec)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut ds = Dataset::new(mods).or_r()?;
    for (name, labels) in covariates.iter() {
        let labels = strings(&labels, &format!("covariate '{name}'"))?;
        let cov = Covariate::from_labels(name, &labels).or_r()?;
        ds = ds.with_covariate(cov).or_r()?;
    }
    for (name, values) in continuous.iter() {
        let values = continuous_values(&values, name)?;
        ds = ds
            .with_continuous_covariate(ContinuousCovariate::new(name, values))
            .or_r()?;
    }
    Ok(ExternalPtr::new(ds).into())
}

/// The dataset behind an R object, with a clear error for stale pointers.
pub(crate) fn dataset_ptr(x: &Robj) -> Result<ExternalPtr<Dataset>> {
    if !x.is_external_pointer() {
        return Err(r_error("expected a scmosaic dataset"));
    }
    let p: ExternalPtr<Dataset> = x.try_into().map_err(|_| {
        r_error(
            "this scmosaic dataset is no longer valid (it was saved and reloaded, \
             which R cannot do for external data); build it again with scmosaic_data()",
        )
    })?;
    Ok(p)
}

/// Cells, modalities, features and measured cells of a dataset.
/// @noRd
#[extendr]
fn dataset_info_(data: Robj) -> Result<List> {
    let ds = dataset_ptr(&data)?;
    let mods = ds.modalities();
    let names: Vec<String> = mods.iter().map(|m| m.name().to_string()).collect();
    let n_features: Vec<i32> = mods.iter().map(|m| m.features().len() as i32).collect();
    let n_measured: Vec<i32> = mods
        .iter()
        .map(|m| m.measured().iter().filter(|&&b| b).count() as i32)
        .collect();
    let likelihoods: Vec<String> = mods
        .iter()
        .map(|m| m.likelihood().as_str().to_string())
        .collect();
    let covs: Vec<String> = ds.covariates().iter().map(|c| c.name.clone()).collect();
    let conts: Vec<String> = ds
        .continuous_covariates()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    Ok(list!(
        n_cells = ds.n_cells() as i32,
        modalities = names,
        n_features = n_features,
        n_measured = n_measured,
        likelihoods = likelihoods,
        covariates = covs,
        continuous_covariates = conts
    ))
}

/// Whether an external pointer still holds a dataset (false after saveRDS/readRDS).
/// @noRd
#[extendr]
fn dataset_valid_(data: Robj) -> bool {
    dataset_ptr(&data).is_ok()
}

extendr_module! {
    mod data;
    fn dataset_new_;
    fn dataset_info_;
    fn dataset_valid_;
}
