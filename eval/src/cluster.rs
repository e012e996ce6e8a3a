//! Graph clustering of an embedding for the ARI metric: a k-nearest-neighbour
//! graph with UMAP connectivity weights (as `scanpy.pp.neighbors`), clustered
//! by Louvain modularity optimisation with a resolution parameter, bisected
//! to reach a target number of clusters (the reference runs bisect Leiden's
//! resolution the same way).

use super::metrics::knn;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Weighted undirected graph as adjacency lists; a self-loop `(i, w)` is stored once.
#[derive(Debug, Clone)]
pub struct Graph {
    adj: Vec<Vec<(usize, f64)>>,
}

impl Graph {
    fn n(&self) -> usize {
        self.adj.len()
    }
    /// Weighted degree (a self-loop counts twice).
    fn degree(&self, i: usize) -> f64 {
        self.adj[i]
            .iter()
            .map(|&(j, w)| if j == i { 2.0 * w } else { w })
            .sum()
    }
    /// Total edge weight (each edge once).
    fn total_weight(&self) -> f64 {
        (0..self.n()).map(|i| self.degree(i)).sum::<f64>() / 2.0
    }
}

/// kNN graph (`k` neighbours, Euclidean) with UMAP fuzzy-union weights.
pub fn umap_knn_graph(x: &[f32], d: usize, k: usize) -> Graph {
    let n = x.len() / d;
    let nn = knn(x, x, d, k.min(n.saturating_sub(1)).max(1), true);
    let target = (k as f64).log2();
    let mut w: Vec<std::collections::HashMap<usize, f64>> = vec![Default::default(); n];
    for (i, neigh) in nn.iter().enumerate() {
        let rho = neigh.first().map_or(0.0, |&(_, d)| d as f64);
        // binary search sigma: sum exp(-(d - rho)/sigma) = log2(k)
        let (mut lo, mut hi, mut sigma) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            let s: f64 = neigh
                .iter()
                .map(|&(_, d)| (-((d as f64 - rho).max(0.0)) / sigma).exp())
                .sum();
            if (s - target).abs() < 1e-5 {
                break;
            }
            if s > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_infinite() {
                    sigma * 2.0
                } else {
                    (lo + hi) / 2.0
                };
            }
        }
        for &(j, dist) in neigh {
            let v = (-((dist as f64 - rho).max(0.0)) / sigma.max(1e-12)).exp();
            w[i].insert(j, v);
        }
    }
    let mut adj = vec![Vec::new(); n];
    for i in 0..n {
        for (&j, &a) in &w[i] {
            let b = w[j].get(&i).copied().unwrap_or(0.0);
            if i < j || !w[j].contains_key(&i) {
                let s = a + b - a * b;
                adj[i].push((j, s));
                adj[j].push((i, s));
            }
        }
    }
    Graph { adj }
}

/// One Louvain level: local moving. Returns community of each node.
fn one_level(g: &Graph, resolution: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = g.n();
    let m2 = 2.0 * g.total_weight();
    let deg: Vec<f64> = (0..n).map(|i| g.degree(i)).collect();
    let mut comm: Vec<usize> = (0..n).collect();
    let mut tot: Vec<f64> = deg.clone();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut neigh_w: Vec<f64> = vec![0.0; n];
    let mut touched: Vec<usize> = Vec::new();
    loop {
        let mut moved = false;
        for &i in &order {
            let ci = comm[i];
            for &c in &touched {
                neigh_w[c] = 0.0;
            }
            touched.clear();
            for &(j, w) in &g.adj[i] {
                if j != i {
                    if neigh_w[comm[j]] == 0.0 {
                        touched.push(comm[j]);
                    }
                    neigh_w[comm[j]] += w;
                }
            }
            let ki = deg[i] / m2;
            tot[ci] -= deg[i];
            let remove = -neigh_w[ci] + resolution * tot[ci] * ki;
            let mut best = ci;
            let mut best_gain = 0.0;
            for &c in &touched {
                let gain = remove + neigh_w[c] - resolution * tot[c] * ki;
                if gain > best_gain + 1e-12 {
                    best_gain = gain;
                    best = c;
                }
            }
            tot[best] += deg[i];
            if best != ci {
                comm[i] = best;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // relabel 0..k
    let mut map = vec![usize::MAX; n];
    let mut next = 0;
    for c in comm.iter_mut() {
        if map[*c] == usize::MAX {
            map[*c] = next;
            next += 1;
        }
        *c = map[*c];
    }
    comm
}

fn aggregate(g: &Graph, comm: &[usize], k: usize) -> Graph {
    let mut w: Vec<std::collections::HashMap<usize, f64>> = vec![Default::default(); k];
    for i in 0..g.n() {
        for &(j, v) in &g.adj[i] {
            let (a, b) = (comm[i], comm[j]);
            if j == i {
                *w[a].entry(a).or_default() += v;
            } else if i < j {
                if a == b {
                    *w[a].entry(a).or_default() += v;
                } else {
                    *w[a].entry(b).or_default() += v;
                    *w[b].entry(a).or_default() += v;
                }
            }
        }
    }
    Graph {
        adj: w
            .into_iter()
            .map(|m| {
                let mut v: Vec<(usize, f64)> = m.into_iter().collect();
                v.sort_by_key(|e| e.0);
                v
            })
            .collect(),
    }
}

/// Louvain communities of `g` at `resolution` (deterministic for a seed).
pub fn louvain(g: &Graph, resolution: f64, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut labels: Vec<usize> = (0..g.n()).collect();
    let mut graph = g.clone();
    loop {
        let comm = one_level(&graph, resolution, &mut rng);
        let k = comm.iter().max().map_or(0, |m| m + 1);
        for l in labels.iter_mut() {
            *l = comm[*l];
        }
        if k == graph.n() {
            break;
        }
        graph = aggregate(&graph, &comm, k);
    }
    labels
}

/// Clusters an embedding (`[n, d]`) into (as close as possible to) `target`
/// clusters: kNN graph with `k` neighbours, Louvain, resolution bisected.
pub fn cluster_to_k(x: &[f32], d: usize, target: usize, k: usize, seed: u64) -> Vec<usize> {
    let g = umap_knn_graph(x, d, k);
    let count = |l: &[usize]| l.iter().max().map_or(0, |m| m + 1);
    let (mut lo, mut hi) = (0.0f64, 5.0f64);
    let mut best = louvain(&g, 1.0, seed);
    let mut best_err = count(&best).abs_diff(target);
    for _ in 0..40 {
        if best_err == 0 {
            break;
        }
        let r = (lo + hi) / 2.0;
        let l = louvain(&g, r, seed);
        let c = count(&l);
        let err = c.abs_diff(target);
        if err < best_err {
            best = l;
            best_err = err;
        }
        if c > target {
            hi = r;
        } else {
            lo = r;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::adjusted_rand_index;

    #[test]
    fn recovers_separated_blobs() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        use rand::Rng;
        let centers = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let mut x = Vec::new();
        let mut truth = Vec::new();
        for (c, ctr) in centers.iter().enumerate() {
            for _ in 0..60 {
                x.push(ctr[0] + rng.random_range(-1.0..1.0));
                x.push(ctr[1] + rng.random_range(-1.0..1.0));
                truth.push(c);
            }
        }
        let l = cluster_to_k(&x, 2, 3, 15, 0);
        assert_eq!(l.iter().max().unwrap() + 1, 3);
        assert!(adjusted_rand_index(&l, &truth) > 0.99);
    }
}
