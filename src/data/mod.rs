//! The mosaic data model: cells x modalities.
//!
//! A [`Dataset`] holds `n_cells` cells and any number of [`Modality`]s. Each
//! modality has a name (`"rna"`, `"adt"`, `"atac"`, ...), a [`Likelihood`],
//! feature names, optional contiguous feature blocks (e.g. ATAC peaks per
//! chromosome), a cells x features [`Matrix`] (dense or CSR), and per cell
//! whether it was measured. A feature may also be unmeasured for a subset of
//! cells (a dataset with a smaller protein panel): see [`FeaturePanels`].
//! Categorical covariates (batch, donor, ...) and continuous covariates
//! (library size, percent mitochondrial reads, age, ...) are attached to the
//! dataset.
//!
//! Everything is validated on construction; the errors name the modality,
//! cell and feature involved.

mod matrix;
pub(crate) mod tenx;

pub use matrix::{Matrix, RowIter};
pub use tenx::{read_10x_folder, read_lines, TenxFolder};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Observation model of a modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Negative binomial (counts, or log-normalized values as in scVAEIT).
    Nb,
    /// Zero-inflated negative binomial.
    Zinb,
    /// Bernoulli (binarized peaks); `bce` (Multigrate's name) is accepted too.
    #[serde(alias = "bce")]
    Bernoulli,
    /// Gaussian (continuous values, e.g. CLR protein); `mse` (Multigrate's
    /// name: unit variance, squared error) is accepted too.
    #[serde(alias = "mse")]
    Gaussian,
    /// Poisson (counts).
    Poisson,
}

impl Likelihood {
    /// Parses `nb`, `zinb`, `bernoulli`, `gaussian`, `poisson` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "nb" => Ok(Likelihood::Nb),
            "zinb" => Ok(Likelihood::Zinb),
            "bernoulli" | "bce" => Ok(Likelihood::Bernoulli),
            "gaussian" | "mse" => Ok(Likelihood::Gaussian),
            "poisson" => Ok(Likelihood::Poisson),
            other => Err(Error::NotFound(format!(
                "unknown likelihood '{other}' (expected one of nb, zinb, bernoulli (bce), gaussian (mse), poisson)"
            ))),
        }
    }

    /// The name used in configs and checkpoints.
    pub fn as_str(&self) -> &'static str {
        match self {
            Likelihood::Nb => "nb",
            Likelihood::Zinb => "zinb",
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
            Likelihood::Poisson => "poisson",
        }
    }

    /// Whether the likelihood is for non-negative values.
    pub fn needs_non_negative(&self) -> bool {
        matches!(
            self,
            Likelihood::Nb | Likelihood::Zinb | Likelihood::Poisson | Likelihood::Bernoulli
        )
    }
}

/// A contiguous group of a modality's features, e.g. the peaks of one chromosome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Block name (e.g. `chr1`).
    pub name: String,
    /// Number of consecutive features in the block.
    pub len: usize,
}

/// Feature-level missingness: a small set of panels (which features were
/// measured) and, per cell, the panel that applies. This is scVAEIT's
/// condensed mask (one row per dataset) without storing a cells x features mask.
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePanels {
    /// `observed[g][j]`: feature `j` is measured in panel `g`.
    pub observed: Vec<Vec<bool>>,
    /// Panel index of each cell.
    pub cell_panel: Vec<u32>,
}

/// One modality of a dataset.
#[derive(Debug, Clone)]
pub struct Modality {
    name: String,
    likelihood: Likelihood,
    features: Vec<String>,
    blocks: Vec<Block>,
    data: Matrix,
    measured: Vec<bool>,
    panels: Option<FeaturePanels>,
}

impl Modality {
    /// A modality measured in every cell, as one block.
    ///
    /// `data` is cells x features; `features` names its columns (unique, non-empty).
    pub fn new(
        name: impl Into<String>,
        likelihood: Likelihood,
        features: Vec<String>,
        data: Matrix,
    ) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::data("modality name must not be empty"));
        }
        if features.is_empty() || data.n_cols() == 0 {
            return Err(Error::data(format!("modality '{name}' has no features")));
        }
        if features.len() != data.n_cols() {
            return Err(Error::data(format!(
                "modality '{name}': {} feature names for a matrix with {} features (columns)",
                features.len(),
                data.n_cols()
            )));
        }
        check_unique(&features, &format!("modality '{name}'"))?;
        if likelihood.needs_non_negative() {
            data.check_non_negative(&format!(
                "modality '{name}' ({} likelihood)",
                likelihood.as_str()
            ))?;
        }
        let n = data.n_rows();
        Ok(Modality {
            blocks: vec![Block {
                name: name.clone(),
                len: features.len(),
            }],
            name,
            likelihood,
            features,
            data,
            measured: vec![true; n],
            panels: None,
        })
    }

    /// Marks which cells were measured for this modality (`false` = the
    /// modality is missing for that cell; its row is ignored).
    pub fn with_measured(mut self, measured: Vec<bool>) -> Result<Self> {
        self.set_measured(measured)?;
        Ok(self)
    }

    /// In-place [`Modality::with_measured`]; on error nothing changes.
    pub(crate) fn set_measured(&mut self, measured: Vec<bool>) -> Result<()> {
        if measured.len() != self.data.n_rows() {
            return Err(Error::data(format!(
                "modality '{}': measured flags for {} cells, but the matrix has {} cells",
                self.name,
                measured.len(),
                self.data.n_rows()
            )));
        }
        self.measured = measured;
        Ok(())
    }

    /// Splits the features into contiguous blocks (lengths must sum to the
    /// number of features; names must be unique).
    pub fn with_blocks(mut self, blocks: Vec<Block>) -> Result<Self> {
        self.set_blocks(blocks)?;
        Ok(self)
    }

    /// In-place [`Modality::with_blocks`]; on error nothing changes.
    pub(crate) fn set_blocks(&mut self, blocks: Vec<Block>) -> Result<()> {
        let total: usize = blocks.iter().map(|b| b.len).sum();
        if blocks.is_empty() || total != self.features.len() || blocks.iter().any(|b| b.len == 0) {
            return Err(Error::data(format!(
                "modality '{}': block lengths must be positive and sum to {} features (got {} in {} blocks)",
                self.name,
                self.features.len(),
                total,
                blocks.len()
            )));
        }
        let names: Vec<String> = blocks.iter().map(|b| b.name.clone()).collect();
        check_unique(&names, &format!("modality '{}' blocks", self.name))?;
        self.blocks = blocks;
        Ok(())
    }

    /// Groups features into blocks by the chromosome prefix of their names
    /// (`chr1-1000-2000`, `chr1:1000-2000`, `chr1_1000_2000`); features must
    /// already be ordered by chromosome, as for scVAEIT's per-chromosome ATAC blocks.
    pub fn with_chromosome_blocks(mut self) -> Result<Self> {
        self.set_chromosome_blocks()?;
        Ok(self)
    }

    /// In-place [`Modality::with_chromosome_blocks`]; on error nothing changes.
    pub(crate) fn set_chromosome_blocks(&mut self) -> Result<()> {
        let mut blocks: Vec<Block> = Vec::new();
        for f in &self.features {
            let chrom = f.split([':', '-', '_']).next().unwrap_or(f).to_string();
            match blocks.last_mut() {
                Some(b) if b.name == chrom => b.len += 1,
                _ => {
                    if blocks.iter().any(|b| b.name == chrom) {
                        return Err(Error::data(format!(
                            "modality '{}': features of {chrom} are not contiguous; order the \
                             features by chromosome first",
                            self.name
                        )));
                    }
                    blocks.push(Block {
                        name: chrom,
                        len: 1,
                    })
                }
            }
        }
        self.set_blocks(blocks)
    }

    /// Declares feature-level missingness (see [`FeaturePanels`]).
    pub fn with_feature_panels(mut self, panels: FeaturePanels) -> Result<Self> {
        if panels.cell_panel.len() != self.data.n_rows() {
            return Err(Error::data(format!(
                "modality '{}': feature panels give {} cells, the matrix has {}",
                self.name,
                panels.cell_panel.len(),
                self.data.n_rows()
            )));
        }
        for (g, p) in panels.observed.iter().enumerate() {
            if p.len() != self.features.len() {
                return Err(Error::data(format!(
                    "modality '{}': panel {g} has {} flags for {} features",
                    self.name,
                    p.len(),
                    self.features.len()
                )));
            }
        }
        if let Some(&g) = panels
            .cell_panel
            .iter()
            .find(|&&g| g as usize >= panels.observed.len())
        {
            return Err(Error::data(format!(
                "modality '{}': cell panel index {g} but only {} panels",
                self.name,
                panels.observed.len()
            )));
        }
        self.panels = Some(panels);
        Ok(self)
    }

    /// Modality name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Likelihood.
    pub fn likelihood(&self) -> Likelihood {
        self.likelihood
    }
    /// Feature names, in column order.
    pub fn features(&self) -> &[String] {
        &self.features
    }
    /// Feature blocks (one block spanning all features unless set).
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
    /// The cells x features matrix.
    pub fn data(&self) -> &Matrix {
        &self.data
    }
    /// Per cell: whether the modality was measured.
    pub fn measured(&self) -> &[bool] {
        &self.measured
    }
    /// Feature-level missingness, if any.
    pub fn panels(&self) -> Option<&FeaturePanels> {
        self.panels.as_ref()
    }
    /// Whether feature `j` was measured in cell `r` (ignoring the cell-level flag).
    #[inline]
    pub fn feature_observed(&self, r: usize, j: usize) -> bool {
        match &self.panels {
            None => true,
            Some(p) => p.observed[p.cell_panel[r] as usize][j],
        }
    }

    fn select_rows(&self, rows: &[usize]) -> Modality {
        Modality {
            name: self.name.clone(),
            likelihood: self.likelihood,
            features: self.features.clone(),
            blocks: self.blocks.clone(),
            data: self.data.select_rows(rows),
            measured: rows.iter().map(|&r| self.measured[r]).collect(),
            panels: self.panels.as_ref().map(|p| FeaturePanels {
                observed: p.observed.clone(),
                cell_panel: rows.iter().map(|&r| p.cell_panel[r]).collect(),
            }),
        }
    }
}

/// A categorical covariate (e.g. batch): level names and one code per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariate {
    /// Covariate name (e.g. `batch`).
    pub name: String,
    /// Level names; codes index into this list.
    pub levels: Vec<String>,
    /// Level code of each cell.
    pub codes: Vec<u32>,
}

impl Covariate {
    /// Checks the covariate against a dataset of `n_cells` cells that already
    /// has the covariates `others`: one code per cell, codes within the levels,
    /// unique non-empty level names, a name not given before.
    pub(crate) fn check(&self, n_cells: usize, others: &[Covariate]) -> Result<()> {
        if self.codes.len() != n_cells {
            return Err(Error::data(format!(
                "covariate '{}' has {} labels for {n_cells} cells",
                self.name,
                self.codes.len()
            )));
        }
        if let Some(&c) = self
            .codes
            .iter()
            .find(|&&c| c as usize >= self.levels.len())
        {
            return Err(Error::data(format!(
                "covariate '{}' has code {c} but only {} levels",
                self.name,
                self.levels.len()
            )));
        }
        if self.levels.iter().any(|l| l.is_empty()) {
            return Err(Error::data(format!(
                "covariate '{}' has an empty level name",
                self.name
            )));
        }
        check_unique(&self.levels, &format!("covariate '{}' levels", self.name))?;
        if others.iter().any(|c| c.name == self.name) {
            return Err(Error::data(format!(
                "covariate '{}' given twice",
                self.name
            )));
        }
        Ok(())
    }

    /// Builds a covariate from one label per cell; levels are sorted.
    pub fn from_labels<S: AsRef<str>>(name: impl Into<String>, labels: &[S]) -> Result<Self> {
        let name = name.into();
        let mut levels: Vec<String> = labels.iter().map(|s| s.as_ref().to_string()).collect();
        levels.sort();
        levels.dedup();
        if let Some(bad) = levels.iter().find(|l| l.is_empty()) {
            return Err(Error::data(format!(
                "covariate '{name}' has an empty label '{bad}'; use an explicit level such as \"unknown\""
            )));
        }
        let codes = labels
            .iter()
            .map(|s| {
                levels
                    .binary_search_by(|l| l.as_str().cmp(s.as_ref()))
                    .unwrap() as u32
            })
            .collect();
        Ok(Covariate {
            name,
            levels,
            codes,
        })
    }
}

/// A continuous covariate (e.g. percent mitochondrial reads): one value per
/// cell. NaN marks a missing value: scVAEIT maps it to 0 after z-scoring (the
/// training mean, as the reference does), Multigrate rejects it. Infinite
/// values are rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousCovariate {
    /// Covariate name (unique among the dataset's categorical and continuous covariates).
    pub name: String,
    /// Value of each cell (NaN = missing).
    pub values: Vec<f32>,
}

impl ContinuousCovariate {
    /// A continuous covariate from one value per cell (checked when added to a dataset).
    pub fn new(name: impl Into<String>, values: Vec<f32>) -> Self {
        ContinuousCovariate {
            name: name.into(),
            values,
        }
    }

    /// Checks the covariate against a dataset of `n_cells` cells that already
    /// has the categorical covariates `cats` and continuous ones `conts`: a
    /// non-empty name used by neither, one value per cell, no infinite value.
    pub(crate) fn check(
        &self,
        n_cells: usize,
        cats: &[Covariate],
        conts: &[ContinuousCovariate],
    ) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::data("continuous covariate name must not be empty"));
        }
        if self.values.len() != n_cells {
            return Err(Error::data(format!(
                "continuous covariate '{}' has {} values for {n_cells} cells",
                self.name,
                self.values.len()
            )));
        }
        if let Some(i) = self.values.iter().position(|v| v.is_infinite()) {
            return Err(Error::data(format!(
                "continuous covariate '{}' is infinite in cell {i} (NaN marks a missing value)",
                self.name
            )));
        }
        if conts.iter().any(|c| c.name == self.name) {
            return Err(Error::data(format!(
                "continuous covariate '{}' given twice",
                self.name
            )));
        }
        if cats.iter().any(|c| c.name == self.name) {
            return Err(Error::data(format!(
                "continuous covariate '{}' has the name of a categorical covariate",
                self.name
            )));
        }
        Ok(())
    }
}

/// A mosaic dataset: cells x modalities, plus categorical and continuous covariates.
#[derive(Debug, Clone)]
pub struct Dataset {
    n_cells: usize,
    modalities: Vec<Modality>,
    covariates: Vec<Covariate>,
    continuous: Vec<ContinuousCovariate>,
    cell_names: Option<Vec<String>>,
}

impl Dataset {
    /// Builds a dataset from modalities that all have the same number of cells.
    pub fn new(modalities: Vec<Modality>) -> Result<Self> {
        let first = modalities
            .first()
            .ok_or_else(|| Error::data("a dataset needs at least one modality"))?;
        let n_cells = first.data.n_rows();
        if n_cells == 0 {
            return Err(Error::data("the dataset has no cells"));
        }
        let mut names = HashSet::new();
        for m in &modalities {
            if m.data.n_rows() != n_cells {
                return Err(Error::data(format!(
                    "modality '{}' has {} cells but modality '{}' has {n_cells}",
                    m.name,
                    m.data.n_rows(),
                    first.name
                )));
            }
            if !names.insert(m.name.clone()) {
                return Err(Error::data(format!("modality '{}' given twice", m.name)));
            }
        }
        Ok(Dataset {
            n_cells,
            modalities,
            covariates: Vec::new(),
            continuous: Vec::new(),
            cell_names: None,
        })
    }

    /// Adds a categorical covariate (one code per cell).
    pub fn with_covariate(mut self, covariate: Covariate) -> Result<Self> {
        covariate.check(self.n_cells, &self.covariates)?;
        if self.continuous.iter().any(|c| c.name == covariate.name) {
            return Err(Error::data(format!(
                "covariate '{}' has the name of a continuous covariate",
                covariate.name
            )));
        }
        self.covariates.push(covariate);
        Ok(self)
    }

    /// Adds a continuous covariate (one value per cell; NaN = missing).
    pub fn with_continuous_covariate(mut self, covariate: ContinuousCovariate) -> Result<Self> {
        covariate.check(self.n_cells, &self.covariates, &self.continuous)?;
        self.continuous.push(covariate);
        Ok(self)
    }

    /// Attaches cell names (one per cell, unique).
    pub fn with_cell_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.n_cells {
            return Err(Error::data(format!(
                "{} cell names for {} cells",
                names.len(),
                self.n_cells
            )));
        }
        self.cell_names = Some(names);
        Ok(self)
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.n_cells
    }
    /// The modalities, in the order given.
    pub fn modalities(&self) -> &[Modality] {
        &self.modalities
    }
    /// A modality by name.
    pub fn modality(&self, name: &str) -> Option<&Modality> {
        self.modalities.iter().find(|m| m.name == name)
    }
    /// The categorical covariates.
    pub fn covariates(&self) -> &[Covariate] {
        &self.covariates
    }
    /// The continuous covariates.
    pub fn continuous_covariates(&self) -> &[ContinuousCovariate] {
        &self.continuous
    }
    /// Cell names, if attached.
    pub fn cell_names(&self) -> Option<&[String]> {
        self.cell_names.as_deref()
    }

    /// Takes the dataset apart.
    pub(crate) fn into_parts(self) -> DatasetParts {
        DatasetParts {
            modalities: self.modalities,
            covariates: self.covariates,
            continuous: self.continuous,
            cell_names: self.cell_names,
        }
    }

    /// A new dataset with the given cells (in that order).
    pub fn select_cells(&self, rows: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.n_cells) {
            return Err(Error::data(format!(
                "cell index {bad} out of range ({} cells)",
                self.n_cells
            )));
        }
        if rows.is_empty() {
            return Err(Error::data("selecting zero cells"));
        }
        Ok(Dataset {
            n_cells: rows.len(),
            modalities: self
                .modalities
                .iter()
                .map(|m| m.select_rows(rows))
                .collect(),
            covariates: self
                .covariates
                .iter()
                .map(|c| Covariate {
                    name: c.name.clone(),
                    levels: c.levels.clone(),
                    codes: rows.iter().map(|&r| c.codes[r]).collect(),
                })
                .collect(),
            continuous: self
                .continuous
                .iter()
                .map(|c| ContinuousCovariate {
                    name: c.name.clone(),
                    values: rows.iter().map(|&r| c.values[r]).collect(),
                })
                .collect(),
            cell_names: self
                .cell_names
                .as_ref()
                .map(|n| rows.iter().map(|&r| n[r].clone()).collect()),
        })
    }

    /// A new dataset in which modality `name` is marked unmeasured for the
    /// given cells (the data stay in memory but are never read).
    pub fn mask_modality(&self, name: &str, cells: &[usize]) -> Result<Dataset> {
        let mut out = self.clone();
        let m = out
            .modalities
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or_else(|| Error::NotFound(format!("modality '{name}'")))?;
        for &c in cells {
            if c >= self.n_cells {
                return Err(Error::data(format!("cell index {c} out of range")));
            }
            m.measured[c] = false;
        }
        Ok(out)
    }
}

/// The parts of a [`Dataset`] (see `Dataset::into_parts`).
pub(crate) struct DatasetParts {
    pub modalities: Vec<Modality>,
    pub covariates: Vec<Covariate>,
    pub continuous: Vec<ContinuousCovariate>,
    pub cell_names: Option<Vec<String>>,
}

fn check_unique(names: &[String], what: &str) -> Result<()> {
    let mut seen = HashSet::with_capacity(names.len());
    for n in names {
        if !seen.insert(n.as_str()) {
            return Err(Error::data(format!("{what}: duplicate name '{n}'")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(name: &str, lik: Likelihood) -> Modality {
        let m = Matrix::dense(3, 2, vec![1.0, 0.0, 2.0, 3.0, 0.0, 1.0]).unwrap();
        Modality::new(name, lik, vec!["a".into(), "b".into()], m).unwrap()
    }

    #[test]
    fn likelihood_names_and_sign_rules() {
        // (shape, NaN, negative-count and duplicate-name errors: tests/errors.rs)
        assert!(Likelihood::parse("negbin").is_err());
        assert_eq!(Likelihood::parse("ZINB").unwrap(), Likelihood::Zinb);
        for l in ["nb", "zinb", "bernoulli", "gaussian", "poisson"] {
            assert_eq!(Likelihood::parse(l).unwrap().as_str(), l);
        }
        let neg = Matrix::dense(1, 1, vec![-1.0]).unwrap();
        assert!(Modality::new("x", Likelihood::Gaussian, vec!["a".into()], neg.clone()).is_ok());
        assert!(Modality::new("x", Likelihood::Poisson, vec!["a".into()], neg).is_err());
        assert!(Dataset::new(vec![]).is_err());
        let e = Dataset::new(vec![
            small("rna", Likelihood::Nb),
            small("rna", Likelihood::Nb),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("given twice"));
    }

    #[test]
    fn covariates_and_blocks() {
        let d = Dataset::new(vec![small("rna", Likelihood::Nb)]).unwrap();
        let c = Covariate::from_labels("batch", &["b", "a", "b"]).unwrap();
        assert_eq!(c.levels, vec!["a", "b"]);
        assert_eq!(c.codes, vec![1, 0, 1]);
        let d = d.with_covariate(c).unwrap();
        assert!(d
            .clone()
            .with_covariate(Covariate::from_labels("x", &["a"]).unwrap())
            .is_err());
        let sub = d.select_cells(&[2, 0]).unwrap();
        assert_eq!(sub.covariates()[0].codes, vec![1, 1]);
        let m = Modality::new(
            "atac",
            Likelihood::Bernoulli,
            vec!["chr1-1-2".into(), "chr1-5-6".into(), "chr2-1-2".into()],
            Matrix::dense(1, 3, vec![1.0, 0.0, 1.0]).unwrap(),
        )
        .unwrap()
        .with_chromosome_blocks()
        .unwrap();
        assert_eq!(m.blocks().len(), 2);
        assert_eq!(m.blocks()[0].len, 2);
    }
}
