//! Continuous covariates for both models: the data model and its errors,
//! scVAEIT's z-scoring (fitted on the training cells, stored in the schema,
//! NaN -> 0), Multigrate's generalized-sigmoid embedding (any number of
//! continuous covariates, one `cond_dim` embedding for all of them), that the
//! values really condition the networks, checkpoints (old ones included),
//! determinism and query mapping (continuous parameters frozen).

mod common;

use common::{small_config, synthetic};
use safetensors::SafeTensors;
use scmosaic::{
    ContinuousCovariate, Covariate, Dataset, EmbedRequest, Error, ImputeRequest, Model, ModelConfig,
};

/// Per-cell values of two continuous covariates: a depth-like one that
/// follows the batch, and an unrelated positive one.
fn values(n: usize, shift: f32) -> (Vec<f32>, Vec<f32>) {
    let a = (0..n)
        .map(|i| 10.0 + (i % 2) as f32 * 5.0 + (i % 7) as f32 + shift)
        .collect();
    let b = (0..n).map(|i| 0.5 + ((i * 13) % 11) as f32 / 4.0).collect();
    (a, b)
}

/// The synthetic RNA + protein data (batch covariate) with continuous covariates.
fn with_cont(d: Dataset, names: &[&str], shift: f32) -> Dataset {
    let (a, b) = values(d.n_cells(), shift);
    let mut d = d;
    for (name, v) in names.iter().zip([a, b]) {
        d = d
            .with_continuous_covariate(ContinuousCovariate::new(*name, v))
            .unwrap();
    }
    d
}

fn strip_cont(d: &Dataset) -> Dataset {
    let mut out = Dataset::new(d.modalities().to_vec()).unwrap();
    for c in d.covariates() {
        out = out.with_covariate(c.clone()).unwrap();
    }
    out
}

fn mg_config(extra: &str) -> ModelConfig {
    ModelConfig::from_json(&format!(
        r#"{{"model": "multigrate", "latent_dim": 8, "hidden": [32],
            "modalities": [{{"name": "rna", "likelihood": "nb"}},
                           {{"name": "adt", "likelihood": "mse", "normalization": "clr"}}],
            "train": {{"epochs": 3, "batch_size": 64, "validation_fraction": 0.0, "seed": 5}}
            {extra}}}"#
    ))
    .unwrap()
}

fn is_data_err(e: &Error, needle: &str) -> bool {
    matches!(e, Error::InvalidData(m) if m.contains(needle))
}

#[test]
fn dataset_validation() {
    let (d, _) = synthetic(10, 8, 3, 1);
    let cc = |name: &str, v: Vec<f32>| ContinuousCovariate::new(name, v);
    // wrong length, infinite value, empty name
    let e = d
        .clone()
        .with_continuous_covariate(cc("pct", vec![1.0; 9]))
        .unwrap_err();
    assert!(is_data_err(&e, "has 9 values for 10 cells"), "{e}");
    let mut inf = vec![1.0; 10];
    inf[4] = f32::INFINITY;
    let e = d
        .clone()
        .with_continuous_covariate(cc("pct", inf))
        .unwrap_err();
    assert!(is_data_err(&e, "infinite in cell 4"), "{e}");
    assert!(d
        .clone()
        .with_continuous_covariate(cc(" ", vec![1.0; 10]))
        .is_err());
    // duplicate name; collision with a categorical covariate, both ways round
    let ok = d
        .clone()
        .with_continuous_covariate(cc("pct", vec![1.0; 10]))
        .unwrap();
    let e = ok
        .clone()
        .with_continuous_covariate(cc("pct", vec![2.0; 10]))
        .unwrap_err();
    assert!(is_data_err(&e, "given twice"), "{e}");
    let e = ok
        .clone()
        .with_continuous_covariate(cc("batch", vec![2.0; 10]))
        .unwrap_err();
    assert!(is_data_err(&e, "name of a categorical covariate"), "{e}");
    let labels = vec!["x"; 10];
    let e = ok
        .clone()
        .with_covariate(Covariate::from_labels("pct", &labels).unwrap())
        .unwrap_err();
    assert!(is_data_err(&e, "name of a continuous covariate"), "{e}");
    // NaN is a missing value, accepted by the dataset
    let mut nan = vec![1.0; 10];
    nan[2] = f32::NAN;
    let with_nan = ok
        .clone()
        .with_continuous_covariate(cc("age", nan))
        .unwrap();
    // carried through cell selection and masking
    let sub = with_nan.select_cells(&[3, 2, 0]).unwrap();
    assert_eq!(sub.continuous_covariates().len(), 2);
    assert_eq!(sub.continuous_covariates()[0].values, vec![1.0; 3]);
    assert!(sub.continuous_covariates()[1].values[1].is_nan());
    let masked = with_nan.mask_modality("adt", &[0, 1]).unwrap();
    let bits = |d: &Dataset| -> Vec<Vec<u32>> {
        d.continuous_covariates()
            .iter()
            .map(|c| c.values.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    assert_eq!(bits(&masked), bits(&with_nan));
}

#[test]
fn scvaeit_standardizes_conditions_and_round_trips() {
    let (base, _) = synthetic(200, 40, 8, 2);
    let d = with_cont(base.clone(), &["depth", "age"], 0.0);
    let cfg = small_config(3);
    let mut m = Model::new(&cfg, &d).unwrap();
    // the z-scoring is fitted on the training cells and stored in the schema
    let (a, _) = values(200, 0.0);
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / 200.0;
    let sd = (a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 200.0).sqrt();
    let st = m.schema().continuous[0]
        .standardize
        .expect("scVAEIT standardizes");
    assert!((st.mean - mean).abs() < 1e-9 && (st.sd - sd).abs() < 1e-9);
    assert_eq!(m.schema().continuous_names(), vec!["depth", "age"]);
    // the covariate vector is [one-hot batch (2) | 2 continuous]: the network
    // is wider than without them by 2 rows of every covariate weight
    let plain = Model::new(&cfg, &strip_cont(&d)).unwrap();
    // `covariates` selects categorical covariates only
    let mut sel = cfg.clone();
    sel.covariates = Some(vec!["batch".into(), "depth".into()]);
    let e = Model::new(&sel, &d).unwrap_err();
    assert!(
        e.to_string().contains("'depth' is a continuous covariate"),
        "{e}"
    );
    assert!(m.n_params() > plain.n_params());
    m.fit(&d).unwrap();
    let z = m.embed(&d).unwrap().values;
    let imp = m.impute(&d, &ImputeRequest::new("adt")).unwrap().mean;
    // different covariate values, same counts: the conditioning changes the
    // encoder (embedding) and the decoder (imputation under the same latent)
    let shifted = with_cont(base.clone(), &["depth", "age"], 6.0);
    assert_ne!(m.embed(&shifted).unwrap().values, z);
    let mut req = ImputeRequest::new("adt");
    req.n_draws = Some(0);
    let at_mean = m.impute(&d, &req).unwrap().mean;
    assert_ne!(m.impute(&shifted, &req).unwrap().mean, at_mean);
    // NaN -> 0 after scaling = the training mean
    let (mut a2, b2) = values(200, 0.0);
    a2[5] = f32::NAN;
    let mut a3 = a2.clone();
    a3[5] = st.mean as f32;
    let build = |a: Vec<f32>| {
        base.clone()
            .with_continuous_covariate(ContinuousCovariate::new("depth", a))
            .unwrap()
            .with_continuous_covariate(ContinuousCovariate::new("age", b2.clone()))
            .unwrap()
    };
    let zn = m.embed(&build(a2)).unwrap().values;
    let zm = m.embed(&build(a3)).unwrap().values;
    assert!(zn.iter().all(|v| v.is_finite()));
    for (x, y) in zn.iter().zip(&zm) {
        assert!(
            (x - y).abs() < 1e-4,
            "NaN is not the training mean: {x} vs {y}"
        );
    }
    // checkpoint round trip keeps the scaling and the outputs
    let again = Model::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(again.schema(), m.schema());
    assert_eq!(again.embed(&d).unwrap().values, z);
    assert_eq!(
        again.impute(&d, &ImputeRequest::new("adt")).unwrap().mean,
        imp
    );
    // wrong continuous covariates at embed time: missing, extra, different
    let e = m.embed(&strip_cont(&d)).unwrap_err();
    assert!(
        matches!(&e, Error::NotFound(s) if s.contains("'depth'")),
        "{e}"
    );
    let extra = d
        .clone()
        .with_continuous_covariate(ContinuousCovariate::new("pct_mt", vec![1.0; 200]))
        .unwrap();
    let e = m.embed(&extra).unwrap_err();
    assert!(
        is_data_err(&e, "'pct_mt', which the model was not trained with"),
        "{e}"
    );
    let e = plain.embed(&d).unwrap_err();
    assert!(is_data_err(&e, "model continuous covariates: none"), "{e}");
    // decoding under a chosen value is for categorical covariates only
    let mut req = ImputeRequest::new("adt");
    req.covariates = vec![("depth".into(), "3".into())];
    let e = m.impute(&d, &req).unwrap_err();
    assert!(e.to_string().contains("is continuous"), "{e}");
}

#[test]
fn scvaeit_same_seed_same_bytes() {
    let (base, _) = synthetic(120, 30, 6, 3);
    let d = with_cont(base, &["depth"], 0.0);
    let run = || {
        let mut m = Model::new(&small_config(2), &d).unwrap();
        m.fit(&d).unwrap();
        m.to_bytes().unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn multigrate_two_continuous_covariates() {
    let (base, _) = synthetic(200, 40, 8, 4);
    let d1 = with_cont(base.clone(), &["depth"], 0.0);
    let d2 = with_cont(base.clone(), &["depth", "age"], 0.0);
    let cfg = mg_config("");
    let m0 = Model::new(&cfg, &base).unwrap();
    let m1 = Model::new(&cfg, &d1).unwrap();
    let mut m2 = Model::new(&cfg, &d2).unwrap();
    // One C-wide embedding for all continuous covariates: the encoders' and
    // decoders' first layers (32 units each, 2 modalities) gain C = 16 input
    // rows whatever K_cont is; each covariate adds W_cont (C) + beta + b.
    let c = 16;
    assert_eq!(m1.n_params() - m0.n_params(), 2 * 2 * c * 32 + (c + 2));
    assert_eq!(m2.n_params() - m1.n_params(), c + 2);
    assert!(m2
        .schema()
        .continuous
        .iter()
        .all(|s| s.standardize.is_none()));
    let r = m2.fit(&d2).unwrap();
    assert!(r.history.iter().all(|h| h.train.total.is_finite()));
    let z = m2.embed(&d2).unwrap().values;
    assert!(z.iter().all(|v| v.is_finite()));
    let mut req = ImputeRequest::new("adt");
    req.n_draws = Some(0);
    let imp = m2.impute(&d2, &req).unwrap().mean;
    // the values condition encoders and decoders
    let shifted = with_cont(base.clone(), &["depth", "age"], -12.0);
    assert_ne!(m2.embed(&shifted).unwrap().values, z);
    assert_ne!(m2.impute(&shifted, &req).unwrap().mean, imp);
    // decoder alone: with unconditioned encoders the latent is the same and
    // only the decoded values move
    let dec_only = mg_config(r#", "multigrate": {"condition_encoders": false}"#);
    let mut md = Model::new(&dec_only, &d2).unwrap();
    md.fit(&d2).unwrap();
    assert_eq!(
        md.embed(&shifted).unwrap().values,
        md.embed(&d2).unwrap().values
    );
    assert_ne!(
        md.impute(&shifted, &req).unwrap().mean,
        md.impute(&d2, &req).unwrap().mean
    );
    // round trip, and the stored continuous parameters
    let bytes = m2.to_bytes().unwrap();
    let again = Model::from_bytes(&bytes).unwrap();
    assert_eq!(again.embed(&d2).unwrap().values, z);
    assert_eq!(again.impute(&d2, &req).unwrap().mean, imp);
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("model.cont_embed").unwrap().shape(), &[2, c]);
    assert_eq!(st.tensor("model.cont_beta").unwrap().shape(), &[1, 2]);
    assert_eq!(st.tensor("model.cont_bias").unwrap().shape(), &[1, 2]);
    // determinism
    let mut m3 = Model::new(&cfg, &d2).unwrap();
    m3.fit(&d2).unwrap();
    assert_eq!(m3.to_bytes().unwrap(), bytes);
    // per-modality and sampled embeddings work with continuous covariates too
    let er = EmbedRequest {
        modality: Some("rna".into()),
        ..Default::default()
    };
    assert!(m2
        .embed_with(&d2, &er)
        .unwrap()
        .values
        .iter()
        .all(|v| v.is_finite()));
}

#[test]
fn multigrate_value_rules_and_types() {
    let (base, _) = synthetic(120, 30, 6, 5);
    let d = with_cont(base.clone(), &["depth", "age"], 0.0);
    // NaN has no neutral value for raw inputs: an error, at creation and later
    let (mut a, b) = values(120, 0.0);
    a[7] = f32::NAN;
    let nan = base
        .clone()
        .with_continuous_covariate(ContinuousCovariate::new("depth", a))
        .unwrap()
        .with_continuous_covariate(ContinuousCovariate::new("age", b.clone()))
        .unwrap();
    let e = Model::new(&mg_config(""), &nan).unwrap_err();
    assert!(is_data_err(&e, "'depth' is NaN (missing) in cell 7"), "{e}");
    let mut m = Model::new(&mg_config(""), &d).unwrap();
    m.fit(&d).unwrap();
    assert!(is_data_err(&m.embed(&nan).unwrap_err(), "NaN"));
    // logsigm: log1p of the values, which must be >= 0
    let log = mg_config(r#", "multigrate": {"cont_cov_type": "logsigm"}"#);
    let mut ml = Model::new(&log, &d).unwrap();
    assert!(ml.schema().continuous.iter().all(|s| s.non_negative));
    ml.fit(&d).unwrap();
    let zl = ml.embed(&d).unwrap().values;
    assert!(zl.iter().all(|v| v.is_finite()));
    assert_eq!(
        Model::from_bytes(&ml.to_bytes().unwrap())
            .unwrap()
            .embed(&d)
            .unwrap()
            .values,
        zl
    );
    let neg = with_cont(base.clone(), &["depth", "age"], -40.0);
    let e = ml.embed(&neg).unwrap_err();
    assert!(is_data_err(&e, "values must be >= 0"), "{e}");
    assert!(Model::new(&log, &neg).is_err());
    // sigm accepts any finite value
    assert!(m.embed(&neg).is_ok());
    // the reference's MLP variant is not implemented: a clear config error
    let e = ModelConfig::from_json(
        r#"{"model": "multigrate", "multigrate": {"cont_cov_type": "mlp"}}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig(s) if s.contains("cont_cov_type \"mlp\" is not implemented")),
        "{e}"
    );
    assert!(ModelConfig::from_json(r#"{"multigrate": {"cont_cov_type": "tanh"}}"#).is_err());
}

/// Reference in batches b0/b1, query in a new batch b2, both with the same
/// continuous covariates; protein missing in the query.
fn query_split(names: &[&str]) -> (Dataset, Dataset) {
    let (d, _) = synthetic(300, 40, 8, 6);
    let d = with_cont(d, names, 0.0);
    let reference = d.select_cells(&(0..200).collect::<Vec<_>>()).unwrap();
    let q = d.select_cells(&(200..300).collect::<Vec<_>>()).unwrap();
    let mut query = Dataset::new(q.modalities().to_vec())
        .unwrap()
        .with_covariate(Covariate::from_labels("batch", &vec!["b2"; 100]).unwrap())
        .unwrap();
    for c in q.continuous_covariates() {
        query = query.with_continuous_covariate(c.clone()).unwrap();
    }
    let all: Vec<usize> = (0..100).collect();
    (reference, query.mask_modality("adt", &all).unwrap())
}

fn tensor(bytes: &[u8], name: &str) -> Vec<u8> {
    SafeTensors::deserialize(bytes)
        .unwrap()
        .tensor(name)
        .unwrap()
        .data()
        .to_vec()
}

fn check_query(cfg: ModelConfig, frozen: &[&str]) {
    let (reference, query) = query_split(&["depth", "age"]);
    let mut m = Model::new(&cfg, &reference).unwrap();
    m.fit(&reference).unwrap();
    let z_ref = m.embed(&reference).unwrap().values;
    let before = m.to_bytes().unwrap();
    // the query must carry exactly the reference's continuous covariates
    let e = m.map_query(&strip_cont(&query)).unwrap_err();
    assert!(
        matches!(&e, Error::NotFound(s) if s.contains("lacks continuous covariate 'depth'")),
        "{e}"
    );
    let extra = query
        .clone()
        .with_continuous_covariate(ContinuousCovariate::new("pct_mt", vec![2.0; 100]))
        .unwrap();
    let e = m.map_query(&extra).unwrap_err();
    assert!(
        is_data_err(
            &e,
            "'pct_mt', which the reference model was not trained with"
        ),
        "{e}"
    );
    let mut q = m.map_query(&query).unwrap();
    assert_eq!(q.schema().continuous, m.schema().continuous);
    let z_before = q.embed(&query).unwrap().values;
    q.fit(&query).unwrap();
    assert_ne!(q.embed(&query).unwrap().values, z_before);
    // reference cells unchanged; continuous-covariate parameters frozen
    assert_eq!(q.embed(&reference).unwrap().values, z_ref);
    let after = q.to_bytes().unwrap();
    for name in frozen {
        assert_eq!(
            tensor(&before, name),
            tensor(&after, name),
            "{name} changed"
        );
    }
}

#[test]
fn multigrate_query_keeps_continuous_parameters() {
    check_query(
        mg_config(""),
        &["model.cont_embed", "model.cont_beta", "model.cont_bias"],
    );
}

#[test]
fn scvaeit_query_keeps_continuous_rows() {
    // The covariate rows of a grown weight are [b0, b1, b2, depth, age]: the
    // reference's rows (continuous included) are restored after every step,
    // which the unchanged reference embeddings show.
    check_query(small_config(2), &[]);
}

#[test]
fn old_checkpoints_load_and_keep_their_format() {
    // A checkpoint written before continuous covariates existed: no
    // `continuous` in its schema; it loads, and a model without continuous
    // covariates still writes none.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/checkpoint/seed-valid.safetensors"
    );
    let bytes = std::fs::read(path).unwrap();
    let schema_json = |b: &[u8]| {
        let (_, h) = SafeTensors::read_metadata(b).unwrap();
        h.metadata().as_ref().unwrap()["scmosaic.schema"].clone()
    };
    assert!(!schema_json(&bytes).contains("continuous"));
    let m = Model::from_bytes(&bytes).unwrap();
    assert!(m.schema().continuous.is_empty());
    assert!(!schema_json(&m.to_bytes().unwrap()).contains("continuous"));
}
