//! Query-to-reference mapping for both models: new covariate levels get new
//! rows, everything else is frozen, and the reference cells' embeddings and
//! imputations do not change.

mod common;

use common::synthetic;
use scmosaic::{Covariate, Dataset, ImputeRequest, Model, ModelConfig};

/// Reference = cells of batches b0/b1; query = the same kind of cells in a
/// new batch "b2" (and a second covariate with a new level), protein missing.
fn split() -> (Dataset, Dataset) {
    let (d, _) = synthetic(300, 50, 10, 7);
    let ref_rows: Vec<usize> = (0..200).collect();
    let q_rows: Vec<usize> = (200..300).collect();
    let site = |n: usize, l: &str| Covariate::from_labels("site", &vec![l; n]).unwrap();
    let reference = d
        .select_cells(&ref_rows)
        .unwrap()
        .with_covariate(site(200, "s0"))
        .unwrap();
    let q = d.select_cells(&q_rows).unwrap();
    let labels = vec!["b2"; 100];
    let modalities = q.modalities().to_vec();
    let all: Vec<usize> = (0..100).collect();
    let query = Dataset::new(modalities)
        .unwrap()
        .with_covariate(Covariate::from_labels("batch", &labels).unwrap())
        .unwrap()
        .with_covariate(site(100, "s1"))
        .unwrap()
        .mask_modality("adt", &all)
        .unwrap();
    (reference, query)
}

fn check(cfg: ModelConfig) {
    let (reference, query) = split();
    let mut m = Model::new(&cfg, &reference).unwrap();
    m.fit(&reference).unwrap();
    let z_ref = m.embed(&reference).unwrap().values;
    let imp_ref = m
        .impute(&reference, &ImputeRequest::new("adt"))
        .unwrap()
        .mean;
    // the reference model cannot read the query's new levels
    assert!(m.embed(&query).is_err());
    let mut q = m.map_query(&query).unwrap();
    assert_eq!(
        q.schema().covariates[0].levels,
        vec!["b0".to_string(), "b1".into(), "b2".into()]
    );
    let before = q.embed(&query).unwrap().values;
    // the query trains for its own number of epochs
    assert!(q.set_epochs(0).is_err());
    q.set_epochs(2).unwrap();
    let report = q.fit(&query).unwrap();
    assert_eq!(report.epochs_run, 2);
    assert_eq!(
        m.config().train.epochs,
        3,
        "the reference keeps its setting"
    );
    assert!(report.history.iter().all(|h| h.train.total.is_finite()));
    let after = q.embed(&query).unwrap().values;
    assert_ne!(before, after, "fine-tuning changed nothing for the query");
    assert!(after.iter().all(|v| v.is_finite()));
    // reference cells: identical embeddings and imputations after mapping
    assert_eq!(q.embed(&reference).unwrap().values, z_ref);
    assert_eq!(
        q.impute(&reference, &ImputeRequest::new("adt"))
            .unwrap()
            .mean,
        imp_ref
    );
    // the query's protein can be imputed from RNA; the mapped model round-trips
    let imp = q.impute(&query, &ImputeRequest::new("adt")).unwrap();
    assert!(imp.mean.iter().all(|v| v.is_finite()));
    let again = Model::from_bytes(&q.to_bytes().unwrap()).unwrap();
    assert_eq!(again.embed(&query).unwrap().values, after);
    // a query lacking a reference covariate is a clear error
    let bare = Dataset::new(query.modalities().to_vec()).unwrap();
    let e = m.map_query(&bare).unwrap_err().to_string();
    assert!(e.contains("covariate"), "{e}");
}

#[test]
fn multigrate_query_mapping_keeps_the_reference() {
    let mut cfg = ModelConfig::from_json(
        r#"{"model": "multigrate", "latent_dim": 8, "hidden": [32],
            "modalities": [{"name": "rna", "likelihood": "nb"},
                           {"name": "adt", "likelihood": "mse", "normalization": "clr"}],
            "multigrate": {"integrate_on": "batch", "alignment": "mmd"},
            "train": {"epochs": 3, "batch_size": 64, "validation_fraction": 0.0}}"#,
    )
    .unwrap();
    cfg.train.seed = 1;
    check(cfg);
}

#[test]
fn scvaeit_query_mapping_keeps_the_reference() {
    let mut cfg = common::small_config(3);
    cfg.train.seed = 1;
    check(cfg);
}
