//! `scm_model`: create, train, embed, impute, save/load.

use super::config::scm_config;
use super::dataset::scm_dataset;
use super::error::{scm_status, FfiError};
use super::{
    arg, emit, opt_str_arg, out_arg, release, slice_arg, slice_out, str_arg, write_str, Locked,
};
use crate::{EmbedRequest, ImputeRequest, Model, StopReason};
use std::ffi::{c_char, c_void};
use std::ops::ControlFlow;

/// A trained or untrained model. Create with `scm_model_new`,
/// `scm_model_load` or `scm_model_from_buffer`; free with `scm_model_free`.
pub struct scm_model {
    inner: Locked<Model>,
}

/// Training ran all its epochs.
pub const SCM_STOP_COMPLETED: i32 = 0;
/// The validation loss stopped improving; the best weights were restored.
pub const SCM_STOP_EARLY_STOPPED: i32 = 1;
/// The progress callback returned non-zero; the model keeps the weights of the
/// last completed epoch and stays usable.
pub const SCM_STOP_CANCELLED: i32 = 2;

/// Progress callback of `scm_model_train`, called after every epoch on the
/// thread that called `scm_model_train`. `epoch` counts from 1 over all
/// training calls, `n_epochs` is the last epoch of this call,
/// `validation_loss` is NaN without a validation split. Return 0 to continue,
/// non-zero to stop training cleanly. The callback must return normally and
/// must not call functions on the model being trained (they fail with
/// `SCM_STATUS_INVALID_STATE`).
pub type scm_progress_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        epoch: usize,
        n_epochs: usize,
        train_loss: f64,
        validation_loss: f64,
    ) -> i32,
>;

fn wrap(model: Model) -> scm_model {
    scm_model {
        inner: Locked::new(model),
    }
}

/// Creates an untrained model for the modalities, features and covariates of
/// `dataset`, with the settings of `config` (which is not kept: later changes
/// to it do not affect the model).
#[no_mangle]
pub unsafe extern "C" fn scm_model_new(
    config: *const scm_config,
    dataset: *const scm_dataset,
    out: *mut *mut scm_model,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?.snapshot()?;
        let ds = arg(dataset, "dataset")?;
        out_arg(out, "out")?;
        let mut st = ds.inner.lock("dataset")?;
        let model = Model::new(&cfg, st.dataset()?)?;
        emit(out, wrap(model));
        Ok(())
    })
}

/// Query-to-reference mapping (scArches-style): creates in `*out` a copy of
/// the trained `reference` model whose covariates also know the new levels of
/// `query`, and whose training (`scm_model_train` on the query) updates only the
/// parameters of those new levels; the reference cells' embeddings and
/// imputations stay exactly the same. `reference` is not modified. Works for
/// both model kinds.
#[no_mangle]
pub unsafe extern "C" fn scm_model_map_query(
    reference: *const scm_model,
    query: *const scm_dataset,
    out: *mut *mut scm_model,
) -> scm_status {
    super::guard(|| {
        let m = arg(reference, "reference")?;
        let ds = arg(query, "query")?;
        out_arg(out, "out")?;
        let held = m.inner.lock("reference")?;
        let mut st = ds.inner.lock("query")?;
        let mapped = held.map_query(st.dataset()?)?;
        emit(out, wrap(mapped));
        Ok(())
    })
}

/// Trains for the configured number of epochs (`train.epochs`) on every cell
/// of `dataset`, matched to the model by modality and feature names. Calling it
/// again continues training. `progress` may be NULL. `stop_reason` (may be
/// NULL) receives one of the `SCM_STOP_*` values. After
/// `SCM_STATUS_NUMERICAL` the model keeps the weights of the last good epoch.
#[no_mangle]
pub unsafe extern "C" fn scm_model_train(
    model: *mut scm_model,
    dataset: *const scm_dataset,
    progress: scm_progress_fn,
    user_data: *mut c_void,
    stop_reason: *mut i32,
) -> scm_status {
    super::guard(|| {
        let m = arg(model, "model")?;
        let ds = arg(dataset, "dataset")?;
        let mut held = m.inner.lock("model")?;
        let mut st = ds.inner.lock("dataset")?;
        let data = st.dataset()?;
        let mut cb = |log: &crate::EpochLog| {
            let Some(f) = progress else {
                return ControlFlow::Continue(());
            };
            let valid = log.validation.as_ref().map_or(f64::NAN, |v| v.total);
            // SAFETY: the caller promises a valid function and user_data.
            let r = unsafe { f(user_data, log.epoch, log.n_epochs, log.train.total, valid) };
            if r == 0 {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        };
        let report = held.fit_with_progress(data, &mut cb)?;
        if !stop_reason.is_null() {
            *stop_reason = match report.stop {
                StopReason::Completed => SCM_STOP_COMPLETED,
                StopReason::EarlyStopped => SCM_STOP_EARLY_STOPPED,
                StopReason::Cancelled => SCM_STOP_CANCELLED,
            };
        }
        Ok(())
    })
}

/// Writes the latent means of the cells of `dataset` into `out`, row-major
/// cells x latent dimensions (`out_len` must equal `n_cells *
/// scm_model_latent_dim`), i.e. a column-major latent x cells matrix.
#[no_mangle]
pub unsafe extern "C" fn scm_model_embed(
    model: *const scm_model,
    dataset: *const scm_dataset,
    out: *mut f32,
    out_len: usize,
) -> scm_status {
    super::guard(|| embed_into(model, dataset, &EmbedRequest::default(), out, out_len))
}

/// The body of `scm_model_embed` / `scm_model_embed_with`: checks the
/// handles and `out_len`, then writes the latent values of `req` into `out`.
unsafe fn embed_into(
    model: *const scm_model,
    dataset: *const scm_dataset,
    req: &EmbedRequest,
    out: *mut f32,
    out_len: usize,
) -> Result<(), FfiError> {
    let m = arg(model, "model")?;
    let ds = arg(dataset, "dataset")?;
    let held = m.inner.lock("model")?;
    let mut st = ds.inner.lock("dataset")?;
    let data = st.dataset()?;
    let need = data.n_cells() * held.latent_dim();
    if out_len != need {
        return Err(FfiError::invalid_arg(format!(
            "out_len is {out_len} but {} cells x {} latent dimensions need {need}",
            data.n_cells(),
            held.latent_dim()
        )));
    }
    let out = slice_out(out, out_len, "out")?;
    let e = held.embed_with(data, req)?;
    out.copy_from_slice(&e.values);
    Ok(())
}

/// Like `scm_model_embed` (same `out` layout and `out_len` rule: `n_cells *
/// scm_model_latent_dim`), with options. `modality` may be NULL (the joint
/// latent from every measured modality) or name one modality of the model:
/// that modality's latent alone (scVAEIT encodes each cell with the other
/// modalities hidden; Multigrate returns the modality's own posterior, its
/// expert, with rows of NaN for cells that lack the modality). An unknown name
/// gives `SCM_STATUS_NOT_FOUND`. `options_json` may be NULL or an object with
/// the optional keys `"sample"` (bool: one posterior sample per cell instead
/// of the mean; default the config's choice, `multigrate.latent`, i.e. the
/// mean for scVAEIT) and `"seed"` (integer >= 0: seed of the sample; default
/// the training seed, `train.seed`). The same inputs, options and seed give
/// the same values.
#[no_mangle]
pub unsafe extern "C" fn scm_model_embed_with(
    model: *const scm_model,
    dataset: *const scm_dataset,
    modality: *const c_char,
    options_json: *const c_char,
    out: *mut f32,
    out_len: usize,
) -> scm_status {
    super::guard(|| {
        // NULL handles are reported before bad options
        arg(model, "model")?;
        arg(dataset, "dataset")?;
        let modality = opt_str_arg(modality, "modality")?;
        let req = EmbedRequest::from_json(modality, opt_str_arg(options_json, "options_json")?)
            .map_err(options_error)?;
        embed_into(model, dataset, &req, out, out_len)
    })
}

/// A bad options object: `SCM_STATUS_INVALID_ARGUMENT` with the parser's message.
fn options_error(e: crate::Error) -> FfiError {
    match e {
        crate::Error::InvalidConfig(m) => FfiError::invalid_arg(m),
        other => other.into(),
    }
}

/// Imputes (or, where measured, denoises) one modality for every cell of
/// `dataset` into `mean` (row-major cells x output features; `mean_len` must
/// be `n_cells * n_out`). The output features are all of the modality's
/// (`scm_model_n_features`, in model order) or the `"features"` option's list,
/// in its order. `options_json` may be NULL or an object with the optional keys
/// `"features"` (array of names), `"hide_target"` (bool: ignore measured values
/// of the target, pure cross-modal prediction), `"n_draws"` (posterior draws
/// averaged, 0 = posterior mean only; default the config's
/// `inference.n_draws`), `"scale"` (`"normalized"` or `"counts"`),
/// `"covariates"` (object: decode under these covariate levels, e.g.
/// `{"batch": "b1"}`) and `"seed"` (the JSON form of the library's
/// `ImputeRequest`; `"variance"` and `"draws"` are decided by the arguments
/// here). `variance` may be NULL; otherwise it receives the per-value
/// variance over draws (zero with fewer than two draws) and `variance_len`
/// must equal `mean_len`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_impute(
    model: *const scm_model,
    dataset: *const scm_dataset,
    modality: *const c_char,
    options_json: *const c_char,
    mean: *mut f32,
    mean_len: usize,
    variance: *mut f32,
    variance_len: usize,
) -> scm_status {
    super::guard(|| {
        let m = arg(model, "model")?;
        let ds = arg(dataset, "dataset")?;
        let modality = str_arg(modality, "modality")?;
        let mut req =
            ImputeRequest::from_json(modality, opt_str_arg(options_json, "options_json")?)
                .map_err(options_error)?;
        let held = m.inner.lock("model")?;
        let n_out = match &req.features {
            Some(f) => f.len(),
            None => held.features(modality)?.len(),
        };
        let mut st = ds.inner.lock("dataset")?;
        let data = st.dataset()?;
        let need = data.n_cells() * n_out;
        if mean_len != need {
            return Err(FfiError::invalid_arg(format!(
                "mean_len is {mean_len} but {} cells x {n_out} features need {need}",
                data.n_cells()
            )));
        }
        let mean = slice_out(mean, mean_len, "mean")?;
        let variance = if variance.is_null() {
            None
        } else {
            if variance_len != need {
                return Err(FfiError::invalid_arg(format!(
                    "variance_len is {variance_len} but must equal mean_len ({need})"
                )));
            }
            Some(slice_out(variance, variance_len, "variance")?)
        };
        // This function returns the mean and the variance, never the draws.
        req.draws = false;
        req.variance = variance.is_some();
        let imp = held.impute(data, &req)?;
        mean.copy_from_slice(&imp.mean);
        if let Some(v) = variance {
            match &imp.variance {
                Some(src) => v.copy_from_slice(src),
                None => v.fill(0.0),
            }
        }
        Ok(())
    })
}

/// Quantiles over posterior draws of one modality's imputation, e.g. the
/// bounds of central prediction intervals: `quantiles` (`n_quantiles`
/// values in `[0, 1]`, e.g. `{0.1, 0.9}` for 80% intervals) are written to
/// `out`, quantile-major (`[n_quantiles][n_cells][n_out]` row-major;
/// `out_len` must be `n_quantiles * n_cells * n_out`). `options_json` is as
/// for `scm_model_impute`, plus `"predictive"` (bool): with `true` each
/// draw also samples the observation model's own noise, so the quantiles
/// bound the values a measurement would give (prediction intervals);
/// otherwise they bound the decoder mean. `"n_draws"` must be at least 1
/// (default the config's `inference.n_draws`); `"quantiles"` in the options
/// is replaced by the argument.
#[no_mangle]
pub unsafe extern "C" fn scm_model_impute_quantiles(
    model: *const scm_model,
    dataset: *const scm_dataset,
    modality: *const c_char,
    options_json: *const c_char,
    quantiles: *const f64,
    n_quantiles: usize,
    out: *mut f32,
    out_len: usize,
) -> scm_status {
    super::guard(|| {
        let m = arg(model, "model")?;
        let ds = arg(dataset, "dataset")?;
        let modality = str_arg(modality, "modality")?;
        let mut req =
            ImputeRequest::from_json(modality, opt_str_arg(options_json, "options_json")?)
                .map_err(options_error)?;
        if n_quantiles == 0 {
            return Err(FfiError::invalid_arg("n_quantiles must be at least 1"));
        }
        if quantiles.is_null() {
            return Err(FfiError::null("quantiles"));
        }
        // SAFETY: the caller passes `n_quantiles` readable doubles (checked non-NULL).
        let qs = std::slice::from_raw_parts(quantiles, n_quantiles).to_vec();
        if let Some(q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(FfiError::invalid_arg(format!(
                "quantile {q} is not in [0, 1]"
            )));
        }
        let held = m.inner.lock("model")?;
        let n_out = match &req.features {
            Some(f) => f.len(),
            None => held.features(modality)?.len(),
        };
        let mut st = ds.inner.lock("dataset")?;
        let data = st.dataset()?;
        let need = n_quantiles * data.n_cells() * n_out;
        if out_len != need {
            return Err(FfiError::invalid_arg(format!(
                "out_len is {out_len} but {n_quantiles} quantiles x {} cells x {n_out} features need {need}",
                data.n_cells()
            )));
        }
        let out = slice_out(out, out_len, "out")?;
        req.draws = false;
        req.variance = false;
        req.quantiles = qs;
        let imp = held.impute(data, &req)?;
        out.copy_from_slice(&imp.quantiles);
        Ok(())
    })
}

/// Runs `f` on the locked model.
unsafe fn with_model<R>(
    model: *const scm_model,
    f: impl FnOnce(&mut Model) -> Result<R, FfiError>,
) -> Result<R, FfiError> {
    let m = arg(model, "model")?;
    let mut held = m.inner.lock("model")?;
    f(&mut held)
}

/// Writes `f(model)` to `*out`.
unsafe fn model_usize(
    model: *const scm_model,
    out: *mut usize,
    f: impl FnOnce(&Model) -> usize,
) -> scm_status {
    super::guard(|| {
        out_arg(out, "out")?;
        *out = with_model(model, |m| Ok(f(m)))?;
        Ok(())
    })
}

/// Writes the latent dimension to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_latent_dim(
    model: *const scm_model,
    out: *mut usize,
) -> scm_status {
    model_usize(model, out, |m| m.latent_dim())
}

/// Writes the number of modalities of the model to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_n_modalities(
    model: *const scm_model,
    out: *mut usize,
) -> scm_status {
    model_usize(model, out, |m| m.schema().modality_names().len())
}

/// Writes the name of modality `index` (0-based, model order) into `buf`
/// (string protocol: `buf = NULL` asks for the size).
#[no_mangle]
pub unsafe extern "C" fn scm_model_modality_name(
    model: *const scm_model,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> scm_status {
    super::guard(|| {
        let name = with_model(model, |m| {
            let names = m.schema().modality_names();
            names.get(index).map(|s| s.to_string()).ok_or_else(|| {
                FfiError::invalid_arg(format!(
                    "modality index {index} out of range ({} modalities)",
                    names.len()
                ))
            })
        })?;
        write_str(&name, buf, cap, len)
    })
}

/// Writes the number of features of a modality to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_n_features(
    model: *const scm_model,
    modality: *const c_char,
    out: *mut usize,
) -> scm_status {
    super::guard(|| {
        let modality = str_arg(modality, "modality")?;
        out_arg(out, "out")?;
        *out = with_model(model, |m| Ok(m.features(modality)?.len()))?;
        Ok(())
    })
}

/// Writes the name of feature `index` (0-based) of a modality into `buf`
/// (string protocol).
#[no_mangle]
pub unsafe extern "C" fn scm_model_feature_name(
    model: *const scm_model,
    modality: *const c_char,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> scm_status {
    super::guard(|| {
        let modality = str_arg(modality, "modality")?;
        let name = with_model(model, |m| {
            let f = m.features(modality)?;
            f.get(index).cloned().ok_or_else(|| {
                FfiError::invalid_arg(format!(
                    "feature index {index} out of range (modality '{modality}' has {} features)",
                    f.len()
                ))
            })
        })?;
        write_str(&name, buf, cap, len)
    })
}

/// Writes the number of epochs trained so far to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_epochs_trained(
    model: *const scm_model,
    out: *mut usize,
) -> scm_status {
    model_usize(model, out, |m| m.epochs_trained())
}

/// Writes the number of trainable parameters to `*out`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_n_params(
    model: *const scm_model,
    out: *mut usize,
) -> scm_status {
    model_usize(model, out, |m| m.n_params())
}

/// Writes the model's resolved configuration (every setting, as stored in its
/// checkpoints) as JSON into `buf` (string protocol).
#[no_mangle]
pub unsafe extern "C" fn scm_model_config_json(
    model: *const scm_model,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> scm_status {
    super::guard(|| {
        let json = with_model(model, |m| Ok(m.config().to_json()))?;
        write_str(&json, buf, cap, len)
    })
}

/// Moves the model to a device: `"cpu"`, `"cpu:flex"`, `"cpu:ndarray"`,
/// `"cuda"` or `"cuda:N"`. A backend missing from this build gives
/// `SCM_STATUS_DEVICE` with a message saying how to get it.
#[no_mangle]
pub unsafe extern "C" fn scm_model_set_device(
    model: *mut scm_model,
    device: *const c_char,
) -> scm_status {
    super::guard(|| {
        let device = str_arg(device, "device")?;
        with_model(model, |m| Ok(m.set_device(device)?))
    })
}

/// Sets the number of epochs each later `scm_model_train` runs
/// (`train.epochs`; at least 1, else `SCM_STATUS_INVALID_CONFIG`), e.g. to
/// fine-tune a model from `scm_model_map_query` for fewer epochs than its
/// reference.
#[no_mangle]
pub unsafe extern "C" fn scm_model_set_epochs(model: *mut scm_model, epochs: usize) -> scm_status {
    super::guard(|| with_model(model, |m| Ok(m.set_epochs(epochs)?)))
}

/// Limits the model's compute threads (0 = all cores).
#[no_mangle]
pub unsafe extern "C" fn scm_model_set_threads(
    model: *mut scm_model,
    threads: usize,
) -> scm_status {
    super::guard(|| with_model(model, |m| Ok(m.set_threads(threads)?)))
}

/// Saves the model to a safetensors file. The write is atomic: an
/// interrupted save leaves any previous file at `path` intact.
#[no_mangle]
pub unsafe extern "C" fn scm_model_save(
    model: *const scm_model,
    path: *const c_char,
) -> scm_status {
    super::guard(|| {
        let path = str_arg(path, "path")?;
        with_model(model, |m| Ok(m.save(path)?))
    })
}

/// Loads a model saved by `scm_model_save` (on the CPU). Truncated, corrupt
/// or foreign files give `SCM_STATUS_CHECKPOINT`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_load(
    path: *const c_char,
    out: *mut *mut scm_model,
) -> scm_status {
    super::guard(|| {
        let path = str_arg(path, "path")?;
        out_arg(out, "out")?;
        let model = Model::load(path)?;
        emit(out, wrap(model));
        Ok(())
    })
}

/// Serializes the model (safetensors bytes, as `scm_model_save` writes) into
/// `buf`; `*len` receives the size. `buf = NULL` asks for the size only; a
/// too-small `cap` gives `SCM_STATUS_BUFFER_TOO_SMALL`.
#[no_mangle]
pub unsafe extern "C" fn scm_model_to_buffer(
    model: *const scm_model,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> scm_status {
    super::guard(|| {
        out_arg(len, "len")?;
        let bytes = with_model(model, |m| Ok(m.to_bytes()?))?;
        *len = bytes.len();
        if buf.is_null() {
            return Ok(());
        }
        if cap < bytes.len() {
            return Err(FfiError::new(
                scm_status::SCM_STATUS_BUFFER_TOO_SMALL,
                format!(
                    "the buffer holds {cap} bytes but {} are needed",
                    bytes.len()
                ),
            ));
        }
        slice_out(buf, bytes.len(), "buf")?.copy_from_slice(&bytes);
        Ok(())
    })
}

/// Loads a model from `n_bytes` bytes made by `scm_model_to_buffer` (copied).
#[no_mangle]
pub unsafe extern "C" fn scm_model_from_buffer(
    bytes: *const u8,
    n_bytes: usize,
    out: *mut *mut scm_model,
) -> scm_status {
    super::guard(|| {
        out_arg(out, "out")?;
        if n_bytes == 0 {
            return Err(FfiError::new(
                scm_status::SCM_STATUS_CHECKPOINT,
                "invalid checkpoint: the buffer is empty (0 bytes): the file is truncated or \
                 corrupt, or not a checkpoint",
            ));
        }
        let bytes = slice_arg(bytes, n_bytes, "bytes")?;
        let model = Model::from_bytes(bytes)?;
        emit(out, wrap(model));
        Ok(())
    })
}

/// Frees a model (NULL is accepted).
#[no_mangle]
pub unsafe extern "C" fn scm_model_free(model: *mut scm_model) {
    release(model)
}
