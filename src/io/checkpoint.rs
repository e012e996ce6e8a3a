//! The checkpoint format: one `.safetensors` file (full description, version
//! history and the integrity rule: `docs/checkpoint-format.md`).
//!
//! Tensors: `model.<module path>` (every weight, batch-norm statistic and
//! output constant) and `preprocess.<modality index>.feature_fraction`.
//! Header metadata (all strings):
//!
//! | key | value |
//! |---|---|
//! | `scmosaic.format_version` | `MAJOR.MINOR` (this build writes [`FORMAT_VERSION`]; an unknown major is rejected) |
//! | `scmosaic.model_kind` | `scvaeit` or `multigrate` |
//! | `scmosaic.crate_version` | version of the writing library |
//! | `scmosaic.config` | resolved model config (JSON) |
//! | `scmosaic.schema` | modalities, features, blocks, covariate levels (JSON) |
//! | `scmosaic.preprocessing` | transforms and median libraries (JSON) |
//! | `scmosaic.epochs_trained` | integer |
//! | `scmosaic.checksum` | CRC-32 of all tensor names and bytes, in name order (hex; the 1.0 rule, kept so that 1.0 readers load newer files) |
//! | `scmosaic.integrity` | since 1.1: `crc32:` and the CRC-32 of every other metadata entry and every tensor (name, dtype, shape, bytes), in a canonical order ([`integrity`]) |
//!
//! Loading checks `scmosaic.integrity` whenever it is present, before any
//! other entry is interpreted, and requires it in every file whose version is
//! not `1.0`; files of format 1.0 (scmosaic 0.1.0) have only the tensor
//! checksum and are checked with that rule. CRC-32 detects accidental damage
//! (every burst of up to 32 bits, any other change with probability
//! 1 - 2^-32); it is not a signature and does not protect against deliberate
//! changes.
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
///
/// History: `1.0` (scmosaic 0.1.0): CRC-32 of the tensors only
/// (`scmosaic.checksum`); `1.1`: adds `scmosaic.integrity`, which covers every
/// metadata entry and every tensor.
pub const FORMAT_VERSION: &str = "1.1";
const MAJOR: &str = "1";
/// The one version read with the tensor-only checksum rule.
const TENSOR_ONLY_VERSION: &str = "1.0";
/// Prefix of the `scmosaic.integrity` value (names the algorithm).
const INTEGRITY_PREFIX: &str = "crc32:";

const K_VERSION: &str = "scmosaic.format_version";
const K_KIND: &str = "scmosaic.model_kind";
const K_CRATE: &str = "scmosaic.crate_version";
const K_CONFIG: &str = "scmosaic.config";
const K_SCHEMA: &str = "scmosaic.schema";
const K_PRE: &str = "scmosaic.preprocessing";
const K_EPOCHS: &str = "scmosaic.epochs_trained";
const K_CHECKSUM: &str = "scmosaic.checksum";
const K_INTEGRITY: &str = "scmosaic.integrity";

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

/// The format-1.0 checksum: CRC-32 of each tensor's name and bytes, in name
/// order (no separators; metadata not covered).
fn checksum<'a>(items: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = crc32fast::Hasher::new();
    for (name, bytes) in items {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    format!("{:08x}", h.finalize())
}

/// One tensor as the integrity check sees it.
struct TensorEntry<'a> {
    name: &'a str,
    dtype: String,
    shape: &'a [usize],
    data: &'a [u8],
}

/// The `scmosaic.integrity` value (format 1.1 and later): `crc32:` and the
/// CRC-32 (IEEE, lower-case hex) of this byte stream, every length and count
/// a little-endian `u64`:
///
/// 1. the number of metadata entries other than `scmosaic.integrity`, then
///    each one in byte order of its key: key length, key, value length, value
///    (the strings as parsed from the JSON header);
/// 2. the number of tensors, then each one in byte order of its name: name
///    length, name, dtype length, dtype as written in the header (`F32`),
///    number of dimensions, each dimension, data length, data bytes.
///
/// The lengths make the stream unambiguous, so a change to any key, value,
/// name, dtype, shape or data byte changes the stream.
fn integrity<'a>(
    meta: impl IntoIterator<Item = (&'a str, &'a str)>,
    tensors: &[TensorEntry<'_>],
) -> String {
    let mut meta: Vec<(&str, &str)> = meta
        .into_iter()
        .filter(|(k, _)| *k != K_INTEGRITY)
        .collect();
    meta.sort_unstable();
    let mut order: Vec<&TensorEntry> = tensors.iter().collect();
    order.sort_unstable_by(|a, b| a.name.cmp(b.name));
    let mut h = crc32fast::Hasher::new();
    let num = |h: &mut crc32fast::Hasher, n: usize| h.update(&(n as u64).to_le_bytes());
    let bytes = |h: &mut crc32fast::Hasher, b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    num(&mut h, meta.len());
    for (k, v) in meta {
        bytes(&mut h, k.as_bytes());
        bytes(&mut h, v.as_bytes());
    }
    num(&mut h, order.len());
    for t in order {
        bytes(&mut h, t.name.as_bytes());
        bytes(&mut h, t.dtype.as_bytes());
        num(&mut h, t.shape.len());
        for &d in t.shape {
            num(&mut h, d);
        }
        bytes(&mut h, t.data);
    }
    format!("{INTEGRITY_PREFIX}{:08x}", h.finalize())
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
    let mut meta: BTreeMap<&str, String> = [
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
    let entries: Vec<TensorEntry> = named
        .iter()
        .map(|(name, shape, data)| TensorEntry {
            name,
            dtype: Dtype::F32.to_string(),
            shape,
            data,
        })
        .collect();
    let check = integrity(meta.iter().map(|(k, v)| (*k, v.as_str())), &entries);
    meta.insert(K_INTEGRITY, check);
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
///
/// The integrity check runs before any metadata is interpreted, so a damaged
/// file is reported as corrupt rather than as, say, a bad config.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<CheckpointData> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::checkpoint(format!(
            "not a readable safetensors file ({} bytes): the file is truncated or corrupt, \
             or not a checkpoint: {e}",
            bytes.len()
        ))
    })?;
    let (header_len, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::checkpoint(format!("header: {e}: the file is truncated or corrupt")))?;
    // Only spaces may pad the header (the one part of the file that neither
    // check covers; every writer of safetensors pads with spaces).
    let json_header = &bytes[8..8 + header_len];
    let end = json_header
        .iter()
        .rposition(|&b| b == b'}')
        .map_or(0, |i| i + 1);
    if json_header[end..].iter().any(|&b| b != b' ') {
        return Err(Error::checkpoint(
            "the header is padded with bytes other than spaces: the file is corrupt",
        ));
    }
    let meta = header.metadata().clone().ok_or_else(|| {
        Error::checkpoint(
            "no scmosaic metadata: not an scmosaic checkpoint, or the file is corrupt",
        )
    })?;
    let mut names: Vec<&str> = st.names().into_iter().collect();
    names.sort();
    let mut items = Vec::with_capacity(names.len());
    for name in &names {
        let v = st
            .tensor(name)
            .map_err(|e| Error::checkpoint(format!("tensor {name}: {e}: the file is corrupt")))?;
        items.push((*name, v));
    }
    let version = meta.get(K_VERSION);
    let supported = version.is_some_and(|v| v.split('.').next() == Some(MAJOR));
    let unsupported = |why: &str| {
        Error::checkpoint(format!(
            "format version {} is not supported by this build (reads {MAJOR}.x){why}",
            version.map_or("?", |v| v.as_str()),
        ))
    };
    // 1.1 and later: everything is covered; checked whenever present.
    let verified = match meta.get(K_INTEGRITY) {
        Some(want) => {
            let entries: Vec<TensorEntry> = items
                .iter()
                .map(|(name, v)| TensorEntry {
                    name,
                    dtype: v.dtype().to_string(),
                    shape: v.shape(),
                    data: v.data(),
                })
                .collect();
            let got = integrity(meta.iter().map(|(k, v)| (k.as_str(), v.as_str())), &entries);
            if &got != want {
                if !supported {
                    return Err(unsupported(
                        ": written by a newer scmosaic, or the file is corrupt \
                         (its integrity check fails)",
                    ));
                }
                return Err(Error::checkpoint(format!(
                    "integrity check failed (stored {want}, computed {got}): the file is corrupt \
                     (changed after it was written)"
                )));
            }
            true
        }
        None => false,
    };
    let Some(version) = version else {
        return Err(Error::checkpoint(
            "no scmosaic format version: not an scmosaic checkpoint, or the file is corrupt",
        ));
    };
    if !supported {
        return Err(unsupported(&if verified {
            format!("; use a newer scmosaic than {}", env!("CARGO_PKG_VERSION"))
        } else {
            format!(
                "; written by a newer scmosaic than {}, or the file is corrupt",
                env!("CARGO_PKG_VERSION")
            )
        }));
    }
    if !verified && version != TENSOR_ONLY_VERSION {
        return Err(Error::checkpoint(format!(
            "metadata '{K_INTEGRITY}' is missing from a format {version} file: the file is corrupt"
        )));
    }
    // The 1.0 rule (tensors only); 1.1 files keep this entry for 1.0 readers.
    match meta.get(K_CHECKSUM) {
        Some(want) => {
            let got = checksum(items.iter().map(|(n, v)| (*n, v.data())));
            if &got != want {
                return Err(Error::checkpoint(format!(
                    "checksum mismatch (stored {want}, computed {got}): the file is corrupt"
                )));
            }
        }
        None if !verified => {
            return Err(Error::checkpoint(
                "metadata 'scmosaic.checksum' is missing: the file is corrupt",
            ))
        }
        None => {}
    }
    for (name, v) in &items {
        if v.dtype() != Dtype::F32 {
            return Err(Error::checkpoint(format!(
                "tensor {name} has dtype {:?}, expected F32",
                v.dtype()
            )));
        }
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

    /// A tiny file with one tensor, the 1.0 checksum and, when asked, the
    /// integrity entry computed for `integrity_version` (then the version
    /// entry is set to `version`, which may differ).
    fn raw(version: &str, integrity_version: Option<&str>) -> Vec<u8> {
        let named = vec![("model.w".to_string(), vec![2], le_bytes(&[1.0, 2.0]))];
        let mut meta: BTreeMap<&str, String> = [
            (K_KIND, "scvaeit".to_string()),
            (
                K_CHECKSUM,
                checksum(named.iter().map(|(n, _, b)| (n.as_str(), b.as_slice()))),
            ),
        ]
        .into_iter()
        .collect();
        if let Some(v) = integrity_version {
            meta.insert(K_VERSION, v.to_string());
            let entries: Vec<TensorEntry> = named
                .iter()
                .map(|(name, shape, data)| TensorEntry {
                    name,
                    dtype: "F32".into(),
                    shape,
                    data,
                })
                .collect();
            let check = integrity(meta.iter().map(|(k, v)| (*k, v.as_str())), &entries);
            meta.insert(K_INTEGRITY, check);
        }
        meta.insert(K_VERSION, version.to_string());
        serialize(&named, &meta)
    }

    fn err(bytes: &[u8]) -> String {
        match from_bytes(bytes) {
            Err(e @ Error::Checkpoint(_)) => e.to_string(),
            other => panic!("expected a checkpoint error, got {other:?}"),
        }
    }

    #[test]
    fn integrity_rules_by_version() {
        // A file that passes the integrity check gets as far as the config.
        let e = err(&raw("1.1", Some("1.1")));
        assert!(e.contains("'scmosaic.config' is missing"), "{e}");
        // 1.1 without the integrity entry: corrupt (the entry's key damaged).
        let e = err(&raw("1.1", None));
        assert!(
            e.contains("'scmosaic.integrity' is missing") && e.contains("corrupt"),
            "{e}"
        );
        let e = err(&raw("1.x", None));
        assert!(e.contains("corrupt"), "{e}");
        // 1.0 without it: the old rule, tensors only.
        let e = err(&raw("1.0", None));
        assert!(e.contains("'scmosaic.config' is missing"), "{e}");
        // A 1.1 file relabelled 1.0 is still checked (the entry is present).
        let e = err(&raw("1.0", Some("1.1")));
        assert!(
            e.contains("integrity check failed") && e.contains("corrupt"),
            "{e}"
        );
        // A genuine newer major: not called corrupt.
        let e = err(&raw("2.0", Some("2.0")));
        assert!(e.contains("format version 2.0 is not supported"), "{e}");
        assert!(
            e.contains("use a newer scmosaic") && !e.contains("corrupt"),
            "{e}"
        );
        // A damaged version string, or a newer file with another rule.
        let e = err(&raw("2.0", Some("1.1")));
        assert!(e.contains("not supported") && e.contains("corrupt"), "{e}");
        let e = err(&raw("2.0", None));
        assert!(e.contains("not supported") && e.contains("corrupt"), "{e}");
    }

    #[test]
    fn header_padding_must_be_spaces() {
        let good = raw("1.1", Some("1.1"));
        let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        let json = std::str::from_utf8(&good[8..8 + n]).unwrap().trim_end();
        for pad in ["        ", "\t       ", "       \n", " \r"] {
            let mut bytes = ((json.len() + pad.len()) as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(json.as_bytes());
            bytes.extend_from_slice(pad.as_bytes());
            bytes.extend_from_slice(&good[8 + n..]);
            let e = err(&bytes);
            if pad.trim().is_empty() && !pad.contains(['\t', '\n', '\r']) {
                assert!(e.contains("'scmosaic.config' is missing"), "{e}");
            } else {
                assert!(
                    e.contains("padded") && e.contains("corrupt"),
                    "{pad:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn integrity_stream_separates_fields() {
        let t = |name: &'static str, shape: &'static [usize], data: &'static [u8]| TensorEntry {
            name,
            dtype: "F32".into(),
            shape,
            data,
        };
        let base = integrity([("ab", "c")], &[t("x", &[1], &[0, 0, 0, 0])]);
        assert!(base.starts_with("crc32:") && base.len() == 14, "{base}");
        for other in [
            integrity([("a", "bc")], &[t("x", &[1], &[0, 0, 0, 0])]),
            integrity([("ab", "c"), ("d", "")], &[t("x", &[1], &[0, 0, 0, 0])]),
            integrity([("ab", "c")], &[t("x", &[1, 1], &[0, 0, 0, 0])]),
            integrity([("ab", "c")], &[t("y", &[1], &[0, 0, 0, 0])]),
            integrity([("ab", "c")], &[t("x", &[1], &[0, 0, 0, 1])]),
            integrity(
                [("ab", "c")],
                &[TensorEntry {
                    dtype: "I32".into(),
                    ..t("x", &[1], &[0, 0, 0, 0])
                }],
            ),
        ] {
            assert_ne!(base, other);
        }
        // Order of the inputs and the entry itself do not matter.
        assert_eq!(
            integrity([("ab", "c"), ("d", "e")], &[]),
            integrity([("d", "e"), (K_INTEGRITY, "crc32:0"), ("ab", "c")], &[])
        );
    }

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
