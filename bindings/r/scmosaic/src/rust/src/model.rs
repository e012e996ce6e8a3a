//! Models: create, train (with progress and Ctrl-C), embed, impute, save, load.

use crate::convert::{from_json, r_error, to_json, to_json_as, OrR, REQUEST};
use crate::data::dataset_ptr;
use crate::progress::{interrupt_pending, Mode, ProgressBar};
use extendr_api::prelude::*;
use extendr_api::Result;
use scmosaic::{
    Alignment, Dataset, EmbedRequest, EpochLog, ImputeRequest, Model, ModelConfig, ModelKind,
    StopReason,
};
use std::cell::Cell;
use std::ops::ControlFlow;

/// A model and the per-epoch log of every training call so far.
pub(crate) struct RModel {
    model: Model,
    history: Vec<EpochLog>,
}

thread_local! {
    /// Set while a model trains. R can run code while the progress callback
    /// checks for interrupts (event loops, `later` callbacks); such code must
    /// not reach a model being trained.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

struct Busy;

impl Busy {
    fn enter() -> Result<Busy> {
        if BUSY.with(|b| b.replace(true)) {
            return Err(r_error(
                "scmosaic is training a model; wait for it to finish or interrupt it",
            ));
        }
        Ok(Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.with(|b| b.set(false));
    }
}

fn model_ptr(x: &Robj) -> Result<ExternalPtr<RModel>> {
    if !x.is_external_pointer() {
        return Err(r_error("expected a scmosaic model"));
    }
    x.try_into().map_err(|_| {
        r_error(
            "this scmosaic model is no longer valid: models cannot be kept with \
             saveRDS()/save(); use save_model() and load_model()",
        )
    })
}

fn wrap(model: Model) -> Robj {
    ExternalPtr::new(RModel {
        model,
        history: Vec::new(),
    })
    .into()
}

fn set_threads(model: &mut Model, threads: i32) -> Result<()> {
    if threads < 0 {
        return Err(r_error(
            "'threads' must be 0 (all cores) or a positive number",
        ));
    }
    model.set_threads(threads as usize).or_r()
}

/// The model's name as users know it, for progress lines.
fn kind_label(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Scvaeit => "scVAEIT",
        ModelKind::Multigrate => "Multigrate",
    }
}

/// The seed of random stream `stream` derived from `seed`: stream 0 is
/// `seed` itself; others are spread with the SplitMix64 finalizer, so chunks
/// of cells processed separately (BiocParallel, `R/parallel.R`) draw
/// independent noise, and a single chunk matches an unchunked call.
fn stream_seed(seed: u64, stream: i32) -> u64 {
    if stream <= 0 {
        return seed;
    }
    let mut z = (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    seed ^ z ^ (z >> 31)
}

/// The seed given from R (`< 0` or not finite: the training seed) for
/// random stream `stream`.
fn request_seed(m: &Model, seed: f64, stream: i32) -> Option<u64> {
    let base = if seed.is_finite() && seed >= 0.0 {
        Some(seed as u64)
    } else {
        None
    };
    if stream <= 0 {
        return base;
    }
    Some(stream_seed(base.unwrap_or(m.config().train.seed), stream))
}

/// A configuration as JSON text: `config` is JSON text or a named list (see
/// `R/model.R`), `overrides` a named list applied on top of it.
/// @noRd
#[extendr]
fn config_json_(config: Robj, overrides: Robj) -> Result<String> {
    let mut base = match config.as_str() {
        Some(text) if config.is_string() => serde_json::from_str(text)
            .map_err(|e| r_error(format!("'config' is not valid JSON: {e}")))?,
        _ => to_json(&config, "")?,
    };
    if base.is_null() {
        base = serde_json::Value::Object(Default::default());
    }
    if !base.is_object() {
        return Err(r_error(
            "'config' must be a named list or JSON text of an object",
        ));
    }
    scmosaic::config::merge_json(&mut base, to_json(&overrides, "")?);
    // Validate here so a bad key is reported before any data are converted.
    match ModelConfig::from_json(&base.to_string()) {
        Ok(cfg) => Ok(cfg.to_json()),
        Err(e) => Err(r_error(match bad_key(&base, &mut Vec::new()) {
            Some(key) => format!("{e} (config key '{key}')"),
            None => e.to_string(),
        })),
    }
}

/// The dotted path of the first config value that fails to parse on its own
/// (serde's messages give a position in JSON text the user never wrote).
fn bad_key(v: &serde_json::Value, path: &mut Vec<String>) -> Option<String> {
    let obj = v.as_object()?;
    for (k, child) in obj {
        path.push(k.clone());
        let mut alone = child.clone();
        for p in path.iter().rev() {
            let mut m = serde_json::Map::new();
            m.insert(p.clone(), alone);
            alone = serde_json::Value::Object(m);
        }
        if ModelConfig::from_json(&alone.to_string()).is_err() {
            let deeper = bad_key(child, path);
            let here = path.join(".");
            path.pop();
            return Some(deeper.unwrap_or(here));
        }
        path.pop();
    }
    None
}

/// A new untrained model for `data`.
/// @noRd
#[extendr]
fn model_new_(config_json: &str, data: Robj, threads: i32) -> Result<Robj> {
    let _busy = Busy::enter()?;
    let cfg = ModelConfig::from_json(config_json).or_r()?;
    let ds = dataset_ptr(&data)?;
    let mut model = Model::new(&cfg, &ds).or_r()?;
    set_threads(&mut model, threads)?;
    Ok(wrap(model))
}

fn stop_name(s: StopReason) -> &'static str {
    match s {
        StopReason::Completed => "completed",
        StopReason::EarlyStopped => "early_stopped",
        StopReason::Cancelled => "cancelled",
    }
}

/// Trains `train.epochs` epochs. `verbose`: 0 silent, 1 progress bar, 2 lines.
/// `stop_after` > 0 cancels after that many epochs (tests the cancel path
/// that Ctrl-C takes).
/// @noRd
#[extendr]
fn model_train_(
    model: Robj,
    data: Robj,
    verbose: i32,
    stop_after: i32,
    epochs: i32,
) -> Result<List> {
    let _busy = Busy::enter()?;
    let mut ptr = model_ptr(&model)?;
    let ds = dataset_ptr(&data)?;
    let rm = ptr.try_addr_mut()?;
    if epochs != 0 {
        if epochs < 0 {
            return Err(Error::Other(format!(
                "epochs must be at least 1, got {epochs}"
            )));
        }
        rm.model.set_epochs(epochs as usize).or_r()?;
    }
    let mut bar = ProgressBar::new(
        Mode::from_code(verbose),
        kind_label(rm.model.kind()),
        rm.model.epochs_trained(),
    );
    let mut logs: Vec<EpochLog> = Vec::new();
    let mut interrupted = false;
    let result = rm.model.fit_with_progress(&ds, &mut |log| {
        logs.push(log.clone());
        bar.update(log);
        if stop_after > 0 && logs.len() >= stop_after as usize {
            return ControlFlow::Break(());
        }
        if interrupt_pending() {
            interrupted = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    bar.finish();
    rm.history.extend(logs.iter().cloned());
    let report = result.or_r()?;
    Ok(list!(
        epochs_run = report.epochs_run as i32,
        epochs_trained = rm.model.epochs_trained() as i32,
        stop = stop_name(report.stop),
        interrupted = interrupted,
        seconds = report.seconds,
        best_epoch = report
            .best_epoch
            .map_or(Robj::from(()), |e| Robj::from(e as i32)),
        n_train = report.n_train as i32,
        n_validation = report.n_validation as i32
    ))
}

fn alignment(a: &Alignment) -> List {
    let m = &a.modalities;
    list!(
        modality = m.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
        in_data = m.iter().map(|x| x.in_data).collect::<Vec<_>>(),
        matched = m.iter().map(|x| x.matched as i32).collect::<Vec<_>>(),
        missing = m.iter().map(|x| x.missing as i32).collect::<Vec<_>>(),
        extra = m.iter().map(|x| x.extra as i32).collect::<Vec<_>>()
    )
}

/// The options of a request given from R as a named list (`list()`: the
/// defaults), as the JSON text the core parses (`ImputeRequest::from_json`,
/// `EmbedRequest::from_json`: unknown keys and bad values are errors there).
fn request_json(options: &Robj) -> Result<String> {
    if !(options.is_list() || options.is_null()) {
        return Err(r_error(
            "internal error: request options must be a named list",
        ));
    }
    let v = to_json_as(&REQUEST, options, "")?;
    Ok(if v.is_null() {
        "{}".to_string()
    } else {
        v.to_string()
    })
}

/// Runs `request` (embed or impute) with the model, the dataset and the
/// request's seed (`seed` and `stream` as for `request_seed`), the model held
/// busy.
fn with_request<T>(
    model: &Robj,
    data: &Robj,
    seed: f64,
    stream: i32,
    request: impl FnOnce(&Model, &Dataset, Option<u64>) -> Result<T>,
) -> Result<T> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(model)?;
    let ds = dataset_ptr(data)?;
    let m = &ptr.try_addr()?.model;
    request(m, &ds, request_seed(m, seed, stream))
}

/// Latent values, column-major cells x latent. `modality`: NULL (the joint
/// latent) or one modality's name; `options`: `EmbedRequest` options as a
/// named list (`sample`: TRUE/FALSE, absent: the config's choice); `seed` < 0:
/// the training seed; `stream` > 0: the random stream of that chunk of cells
/// (0: unchunked).
/// @noRd
#[extendr]
fn model_embed_(
    model: Robj,
    data: Robj,
    modality: Robj,
    options: Robj,
    seed: f64,
    stream: i32,
) -> Result<List> {
    let e = with_request(&model, &data, seed, stream, |m, ds, seed| {
        let modality = if modality.is_null() {
            None
        } else {
            let name = modality
                .as_str()
                .filter(|_| modality.len() == 1)
                .ok_or_else(|| r_error("'modality' must be NULL or one modality name"))?;
            if m.features(name).is_err() {
                return Err(r_error(format!(
                    "the model has no modality '{name}' (modalities: {})",
                    m.schema().modality_names().join(", ")
                )));
            }
            Some(name)
        };
        let mut req = EmbedRequest::from_json(modality, Some(&request_json(&options)?)).or_r()?;
        req.seed = seed;
        m.embed_with(ds, &req).or_r()
    })?;
    let (n, d) = (e.n_cells, e.dim);
    let mut values = vec![0f64; n * d];
    for r in 0..n {
        for j in 0..d {
            values[j * n + r] = e.values[r * d + j] as f64;
        }
    }
    Ok(list!(
        values = values,
        n_cells = n as i32,
        dim = d as i32,
        alignment = alignment(&e.alignment)
    ))
}

/// Query-to-reference mapping: a new model that also knows the new covariate
/// levels of `query` and whose training updates only their parameters (the
/// reference cells' embeddings and imputations stay the same). `model` is
/// not modified; the new model starts with its training history.
/// @noRd
#[extendr]
fn model_map_query_(model: Robj, query: Robj) -> Result<Robj> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    let ds = dataset_ptr(&query)?;
    let rm = ptr.try_addr()?;
    let mapped = rm.model.map_query(&ds).or_r()?;
    Ok(ExternalPtr::new(RModel {
        model: mapped,
        history: rm.history.clone(),
    })
    .into())
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// `NULL` or a numeric vector.
fn opt(v: Option<&[f32]>) -> Robj {
    v.map_or_else(|| ().into(), |v| to_f64(v).into())
}

/// Imputed values. Row-major cells x features is column-major features x
/// cells, the R orientation, so values are returned as they are. `options`:
/// `ImputeRequest` options as a named list (`features`, `n_draws`, `scale`,
/// `variance`, `draws`, `hide_target`, `covariates` as a named list of
/// levels; absent: the defaults); `seed` and `stream`: as for `model_embed_`.
/// @noRd
#[extendr]
fn model_impute_(
    model: Robj,
    data: Robj,
    modality: &str,
    options: Robj,
    seed: f64,
    stream: i32,
) -> Result<List> {
    let out = with_request(&model, &data, seed, stream, |m, ds, seed| {
        let mut req = ImputeRequest::from_json(modality, Some(&request_json(&options)?)).or_r()?;
        req.seed = seed;
        m.impute(ds, &req).or_r()
    })?;
    Ok(list!(
        mean = to_f64(&out.mean),
        n_cells = out.n_cells as i32,
        features = out.features,
        variance = opt(out.variance.as_deref()),
        draws = opt(out.draws.as_deref()),
        quantiles = opt((!out.quantiles.is_empty()).then_some(&out.quantiles[..])),
        n_draws = out.n_draws as i32,
        alignment = alignment(&out.alignment)
    ))
}

/// Saves the model (one safetensors file, atomic write).
/// @noRd
#[extendr]
fn model_save_(model: Robj, path: &str) -> Result<()> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    ptr.try_addr()?.model.save(path).or_r()
}

/// Loads a model saved by `save_model()`, the C ABI, Julia or Rust.
/// @noRd
#[extendr]
fn model_load_(path: &str, threads: i32) -> Result<Robj> {
    let mut model = Model::load(path).or_r()?;
    set_threads(&mut model, threads)?;
    Ok(wrap(model))
}

/// The model as safetensors bytes (what `model_save_` writes), for
/// BiocParallel workers, which cannot share the external pointer.
/// @noRd
#[extendr]
fn model_to_bytes_(model: Robj) -> Result<Raw> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    let bytes = ptr.try_addr()?.model.to_bytes().or_r()?;
    Ok(Raw::from_bytes(&bytes))
}

/// A model from safetensors bytes (`model_to_bytes_`, or a saved file read
/// with `readBin`).
/// @noRd
#[extendr]
fn model_from_bytes_(bytes: Raw, threads: i32) -> Result<Robj> {
    let mut model = Model::from_bytes(bytes.as_slice()).or_r()?;
    set_threads(&mut model, threads)?;
    Ok(wrap(model))
}

/// Limits the worker threads (0 = all cores).
/// @noRd
#[extendr]
fn model_set_threads_(model: Robj, threads: i32) -> Result<()> {
    let _busy = Busy::enter()?;
    let mut ptr = model_ptr(&model)?;
    set_threads(&mut ptr.try_addr_mut()?.model, threads)
}

/// Everything print() and summary() show.
/// @noRd
#[extendr]
fn model_info_(model: Robj) -> Result<List> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    let m = &ptr.try_addr()?.model;
    let s = m.schema();
    let cfg = m.config();
    let cov_levels = List::from_names_and_values(
        s.covariates.iter().map(|c| c.name.clone()),
        s.covariates.iter().map(|c| Robj::from(c.levels.clone())),
    )?;
    let config: serde_json::Value =
        serde_json::from_str(&cfg.to_json()).map_err(|e| r_error(e.to_string()))?;
    Ok(list!(
        kind = cfg.model.as_str(),
        modalities = s.modality_names(),
        likelihoods = s
            .modalities
            .iter()
            .map(|x| x.likelihood.as_str().to_string())
            .collect::<Vec<_>>(),
        n_features = s
            .modalities
            .iter()
            .map(|x| x.features.len() as i32)
            .collect::<Vec<_>>(),
        covariates = cov_levels,
        continuous_covariates = s.continuous_names(),
        latent_dim = m.latent_dim() as i32,
        hidden = cfg.hidden.iter().map(|&h| h as i32).collect::<Vec<_>>(),
        n_params = m.n_params() as f64,
        epochs_trained = m.epochs_trained() as i32,
        device = m.device().to_string(),
        threads = m.threads() as i32,
        config = from_json(&config),
        config_json = cfg.to_json()
    ))
}

/// Feature names of one modality of the model.
/// @noRd
#[extendr]
fn model_features_(model: Robj, modality: &str) -> Result<Vec<String>> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    let m = &ptr.try_addr()?.model;
    m.features(modality).map(|f| f.to_vec()).map_err(|_| {
        r_error(format!(
            "the model has no modality '{modality}' (modalities: {})",
            m.schema().modality_names().join(", ")
        ))
    })
}

/// Per-epoch losses of every training call (since creation or loading).
/// @noRd
#[extendr]
fn model_history_(model: Robj) -> Result<List> {
    let _busy = Busy::enter()?;
    let ptr = model_ptr(&model)?;
    let h = &ptr.try_addr()?.history;
    Ok(list!(
        epoch = h.iter().map(|l| l.epoch as i32).collect::<Vec<_>>(),
        loss = h.iter().map(|l| l.train.total).collect::<Vec<_>>(),
        kl = h.iter().map(|l| l.train.kl).collect::<Vec<_>>(),
        validation_loss = h
            .iter()
            .map(|l| l.validation.as_ref().map_or(f64::NAN, |v| v.total))
            .collect::<Vec<_>>(),
        seconds = h.iter().map(|l| l.seconds).collect::<Vec<_>>()
    ))
}

/// Whether an external pointer still holds a model (false after saveRDS/readRDS).
/// @noRd
#[extendr]
fn model_valid_(model: Robj) -> bool {
    model_ptr(&model).is_ok()
}

/// Panics on purpose: tests that a panic becomes an R error.
/// @noRd
#[extendr]
fn debug_panic_() -> Result<()> {
    panic!("scmosaic test panic")
}

extendr_module! {
    mod model;
    fn debug_panic_;
    fn config_json_;
    fn model_new_;
    fn model_train_;
    fn model_embed_;
    fn model_map_query_;
    fn model_impute_;
    fn model_save_;
    fn model_load_;
    fn model_to_bytes_;
    fn model_from_bytes_;
    fn model_set_threads_;
    fn model_info_;
    fn model_features_;
    fn model_history_;
    fn model_valid_;
}
