//! Multigrate through the public API: training, embedding, imputation,
//! checkpoints, determinism, masking of missing modalities, alignment
//! options and configuration errors.

mod common;

use common::synthetic;
use scmosaic::{
    Dataset, EmbedRequest, ImputeRequest, ImputeScale, Matrix, Modality, Model, ModelConfig,
};

/// RNA (NB counts) + protein (CLR, MSE); cells `i % 4 == 3` lack protein.
fn data(n: usize, seed: u64) -> (Dataset, Vec<usize>) {
    let (d, labels) = synthetic(n, 60, 12, seed);
    let missing: Vec<usize> = (0..n).filter(|i| i % 4 == 3).collect();
    (d.mask_modality("adt", &missing).unwrap(), labels)
}

fn config(extra: &str) -> ModelConfig {
    let mut c = ModelConfig::from_json(&format!(
        r#"{{"model": "multigrate", "latent_dim": 8, "hidden": [32],
            "modalities": [{{"name": "rna", "likelihood": "nb"}},
                           {{"name": "adt", "likelihood": "mse", "normalization": "clr"}}],
            "train": {{"epochs": 4, "batch_size": 64, "validation_fraction": 0.0}}
            {extra}}}"#
    ))
    .unwrap();
    c.train.seed = 3;
    c
}

#[test]
fn trains_embeds_imputes_and_round_trips() {
    let (d, _) = data(240, 1);
    let mut m = Model::new(&config(""), &d).unwrap();
    assert_eq!(m.kind().as_str(), "multigrate");
    let r = m.fit(&d).unwrap();
    assert_eq!(r.epochs_run, 4);
    let first = r.history[0].train.total;
    let last = r.history[3].train.total;
    assert!(last < first, "loss did not decrease: {first} -> {last}");
    assert!(r.history[3].train.masked.is_empty());
    let z = m.embed(&d).unwrap();
    assert_eq!((z.n_cells, z.dim), (240, 8));
    assert!(z.values.iter().all(|v| v.is_finite()));
    let mut req = ImputeRequest::new("adt");
    req.scale = ImputeScale::Counts;
    let adt = m.impute(&d, &req).unwrap();
    assert_eq!(adt.mean.len(), 240 * 12);
    assert!(adt.mean.iter().all(|v| v.is_finite() && *v >= 0.0));
    // counts scale of CLR: each cell sums to its library (measured) or the median
    let rna = m.impute(&d, &ImputeRequest::new("rna")).unwrap();
    for row in rna.mean.chunks(60) {
        let s: f32 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-3, "NB proportions sum to {s}");
    }
    let bytes = m.to_bytes().unwrap();
    let again = Model::from_bytes(&bytes).unwrap();
    assert_eq!(again.embed(&d).unwrap().values, z.values);
    assert_eq!(again.impute(&d, &req).unwrap().mean, adt.mean);
    assert_eq!(again.config(), m.config());
    // per-modality latent: NaN where the modality is missing
    let mut er = EmbedRequest {
        modality: Some("adt".into()),
        ..Default::default()
    };
    let za = m.embed_with(&d, &er).unwrap();
    for (i, row) in za.values.chunks(8).enumerate() {
        assert_eq!(row.iter().all(|v| v.is_nan()), i % 4 == 3, "cell {i}");
    }
    // sampled latent: seeded, differs from the mean
    er = EmbedRequest {
        sample: Some(true),
        ..Default::default()
    };
    let s1 = m.embed_with(&d, &er).unwrap();
    assert_eq!(s1.values, m.embed_with(&d, &er).unwrap().values);
    assert_ne!(s1.values, z.values);
}

#[test]
fn same_seed_same_model() {
    let (d, _) = data(160, 2);
    let cfg = config(r#", "multigrate": {"dropout": 0.2}"#);
    let run = |c: &ModelConfig| {
        let mut m = Model::new(c, &d).unwrap();
        m.fit(&d).unwrap();
        m.embed(&d).unwrap().values
    };
    let a = run(&cfg);
    assert_eq!(a, run(&cfg));
    let mut other = cfg.clone();
    other.train.seed = 4;
    assert_ne!(a, run(&other));
}

#[test]
fn missing_modalities_do_not_enter_the_loss() {
    // Same data, except the protein values of the cells that lack protein
    // (never to be read) are replaced by different numbers.
    let (d, _) = data(160, 3);
    let adt = d.modality("adt").unwrap();
    let measured = adt.measured().to_vec();
    let dense = adt.data().to_dense();
    let values: Vec<f32> = match &dense {
        Matrix::Dense { values, .. } => values.clone(),
        _ => unreachable!(),
    };
    let p = adt.features().len();
    let garbage: Vec<f32> = values
        .iter()
        .enumerate()
        .map(|(k, &v)| if measured[k / p] { v } else { v * 7.0 + 3.0 })
        .collect();
    let adt2 = Modality::new(
        "adt",
        adt.likelihood(),
        adt.features().to_vec(),
        Matrix::dense(160, p, garbage).unwrap(),
    )
    .unwrap()
    .with_measured(measured)
    .unwrap();
    let d2 = Dataset::new(vec![d.modality("rna").unwrap().clone(), adt2])
        .unwrap()
        .with_covariate(d.covariates()[0].clone())
        .unwrap();
    let cfg = config("");
    let fit = |data: &Dataset| {
        let mut m = Model::new(&cfg, data).unwrap();
        m.fit(data).unwrap();
        m.embed(&d).unwrap().values
    };
    assert_eq!(fit(&d), fit(&d2));
}

#[test]
fn alignment_options_train() {
    let (d, _) = data(200, 4);
    for extra in [
        r#", "multigrate": {"integrate_on": "batch", "alignment": "mmd"}"#,
        r#", "multigrate": {"integrate_on": "batch", "alignment": "mmd", "alignment_type": "both", "kernel": "moments"}"#,
        r#", "multigrate": {"integrate_on": "batch", "alignment": "jeffreys", "alignment_type": "marginal"}"#,
        r#", "multigrate": {"mix": "mixture", "normalization": "batch", "activation": "tanh", "condition_encoders": false}"#,
        r#", "modalities": [{"name": "rna", "likelihood": "zinb"}, {"name": "adt", "likelihood": "nb"}]"#,
    ] {
        let mut cfg = config(extra);
        cfg.train.epochs = 2;
        let mut m = Model::new(&cfg, &d).unwrap();
        let r = m.fit(&d).unwrap();
        let log = &r.history[1].train;
        assert!(log.total.is_finite(), "{extra}: {log:?}");
        if extra.contains("alignment\"") {
            assert!(log.mmd > 0.0, "{extra}: alignment penalty {}", log.mmd);
        }
        let z = m.embed(&d).unwrap();
        assert!(z.values.iter().all(|v| v.is_finite()), "{extra}");
        let imp = m.impute(&d, &ImputeRequest::new("adt")).unwrap();
        assert!(imp.mean.iter().all(|v| v.is_finite()), "{extra}");
    }
}

#[test]
fn bad_configs_are_clear_errors() {
    let (d, _) = data(40, 5);
    let e = ModelConfig::from_json(
        r#"{"model": "multigrate", "modalities": [{"name": "rna", "likelihood": "negbin"}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("negbin"), "{e}");
    let e = ModelConfig::from_json(r#"{"model": "multigrat"}"#).unwrap_err();
    assert!(e.to_string().contains("multigrate"), "{e}");
    let e = ModelConfig::from_json(r#"{"multigrate": {"dropout": 0.1}}"#).unwrap_err();
    assert!(e.to_string().contains("multigrate"), "{e}");
    let e = ModelConfig::from_json(r#"{"model": "multigrate", "multigrate": {"dropout": 1.5}}"#)
        .unwrap_err();
    assert!(e.to_string().contains("dropout"), "{e}");
    let e = ModelConfig::from_json(r#"{"model": "multigrate", "multigrate": {"loss": "x"}}"#)
        .unwrap_err();
    assert!(e.to_string().contains("loss"), "{e}");
    let bad = |json: &str| {
        let c = ModelConfig::from_json(json).unwrap();
        Model::new(&c, &d).unwrap_err().to_string()
    };
    let e =
        bad(r#"{"model": "multigrate", "modalities": [{"name": "rna", "likelihood": "poisson"}]}"#);
    assert!(e.contains("poisson"), "{e}");
    let e = bad(
        r#"{"model": "multigrate", "modalities": [{"name": "rna", "normalization": {"log_normalize": {"target_sum": 10000}}}]}"#,
    );
    assert!(e.contains("raw counts"), "{e}");
    let e = bad(
        r#"{"model": "multigrate", "modalities": [{"name": "adt", "likelihood": "mse", "nb_mixture": {}}]}"#,
    );
    assert!(e.contains("nb_mixture needs the nb likelihood"), "{e}");
    let e = bad(r#"{"modalities": [{"name": "adt", "nb_mixture": {}}]}"#);
    assert!(e.contains("Multigrate observation model"), "{e}");
    let e = ModelConfig::from_json(
        r#"{"model": "multigrate", "modalities": [{"name": "adt", "nb_mixture": {"prior_sd": 0}}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("prior_sd"), "{e}");
    let e = ModelConfig::from_json(
        r#"{"model": "multigrate", "multigrate": {"modality_dropout": 1.5}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("modality_dropout"), "{e}");
    let e = bad(r#"{"model": "multigrate", "multigrate": {"integrate_on": "donor"}}"#);
    assert!(e.contains("donor"), "{e}");
    let e = bad(r#"{"model": "multigrate", "modalities": [{"name": "atac"}]}"#);
    assert!(e.contains("atac"), "{e}");
    assert!(Dataset::new(vec![]).is_err(), "a dataset needs modalities");
    // defaults follow the model kind
    let c = ModelConfig::from_json(r#"{"model": "multigrate"}"#).unwrap();
    assert_eq!((c.latent_dim, c.hidden.clone()), (16, vec![128]));
    assert_eq!((c.train.batch_size, c.train.learning_rate), (256, 5e-4));
    let m = Model::new(&c, &d).unwrap();
    let mg = m.config().multigrate.clone().unwrap();
    assert_eq!(mg.kl_warmup_epochs, Some(66));
    assert_eq!(mg.integ_weight, Some(0.0));
}

/// totalVI's NB mixture on raw ADT counts with a CLR input, modality
/// dropout, and posterior-predictive quantiles.
#[test]
fn nb_mixture_modality_dropout_and_prediction_intervals() {
    let (d, _) = data(240, 1);
    let mut cfg = config(
        r#", "multigrate": {"modality_dropout": 0.5},
            "modalities": [{"name": "rna", "likelihood": "nb"},
                           {"name": "adt", "likelihood": "nb", "normalization": "clr",
                            "nb_mixture": {"full_mean": true}}]"#,
    );
    cfg.train.epochs = 12;
    cfg.train.learning_rate = 2e-3;
    let fit = || {
        let mut m = Model::new(&cfg, &d).unwrap();
        let r = m.fit(&d).unwrap();
        (m, r)
    };
    let (m, r) = fit();
    // (the ADT term starts near its optimum: the heads start at the data's means)
    let rna: Vec<f64> = r.history.iter().map(|h| h.train.observed[0]).collect();
    assert!(rna[11] < rna[0] - 1.0, "{rna:?}");
    assert!(r.history.iter().all(|h| h.train.total.is_finite()));
    // the same seed gives the same model (dropout draws are seeded)
    let (m2, _) = fit();
    assert_eq!(m.to_bytes().unwrap(), m2.to_bytes().unwrap());
    let stored = m.config();
    assert_eq!(stored.multigrate.as_ref().unwrap().modality_dropout, 0.5);
    assert!(
        stored
            .modality("adt")
            .unwrap()
            .nb_mixture
            .unwrap()
            .full_mean
    );
    // counts: the mixture's mean, >= 0; normalized: its CLR (rows sum to 0)
    let mut req = ImputeRequest::new("adt");
    req.scale = ImputeScale::Counts;
    req.n_draws = Some(0);
    let counts = m.impute(&d, &req).unwrap();
    assert!(counts.mean.iter().all(|v| v.is_finite() && *v >= 0.0));
    req.scale = ImputeScale::Normalized;
    let clr = m.impute(&d, &req).unwrap();
    for (row, c) in clr.mean.chunks(12).zip(counts.mean.chunks(12)) {
        let s: f32 = row.iter().sum();
        assert!(s.abs() < 1e-3, "CLR row sums to {s}");
        let mean = c.iter().map(|v| v.ln_1p()).sum::<f32>() / 12.0;
        assert!((row[0] - (c[0].ln_1p() - mean)).abs() < 1e-4);
    }
    // prediction intervals: ordered quantiles of integer count draws,
    // wider than those of the decoder mean alone
    req.scale = ImputeScale::Counts;
    req.n_draws = Some(40);
    req.quantiles = vec![0.1, 0.5, 0.9];
    req.draws = true;
    let mean_q = m.impute(&d, &req).unwrap();
    req.predictive = true;
    let pp = m.impute(&d, &req).unwrap();
    let cells = 240 * 12;
    assert_eq!(pp.quantiles.len(), 3 * cells);
    for i in 0..cells {
        let (lo, mid, hi) = (
            pp.quantiles[i],
            pp.quantiles[cells + i],
            pp.quantiles[2 * cells + i],
        );
        assert!(lo <= mid && mid <= hi, "{lo} {mid} {hi}");
    }
    assert!(pp
        .draws
        .as_ref()
        .unwrap()
        .iter()
        .all(|v| v.fract() == 0.0 && *v >= 0.0));
    let width = |q: &[f32]| (0..cells).map(|i| q[2 * cells + i] - q[i]).sum::<f32>();
    assert!(width(&pp.quantiles) > 2.0 * width(&mean_q.quantiles));
    // seeded: the same request gives the same draws
    assert_eq!(m.impute(&d, &req).unwrap().quantiles, pp.quantiles);
    // a checkpoint round trip keeps the outputs
    let again = Model::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(again.impute(&d, &req).unwrap().quantiles, pp.quantiles);
    // bad requests
    req.quantiles = vec![1.5];
    assert!(m.impute(&d, &req).is_err());
    req.quantiles = vec![0.5];
    req.n_draws = Some(0);
    assert!(m
        .impute(&d, &req)
        .unwrap_err()
        .to_string()
        .contains("n_draws"));
}

/// The NB mixture's library offset: stored in the config, changes the fit,
/// survives a checkpoint round trip; a config without the key means no offset.
#[test]
fn nb_mixture_library_offset() {
    let (d, _) = data(160, 1);
    let mk = |mix: &str| {
        let mut cfg = config(&format!(
            r#", "modalities": [{{"name": "rna", "likelihood": "nb"}},
                               {{"name": "adt", "likelihood": "nb", "normalization": "clr",
                                 "nb_mixture": {mix}}}]"#
        ));
        cfg.train.epochs = 4;
        let mut m = Model::new(&cfg, &d).unwrap();
        m.fit(&d).unwrap();
        m
    };
    let (with, without) = (mk(r#"{"library": true}"#), mk("{}"));
    let lib = |m: &Model| {
        m.config()
            .modality("adt")
            .unwrap()
            .nb_mixture
            .unwrap()
            .library
    };
    assert!(lib(&with) && !lib(&without));
    let mut req = ImputeRequest::new("adt");
    req.n_draws = Some(0);
    req.scale = ImputeScale::Counts;
    let a = with.impute(&d, &req).unwrap().mean;
    assert!(a.iter().all(|v| v.is_finite() && *v >= 0.0));
    assert_ne!(a, without.impute(&d, &req).unwrap().mean);
    let again = Model::from_bytes(&with.to_bytes().unwrap()).unwrap();
    assert!(lib(&again));
    assert_eq!(again.impute(&d, &req).unwrap().mean, a);
    let old: scmosaic::NbMixture =
        serde_json::from_str(r#"{"full_mean": true, "prior_sd": 1.0}"#).unwrap();
    assert!(!old.library);
}

/// The untrained model's imputation averaged over cells on
/// [`common::skewed_counts`], against the data's mean proportions (log scale)
/// and peak frequencies. Returns the largest errors.
fn head_bias_fit(head_bias: &str) -> (f64, f64) {
    let (n, g) = (300, 40);
    let (d, x) = common::skewed_counts(n, g, 9);
    let c = ModelConfig::from_json(&format!(
        r#"{{"model": "multigrate", "latent_dim": 4, "hidden": [16],
            "modalities": [{{"name": "rna", "likelihood": "nb"}}, {{"name": "atac", "likelihood": "bce"}}],
            "head_bias": "{head_bias}"}}"#
    ))
    .unwrap();
    let m = Model::new(&c, &d).unwrap();
    let p_hat = common::column_means(&m.impute(&d, &ImputeRequest::new("rna")).unwrap().mean, g);
    let f_hat = common::column_means(&m.impute(&d, &ImputeRequest::new("atac")).unwrap().mean, g);
    let (prop, freq) = common::proportions_and_frequencies(&x, g);
    let log_err = p_hat
        .iter()
        .zip(&prop)
        .map(|(a, b)| (a.ln() - b.ln()).abs())
        .fold(0.0, f64::max);
    let freq_err = f_hat
        .iter()
        .zip(&freq)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (log_err, freq_err)
}

#[test]
fn head_bias_from_data_starts_at_the_average_cell() {
    let (log_err, freq_err) = head_bias_fit("data");
    let (log_err0, freq_err0) = head_bias_fit("default");
    // the random hidden-layer term of the untrained head moves each feature a little
    assert!(log_err < 1.5, "log proportion error {log_err}");
    assert!(freq_err < 0.15, "peak frequency error {freq_err}");
    assert!(
        log_err0 > 3.0,
        "default init log proportion error {log_err0}"
    );
    assert!(freq_err0 > 0.4, "default init frequency error {freq_err0}");
}

#[test]
fn unknown_head_bias_is_rejected() {
    let e = ModelConfig::from_json(r#"{"model": "multigrate", "head_bias": "zero"}"#).unwrap_err();
    assert!(e.to_string().contains("zero"), "{e}");
}
