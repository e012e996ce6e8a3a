//! Every bad input gives a documented error, never a panic.

mod common;

use common::{small_config, synthetic};
use scmosaic::{
    Covariate, Dataset, Error, ImputeRequest, Likelihood, Matrix, Modality, Model, ModelConfig,
};

fn names(n: usize, p: &str) -> Vec<String> {
    (0..n).map(|j| format!("{p}{j}")).collect()
}

#[test]
fn bad_data_is_rejected_with_a_clear_message() {
    // shape mismatches
    assert!(matches!(
        Matrix::dense(3, 2, vec![0.0; 5]),
        Err(Error::InvalidData(_))
    ));
    let m = Matrix::dense(3, 2, vec![0.0; 6]).unwrap();
    let e = Modality::new("rna", Likelihood::Nb, names(3, "g"), m.clone()).unwrap_err();
    assert!(
        e.to_string()
            .contains("3 feature names for a matrix with 2 features"),
        "{e}"
    );
    let e = Modality::new("rna", Likelihood::Nb, names(2, "g"), m.clone())
        .unwrap()
        .with_measured(vec![true; 4])
        .unwrap_err();
    assert!(e.to_string().contains("4 cells"), "{e}");
    // NaN / Inf
    let e = Matrix::dense(1, 2, vec![1.0, f32::INFINITY]).unwrap_err();
    assert!(e.to_string().contains("inf"), "{e}");
    let e = Matrix::csr(1, 2, vec![0, 1], vec![1], vec![f32::NAN]).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    // negative counts
    let neg = Matrix::dense(1, 2, vec![1.0, -3.0]).unwrap();
    let e = Modality::new("adt", Likelihood::Nb, names(2, "p"), neg).unwrap_err();
    assert!(
        matches!(e, Error::InvalidData(_)) && e.to_string().contains("non-negative"),
        "{e}"
    );
    // duplicate features, empty modality, empty name
    let e = Modality::new(
        "rna",
        Likelihood::Nb,
        vec!["a".into(), "a".into()],
        m.clone(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("duplicate"), "{e}");
    let empty = Matrix::dense(3, 0, vec![]).unwrap();
    let e = Modality::new("rna", Likelihood::Nb, vec![], empty).unwrap_err();
    assert!(e.to_string().contains("no features"), "{e}");
    assert!(Modality::new(" ", Likelihood::Nb, names(2, "g"), m.clone()).is_err());
    // modalities with different cell counts
    let a = Modality::new("rna", Likelihood::Nb, names(2, "g"), m).unwrap();
    let b = Modality::new(
        "adt",
        Likelihood::Nb,
        names(1, "p"),
        Matrix::dense(2, 1, vec![1.0, 2.0]).unwrap(),
    )
    .unwrap();
    let e = Dataset::new(vec![a.clone(), b]).unwrap_err();
    assert!(e.to_string().contains("cells"), "{e}");
    // covariates of the wrong length
    let d = Dataset::new(vec![a]).unwrap();
    assert!(d
        .with_covariate(Covariate::from_labels("batch", &["x", "y"]).unwrap())
        .is_err());
}

#[test]
fn mismatches_between_data_and_model_are_errors() {
    let (data, _) = synthetic(100, 20, 4, 11);
    let mut m = Model::new(&small_config(1), &data).unwrap();
    m.fit(&data).unwrap();
    let rna = data.modality("rna").unwrap().clone();
    let cov = data.covariates()[0].clone();
    // unknown modality name
    let prot = data.modality("adt").unwrap();
    let renamed = Modality::new(
        "protein",
        Likelihood::Nb,
        prot.features().to_vec(),
        prot.data().clone(),
    )
    .unwrap();
    let bad = Dataset::new(vec![rna.clone(), renamed])
        .unwrap()
        .with_covariate(cov.clone())
        .unwrap();
    let e = m.embed(&bad).unwrap_err();
    assert!(
        matches!(e, Error::NotFound(_)) && e.to_string().contains("'protein'"),
        "{e}"
    );
    // no feature matches
    let other = Modality::new(
        "rna",
        Likelihood::Nb,
        names(20, "other"),
        rna.data().clone(),
    )
    .unwrap();
    let bad = Dataset::new(vec![other])
        .unwrap()
        .with_covariate(cov.clone())
        .unwrap();
    let e = m.embed(&bad).unwrap_err();
    assert!(
        e.to_string().contains("none of the 20 data features"),
        "{e}"
    );
    // missing covariate, unknown level
    let nocov = Dataset::new(vec![rna.clone()]).unwrap();
    let e = m.embed(&nocov).unwrap_err();
    assert!(e.to_string().contains("covariate 'batch'"), "{e}");
    let labels: Vec<&str> = (0..100).map(|i| if i == 0 { "b9" } else { "b0" }).collect();
    let newlevel = Dataset::new(vec![rna.clone()])
        .unwrap()
        .with_covariate(Covariate::from_labels("batch", &labels).unwrap())
        .unwrap();
    let e = m.embed(&newlevel).unwrap_err();
    assert!(e.to_string().contains("'b9'"), "{e}");
    // impute: unknown modality / feature / covariate level
    assert!(matches!(
        m.impute(&data, &ImputeRequest::new("atac")),
        Err(Error::NotFound(_))
    ));
    let mut r = ImputeRequest::new("adt");
    r.features = Some(vec!["CD999".into()]);
    assert!(m
        .impute(&data, &r)
        .unwrap_err()
        .to_string()
        .contains("CD999"));
    let mut r = ImputeRequest::new("adt");
    r.covariates = vec![("batch".into(), "nope".into())];
    assert!(m.impute(&data, &r).is_err());
    // a Gaussian-declared modality with negative values for an NB model
    let neg = Matrix::dense(100, 20, vec![-1.0; 2000]).unwrap();
    let g = Modality::new("rna", Likelihood::Gaussian, rna.features().to_vec(), neg).unwrap();
    let bad = Dataset::new(vec![g]).unwrap().with_covariate(cov).unwrap();
    let e = m.embed(&bad).unwrap_err();
    assert!(e.to_string().contains("non-negative"), "{e}");
}

#[test]
fn bad_configs_are_errors() {
    let (data, _) = synthetic(50, 10, 3, 12);
    let e = ModelConfig::from_json(r#"{"modalities":[{"name":"rna","likelihood":"lognormal"}]}"#)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidConfig(_)) && e.to_string().contains("lognormal"),
        "{e}"
    );
    assert!(ModelConfig::from_json("{not json").is_err());
    let mut c = small_config(1);
    c.modalities.push(scmosaic::ModalityConfig {
        name: "atac".into(),
        ..Default::default()
    });
    let e = Model::new(&c, &data).unwrap_err();
    assert!(e.to_string().contains("'atac'"), "{e}");
    let mut c = small_config(1);
    c.p_modal = Some(vec![1.0]);
    assert!(Model::new(&c, &data)
        .unwrap_err()
        .to_string()
        .contains("p_modal"));
    let mut c = small_config(1);
    c.covariates = Some(vec!["donor".into()]);
    assert!(Model::new(&c, &data)
        .unwrap_err()
        .to_string()
        .contains("donor"));
    let mut c = small_config(1);
    c.latent_dim = 0;
    assert!(Model::new(&c, &data).is_err());
    let mut c = small_config(1);
    c.train.validation_fraction = 0.99;
    assert!(Model::new(&c, &data).is_err());
    // device strings
    let mut m = Model::new(&small_config(1), &data).unwrap();
    assert!(matches!(m.set_device("tpu:0"), Err(Error::NotFound(_))));
    #[cfg(not(feature = "cuda"))]
    assert!(matches!(m.set_device("cuda:0"), Err(Error::Device(_))));
    // a single cell cannot be trained on
    let one = data.select_cells(&[0]).unwrap();
    assert!(m.fit(&one).is_err());
}

#[test]
fn corrupt_checkpoints_are_errors() {
    let (data, _) = synthetic(60, 10, 3, 13);
    let m = Model::new(&small_config(1), &data).unwrap();
    let bytes = m.to_bytes().unwrap();
    assert!(Model::from_bytes(&bytes).is_ok());
    // truncated at many points
    for cut in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = Model::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(e, Error::Checkpoint(_)), "cut {cut}: {e}");
    }
    // a flipped bit in the weights
    let mut flipped = bytes.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    let e = Model::from_bytes(&flipped).unwrap_err();
    assert!(matches!(e, Error::Checkpoint(_)), "{e}");
    assert!(e.to_string().contains("the file is corrupt"), "{e}");
    // garbage
    assert!(Model::from_bytes(b"definitely not a checkpoint").is_err());
    assert!(Model::from_bytes(&[0xff; 64]).is_err());
    // unknown major format version (by a one-byte change, so the integrity
    // check fails too: the message names both possibilities)
    let needle = format!(
        "\"scmosaic.format_version\":\"{}\"",
        scmosaic::io::FORMAT_VERSION
    );
    let needle = needle.as_bytes();
    let pos = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("version in header");
    let mut v2 = bytes.clone();
    let at = pos + needle.len() - 4;
    v2[at] = b'2';
    let e = Model::from_bytes(&v2).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("format version 2.") && msg.contains("not supported"),
        "{e}"
    );
    assert!(msg.contains("corrupt"), "{e}");
    // a valid safetensors file without scmosaic metadata
    let plain = safetensors::serialize(
        vec![(
            "x",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0, 0, 0, 0])
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    assert!(Model::from_bytes(&plain)
        .unwrap_err()
        .to_string()
        .contains("metadata"));
    // missing file
    let e = Model::load("/nonexistent/dir/model.safetensors").unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    // saving into a missing folder is an I/O error
    assert!(m.save("/nonexistent/dir/model.safetensors").is_err());
}
