//! Cell x feature matrices: dense row-major or sparse CSR, both `f32`.
//!
//! A CSR matrix of cells x features has exactly the memory layout of a CSC
//! matrix of features x cells, which is how R's `dgCMatrix` and Julia's
//! `SparseMatrixCSC` hold single-cell data; wrappers pass those buffers as they
//! are (`indptr` = column pointers, `indices` = row indices).
//!
//! The model never densifies a whole matrix: [`Matrix::row`] walks one cell,
//! and the minibatch assembler writes the rows it needs into a dense buffer.

use crate::error::{Error, Result};

/// A cells x features matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Matrix {
    /// Dense, row-major: `values[cell * n_cols + feature]`.
    Dense {
        /// Number of cells.
        n_rows: usize,
        /// Number of features.
        n_cols: usize,
        /// `n_rows * n_cols` values.
        values: Vec<f32>,
    },
    /// Compressed sparse rows: the entries of cell `r` are
    /// `indices[indptr[r]..indptr[r+1]]` (strictly increasing feature indices)
    /// with `values` alongside.
    Csr {
        /// Number of cells.
        n_rows: usize,
        /// Number of features.
        n_cols: usize,
        /// `n_rows + 1` offsets, starting at 0, non-decreasing.
        indptr: Vec<usize>,
        /// Feature index of each stored entry.
        indices: Vec<u32>,
        /// Value of each stored entry.
        values: Vec<f32>,
    },
}

/// Iterator over the stored `(feature, value)` pairs of one row.
pub enum RowIter<'a> {
    /// Dense rows yield every column, zeros included.
    Dense(std::iter::Enumerate<std::slice::Iter<'a, f32>>),
    /// Sparse rows yield the stored entries only.
    Sparse(std::iter::Zip<std::slice::Iter<'a, u32>, std::slice::Iter<'a, f32>>),
}

impl Iterator for RowIter<'_> {
    type Item = (usize, f32);
    #[inline]
    fn next(&mut self) -> Option<(usize, f32)> {
        match self {
            RowIter::Dense(it) => it.next().map(|(j, v)| (j, *v)),
            RowIter::Sparse(it) => it.next().map(|(j, v)| (*j as usize, *v)),
        }
    }
}

impl Matrix {
    /// A dense row-major matrix; checks the length and that every value is finite.
    pub fn dense(n_rows: usize, n_cols: usize, values: Vec<f32>) -> Result<Self> {
        let expected = n_rows
            .checked_mul(n_cols)
            .ok_or_else(|| Error::data(format!("matrix shape {n_rows} x {n_cols} overflows")))?;
        if values.len() != expected {
            return Err(Error::data(format!(
                "dense matrix of {n_rows} cells x {n_cols} features needs {expected} values, got {}",
                values.len()
            )));
        }
        let m = Matrix::Dense {
            n_rows,
            n_cols,
            values,
        };
        m.check_finite()?;
        Ok(m)
    }

    /// A CSR matrix (cells x features); checks the structure and that every
    /// value is finite. Column indices must be strictly increasing in each row.
    pub fn csr(
        n_rows: usize,
        n_cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self> {
        if indptr.len() != n_rows + 1 {
            return Err(Error::data(format!(
                "sparse matrix with {n_rows} cells needs {} row pointers, got {}",
                n_rows + 1,
                indptr.len()
            )));
        }
        if indptr[0] != 0 {
            return Err(Error::data("sparse matrix row pointers must start at 0"));
        }
        if indices.len() != values.len() {
            return Err(Error::data(format!(
                "sparse matrix has {} indices but {} values",
                indices.len(),
                values.len()
            )));
        }
        if indptr[n_rows] != indices.len() {
            return Err(Error::data(format!(
                "sparse matrix last row pointer is {} but there are {} entries",
                indptr[n_rows],
                indices.len()
            )));
        }
        if n_cols > u32::MAX as usize {
            return Err(Error::data(
                "too many features for a sparse matrix (max 2^32-1)",
            ));
        }
        for r in 0..n_rows {
            let (a, b) = (indptr[r], indptr[r + 1]);
            if b < a {
                return Err(Error::data(format!(
                    "sparse matrix row pointers decrease at cell {r}"
                )));
            }
            if b > indices.len() {
                return Err(Error::data(format!(
                    "sparse matrix row pointer {b} of cell {r} is past the {} entries",
                    indices.len()
                )));
            }
            let mut prev: Option<u32> = None;
            for &j in &indices[a..b] {
                if j as usize >= n_cols {
                    return Err(Error::data(format!(
                        "sparse matrix cell {r} has feature index {j}, but there are {n_cols} features"
                    )));
                }
                if let Some(p) = prev {
                    if j <= p {
                        return Err(Error::data(format!(
                            "sparse matrix cell {r}: feature indices must be strictly increasing \
                             (found {j} after {p})"
                        )));
                    }
                }
                prev = Some(j);
            }
        }
        let m = Matrix::Csr {
            n_rows,
            n_cols,
            indptr,
            indices,
            values,
        };
        m.check_finite()?;
        Ok(m)
    }

    /// Builds a CSR matrix from `(row, col, value)` triplets in any order;
    /// duplicates are summed and explicit zeros dropped.
    pub fn from_triplets(
        n_rows: usize,
        n_cols: usize,
        mut triplets: Vec<(u32, u32, f32)>,
    ) -> Result<Self> {
        for &(r, c, _) in &triplets {
            if r as usize >= n_rows || c as usize >= n_cols {
                return Err(Error::data(format!(
                    "entry ({r}, {c}) outside a {n_rows} x {n_cols} matrix"
                )));
            }
        }
        triplets.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0usize; n_rows + 1];
        let mut indices: Vec<u32> = Vec::with_capacity(triplets.len());
        let mut values: Vec<f32> = Vec::with_capacity(triplets.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triplets {
            if last == Some((r, c)) {
                *values.last_mut().expect("entry exists") += v;
                continue;
            }
            last = Some((r, c));
            indices.push(c);
            values.push(v);
            indptr[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        let m = Matrix::csr(n_rows, n_cols, indptr, indices, values)?;
        Ok(m.drop_zeros())
    }

    fn drop_zeros(self) -> Self {
        match self {
            Matrix::Csr {
                n_rows,
                n_cols,
                indptr,
                indices,
                values,
            } if values.contains(&0.0) => {
                let mut ni = Vec::with_capacity(indices.len());
                let mut nv = Vec::with_capacity(values.len());
                let mut np = Vec::with_capacity(n_rows + 1);
                np.push(0);
                for r in 0..n_rows {
                    for k in indptr[r]..indptr[r + 1] {
                        if values[k] != 0.0 {
                            ni.push(indices[k]);
                            nv.push(values[k]);
                        }
                    }
                    np.push(ni.len());
                }
                Matrix::Csr {
                    n_rows,
                    n_cols,
                    indptr: np,
                    indices: ni,
                    values: nv,
                }
            }
            other => other,
        }
    }

    /// Number of cells (rows).
    pub fn n_rows(&self) -> usize {
        match self {
            Matrix::Dense { n_rows, .. } | Matrix::Csr { n_rows, .. } => *n_rows,
        }
    }

    /// Number of features (columns).
    pub fn n_cols(&self) -> usize {
        match self {
            Matrix::Dense { n_cols, .. } | Matrix::Csr { n_cols, .. } => *n_cols,
        }
    }

    /// All stored values (for validation and statistics).
    pub fn stored_values(&self) -> &[f32] {
        match self {
            Matrix::Dense { values, .. } | Matrix::Csr { values, .. } => values,
        }
    }

    /// Number of stored entries (all entries for dense matrices).
    pub fn nnz(&self) -> usize {
        self.stored_values().len()
    }

    /// The `(feature, value)` pairs of row `r` (all columns for dense rows).
    #[inline]
    pub fn row(&self, r: usize) -> RowIter<'_> {
        match self {
            Matrix::Dense { n_cols, values, .. } => {
                RowIter::Dense(values[r * n_cols..(r + 1) * n_cols].iter().enumerate())
            }
            Matrix::Csr {
                indptr,
                indices,
                values,
                ..
            } => {
                let (a, b) = (indptr[r], indptr[r + 1]);
                RowIter::Sparse(indices[a..b].iter().zip(values[a..b].iter()))
            }
        }
    }

    /// A new matrix holding the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        match self {
            Matrix::Dense { n_cols, values, .. } => {
                let mut out = Vec::with_capacity(rows.len() * n_cols);
                for &r in rows {
                    out.extend_from_slice(&values[r * n_cols..(r + 1) * n_cols]);
                }
                Matrix::Dense {
                    n_rows: rows.len(),
                    n_cols: *n_cols,
                    values: out,
                }
            }
            Matrix::Csr {
                n_cols,
                indptr,
                indices,
                values,
                ..
            } => {
                let mut np = Vec::with_capacity(rows.len() + 1);
                np.push(0);
                let mut ni = Vec::new();
                let mut nv = Vec::new();
                for &r in rows {
                    ni.extend_from_slice(&indices[indptr[r]..indptr[r + 1]]);
                    nv.extend_from_slice(&values[indptr[r]..indptr[r + 1]]);
                    np.push(ni.len());
                }
                Matrix::Csr {
                    n_rows: rows.len(),
                    n_cols: *n_cols,
                    indptr: np,
                    indices: ni,
                    values: nv,
                }
            }
        }
    }

    /// A new matrix holding the given columns, in the given order
    /// (used to subset features, e.g. to highly variable genes).
    pub fn select_cols(&self, cols: &[usize]) -> Result<Matrix> {
        let n_cols = self.n_cols();
        if let Some(&bad) = cols.iter().find(|&&c| c >= n_cols) {
            return Err(Error::data(format!(
                "column {bad} requested from a matrix with {n_cols} columns"
            )));
        }
        let mut map = vec![u32::MAX; n_cols];
        for (new, &old) in cols.iter().enumerate() {
            if map[old] != u32::MAX {
                return Err(Error::data(format!("column {old} selected twice")));
            }
            map[old] = new as u32;
        }
        let n = self.n_rows();
        let mut trip = Vec::new();
        for r in 0..n {
            for (j, v) in self.row(r) {
                if v != 0.0 && map[j] != u32::MAX {
                    trip.push((r as u32, map[j], v));
                }
            }
        }
        let csr = Matrix::from_triplets(n, cols.len(), trip)?;
        Ok(match self {
            Matrix::Dense { .. } => csr.to_dense(),
            Matrix::Csr { .. } => csr,
        })
    }

    /// A dense copy (tests and small data only).
    pub fn to_dense(&self) -> Matrix {
        match self {
            Matrix::Dense { .. } => self.clone(),
            Matrix::Csr { n_rows, n_cols, .. } => {
                let mut values = vec![0f32; n_rows * n_cols];
                for r in 0..*n_rows {
                    for (j, v) in self.row(r) {
                        values[r * n_cols + j] = v;
                    }
                }
                Matrix::Dense {
                    n_rows: *n_rows,
                    n_cols: *n_cols,
                    values,
                }
            }
        }
    }

    /// Sum of each row.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.n_rows())
            .map(|r| self.row(r).map(|(_, v)| v as f64).sum())
            .collect()
    }

    fn check_finite(&self) -> Result<()> {
        if let Some(pos) = self.stored_values().iter().position(|v| !v.is_finite()) {
            let (r, c) = self.position_of(pos);
            return Err(Error::data(format!(
                "value at cell {r}, feature {c} is {} (NaN and infinite values are not allowed; \
                 mark unmeasured cells or features as missing instead)",
                self.stored_values()[pos]
            )));
        }
        Ok(())
    }

    /// Errors if any stored value is negative (count likelihoods need x >= 0).
    pub fn check_non_negative(&self, what: &str) -> Result<()> {
        if let Some(pos) = self.stored_values().iter().position(|&v| v < 0.0) {
            let (r, c) = self.position_of(pos);
            return Err(Error::data(format!(
                "{what}: value at cell {r}, feature {c} is {} but this likelihood needs \
                 non-negative values",
                self.stored_values()[pos]
            )));
        }
        Ok(())
    }

    /// (row, col) of the `pos`-th stored value.
    fn position_of(&self, pos: usize) -> (usize, usize) {
        match self {
            Matrix::Dense { n_cols, .. } => (pos / n_cols.max(&1), pos % n_cols.max(&1)),
            Matrix::Csr {
                indptr, indices, ..
            } => {
                let r = indptr.partition_point(|&p| p <= pos).saturating_sub(1);
                (r, indices[pos] as usize)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_and_dense_agree() {
        let d = Matrix::dense(2, 3, vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0]).unwrap();
        let s = Matrix::csr(2, 3, vec![0, 2, 3], vec![0, 2, 1], vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.to_dense(), d);
        assert_eq!(s.row_sums(), vec![3.0, 3.0]);
        assert_eq!(
            s.select_rows(&[1]).to_dense().stored_values(),
            &[0.0, 3.0, 0.0]
        );
        assert_eq!(
            d.select_cols(&[2, 1]).unwrap().stored_values(),
            &[2.0, 0.0, 0.0, 3.0]
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Matrix::dense(2, 2, vec![1.0; 3]).is_err());
        assert!(Matrix::csr(2, 3, vec![0, 1], vec![0], vec![1.0]).is_err());
        assert!(Matrix::csr(1, 3, vec![0, 1], vec![5], vec![1.0]).is_err());
        // A middle row pointer past the entries (found by fuzzing: it panicked).
        assert!(Matrix::csr(2, 3, vec![0, 5, 1], vec![0], vec![1.0]).is_err());
        assert!(Matrix::csr(1, 3, vec![0, 2], vec![1, 1], vec![1.0, 1.0]).is_err());
        assert!(Matrix::csr(1, 3, vec![1, 1], vec![], vec![]).is_err());
    }

    #[test]
    fn nan_and_negative_are_reported_with_position() {
        let e = Matrix::dense(2, 2, vec![0.0, 1.0, f32::NAN, 0.0]).unwrap_err();
        assert!(e.to_string().contains("cell 1, feature 0"), "{e}");
        let m = Matrix::csr(2, 3, vec![0, 1, 2], vec![0, 2], vec![1.0, -2.0]).unwrap();
        let e = m.check_non_negative("rna").unwrap_err();
        assert!(e.to_string().contains("cell 1, feature 2"), "{e}");
    }

    #[test]
    fn triplets_sum_duplicates() {
        let m = Matrix::from_triplets(2, 2, vec![(1, 1, 1.0), (0, 0, 2.0), (1, 1, 3.0)]).unwrap();
        assert_eq!(m.to_dense().stored_values(), &[2.0, 0.0, 0.0, 4.0]);
    }
}
