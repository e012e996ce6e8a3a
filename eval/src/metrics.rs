//! Accuracy metrics of the benchmark protocols (`benchmarks.md`).

/// Pearson correlation (NaN when either vector is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let ma = a[..n].iter().sum::<f64>() / n as f64;
    let mb = b[..n].iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (a[i] - ma, b[i] - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return f64::NAN;
    }
    sab / (saa.sqrt() * sbb.sqrt())
}

/// Ranks with ties averaged (1-based).
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman correlation (Pearson of tie-averaged ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Per-cell CLR of a row-major `[n, p]` matrix: `v = log1p(x)`, minus the row mean.
pub fn clr(x: &[f64], p: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(p) {
        let v: Vec<f64> = row.iter().map(|&a| a.max(0.0).ln_1p()).collect();
        let m = v.iter().sum::<f64>() / p as f64;
        out.extend(v.into_iter().map(|a| a - m));
    }
    out
}

/// Mean and median of the finite values.
pub fn mean_median(v: &[f64]) -> (f64, f64) {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    f.sort_by(|a, b| a.total_cmp(b));
    let mean = f.iter().sum::<f64>() / f.len() as f64;
    let n = f.len();
    let median = if n % 2 == 1 {
        f[n / 2]
    } else {
        0.5 * (f[n / 2 - 1] + f[n / 2])
    };
    (mean, median)
}

/// Squared Euclidean distance.
#[inline]
pub fn sqdist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Indices of the `k` nearest rows of `reference` (`[m, d]`) for each row of
/// `query` (`[n, d]`), nearest first; `skip_self` drops the query row itself
/// when `query` and `reference` are the same matrix.
pub fn knn(
    query: &[f32],
    reference: &[f32],
    d: usize,
    k: usize,
    skip_self: bool,
) -> Vec<Vec<(usize, f32)>> {
    let m = reference.len() / d;
    query
        .chunks(d)
        .enumerate()
        .map(|(i, q)| {
            let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
            for j in 0..m {
                if skip_self && i == j {
                    continue;
                }
                let dist = sqdist(q, &reference[j * d..(j + 1) * d]);
                if best.len() < k || dist < best[best.len() - 1].1 {
                    let pos = best.partition_point(|&(_, b)| b <= dist);
                    best.insert(pos, (j, dist));
                    best.truncate(k);
                }
            }
            best.into_iter().map(|(j, d2)| (j, d2.sqrt())).collect()
        })
        .collect()
}

/// Accuracy of a `k`-nearest-neighbour majority vote (uniform weights; ties
/// go to the label that sorts first, as in scikit-learn).
pub fn knn_accuracy(
    train: &[f32],
    train_labels: &[String],
    test: &[f32],
    test_labels: &[String],
    d: usize,
    k: usize,
) -> f64 {
    let nn = knn(test, train, d, k, false);
    let mut classes: Vec<&String> = train_labels.iter().collect();
    classes.sort();
    classes.dedup();
    let mut correct = 0;
    for (i, neigh) in nn.iter().enumerate() {
        let mut votes = vec![0usize; classes.len()];
        for &(j, _) in neigh {
            let c = classes.binary_search(&&train_labels[j]).expect("class");
            votes[c] += 1;
        }
        let best = (0..classes.len())
            .max_by_key(|&c| (votes[c], std::cmp::Reverse(c)))
            .expect("classes");
        if *classes[best] == test_labels[i] {
            correct += 1;
        }
    }
    correct as f64 / test_labels.len().max(1) as f64
}

/// Adjusted Rand index between two labelings.
pub fn adjusted_rand_index<A: Ord + Clone, B: Ord + Clone>(a: &[A], b: &[B]) -> f64 {
    use std::collections::BTreeMap;
    let n = a.len();
    let mut table: BTreeMap<(A, B), f64> = BTreeMap::new();
    let mut ra: BTreeMap<A, f64> = BTreeMap::new();
    let mut rb: BTreeMap<B, f64> = BTreeMap::new();
    for i in 0..n {
        *table.entry((a[i].clone(), b[i].clone())).or_default() += 1.0;
        *ra.entry(a[i].clone()).or_default() += 1.0;
        *rb.entry(b[i].clone()).or_default() += 1.0;
    }
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let index: f64 = table.values().map(|&v| c2(v)).sum();
    let sa: f64 = ra.values().map(|&v| c2(v)).sum();
    let sb: f64 = rb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n as f64);
    let max = 0.5 * (sa + sb);
    if (max - expected).abs() < 1e-12 {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Area under the ROC curve of `scores` for the binary `labels`: the
/// Mann-Whitney statistic from tie-averaged ranks (`sklearn.metrics.roc_auc_score`).
/// NaN when all labels are equal.
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    let n_pos = labels[..n].iter().filter(|&&l| l).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    let r = ranks(&scores[..n]);
    let rank_sum: f64 = (0..n).filter(|&i| labels[i]).map(|i| r[i]).sum();
    let (p, q) = (n_pos as f64, n_neg as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * q)
}

/// Average precision of `scores` for the binary `labels`, as
/// `sklearn.metrics.average_precision_score`: `sum_n (R_n - R_{n-1}) P_n` over
/// the distinct score thresholds, from the highest down (tied scores enter
/// together). NaN when there is no positive label.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    let n_pos = labels[..n].iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let s = scores[idx[i]];
        while i < n && scores[idx[i]] == s {
            if labels[idx[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let recall = tp as f64 / n_pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// Shannon entropy (natural log) of the distribution with these counts (0
/// when all are 0).
pub fn entropy(counts: &[usize]) -> f64 {
    let m: usize = counts.iter().sum();
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / m as f64;
            -p * p.ln()
        })
        .sum()
}

/// Batch mixing of an embedding (`x`: `[n, d]` row-major): for each cell,
/// the Shannon entropy of the batch labels among its `k` nearest neighbours
/// (Euclidean, the cell itself excluded), divided by `ln(number of batches)`;
/// the mean over cells. 1 = the neighbourhoods hold every batch equally,
/// 0 = each neighbourhood is a single batch. NaN with fewer than two batches.
pub fn knn_batch_entropy(x: &[f32], d: usize, batches: &[usize], k: usize) -> f64 {
    let mut levels: Vec<usize> = batches.to_vec();
    levels.sort_unstable();
    levels.dedup();
    if levels.len() < 2 || batches.len() < 2 || k == 0 {
        return f64::NAN;
    }
    let norm = (levels.len() as f64).ln();
    let nn = knn(x, x, d, k, true);
    let mut total = 0.0;
    let mut counts = vec![0usize; levels.len()];
    for neigh in &nn {
        counts.iter_mut().for_each(|c| *c = 0);
        for &(j, _) in neigh {
            counts[levels.binary_search(&batches[j]).expect("level")] += 1;
        }
        total += entropy(&counts) / norm;
    }
    total / nn.len() as f64
}

/// Silhouette of each cell (`x`: `[n, d]`, Euclidean) for the clustering
/// `labels`, as `sklearn.metrics.silhouette_samples`: `(b - a) / max(a, b)`
/// with `a` the mean distance to the other cells of its cluster and `b` the
/// smallest mean distance to another cluster; 0 for cells alone in their
/// cluster. All NaN when there are fewer than two clusters.
pub fn silhouette_samples(x: &[f32], d: usize, labels: &[usize]) -> Vec<f64> {
    use rayon::prelude::*;
    let n = labels.len().min(x.len() / d.max(1));
    let mut levels: Vec<usize> = labels[..n].to_vec();
    levels.sort_unstable();
    levels.dedup();
    if levels.len() < 2 {
        return vec![f64::NAN; n];
    }
    let code: Vec<usize> = labels[..n]
        .iter()
        .map(|l| levels.binary_search(l).expect("level"))
        .collect();
    let mut size = vec![0usize; levels.len()];
    code.iter().for_each(|&c| size[c] += 1);
    (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut sum = vec![0.0f64; levels.len()];
            for j in 0..n {
                if j != i {
                    sum[code[j]] += (sqdist(xi, &x[j * d..(j + 1) * d]) as f64).sqrt();
                }
            }
            let own = code[i];
            if size[own] < 2 {
                return 0.0;
            }
            let a = sum[own] / (size[own] - 1) as f64;
            let b = (0..levels.len())
                .filter(|&c| c != own && size[c] > 0)
                .map(|c| sum[c] / size[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 {
                (b - a) / m
            } else {
                0.0
            }
        })
        .collect()
}

/// Mean silhouette (`sklearn.metrics.silhouette_score`, Euclidean); NaN with
/// fewer than two clusters.
pub fn silhouette(x: &[f32], d: usize, labels: &[usize]) -> f64 {
    let s = silhouette_samples(x, d, labels);
    if s.is_empty() {
        return f64::NAN;
    }
    s.iter().sum::<f64>() / s.len() as f64
}

/// Batch ASW as in scIB (`silhouette_batch`): within each cell type that
/// holds at least two batches, the silhouette of every cell with respect to
/// the batch labels, scored `1 - |s|` and averaged over the type's cells; the
/// mean over those types. 1 = batches perfectly mixed within types. NaN when
/// no type holds two batches.
pub fn batch_asw(x: &[f32], d: usize, batches: &[usize], types: &[usize]) -> f64 {
    let mut levels: Vec<usize> = types.to_vec();
    levels.sort_unstable();
    levels.dedup();
    let mut per_type = Vec::new();
    for t in levels {
        let cells: Vec<usize> = (0..types.len()).filter(|&i| types[i] == t).collect();
        let b: Vec<usize> = cells.iter().map(|&i| batches[i]).collect();
        if b.iter().any(|&v| v != b[0]) {
            let sub: Vec<f32> = cells
                .iter()
                .flat_map(|&i| x[i * d..(i + 1) * d].iter().copied())
                .collect();
            let s = silhouette_samples(&sub, d, &b);
            per_type.push(s.iter().map(|v| 1.0 - v.abs()).sum::<f64>() / s.len() as f64);
        }
    }
    if per_type.is_empty() {
        return f64::NAN;
    }
    per_type.iter().sum::<f64>() / per_type.len() as f64
}

/// Integer codes of string labels (levels sorted), for the metrics that take codes.
pub fn label_codes<S: AsRef<str>>(labels: &[S]) -> Vec<usize> {
    let mut levels: Vec<&str> = labels.iter().map(|s| s.as_ref()).collect();
    levels.sort_unstable();
    levels.dedup();
    labels
        .iter()
        .map(|s| levels.binary_search(&s.as_ref()).expect("level"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_and_ari() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&a, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[1.0, 10.0, 100.0, 1000.0]) - 1.0).abs() < 1e-12);
        assert!(pearson(&a, &[1.0; 4]).is_nan());
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &["a", "a", "b", "b"]) - 1.0).abs() < 1e-12);
        // sklearn.metrics.adjusted_rand_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.4444...
        let ari = adjusted_rand_index(&[0, 0, 1, 1, 2, 2], &[0, 0, 1, 2, 2, 2]);
        assert!((ari - 0.444_444_444).abs() < 1e-6, "{ari}");
        let c = clr(&[0.0, 1.0, 3.0], 3);
        assert!((c.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn knn_vote() {
        let train = [0.0f32, 0.1, 0.2, 5.0, 5.1];
        let labels: Vec<String> = ["a", "a", "a", "b", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let test = [0.05f32, 5.05];
        let tl: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(knn_accuracy(&train, &labels, &test, &tl, 1, 2), 1.0);
    }
}

#[cfg(test)]
mod mosaic_metric_tests {
    use super::*;

    #[test]
    fn auroc_and_average_precision_match_sklearn() {
        // roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75
        // average_precision_score(...) = 0.8333...
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!((auroc(&s, &l) - 0.75).abs() < 1e-12);
        assert!((average_precision(&s, &l) - 5.0 / 6.0).abs() < 1e-12);
        // ties: roc_auc_score([1,0,1,0], [.5,.5,.5,.1]) = 0.75, AP = 2/3
        let s = [0.5, 0.5, 0.5, 0.1];
        let l = [true, false, true, false];
        assert!((auroc(&s, &l) - 0.75).abs() < 1e-12);
        assert!((average_precision(&s, &l) - 2.0 / 3.0).abs() < 1e-12);
        // perfect / reversed / degenerate
        let l = [false, true, false, true];
        assert_eq!(auroc(&[0.0, 1.0, 0.2, 0.9], &l), 1.0);
        assert_eq!(auroc(&[1.0, 0.0, 0.9, 0.2], &l), 0.0);
        assert_eq!(average_precision(&[0.0, 1.0, 0.2, 0.9], &l), 1.0);
        // AP of a reversed ranking: thresholds at 1.0 (P 0), 0.9 (P 0), 0.2 (R .5, P 1/3), 0 (R 1, P 1/2)
        let ap = average_precision(&[1.0, 0.0, 0.9, 0.2], &l);
        assert!((ap - (0.5 / 3.0 + 0.25)).abs() < 1e-12, "{ap}");
        assert!(auroc(&[0.1, 0.2], &[true, true]).is_nan());
        assert!(average_precision(&[0.1, 0.2], &[false, false]).is_nan());
    }

    #[test]
    fn batch_entropy_by_hand() {
        // 1-d points 0, 1, 10, 11 with batches 0, 1, 0, 1
        let x = [0.0f32, 1.0, 10.0, 11.0];
        let b = [0, 1, 0, 1];
        // k = 1: each neighbour is from the other batch -> entropy 0
        assert_eq!(knn_batch_entropy(&x, 1, &b, 1), 0.0);
        // k = 3: neighbours hold batches {1/3, 2/3} -> H / ln 2 = 0.918296
        let h = knn_batch_entropy(&x, 1, &b, 3);
        let want =
            -(1.0f64 / 3.0 * (1.0f64 / 3.0).ln() + 2.0 / 3.0 * (2.0f64 / 3.0).ln()) / 2f64.ln();
        assert!(
            (h - want).abs() < 1e-12 && (h - 0.918_296).abs() < 1e-6,
            "{h}"
        );
        // pairs within a batch: k = 1 neighbours share the batch -> 0; one batch -> NaN
        assert_eq!(knn_batch_entropy(&x, 1, &[0, 0, 1, 1], 1), 0.0);
        assert!(knn_batch_entropy(&x, 1, &[0, 0, 0, 0], 2).is_nan());
    }

    #[test]
    fn silhouette_matches_sklearn() {
        // silhouette_samples([[0],[1],[4],[5]], [0,0,1,1]) = [7/9, 5/7, 5/7, 7/9]
        let x = [0.0f32, 1.0, 4.0, 5.0];
        let s = silhouette_samples(&x, 1, &[0, 0, 1, 1]);
        let want = [7.0 / 9.0, 5.0 / 7.0, 5.0 / 7.0, 7.0 / 9.0];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{s:?}");
        }
        assert!((silhouette(&x, 1, &[0, 0, 1, 1]) - 0.746_031_746).abs() < 1e-8);
        // a singleton cluster scores 0 (sklearn); one cluster -> NaN
        assert_eq!(silhouette_samples(&x, 1, &[0, 0, 0, 1])[3], 0.0);
        assert!(silhouette(&x, 1, &[2, 2, 2, 2]).is_nan());
        // 2-d: a point equidistant from both clusters scores 0 within tolerance
        let x2 = [0.0f32, 0.0, 0.0, 2.0, 3.0, 0.0, 3.0, 2.0];
        let s2 = silhouette(&x2, 2, &[0, 0, 1, 1]);
        // a = 2, b = mean(3, sqrt(13)) = 3.302776 -> s = 1 - 2 / 3.302776
        let b = (3.0 + 13f64.sqrt()) / 2.0;
        assert!((s2 - (1.0 - 2.0 / b)).abs() < 1e-6, "{s2}");
    }

    #[test]
    fn batch_asw_by_hand() {
        // type 0: batches separated (|s| = 0.746 on average), type 1: one batch (skipped)
        let x = [0.0f32, 1.0, 4.0, 5.0, 100.0, 101.0];
        let asw = batch_asw(&x, 1, &[0, 0, 1, 1, 0, 0], &[0, 0, 0, 0, 1, 1]);
        assert!((asw - (1.0 - 0.746_031_746)).abs() < 1e-8, "{asw}");
        // interleaved batches: silhouettes near or below 0 -> ASW near 1
        let mixed = batch_asw(&x, 1, &[0, 1, 0, 1, 0, 1], &[0, 0, 0, 0, 1, 1]);
        assert!(mixed > asw);
        assert!(batch_asw(&x, 1, &[0; 6], &[0, 0, 0, 0, 1, 1]).is_nan());
        assert_eq!(label_codes(&["b", "a", "b"]), vec![1, 0, 1]);
    }
}

/// Per column of two row-major `[n, p]` matrices, `f` of the two columns.
pub fn per_column(obs: &[f64], hat: &[f64], p: usize, f: fn(&[f64], &[f64]) -> f64) -> Vec<f64> {
    let n = obs.len() / p.max(1);
    let col = |m: &[f64], j: usize| -> Vec<f64> { (0..n).map(|i| m[i * p + j]).collect() };
    (0..p).map(|j| f(&col(obs, j), &col(hat, j))).collect()
}

/// Per column of two row-major `[n, p]` matrices, Pearson and Spearman
/// between them: (Pearson mean, Pearson median, Spearman mean) over columns.
pub fn column_correlations(obs: &[f64], hat: &[f64], p: usize) -> (f64, f64, f64) {
    let (pm, pmed) = mean_median(&per_column(obs, hat, p, pearson));
    (pm, pmed, mean_median(&per_column(obs, hat, p, spearman)).0)
}
