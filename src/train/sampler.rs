//! The minibatches of an epoch.

use crate::module::network::Sampling;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Draws each epoch's minibatches from the training cells (see [`Sampling`]).
pub(crate) struct Sampler {
    order: Vec<usize>,
    spec: Sampling,
    batch_size: usize,
}

impl Sampler {
    /// `cells`: the training cells; `batch_size`: cells per minibatch.
    pub fn new(cells: &[usize], spec: Sampling, batch_size: usize) -> Self {
        Sampler {
            order: cells.to_vec(),
            spec,
            batch_size,
        }
    }

    /// The minibatches of one epoch. `groups`: each cell's code of the
    /// stratifying covariate (with `spec.stratify`).
    ///
    /// Without stratification the shuffled cells are cut into minibatches of
    /// `batch_size` (`drop_last`: only full ones, at most all cells in one;
    /// otherwise a last one of at least 2 cells is kept). With it, each
    /// group's shuffled cells are cut into chunks of `batch_size / 2` (the
    /// remainder is dropped unless the group has no full chunk), the chunks
    /// are shuffled, and consecutive pairs form the minibatches.
    pub fn epoch(&mut self, groups: Option<&[u32]>, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut fresh;
        let cells: &[usize] = if self.spec.carry_order {
            self.order.shuffle(rng);
            &self.order
        } else {
            fresh = self.order.clone();
            fresh.shuffle(rng);
            &fresh
        };
        let bs = self.batch_size;
        let Some(groups) = groups.filter(|_| self.spec.stratify.is_some()) else {
            if self.spec.drop_last {
                let bs = bs.min(cells.len()).max(1);
                return cells.chunks_exact(bs).map(|c| c.to_vec()).collect();
            }
            return cells
                .chunks(bs.max(1))
                .filter(|c| c.len() >= 2)
                .map(|c| c.to_vec())
                .collect();
        };
        let half = (bs / 2).max(1);
        let n_groups = groups.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
        let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
        for &c in cells {
            by_group[groups[c] as usize].push(c);
        }
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        for members in by_group.into_iter().filter(|m| !m.is_empty()) {
            if members.len() < half {
                chunks.push(members);
            } else {
                chunks.extend(members.chunks_exact(half).map(|c| c.to_vec()));
            }
        }
        chunks.shuffle(rng);
        chunks
            .chunks(2)
            .map(|pair| pair.concat())
            .filter(|b| b.len() >= 2)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(carry_order: bool, drop_last: bool, stratify: Option<usize>) -> Sampling {
        Sampling {
            carry_order,
            drop_last,
            stratify,
        }
    }

    #[test]
    fn stratified_batches_hold_at_most_two_groups() {
        let cells: Vec<usize> = (0..1000).collect();
        let groups: Vec<u32> = (0..1000).map(|i| (i % 3) as u32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let b =
            Sampler::new(&cells, spec(false, false, Some(0)), 256).epoch(Some(&groups), &mut rng);
        for batch in &b {
            let mut g: Vec<u32> = batch.iter().map(|&c| groups[c]).collect();
            g.sort();
            g.dedup();
            assert!(g.len() <= 2, "{g:?}");
            assert!(batch.len() <= 256);
        }
        // 334/333/333 cells -> 2 chunks of 128 per group (remainders dropped) -> 3 batches of 256
        assert_eq!(b.iter().map(|x| x.len()).sum::<usize>(), 6 * 128);
        let plain = Sampler::new(&cells, spec(false, false, None), 256).epoch(None, &mut rng);
        assert_eq!(plain.iter().map(|x| x.len()).sum::<usize>(), 1000);
        assert_eq!(plain.len(), 4);
    }

    #[test]
    fn drop_last_keeps_full_batches_and_carries_the_order() {
        let cells: Vec<usize> = (0..10).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = Sampler::new(&cells, spec(true, true, None), 4);
        let e1 = s.epoch(None, &mut rng);
        assert_eq!(e1.len(), 2);
        assert!(e1.iter().all(|b| b.len() == 4));
        // fewer cells than a batch: one batch of all of them
        let mut small = Sampler::new(&cells[..3], spec(true, true, None), 4);
        assert_eq!(small.epoch(None, &mut rng)[0].len(), 3);
        // carrying the order: the second epoch shuffles the first one's order
        let mut a = Sampler::new(&cells, spec(true, true, None), 10);
        let mut b = Sampler::new(&cells, spec(false, true, None), 10);
        let (mut ra, mut rb) = (ChaCha8Rng::seed_from_u64(2), ChaCha8Rng::seed_from_u64(2));
        assert_eq!(a.epoch(None, &mut ra), b.epoch(None, &mut rb));
        let (mut ra, mut rb) = (ChaCha8Rng::seed_from_u64(3), ChaCha8Rng::seed_from_u64(3));
        assert_ne!(a.epoch(None, &mut ra), b.epoch(None, &mut rb));
    }
}
