//! Fuzz harnesses shared by the cargo-fuzz targets (`fuzz_targets/`) and the
//! regression test (`tests/fuzz_regressions.rs`). Each drives the C ABI the way
//! a C, R or Julia caller would, with arbitrary bytes, and fails (panics) only
//! when the library reports an internal error (`SCM_STATUS_PANIC`) or breaks
//! its own contract; ordinary error statuses are the expected outcome.

#![allow(dead_code)]

use scmosaic::ffi::config::*;
use scmosaic::ffi::dataset::*;
use scmosaic::ffi::error::scm_status;
use scmosaic::ffi::model::*;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

fn check(st: scm_status, what: &str) -> bool {
    if st == scm_status::SCM_STATUS_PANIC {
        let msg = unsafe { CStr::from_ptr(scmosaic::ffi::error::scm_last_error_message()) };
        panic!(
            "{what}: internal error reached the ABI: {}",
            msg.to_string_lossy()
        );
    }
    st == scm_status::SCM_STATUS_OK
}

/// Loads a checkpoint from arbitrary bytes; a model that loads must answer
/// its queries and serialize again.
pub fn checkpoint(data: &[u8]) {
    let mut model: *mut scm_model = ptr::null_mut();
    let st = unsafe { scm_model_from_buffer(data.as_ptr(), data.len(), &mut model) };
    if !check(st, "scm_model_from_buffer") {
        assert!(model.is_null(), "out-pointer written on failure");
        return;
    }
    unsafe {
        let mut n = 0usize;
        assert!(check(scm_model_latent_dim(model, &mut n), "latent_dim"));
        assert!(check(scm_model_n_modalities(model, &mut n), "n_modalities"));
        let mut len = 0usize;
        assert!(check(
            scm_model_to_buffer(model, ptr::null_mut(), 0, &mut len),
            "to_buffer"
        ));
        scm_model_free(model);
    }
}

/// A little cursor over the fuzz input.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn f32(&mut self) -> f32 {
        let mut b = [0u8; 4];
        for x in &mut b {
            *x = self.u8();
        }
        // Mostly small counts, sometimes raw bit patterns (NaN, inf, huge, negative).
        if b[3] & 0xC0 == 0xC0 {
            f32::from_le_bytes(b)
        } else {
            (b[0] % 16) as f32
        }
    }
    fn i64(&mut self) -> i64 {
        let b = self.u8();
        match b {
            250 => -1,
            251 => i64::MAX,
            252 => i64::MIN,
            _ => (b % 80) as i64,
        }
    }
}

const LIKELIHOODS: [&str; 6] = ["nb", "zinb", "bernoulli", "gaussian", "poisson", "other"];

/// Builds a dataset from arbitrary bytes through every constructor of the C
/// ABI (dense, CSR, CSC, measured flags, categorical and continuous
/// covariates); when it is valid, trains
/// a tiny model on it for one epoch, embeds and imputes.
pub fn dataset(data: &[u8]) {
    let mut b = Bytes(data);
    let n_cells = (b.u8() % 24) as usize + 1;
    let n_mod = (b.u8() % 3) as usize + 1;
    let mut ds: *mut scm_dataset = ptr::null_mut();
    unsafe {
        assert!(check(scm_dataset_new(n_cells, &mut ds), "dataset_new"));
        let mut added = Vec::new();
        for m in 0..n_mod {
            let kind = b.u8() % 3;
            let n_feat = (b.u8() % 12) as usize + 1;
            let lik = LIKELIHOODS[(b.u8() % 6) as usize];
            let dup = b.u8() % 16 == 0;
            let names: Vec<CString> = (0..n_feat)
                .map(|j| {
                    CString::new(if dup {
                        "f".to_string()
                    } else {
                        format!("m{m}f{j}")
                    })
                    .unwrap()
                })
                .collect();
            let ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
            let name = CString::new(format!("mod{m}")).unwrap();
            let lik_c = CString::new(lik).unwrap();
            let st = match kind {
                0 => {
                    let vals: Vec<f32> = (0..n_cells * n_feat).map(|_| b.f32()).collect();
                    scm_dataset_add_dense(
                        ds,
                        name.as_ptr(),
                        lik_c.as_ptr(),
                        ptrs.as_ptr(),
                        n_feat,
                        vals.as_ptr(),
                        vals.len(),
                    )
                }
                _ => {
                    let base = (b.u8() % 3) as i32; // 2 is invalid on purpose
                    let mut p = vec![0i64; n_cells + 1];
                    let mut idx = Vec::new();
                    let mut vals = Vec::new();
                    let honest = b.u8() % 8 != 0;
                    for c in 0..n_cells {
                        let k = (b.u8() % 4) as usize;
                        for _ in 0..k {
                            idx.push(if honest {
                                (b.u8() as usize % n_feat) as i64 + base as i64
                            } else {
                                b.i64()
                            });
                            vals.push(b.f32());
                        }
                        p[c + 1] = if honest {
                            idx.len() as i64 + base as i64
                        } else {
                            b.i64()
                        };
                    }
                    if honest {
                        p[0] = base as i64;
                    }
                    let f = if kind == 1 {
                        scm_dataset_add_csr
                    } else {
                        scm_dataset_add_csc
                    };
                    f(
                        ds,
                        name.as_ptr(),
                        lik_c.as_ptr(),
                        ptrs.as_ptr(),
                        n_feat,
                        p.as_ptr(),
                        idx.as_ptr(),
                        vals.as_ptr(),
                        vals.len(),
                        base,
                    )
                }
            };
            if check(st, "add modality") {
                added.push((name, n_feat));
            }
        }
        if let Some((name, _)) = added.first() {
            if b.u8() % 2 == 0 {
                let flags: Vec<u8> = (0..n_cells).map(|_| b.u8() % 3).collect();
                check(
                    scm_dataset_set_measured(ds, name.as_ptr(), flags.as_ptr(), n_cells),
                    "set_measured",
                );
            }
        }
        if b.u8() % 2 == 0 {
            let n_levels = (b.u8() % 3) as usize + 1;
            let levels: Vec<CString> = (0..n_levels)
                .map(|l| CString::new(format!("b{l}")).unwrap())
                .collect();
            let lp: Vec<*const c_char> = levels.iter().map(|s| s.as_ptr()).collect();
            let codes: Vec<i32> = (0..n_cells).map(|_| (b.u8() % 4) as i32).collect();
            let nm = CString::new("batch").unwrap();
            check(
                scm_dataset_set_covariate(
                    ds,
                    nm.as_ptr(),
                    codes.as_ptr(),
                    n_cells,
                    lp.as_ptr(),
                    n_levels,
                ),
                "set_covariate",
            );
        }
        if b.u8() % 2 == 0 {
            // Any floats (NaN = missing; infinite values are rejected), a
            // wrong length now and then, and sometimes the categorical name.
            let n = if b.u8() % 8 == 0 {
                n_cells + 1
            } else {
                n_cells
            };
            let values: Vec<f32> = (0..n).map(|_| b.f32()).collect();
            let nm = CString::new(if b.u8() % 4 == 0 { "batch" } else { "depth" }).unwrap();
            check(
                scm_dataset_set_continuous_covariate(ds, nm.as_ptr(), values.as_ptr(), n),
                "set_continuous_covariate",
            );
        }
        let mut cfg: *mut scm_config = ptr::null_mut();
        let json = CString::new(r#"{"latent_dim": 2, "hidden": [4], "train": {"epochs": 1, "batch_size": 8}, "inference": {"n_draws": 2}}"#).unwrap();
        assert!(check(
            scm_config_from_json(json.as_ptr(), &mut cfg),
            "config"
        ));
        let mut model: *mut scm_model = ptr::null_mut();
        if check(scm_model_new(cfg, ds, &mut model), "model_new") {
            let mut stop = -1;
            check(
                scm_model_train(model, ds, None, ptr::null_mut(), &mut stop),
                "train",
            );
            let mut z = vec![0f32; n_cells * 2];
            check(scm_model_embed(model, ds, z.as_mut_ptr(), z.len()), "embed");
            // Each modality's latent, and embedding options from the input:
            // arbitrary (mostly invalid) JSON text, then a valid sample request.
            for (name, _) in &added {
                check(
                    scm_model_embed_with(
                        model,
                        ds,
                        name.as_ptr(),
                        ptr::null(),
                        z.as_mut_ptr(),
                        z.len(),
                    ),
                    "embed_with modality",
                );
            }
            let text: Vec<u8> = (0..b.u8() % 24).map(|_| b.u8().max(1)).collect();
            let opts = [
                CString::new(text).unwrap(),
                CString::new(format!(
                    r#"{{"sample": {}, "seed": {}}}"#,
                    b.u8() % 2 == 0,
                    b.i64() as u64
                ))
                .unwrap(),
            ];
            for o in &opts {
                check(
                    scm_model_embed_with(
                        model,
                        ds,
                        ptr::null(),
                        o.as_ptr(),
                        z.as_mut_ptr(),
                        z.len(),
                    ),
                    "embed_with options",
                );
            }
            for (name, n_feat) in &added {
                let mut out = vec![0f32; n_cells * n_feat];
                let mut var = vec![0f32; n_cells * n_feat];
                check(
                    scm_model_impute(
                        model,
                        ds,
                        name.as_ptr(),
                        ptr::null(),
                        out.as_mut_ptr(),
                        out.len(),
                        var.as_mut_ptr(),
                        var.len(),
                    ),
                    "impute",
                );
            }
            scm_model_free(model);
        }
        scm_config_free(cfg);
        scm_dataset_free(ds);
    }
}
