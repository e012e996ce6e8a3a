//! `scm_config`: an opaque model configuration, set from JSON and typed
//! setters so that new options never change the ABI.

use super::error::{scm_status, FfiError};
use super::{arg, emit, out_arg, release, str_arg, write_str, Locked};
use crate::ModelConfig;
use serde_json::Value;
use std::ffi::c_char;

/// A model configuration (every setting of a model; the keys and their
/// defaults are in docs/configuration.md). Create with `scm_config_new` or
/// `scm_config_from_json`, free with `scm_config_free`.
pub struct scm_config {
    pub(crate) inner: Locked<ModelConfig>,
}

impl scm_config {
    pub(crate) fn snapshot(&self) -> Result<ModelConfig, FfiError> {
        Ok(self.inner.lock("config")?.clone())
    }
}

fn apply(cfg: &scm_config, patch: Value) -> Result<(), FfiError> {
    let mut held = cfg.inner.lock("config")?;
    let next = held.merged(patch)?;
    *held = next;
    Ok(())
}

/// The patch setting `key` (a dotted path) to `value`; a malformed key is an
/// invalid argument.
fn keyed(key: &str, value: Value) -> Result<Value, FfiError> {
    crate::config::patch_at(key, value).map_err(|e| match e {
        crate::Error::InvalidConfig(m) => FfiError::invalid_arg(m),
        other => other.into(),
    })
}

/// Creates a configuration with every setting at its default.
#[no_mangle]
pub unsafe extern "C" fn scm_config_new(out: *mut *mut scm_config) -> scm_status {
    super::guard(|| {
        out_arg(out, "out")?;
        emit(
            out,
            scm_config {
                inner: Locked::new(ModelConfig::default()),
            },
        );
        Ok(())
    })
}

/// Creates a configuration from a JSON object; keys not given keep their
/// defaults, unknown keys are errors (`SCM_STATUS_INVALID_CONFIG`).
#[no_mangle]
pub unsafe extern "C" fn scm_config_from_json(
    json: *const c_char,
    out: *mut *mut scm_config,
) -> scm_status {
    super::guard(|| {
        let json = str_arg(json, "json")?;
        out_arg(out, "out")?;
        let cfg = ModelConfig::from_json(json)?;
        emit(
            out,
            scm_config {
                inner: Locked::new(cfg),
            },
        );
        Ok(())
    })
}

/// Merges a JSON object into the configuration (nested objects are merged,
/// other values replaced), e.g. `{"latent_dim": 16, "train": {"epochs": 50}}`.
/// On error the configuration is unchanged.
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_json(
    config: *mut scm_config,
    json: *const c_char,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let json = str_arg(json, "json")?;
        let patch: Value = serde_json::from_str(json).map_err(|e| {
            FfiError::new(
                scm_status::SCM_STATUS_INVALID_CONFIG,
                format!("config JSON: {e}"),
            )
        })?;
        if !patch.is_object() {
            return Err(FfiError::new(
                scm_status::SCM_STATUS_INVALID_CONFIG,
                "config JSON must be an object",
            ));
        }
        apply(cfg, patch)
    })
}

/// Sets an integer option by dotted key (`"latent_dim"`, `"train.epochs"`,
/// `"train.seed"`, `"inference.n_draws"`, ...). On error the configuration is
/// unchanged.
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_int(
    config: *mut scm_config,
    key: *const c_char,
    value: i64,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let key = str_arg(key, "key")?;
        apply(cfg, keyed(key, Value::from(value))?)
    })
}

/// Sets a real-valued option by dotted key (`"beta_kl"`,
/// `"train.learning_rate"`, ...). NaN and infinities are rejected.
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_double(
    config: *mut scm_config,
    key: *const c_char,
    value: f64,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let key = str_arg(key, "key")?;
        let v = serde_json::Number::from_f64(value)
            .ok_or_else(|| FfiError::invalid_arg(format!("{key}: {value} is not finite")))?;
        apply(cfg, keyed(key, Value::Number(v))?)
    })
}

/// Sets a boolean option by dotted key (`"skip_conn"`, ...); 0 = false, any
/// other value = true.
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_bool(
    config: *mut scm_config,
    key: *const c_char,
    value: i32,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let key = str_arg(key, "key")?;
        apply(cfg, keyed(key, Value::Bool(value != 0))?)
    })
}

/// Sets a string option by dotted key (`"inference.batch_norm"`, ...).
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_string(
    config: *mut scm_config,
    key: *const c_char,
    value: *const c_char,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let key = str_arg(key, "key")?;
        let value = str_arg(value, "value")?;
        apply(cfg, keyed(key, Value::from(value))?)
    })
}

/// Sets the option at a dotted key to a JSON value of any type (e.g. key
/// `"hidden"`, value `"[256, 128]"`; key `"multigrate.alignment"`, value
/// `"\"mmd\""`; `"null"` unsets an optional setting). On error the
/// configuration is unchanged.
#[no_mangle]
pub unsafe extern "C" fn scm_config_set_value_json(
    config: *mut scm_config,
    key: *const c_char,
    value_json: *const c_char,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let key = str_arg(key, "key")?;
        let json = str_arg(value_json, "value_json")?;
        let value: Value = serde_json::from_str(json).map_err(|e| {
            FfiError::new(
                scm_status::SCM_STATUS_INVALID_CONFIG,
                format!("config value for '{key}': {e}"),
            )
        })?;
        apply(cfg, keyed(key, value)?)
    })
}

/// Writes the configuration as JSON (every setting, defaults included) into
/// `buf` (see the string protocol: `buf = NULL` asks for the size in `*len`).
#[no_mangle]
pub unsafe extern "C" fn scm_config_to_json(
    config: *const scm_config,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> scm_status {
    super::guard(|| {
        let cfg = arg(config, "config")?;
        let json = cfg.inner.lock("config")?.to_json();
        write_str(&json, buf, cap, len)
    })
}

/// Frees a configuration (NULL is accepted).
#[no_mangle]
pub unsafe extern "C" fn scm_config_free(config: *mut scm_config) {
    release(config)
}
