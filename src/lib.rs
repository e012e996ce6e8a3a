//! # scmosaic
//!
//! Mosaic integration and imputation of single-cell multimodal data (RNA,
//! surface protein, chromatin accessibility) with the scVAEIT model
//! (Du, Cai & Roeder, PNAS 2022), implemented on [burn](https://burn.dev) as an
//! embeddable library.
//!
//! - [`Dataset`] / [`Modality`] / [`Matrix`]: the data model (cells x modalities,
//!   dense or sparse CSR input, per-cell and per-feature missingness, covariates),
//!   validated on construction; [`read_10x_folder`] reads MatrixMarket folders.
//! - [`ModelConfig`]: every setting of a model, serializable to JSON; the single
//!   source of truth, stored in every checkpoint.
//! - [`Model`]: create from a config and data, [`Model::fit`], [`Model::embed`],
//!   [`Model::impute`], [`Model::save`] / [`Model::load`] (safetensors).
//!
//! ```no_run
//! use scmosaic::{read_10x_folder, Dataset, Likelihood, Modality, Model, ModelConfig, ImputeRequest};
//! # fn main() -> scmosaic::Result<()> {
//! let folder = read_10x_folder("data/reap_pbmc2")?;
//! let (genes, rna) = folder.modality("rna")?;
//! let (proteins, adt) = folder.modality("adt")?;
//! let data = Dataset::new(vec![
//!     Modality::new("rna", Likelihood::Nb, genes.to_vec(), rna.clone())?,
//!     Modality::new("adt", Likelihood::Nb, proteins.to_vec(), adt.clone())?,
//! ])?;
//! let mut cfg = ModelConfig::default();
//! cfg.train.epochs = 100;
//! let mut model = Model::new(&cfg, &data)?;
//! model.fit(&data)?;
//! let latent = model.embed(&data)?;             // cells x 32
//! let protein = model.impute(&data, &ImputeRequest::new("adt"))?;
//! model.save("reap.safetensors")?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod backend;
mod batcher;
pub mod config;
pub mod data;
pub mod distributions;
mod error;
pub mod io;
pub mod eval;
pub mod model;
pub mod module;
pub mod nn;
mod preprocess;
pub mod schema;
pub mod train;

pub use backend::Device;
pub use batcher::{Alignment, ModalityAlignment};
pub use config::{ModelConfig, ModelKind, ModalityConfig, Normalization, TrainConfig};
pub use data::{read_10x_folder, Block, Covariate, Dataset, FeaturePanels, Likelihood, Matrix, Modality};
pub use error::{Error, Result};
pub use model::{Embedding, ImputeRequest, ImputeScale, Imputation, Model};
pub use preprocess::{ModalityPreprocessing, Preprocessing};
pub use schema::Schema;
pub use train::{EpochLog, LossSummary, StopReason, TrainReport};
