//! A short training run on the bundled REAP-seq data (reap-impute v1 protocol
//! with a small network and few epochs) must reach accuracy far above chance.
//! Chance levels: protein Pearson ~0, kNN accuracy 0.36 (always "CD4 T"), ARI ~0.
//! Measured with this configuration: protein Pearson 0.42, cell Pearson 0.77,
//! kNN 0.60, ARI 0.44 (the full 100-epoch run is the main example). The small
//! network learns fastest with ADT-heavy weights and a constant learning rate.

mod common;

use scmosaic::Model;
use scmosaic_eval::reap;

#[test]
fn short_reap_run_beats_chance_by_far() {
    let data = reap::load(&common::reap_dir(), None).unwrap();
    assert_eq!(data.train.n_cells(), 2455);
    assert_eq!(data.test.n_cells(), 614);
    assert_eq!(data.proteins.len(), 43);
    let cfg = common::short_reap_config();
    let mut model = Model::new(&cfg, &data.train).unwrap();
    model.fit(&data.train).unwrap();
    let s = reap::evaluate(&model, &data, None).unwrap();
    eprintln!("{s:?}");
    common::assert_short_reap_floors(&s);
}
