//! The checkpoint format: one `.safetensors` file.
//!
//! Tensors: `model.<module path>` (every weight, batch-norm statistic and
//! output constant) and `preprocess.<modality index>.feature_fraction`.
//! Header metadata (all strings):
//!
//! | key | value |
//! |---|---|
//! | `scmosaic.format_version` | `MAJOR.MINOR` (this build writes [`FORMAT_VERSION`]; an unknown major is rejected) |
//! | `scmosaic.model_kind` | `scvaeit` |
//! | `scmosaic.crate_version` | version of the writing library |
//! | `scmosaic.config` | resolved model config (JSON) |
//! | `scmosaic.schema` | modalities, features, blocks, covariate levels (JSON) |
//! | `scmosaic.preprocessing` | transforms and median libraries (JSON) |
//! | `scmosaic.epochs_trained` | integer |
//! | `scmosaic.checksum` | CRC-32 of all tensor names and bytes, in name order (hex) |
//!
//! Writes go to a temporary file in the destination folder, which is
//! fsynced and renamed over the destination, so an interrupted save leaves
//! the previous file intact.

use super::params::NamedTensor;
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::preprocess::Preprocessing;
use crate::schema::Schema;
use safetensors::tensor::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

/// Checkpoint format version written by this build.
pub const FORMAT_VERSION: &str = "1.0";
const MAJOR: &str = "1";

const K_VERSION: &str = "scmosaic.format_version";
const K_KIND: &str = "scmosaic.model_kind";
const K_CRATE: &str = "scmosaic.crate_version";
const K_CONFIG: &str = "scmosaic.config";
const K_SCHEMA: &str = "scmosaic.schema";
const K_PRE: &str = "scmosaic.preprocessing";
const K_EPOCHS: &str = "scmosaic.epochs_trained";
const K_CHECKSUM: &str = "scmosaic.checksum";

/// Everything a checkpoint holds.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointData {
    pub config: ModelConfig,
    pub schema: Schema,
    pub pre: Preprocessing,
    pub epochs_trained: usize,
    /// Model parameters (names without the `model.` prefix).
    pub tensors: Vec<NamedTensor>,
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn checksum<'a>(items: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = crc32fast::Hasher::new();
    for (name, bytes) in items {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    format!("{:08x}", h.finalize())
}

/// Serializes a checkpoint to bytes.
pub(crate) fn to_bytes(ck: &CheckpointData) -> Result<Vec<u8>> {
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = ck
        .tensors
        .iter()
        .map(|t| {
            (
                format!("model.{}", t.name),
                t.shape.clone(),
                le_bytes(&t.values),
            )
        })
        .collect();
    for (i, m) in ck.pre.modalities.iter().enumerate() {
        if !m.feature_fraction.is_empty() {
            named.push((
                format!("preprocess.{i}.feature_fraction"),
                vec![m.feature_fraction.len()],
                le_bytes(&m.feature_fraction),
            ));
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let sum = checksum(named.iter().map(|(n, _, b)| (n.as_str(), b.as_slice())));
    let meta: BTreeMap<&str, String> = [
        (K_VERSION, FORMAT_VERSION.to_string()),
        (K_KIND, ck.config.model.as_str().to_string()),
        (K_CRATE, env!("CARGO_PKG_VERSION").to_string()),
        (K_CONFIG, json(&ck.config)),
        (K_SCHEMA, json(&ck.schema)),
        (K_PRE, json(&ck.pre)),
        (K_EPOCHS, ck.epochs_trained.to_string()),
        (K_CHECKSUM, sum),
    ]
    .into_iter()
    .collect();
    Ok(serialize(&named, &meta))
}

/// Writes the safetensors layout with every map in sorted order, so the same
/// model always gives the same bytes (the `safetensors` crate's writer takes
/// the metadata as a `HashMap` and emits it in random order).
fn serialize(named: &[(String, Vec<usize>, Vec<u8>)], meta: &BTreeMap<&str, String>) -> Vec<u8> {
    let mut header: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    header.insert("__metadata__".into(), serde_json::json!(meta));
    let mut offset = 0usize;
    for (name, shape, bytes) in named {
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes.len()]}),
        );
        offset += bytes.len();
    }
    let mut h = serde_json::to_string(&header)
        .expect("header serializes")
        .into_bytes();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + offset);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for (_, _, bytes) in named {
        out.extend_from_slice(bytes);
    }
    out
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializable")
}

fn parse_json<T: serde::de::DeserializeOwned>(
    meta: &HashMap<String, String>,
    key: &str,
) -> Result<T> {
    let s = meta
        .get(key)
        .ok_or_else(|| Error::checkpoint(format!("metadata '{key}' is missing")))?;
    serde_json::from_str(s).map_err(|e| Error::checkpoint(format!("metadata '{key}': {e}")))
}

/// Parses and validates a checkpoint from bytes.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<CheckpointData> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::checkpoint(format!(
            "not a readable safetensors file ({} bytes; truncated or corrupt?): {e}",
            bytes.len()
        ))
    })?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::checkpoint(format!("header: {e}")))?;
    let meta = header
        .metadata()
        .clone()
        .ok_or_else(|| Error::checkpoint("no scmosaic metadata (not an scmosaic checkpoint?)"))?;
    let version = meta.get(K_VERSION).ok_or_else(|| {
        Error::checkpoint("no scmosaic format version (not an scmosaic checkpoint?)")
    })?;
    let major = version.split('.').next().unwrap_or("");
    if major != MAJOR {
        return Err(Error::checkpoint(format!(
            "format version {version} is not supported by this build (reads {MAJOR}.x); \
             use scmosaic {} or a matching release",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let kind = meta
        .get(K_KIND)
        .ok_or_else(|| Error::checkpoint("metadata 'scmosaic.model_kind' is missing"))?;
    let config = meta
        .get(K_CONFIG)
        .ok_or_else(|| Error::checkpoint(format!("metadata '{K_CONFIG}' is missing")))
        .and_then(|s| {
            ModelConfig::from_stored_json(s)
                .map_err(|e| Error::checkpoint(format!("metadata '{K_CONFIG}': {e}")))
        })?;
    if config.model.as_str() != kind {
        return Err(Error::checkpoint(format!(
            "model kind '{kind}' does not match the stored config ('{}')",
            config.model.as_str()
        )));
    }
    config
        .validate_basic()
        .map_err(|e| Error::checkpoint(format!("stored config: {e}")))?;
    let schema: Schema = parse_json(&meta, K_SCHEMA)?;
    let mut pre: Preprocessing = parse_json(&meta, K_PRE)?;
    let epochs_trained: usize = meta
        .get(K_EPOCHS)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::checkpoint("metadata 'scmosaic.epochs_trained' is missing or bad"))?;
    let mut names: Vec<&str> = st.names().into_iter().collect();
    names.sort();
    let mut items = Vec::with_capacity(names.len());
    for name in &names {
        let v = st
            .tensor(name)
            .map_err(|e| Error::checkpoint(format!("tensor {name}: {e}")))?;
        if v.dtype() != Dtype::F32 {
            return Err(Error::checkpoint(format!(
                "tensor {name} has dtype {:?}, expected F32",
                v.dtype()
            )));
        }
        items.push((*name, v));
    }
    let want = meta
        .get(K_CHECKSUM)
        .ok_or_else(|| Error::checkpoint("metadata 'scmosaic.checksum' is missing"))?;
    let got = checksum(items.iter().map(|(n, v)| (*n, v.data())));
    if &got != want {
        return Err(Error::checkpoint(format!(
            "checksum mismatch (stored {want}, computed {got}): the file is corrupt"
        )));
    }
    let mut tensors = Vec::new();
    for (name, v) in items {
        let values: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(p) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::checkpoint(format!(
                "tensor {name} holds a non-finite value at position {p}"
            )));
        }
        if let Some(rest) = name.strip_prefix("model.") {
            tensors.push(NamedTensor {
                name: rest.to_string(),
                shape: v.shape().to_vec(),
                values,
            });
        } else if let Some(rest) = name.strip_prefix("preprocess.") {
            let idx: usize = rest
                .strip_suffix(".feature_fraction")
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| Error::checkpoint(format!("unexpected tensor {name}")))?;
            let m = pre
                .modalities
                .get_mut(idx)
                .ok_or_else(|| Error::checkpoint(format!("tensor {name}: no modality {idx}")))?;
            m.feature_fraction = values;
        } else {
            return Err(Error::checkpoint(format!("unexpected tensor {name}")));
        }
    }
    Ok(CheckpointData {
        config,
        schema,
        pre,
        epochs_trained,
        tensors,
    })
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder,
/// fsync, rename, fsync of the folder).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, || Ok(()))
}

/// [`write_atomic`] with a hook run after the temporary file is written and
/// synced, before the rename (tests inject an interruption there).
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".scmosaic-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    before_rename()?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        write_atomic(&path, b"first version").unwrap();
        let e = write_atomic_with(&path, b"second version, never completed", || {
            Err(Error::State("simulated interruption".into()))
        })
        .unwrap_err();
        assert!(e.to_string().contains("simulated"));
        assert_eq!(std::fs::read(&path).unwrap(), b"first version");
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "the temporary file was removed");
        write_atomic(&path, b"third").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
    }
}
