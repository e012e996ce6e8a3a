//! The modality gap: in a mosaic latent, are the cells measured with fewer
//! modalities mixed with the paired cells of the same type, or do they form
//! islands of their own?
//!
//! Every cell has a *modality set*: the names of the modalities it was
//! measured with, joined by `+` in dataset order (`rna`, `adt`, `rna+adt`).
//! From the `k` nearest neighbours of each cell among all cells (Euclidean,
//! the cell itself excluded), per modality set:
//!
//! - `same`: the mean fraction of a cell's neighbours that share its set;
//!   `same_if_mixed`: the value perfect mixing within cell types gives (for a
//!   cell of type `t`, the share of its set among the other cells of type
//!   `t`; averaged over the set's cells), and `share`: the set's share of all
//!   other cells (the perfect-mixing value when types are ignored).
//! - `paired_same_type`: the mean fraction of a cell's neighbours that are
//!   *paired* cells (measured with every modality of the data) of its own
//!   type; `paired_same_type_if_mixed`: the same under perfect mixing within
//!   types (the share of paired cells among the other cells of its type).
//! - `entropy`: the mean over the set's cells of the Shannon entropy of the
//!   modality sets among its neighbours, divided by `ln(number of sets)`;
//!   `entropy` of the whole [`LabelMixing`] is the mean over all cells.
//!
//! The same computation over any other labelling (donors, batches) is
//! [`label_mixing`]: the fraction of a donor's cells' neighbours from the same
//! donor, with its perfect-mixing value.

use crate::metrics::knn;
use scmosaic::Dataset;
use serde::Serialize;
use std::collections::BTreeMap;

/// Mixing of one level (a modality set, a donor) with the rest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LevelMixing {
    /// Cells with this level.
    pub n_cells: usize,
    /// Mean fraction of their neighbours with the same level.
    pub same: f64,
    /// `same` under perfect mixing within cell types.
    pub same_if_mixed: f64,
    /// The level's share of all other cells.
    pub share: f64,
    /// Mean fraction of their neighbours that are paired cells of the same
    /// type (modality sets only; NaN when no cell is paired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_same_type: Option<f64>,
    /// `paired_same_type` under perfect mixing within cell types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_same_type_if_mixed: Option<f64>,
    /// Mean normalized kNN entropy of the levels around these cells.
    pub entropy: f64,
}

/// Mixing of a labelling in an embedding (see the module docs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LabelMixing {
    /// Neighbours per cell.
    pub k: usize,
    /// Mean over all cells of the normalized kNN entropy of the labels
    /// (1 = every neighbourhood holds all levels equally; NaN with one level).
    pub entropy: f64,
    /// Per level.
    pub levels: BTreeMap<String, LevelMixing>,
}

/// The modality set of each cell of `data` (`rna+adt`, `rna`, ...; `none`
/// for a cell without any measured modality).
pub fn modality_sets(data: &Dataset) -> Vec<String> {
    (0..data.n_cells())
        .map(|c| {
            let names: Vec<&str> = data
                .modalities()
                .iter()
                .filter(|m| m.measured()[c])
                .map(|m| m.name())
                .collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join("+")
            }
        })
        .collect()
}

/// The modality gap of an embedding `x` (`[n, d]`) of cells with modality
/// sets `sets` and types `types`: [`label_mixing`] over the sets, with the
/// paired-same-type fractions; the paired set is the one with the most
/// modalities (most `+`), if any cell has every modality of the others.
pub fn modality_gap<S: AsRef<str>, T: AsRef<str>>(
    x: &[f32],
    d: usize,
    sets: &[S],
    types: &[T],
    k: usize,
) -> LabelMixing {
    let sets: Vec<&str> = sets.iter().map(|s| s.as_ref()).collect();
    let paired = paired_set(&sets);
    mixing(x, d, &sets, types, k, paired.as_deref())
}

/// [`LabelMixing`] of any labelling (donors, batches) within cell types.
pub fn label_mixing<S: AsRef<str>, T: AsRef<str>>(
    x: &[f32],
    d: usize,
    labels: &[S],
    types: &[T],
    k: usize,
) -> LabelMixing {
    let labels: Vec<&str> = labels.iter().map(|s| s.as_ref()).collect();
    mixing(x, d, &labels, types, k, None)
}

/// The set whose modalities include those of every other set, if any.
fn paired_set(sets: &[&str]) -> Option<String> {
    let mut all: Vec<&str> = sets.iter().flat_map(|s| s.split('+')).collect();
    all.sort_unstable();
    all.dedup();
    sets.iter()
        .find(|s| {
            let mine: Vec<&str> = s.split('+').collect();
            all.iter().all(|m| mine.contains(m))
        })
        .map(|s| s.to_string())
}

fn mixing<T: AsRef<str>>(
    x: &[f32],
    d: usize,
    labels: &[&str],
    types: &[T],
    k: usize,
    paired: Option<&str>,
) -> LabelMixing {
    let n = labels.len();
    assert_eq!(types.len(), n, "one type per cell");
    assert_eq!(x.len(), n * d, "an [n, d] embedding");
    let codes = crate::metrics::label_codes(labels);
    let mut names: Vec<&str> = labels.to_vec();
    names.sort_unstable();
    names.dedup();
    let n_levels = names.len();
    let type_codes = crate::metrics::label_codes(types);
    let n_types = type_codes.iter().max().map_or(0, |m| m + 1);
    // counts[type][level]
    let mut counts = vec![vec![0usize; n_levels]; n_types];
    let mut type_size = vec![0usize; n_types];
    let mut level_size = vec![0usize; n_levels];
    for i in 0..n {
        counts[type_codes[i]][codes[i]] += 1;
        type_size[type_codes[i]] += 1;
        level_size[codes[i]] += 1;
    }
    let paired_code = paired.and_then(|p| names.iter().position(|&s| s == p));
    let nn = if n > 1 && k > 0 {
        knn(x, x, d, k.min(n - 1), true)
    } else {
        vec![Vec::new(); n]
    };
    let norm = (n_levels as f64).ln();
    #[derive(Default, Clone)]
    struct Acc {
        same: f64,
        mixed: f64,
        paired: f64,
        paired_mixed: f64,
        entropy: f64,
    }
    let mut acc = vec![Acc::default(); n_levels];
    let mut entropy_all = 0.0;
    let mut hist = vec![0usize; n_levels];
    for (i, neigh) in nn.iter().enumerate() {
        let (l, t) = (codes[i], type_codes[i]);
        let m = neigh.len().max(1) as f64;
        hist.iter_mut().for_each(|h| *h = 0);
        let mut paired_same = 0usize;
        for &(j, _) in neigh {
            hist[codes[j]] += 1;
            if Some(codes[j]) == paired_code && type_codes[j] == t {
                paired_same += 1;
            }
        }
        let h = crate::metrics::entropy(&hist) / norm;
        let others = (type_size[t] - 1).max(1) as f64;
        let a = &mut acc[l];
        a.same += hist[l] as f64 / m;
        a.mixed += (counts[t][l] - 1) as f64 / others;
        a.entropy += h;
        entropy_all += h;
        if let Some(p) = paired_code {
            a.paired += paired_same as f64 / m;
            let own = usize::from(l == p);
            a.paired_mixed += (counts[t][p] - own) as f64 / others;
        }
    }
    let levels = names
        .iter()
        .enumerate()
        .map(|(l, name)| {
            let c = level_size[l] as f64;
            let a = &acc[l];
            (
                name.to_string(),
                LevelMixing {
                    n_cells: level_size[l],
                    same: a.same / c,
                    same_if_mixed: a.mixed / c,
                    share: (level_size[l] - 1) as f64 / (n - 1).max(1) as f64,
                    paired_same_type: paired_code.map(|_| a.paired / c),
                    paired_same_type_if_mixed: paired_code.map(|_| a.paired_mixed / c),
                    entropy: a.entropy / c,
                },
            )
        })
        .collect();
    LabelMixing {
        k,
        entropy: entropy_all / n.max(1) as f64,
        levels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_and_mixed_by_hand() {
        // 1-d: type A at 0..4, type B at 100..104. Sets: "rna+adt" and "rna".
        // Islands: within each type the two sets sit apart (0, 1 | 3, 4).
        let x = [0.0f32, 1.0, 3.0, 4.0, 100.0, 101.0, 103.0, 104.0];
        let types = ["A", "A", "A", "A", "B", "B", "B", "B"];
        let islands = [
            "rna+adt", "rna+adt", "rna", "rna", "rna+adt", "rna+adt", "rna", "rna",
        ];
        let g = modality_gap(&x, 1, &islands, &types, 1);
        let rna = &g.levels["rna"];
        assert_eq!(rna.n_cells, 4);
        assert_eq!(rna.same, 1.0);
        // perfect mixing within a type of 4 (2 per set): 1 of the 3 others
        assert!((rna.same_if_mixed - 1.0 / 3.0).abs() < 1e-12);
        assert!((rna.share - 3.0 / 7.0).abs() < 1e-12);
        assert_eq!(rna.paired_same_type, Some(0.0));
        assert!((rna.paired_same_type_if_mixed.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(rna.entropy, 0.0);
        let paired = &g.levels["rna+adt"];
        assert_eq!(paired.paired_same_type, Some(1.0));
        assert!((paired.paired_same_type_if_mixed.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(g.entropy, 0.0);
        // Interleaved: each cell's nearest neighbour has the other set.
        let mixed = [
            "rna+adt", "rna", "rna+adt", "rna", "rna+adt", "rna", "rna+adt", "rna",
        ];
        let x2 = [0.0f32, 1.0, 2.5, 3.5, 100.0, 101.0, 102.5, 103.5];
        let g = modality_gap(&x2, 1, &mixed, &types, 1);
        assert_eq!(g.levels["rna"].same, 0.0);
        assert_eq!(g.levels["rna"].paired_same_type, Some(1.0));
        // k = 3: neighbours of cell 0 (at 0) are 1, 2.5, 3.5 -> sets rna, rna+adt, rna
        let g = modality_gap(&x2, 1, &mixed, &types, 3);
        let h = -(1.0f64 / 3.0 * (1.0f64 / 3.0).ln() + 2.0 / 3.0 * (2.0f64 / 3.0).ln()) / 2f64.ln();
        assert!((g.entropy - h).abs() < 1e-12, "{}", g.entropy);
    }

    #[test]
    fn paired_set_and_label_mixing() {
        assert_eq!(
            paired_set(&["rna", "adt", "rna+adt"]),
            Some("rna+adt".into())
        );
        assert_eq!(paired_set(&["rna", "adt"]), None);
        // donors: no paired fractions; same-donor share
        let x = [0.0f32, 0.1, 10.0, 10.1];
        let m = label_mixing(&x, 1, &["p1", "p1", "p2", "p2"], &["T"; 4], 1);
        assert_eq!(m.levels["p1"].same, 1.0);
        assert!((m.levels["p1"].same_if_mixed - 1.0 / 3.0).abs() < 1e-12);
        assert!(m.levels["p1"].paired_same_type.is_none());
        let json = serde_json::to_value(&m).unwrap();
        assert!(json["levels"]["p2"].get("paired_same_type").is_none());
        assert_eq!(json["k"], 1);
    }

    #[test]
    fn sets_of_a_dataset() {
        use scmosaic::{Dataset, Likelihood, Matrix, Modality};
        let m = |name: &str, measured: Vec<bool>| {
            Modality::new(
                name,
                Likelihood::Nb,
                vec!["f".into()],
                Matrix::dense(3, 1, vec![1.0, 2.0, 3.0]).unwrap(),
            )
            .unwrap()
            .with_measured(measured)
            .unwrap()
        };
        let d = Dataset::new(vec![
            m("rna", vec![true, true, false]),
            m("adt", vec![true, false, true]),
        ])
        .unwrap();
        assert_eq!(modality_sets(&d), vec!["rna+adt", "rna", "adt"]);
    }
}
