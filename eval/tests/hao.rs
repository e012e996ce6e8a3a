//! hao-mosaic v1 on the bundled data (`data/hao_pbmc_mosaic`): the loader and
//! the two tasks' mosaics, the model-free baselines, and a short run of both
//! tasks with a small scVAEIT on a subset (100 cells per donor), whose scores
//! must be finite and far above chance. Chance levels: protein / RNA Pearson
//! ~0; label transfer ~0.3 (always "CD4 T"); ARI ~0. The figures measured with
//! these configurations are in the comments next to each floor; accuracy of
//! real runs is the example's job (`cargo run --release --example hao_mosaic`).

use scmosaic::ModelConfig;
use scmosaic_eval::hao::{self, HaoData, Hide};
use scmosaic_eval::mosaic::RunOptions;
use std::ops::ControlFlow;
use std::path::PathBuf;

fn data() -> HaoData {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/hao_pbmc_mosaic");
    HaoData::load(&dir).unwrap()
}

#[test]
fn loader_and_task_mosaics() {
    let d = data();
    assert_eq!(
        (d.n_cells(), d.genes.len(), d.proteins.len()),
        (1600, 500, 224)
    );
    for donor in ["p1_0", "p2_0", "p3_0", "p4_0"] {
        assert_eq!(d.cells_of(donor).len(), 400, "{donor}");
    }
    let p1 = d.cells_of("p1_0");
    let p2 = d.cells_of("p2_0");
    assert!(p1.iter().all(|&c| d.has_rna[c] && !d.has_adt[c]));
    assert!(p2.iter().all(|&c| !d.has_rna[c] && d.has_adt[c]));
    let mut types = d.cell_type.clone();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 8);
    let held = d.cells_of(hao::HELD_OUT);
    for (hide, hidden, shown) in [(Hide::Protein, "adt", "rna"), (Hide::Rna, "rna", "adt")] {
        let m = d.mosaic(hide).unwrap();
        assert_eq!(m.n_cells(), 1600);
        assert_eq!(m.covariates()[0].name, "donor");
        let h = m.modality(hidden).unwrap();
        let s = m.modality(shown).unwrap();
        for &c in &held {
            // hidden: unmeasured and its row emptied; the other modality shown
            assert!(!h.measured()[c] && h.data().row(c).count() == 0);
            assert!(s.measured()[c] && s.data().row(c).count() > 0);
        }
        // the other donors keep what they have
        assert!(p1.iter().all(|&c| m.modality("rna").unwrap().measured()[c]));
        assert!(p2
            .iter()
            .all(|&c| !m.modality("rna").unwrap().measured()[c]));
    }
    let small = d.subsample(10, 1).unwrap();
    assert_eq!(small.n_cells(), 40);
    assert_eq!(small.cells_of("p3_0").len(), 10);
    assert_eq!(small.rna.n_rows(), 40);
}

#[test]
fn baselines_beat_chance() {
    let s = hao::baseline_scores(&data()).unwrap();
    eprintln!("{}", s.to_json());
    assert_eq!(s.model, "pca-knn");
    // measured: protein Pearson 0.349, RNA Pearson 0.306 (232 genes), transfer
    // p3 -> p1 / p2 / p4 0.850 / 0.913 / 0.830
    assert!(s.protein.pearson_mean > 0.3, "{}", s.protein.pearson_mean);
    assert!(s.rna.pearson_mean > 0.25, "{}", s.rna.pearson_mean);
    assert!(s.rna.genes_scored > 100, "{}", s.rna.genes_scored);
    assert!(s.transfer_p1 > 0.7, "{}", s.transfer_p1);
    assert!(s.transfer_p2 > 0.8, "{}", s.transfer_p2);
    assert!(s.transfer_p4 > 0.7, "{}", s.transfer_p4);
    assert!(s.ari.is_nan() && s.modality_gap.is_none() && s.protein_coverage.is_none());
}

#[test]
fn short_run_scores_are_finite_and_beat_chance() {
    let d = data().subsample(100, 0).unwrap();
    let mut cfg = ModelConfig::from_json(
        r#"{"latent_dim": 8, "hidden": [64],
            "train": {"batch_size": 32, "epochs": 20, "lr_schedule": "constant"}}"#,
    )
    .unwrap();
    cfg.train.seed = 0;
    let mut epochs = 0;
    let s = hao::run(&cfg, &d, &RunOptions::default(), &mut |_| {
        epochs += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    eprintln!("{}", s.to_json());
    for (name, v) in [
        ("protein.pearson_mean", s.protein.pearson_mean),
        ("protein.clr_rmse", s.protein.clr_rmse),
        ("rna.pearson_mean", s.rna.pearson_mean),
        ("transfer_p1", s.transfer_p1),
        ("transfer_p2", s.transfer_p2),
        ("transfer_p4", s.transfer_p4),
        ("ari", s.ari),
        ("donor_entropy", s.donor_entropy),
        ("donor_asw", s.donor_asw),
    ] {
        assert!(v.is_finite(), "{name} = {v}");
    }
    assert_eq!(epochs, 40, "two models of 20 epochs");
    assert_eq!(
        (s.n_cells, s.epochs, s.epochs_protein_to_rna),
        (400, 20, 20)
    );
    // measured: protein Pearson 0.211, RNA Pearson 0.208, transfer p3 -> p1 /
    // p2 / p4 0.61 / 0.38 / 0.64, ARI 0.343 (9 s on 2 busy cores)
    assert!(s.protein.pearson_mean > 0.1, "{}", s.protein.pearson_mean);
    assert!(s.rna.pearson_mean > 0.1, "{}", s.rna.pearson_mean);
    assert!(s.transfer_p1 > 0.45, "{}", s.transfer_p1);
    assert!(s.transfer_p4 > 0.45, "{}", s.transfer_p4);
    assert!(s.ari > 0.15, "{}", s.ari);
    let gap = s.modality_gap.as_ref().unwrap();
    let sets: Vec<&str> = gap.levels.keys().map(|k| k.as_str()).collect();
    assert_eq!(sets, ["adt", "rna", "rna+adt"]);
    assert_eq!(gap.levels["rna"].n_cells, 200);
    for l in gap.levels.values() {
        assert!((0.0..=1.0).contains(&l.same) && (0.0..=1.0).contains(&l.same_if_mixed));
        assert!(l.paired_same_type.is_some());
    }
    // posterior-predictive intervals of the p4 protein (per-cell CLR);
    // measured: 80% / 95% coverage 0.992 / 0.999 (wide intervals of a small model)
    let c = s.protein_coverage.as_ref().unwrap();
    assert_eq!((c.n_draws, c.n_values), (50, 100 * 224));
    assert!(
        c.cover80 > 0.3 && c.cover80 <= c.cover95 && c.cover95 <= 1.0,
        "{c:?}"
    );
    assert!(c.width80 > 0.0 && c.width80 <= c.width95, "{c:?}");
    let donors = s.donor_mixing.as_ref().unwrap();
    assert_eq!(donors.levels.len(), 4);
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["protocol"], "hao-mosaic v1");
    assert!(json["modality_gap"]["levels"]["rna"]["same"].is_number());
    assert!(json["protein_coverage"]["cover95"].is_number());
}
