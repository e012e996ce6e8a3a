//! # scmosaic
//!
//! Mosaic integration and imputation of single-cell multimodal data (RNA,
//! surface protein, chromatin accessibility) with the scVAEIT model
//! (Du, Cai & Roeder, PNAS 2022) and Multigrate (product-of-experts VAE with
//! MMD alignment; Lotfollahi, Litinetskaya & Theis), implemented on
//! [burn](https://burn.dev) as an embeddable library. The model family is part
//! of the config (`{"model": "multigrate"}`); both share this API.
//!
//! - [`Dataset`] / [`Modality`] / [`Matrix`]: the data model (cells x modalities,
//!   dense or sparse CSR input, per-cell and per-feature missingness, covariates),
//!   validated on construction; [`read_10x_folder`] reads MatrixMarket folders.
//! - [`ModelConfig`]: every setting of a model, serializable to JSON; the single
//!   source of truth, stored in every checkpoint.
//! - [`Model`]: create from a config and data, [`Model::fit`], [`Model::embed`],
//!   [`Model::impute`], [`Model::save`] / [`Model::load`] (safetensors).
//!
//! ```
//! use scmosaic::{read_10x_folder, Dataset, ImputeRequest, Likelihood, Modality, Model, ModelConfig};
//! # fn main() -> scmosaic::Result<()> {
//! // The bundled REAP-seq PBMC data: raw counts, 10x MatrixMarket folder.
//! let folder = read_10x_folder(concat!(env!("CARGO_MANIFEST_DIR"), "/data/reap_pbmc2"))?;
//! let (genes, rna) = folder.modality("rna")?;
//! let (proteins, adt) = folder.modality("adt")?;
//! let cells: Vec<usize> = (0..600).collect();           // a subset keeps the example fast
//! let data = Dataset::new(vec![
//!     Modality::new("rna", Likelihood::Nb, genes.to_vec(), rna.select_rows(&cells))?,
//!     Modality::new("adt", Likelihood::Nb, proteins.to_vec(), adt.select_rows(&cells))?,
//! ])?;
//! let mut cfg = ModelConfig::from_json(r#"{"latent_dim": 16, "hidden": [64]}"#)?;
//! cfg.train.epochs = 2;                                 // 100+ for real use
//! let mut model = Model::new(&cfg, &data)?;
//! model.fit(&data)?;
//! let latent = model.embed(&data)?;                     // 600 x 16 latent means
//! assert_eq!(latent.values.len(), 600 * 16);
//! // Protein for cells that only have RNA: drop the protein modality and impute it.
//! let rna_only = Dataset::new(vec![data.modality("rna").unwrap().clone()])?;
//! let protein = model.impute(&rna_only, &ImputeRequest::new("adt"))?;
//! assert_eq!(protein.features.len(), proteins.len());
//! let path = std::env::temp_dir().join("scmosaic-doc-example.safetensors");
//! model.save(&path)?;
//! let again = Model::load(&path)?;
//! assert_eq!(again.embed(&data)?.values, latent.values);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod align;
pub mod backend;
mod batch;
pub mod config;
pub mod data;
pub mod distributions;
mod error;
pub mod ffi;
pub mod host;
pub mod io;
pub mod model;
pub mod module;
pub mod nn;
mod preprocess;
pub mod schema;
pub mod special;
pub mod train;

pub use align::{Alignment, ModalityAlignment};
pub use backend::Device;
pub use config::{
    ModalityConfig, ModelConfig, ModelKind, MultigrateConfig, NbMixture, Normalization, TrainConfig,
};
pub use data::{
    read_10x_folder, Block, ContinuousCovariate, Covariate, Dataset, FeaturePanels, Likelihood,
    Matrix, Modality,
};
pub use error::{Error, Result};
pub use model::{EmbedRequest, Embedding, Imputation, ImputeRequest, ImputeScale, Model};
pub use preprocess::{ModalityPreprocessing, Preprocessing};
pub use schema::Schema;
pub use train::{EpochLog, LossSummary, StopReason, TrainReport};

/// The Rust examples of the README and of `docs/` compiled (and, unless marked
/// `no_run`, run) as doc tests, so that they cannot drift from the API.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../docs/library.md")]
    struct Library;
}
