//! CUDA tests (`cargo test --release --features cuda --test gpu`): CPU and GPU
//! give the same outputs and losses, a GPU training run reaches the real-data
//! accuracy floor, and checkpoints move between GPU and CPU. Without the
//! `cuda` feature this file has no tests; with it but without a usable GPU
//! every test prints `SKIPPED (no usable GPU: ...)` and passes, so CI (no GPU)
//! stays green while the GPU machine runs them for real.
#![cfg(feature = "cuda")]

mod common;

use scmosaic::{ImputeRequest, Model};
use scmosaic_eval::reap;

/// `true` when cuda:0 works; otherwise prints why the test is skipped.
fn gpu(test: &str) -> bool {
    match scmosaic::Device::parse("cuda:0") {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED {test} (no usable GPU: {e})");
            false
        }
    }
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs().max(y.abs())))
        .fold(0.0, f32::max)
}

#[test]
fn cpu_and_gpu_give_the_same_outputs_and_losses() {
    if !gpu("cpu_and_gpu_give_the_same_outputs_and_losses") {
        return;
    }
    let (data, _) = common::synthetic(400, 60, 12, 3);
    let cfg = common::small_config(1);
    // Same initial weights on both devices; one epoch on each.
    let cpu0 = Model::new(&cfg, &data).unwrap();
    let bytes = cpu0.to_bytes().unwrap();
    let mut cpu = Model::from_bytes(&bytes).unwrap();
    let mut gpu = Model::from_bytes(&bytes).unwrap();
    gpu.set_device("cuda:0").unwrap();
    // Forward pass: embeddings of the untrained model.
    let (ec, eg) = (cpu.embed(&data).unwrap(), gpu.embed(&data).unwrap());
    let d = max_rel_diff(&ec.values, &eg.values);
    assert!(d < 1e-3, "untrained embeddings differ by {d}");
    // Losses of one epoch from the same weights, masks and noise.
    let rc = cpu.fit(&data).unwrap();
    let rg = gpu.fit(&data).unwrap();
    let (lc, lg) = (rc.history[0].train.total, rg.history[0].train.total);
    assert!(
        (lc - lg).abs() / lc.abs().max(1.0) < 1e-2,
        "epoch-1 loss CPU {lc} vs GPU {lg}"
    );
    // Imputation from identical (trained-on-CPU) weights.
    let mut gpu2 = Model::from_bytes(&cpu.to_bytes().unwrap()).unwrap();
    gpu2.set_device("cuda:0").unwrap();
    let mut req = ImputeRequest::new("adt");
    req.n_draws = Some(0);
    let (ic, ig) = (
        cpu.impute(&data, &req).unwrap(),
        gpu2.impute(&data, &req).unwrap(),
    );
    let d = max_rel_diff(&ic.mean, &ig.mean);
    assert!(d < 1e-3, "imputations differ by {d}");
}

#[test]
fn checkpoints_move_between_gpu_and_cpu() {
    if !gpu("checkpoints_move_between_gpu_and_cpu") {
        return;
    }
    let (data, _) = common::synthetic(300, 40, 10, 5);
    let mut model = Model::new(&common::small_config(3), &data).unwrap();
    model.set_device("cuda:0").unwrap();
    model.fit(&data).unwrap();
    let on_gpu = model.embed(&data).unwrap();
    let path = std::env::temp_dir().join("scmosaic-gpu-portability.safetensors");
    model.save(&path).unwrap();
    let on_cpu = Model::load(&path).unwrap(); // loads on the CPU
    let d = max_rel_diff(&on_gpu.values, &on_cpu.embed(&data).unwrap().values);
    assert!(d < 1e-3, "GPU-saved model on CPU differs by {d}");
    let mut back = Model::from_bytes(&on_cpu.to_bytes().unwrap()).unwrap();
    back.set_device("cuda:0").unwrap();
    assert_eq!(back.embed(&data).unwrap().values, on_gpu.values);
    let _ = std::fs::remove_file(path);
}

#[test]
fn gpu_training_reaches_the_real_data_floor() {
    if !gpu("gpu_training_reaches_the_real_data_floor") {
        return;
    }
    // Same run and floors as tests/real_data.rs, trained on the GPU.
    let data = reap::load(&common::reap_dir(), None).unwrap();
    let cfg = common::short_reap_config();
    let mut model = Model::new(&cfg, &data.train).unwrap();
    model.set_device("cuda:0").unwrap();
    model.fit(&data.train).unwrap();
    let s = reap::evaluate(&model, &data, None).unwrap();
    eprintln!("GPU: {s:?}");
    common::assert_short_reap_floors(&s);
}
