//! Reader for the 10x-style MatrixMarket folders of the benchmark data (the
//! bundled `data/reap_pbmc2` and `data/hao_pbmc_mosaic` are such folders).
//!
//! A folder holds, per modality `M`: `M.mtx.gz` (features x cells, coordinate
//! format, 1-based) and `M_features.tsv` (one name per line, first column
//! used); plus `barcodes.tsv` (column order) and optionally `cells.tsv`
//! (tab-separated with a header line; one row per barcode, same order).

use super::Matrix;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The contents of a 10x-style folder.
#[derive(Debug, Clone)]
pub struct TenxFolder {
    /// The folder read.
    pub path: PathBuf,
    /// Cell barcodes, in matrix column order.
    pub barcodes: Vec<String>,
    /// Columns of `cells.tsv` by header name (empty if the file is absent).
    pub cells: BTreeMap<String, Vec<String>>,
    /// Modalities found: name, feature names, cells x features CSR matrix.
    pub modalities: Vec<(String, Vec<String>, Matrix)>,
}

impl TenxFolder {
    /// The modality named `name` (feature names and matrix).
    pub fn modality(&self, name: &str) -> Result<(&[String], &Matrix)> {
        self.modalities
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, f, m)| (f.as_slice(), m))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "modality '{name}' in {} (found: {})",
                    self.path.display(),
                    self.modalities
                        .iter()
                        .map(|(n, _, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// A column of `cells.tsv`.
    pub fn cell_column(&self, name: &str) -> Result<&[String]> {
        self.cells.get(name).map(|v| v.as_slice()).ok_or_else(|| {
            Error::NotFound(format!(
                "column '{name}' in {}/cells.tsv",
                self.path.display()
            ))
        })
    }
}

/// Reads every `*.mtx.gz` / `*.mtx` modality of a folder, with barcodes and cell table.
pub fn read_10x_folder(dir: impl AsRef<Path>) -> Result<TenxFolder> {
    let dir = dir.as_ref();
    let barcodes = read_lines(dir.join("barcodes.tsv"))?;
    let cells = match std::fs::metadata(dir.join("cells.tsv")) {
        Ok(_) => read_table(&dir.join("cells.tsv"), barcodes.len())?,
        Err(_) => BTreeMap::new(),
    };
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let fname = entry.file_name().to_string_lossy().to_string();
        let stem = fname
            .strip_suffix(".mtx.gz")
            .or_else(|| fname.strip_suffix(".mtx"));
        if let Some(stem) = stem {
            names.push((stem.to_string(), entry.path()));
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Error::NotFound(format!(
            "no *.mtx.gz matrix in {}",
            dir.display()
        )));
    }
    let mut modalities = Vec::new();
    for (name, path) in names {
        let features = read_lines(dir.join(format!("{name}_features.tsv")))?;
        let m = read_mtx(&path)?;
        // The file is features x cells; we store cells x features.
        if m.0 != features.len() || m.1 != barcodes.len() {
            return Err(Error::data(format!(
                "{}: matrix is {} x {} but there are {} features and {} barcodes",
                path.display(),
                m.0,
                m.1,
                features.len(),
                barcodes.len()
            )));
        }
        let trip = m.2.into_iter().map(|(f, c, v)| (c, f, v)).collect();
        let mat = Matrix::from_triplets(barcodes.len(), features.len(), trip)?;
        modalities.push((name, features, mat));
    }
    Ok(TenxFolder {
        path: dir.to_path_buf(),
        barcodes,
        cells,
        modalities,
    })
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f) as BufReader<std::fs::File>)
    })
}

/// Reads the first tab-separated column of each non-empty line.
pub fn read_lines(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let mut s = String::new();
    open(path)?
        .read_to_string(&mut s)
        .map_err(|e| Error::io(path, e))?;
    Ok(s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .collect())
}

fn read_table(path: &Path, n_rows: usize) -> Result<BTreeMap<String, Vec<String>>> {
    let mut s = String::new();
    open(path)?
        .read_to_string(&mut s)
        .map_err(|e| Error::io(path, e))?;
    let mut lines = s.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| Error::data(format!("{} is empty", path.display())))?
        .split('\t')
        .map(|h| h.trim().to_string())
        .collect();
    let mut cols: Vec<Vec<String>> = vec![Vec::with_capacity(n_rows); header.len()];
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != header.len() {
            return Err(Error::data(format!(
                "{} line {}: {} fields, header has {}",
                path.display(),
                i + 2,
                fields.len(),
                header.len()
            )));
        }
        for (c, f) in fields.iter().enumerate() {
            cols[c].push(f.trim().to_string());
        }
    }
    if cols.first().map_or(0, |c| c.len()) != n_rows {
        return Err(Error::data(format!(
            "{} has {} rows but there are {n_rows} barcodes",
            path.display(),
            cols.first().map_or(0, |c| c.len())
        )));
    }
    Ok(header.into_iter().zip(cols).collect())
}

type Triplets = (usize, usize, Vec<(u32, u32, f32)>);

/// Parses a MatrixMarket coordinate file (1-based) into (rows, cols, 0-based triplets).
fn read_mtx(path: &Path) -> Result<Triplets> {
    let bad = |msg: String| Error::data(format!("{}: {msg}", path.display()));
    let mut reader = open(path)?;
    let mut line = String::new();
    let mut header_seen = false;
    let (n_rows, n_cols, nnz) = loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Err(bad("no size line (file empty or truncated)".into()));
        }
        let t = line.trim();
        if t.starts_with("%%MatrixMarket") {
            let lower = t.to_ascii_lowercase();
            if !lower.contains("coordinate") {
                return Err(bad(
                    "only the coordinate MatrixMarket format is supported".into()
                ));
            }
            if lower.contains("symmetric") || lower.contains("complex") || lower.contains("pattern")
            {
                return Err(bad(
                    "only 'general' real or integer MatrixMarket files are supported".into(),
                ));
            }
            header_seen = true;
            continue;
        }
        if t.starts_with('%') || t.is_empty() {
            continue;
        }
        if !header_seen {
            return Err(bad("missing %%MatrixMarket header".into()));
        }
        let v: Vec<usize> = t
            .split_whitespace()
            .map(|x| x.parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("bad size line '{t}'")))?;
        if v.len() != 3 {
            return Err(bad(format!("bad size line '{t}'")));
        }
        break (v[0], v[1], v[2]);
    };
    let mut trip = Vec::with_capacity(nnz);
    while trip.len() < nnz {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Err(bad(format!("truncated: {} of {nnz} entries", trip.len())));
        }
        let mut it = line.split_whitespace();
        let (Some(a), Some(b), Some(c)) = (it.next(), it.next(), it.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(bad(format!("bad entry line '{}'", line.trim())));
        };
        let r: usize = a.parse().map_err(|_| bad(format!("bad row index '{a}'")))?;
        let c_: usize = b
            .parse()
            .map_err(|_| bad(format!("bad column index '{b}'")))?;
        let v: f32 = c.parse().map_err(|_| bad(format!("bad value '{c}'")))?;
        if r == 0 || r > n_rows || c_ == 0 || c_ > n_cols {
            return Err(bad(format!(
                "entry ({r}, {c_}) outside {n_rows} x {n_cols}"
            )));
        }
        trip.push(((r - 1) as u32, (c_ - 1) as u32, v));
    }
    Ok((n_rows, n_cols, trip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_small_folder_and_rejects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("barcodes.tsv"), "c1\nc2\nc3\n").unwrap();
        std::fs::write(
            p.join("cells.tsv"),
            "barcode\tsplit\nc1\ttrain\nc2\ttest\nc3\ttrain\n",
        )
        .unwrap();
        std::fs::write(p.join("rna_features.tsv"), "g1\ng2\n").unwrap();
        let mtx =
            "%%MatrixMarket matrix coordinate integer general\n%c\n2 3 3\n1 1 5\n2 1 1\n2 3 7\n";
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(p.join("rna.mtx.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(mtx.as_bytes()).unwrap();
        gz.finish().unwrap();
        let f = read_10x_folder(p).unwrap();
        let (feat, m) = f.modality("rna").unwrap();
        assert_eq!(feat, &["g1", "g2"]);
        assert_eq!(
            m.to_dense().stored_values(),
            &[5.0, 1.0, 0.0, 0.0, 0.0, 7.0]
        );
        assert_eq!(f.cell_column("split").unwrap()[1], "test");
        assert!(f.modality("adt").is_err());

        std::fs::write(p.join("rna.mtx"), &mtx[..mtx.len() - 6]).unwrap();
        std::fs::remove_file(p.join("rna.mtx.gz")).unwrap();
        let e = read_10x_folder(p).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
