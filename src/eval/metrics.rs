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
