//! Conversions between R objects and scmosaic values, and error helpers.

use extendr_api::prelude::*;
use extendr_api::{Error, Result};
use serde_json::{Map, Number, Value};

/// An R error with this message.
pub(crate) fn r_error(msg: impl Into<String>) -> Error {
    Error::Other(msg.into())
}

/// Turns scmosaic errors into R errors (the message names the category,
/// e.g. "invalid data: ...").
pub(crate) trait OrR<T> {
    fn or_r(self) -> Result<T>;
}

impl<T> OrR<T> for scmosaic::Result<T> {
    fn or_r(self) -> Result<T> {
        self.map_err(|e| r_error(e.to_string()))
    }
}

/// A named element of an R list.
pub(crate) fn field(list: &List, name: &str) -> Result<Robj> {
    list.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| r_error(format!("internal error: no field '{name}'")))
}

pub(crate) fn str_field(list: &List, name: &str) -> Result<String> {
    field(list, name)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| r_error(format!("internal error: field '{name}' is not a string")))
}

pub(crate) fn usize_field(list: &List, name: &str) -> Result<usize> {
    let v = field(list, name)?;
    let x = v
        .as_integer()
        .map(f64::from)
        .or_else(|| v.as_real())
        .ok_or_else(|| r_error(format!("internal error: field '{name}' is not a number")))?;
    if !(0.0..=(i32::MAX as f64)).contains(&x) || x.fract() != 0.0 {
        return Err(r_error(format!(
            "'{name}' must be a non-negative whole number, got {x}"
        )));
    }
    Ok(x as usize)
}

/// A character vector (no NA) as owned strings.
pub(crate) fn strings(x: &Robj, what: &str) -> Result<Vec<String>> {
    if !x.is_string() {
        return Err(r_error(format!("{what} must be a character vector")));
    }
    let s: Strings = x.clone().try_into()?;
    s.iter()
        .map(|r| {
            if r.is_na() {
                Err(r_error(format!("{what} must not contain NA")))
            } else {
                Ok(r.to_string())
            }
        })
        .collect()
}

/// Numeric (double or integer) values as `f32`, rejecting NA/NaN.
pub(crate) fn values_f32(x: &Robj, what: &str) -> Result<Vec<f32>> {
    if let Some(v) = x.as_real_slice() {
        if let Some(pos) = v.iter().position(|a| a.is_nan()) {
            return Err(r_error(format!(
                "{what} contains NA/NaN (stored value {})",
                pos + 1
            )));
        }
        Ok(v.iter().map(|&a| a as f32).collect())
    } else if let Some(v) = x.as_integer_slice() {
        if let Some(pos) = v.iter().position(|&a| a == i32::MIN) {
            return Err(r_error(format!(
                "{what} contains NA (stored value {})",
                pos + 1
            )));
        }
        Ok(v.iter().map(|&a| a as f32).collect())
    } else {
        Err(r_error(format!("{what} must be numeric")))
    }
}

/// Integer offsets / indices (non-negative).
pub(crate) fn indices<'a>(x: &'a Robj, what: &str) -> Result<&'a [i32]> {
    let v = x
        .as_integer_slice()
        .ok_or_else(|| r_error(format!("{what} must be an integer vector")))?;
    if let Some(pos) = v.iter().position(|&a| a < 0) {
        return Err(r_error(format!(
            "{what} has a negative or NA entry at position {}",
            pos + 1
        )));
    }
    Ok(v)
}

/// How R values become one kind of JSON object: its name in error messages
/// and the keys whose values are always JSON arrays, even when R gives one
/// value.
pub(crate) struct JsonShape {
    what: &'static str,
    arrays: &'static [&'static str],
}

/// A model configuration.
pub(crate) const CONFIG: JsonShape = JsonShape {
    what: "config",
    arrays: &["hidden", "p_modal", "covariates"],
};

/// The options of an imputation or embedding (`scmosaic::ImputeRequest`,
/// `scmosaic::EmbedRequest`).
pub(crate) const REQUEST: JsonShape = JsonShape {
    what: "option",
    arrays: &["features", "quantiles"],
};

/// A configuration given from R (named list = object, unnamed list = array,
/// vectors) as JSON.
pub(crate) fn to_json(x: &Robj, key: &str) -> Result<Value> {
    to_json_as(&CONFIG, x, key)
}

/// An R value (named list = object, unnamed list = array, vectors) as JSON
/// of the given shape.
pub(crate) fn to_json_as(shape: &JsonShape, x: &Robj, key: &str) -> Result<Value> {
    if x.is_null() {
        return Ok(Value::Null);
    }
    if x.is_list() {
        let list: List = x.clone().try_into()?;
        let names: Option<Vec<&str>> = x.names().map(|n| n.collect());
        return match names {
            Some(names) if !list.is_empty() => {
                let mut obj = Map::new();
                for (name, v) in names.iter().zip(list.values()) {
                    if name.is_empty() || *name == "NA" {
                        return Err(r_error(format!(
                            "{}: every element of '{key}' needs a name",
                            shape.what
                        )));
                    }
                    obj.insert(name.to_string(), to_json_as(shape, &v, name)?);
                }
                Ok(Value::Object(obj))
            }
            _ if list.is_empty() && key.is_empty() => Ok(Value::Object(Map::new())),
            _ => Ok(Value::Array(
                list.values()
                    .map(|v| to_json_as(shape, &v, key))
                    .collect::<Result<_>>()?,
            )),
        };
    }
    let what = if key.is_empty() { shape.what } else { key };
    let kind = shape.what;
    // A logical or integer element, `None` where it is NA (an error).
    let not_na = |v: Option<Value>| v.ok_or_else(|| r_error(format!("{kind} '{what}' is NA")));
    let items: Vec<Value> = if let Some(v) = x.as_logical_slice() {
        v.iter()
            .map(|b| not_na((!b.is_na()).then_some(Value::Bool(b.is_true()))))
            .collect::<Result<_>>()?
    } else if let Some(v) = x.as_integer_slice() {
        v.iter()
            .map(|&i| not_na((i != i32::MIN).then_some(Value::Number(i.into()))))
            .collect::<Result<_>>()?
    } else if let Some(v) = x.as_real_slice() {
        v.iter()
            .map(|&f| {
                if !f.is_finite() {
                    Err(r_error(format!("{kind} '{what}' must be finite, got {f}")))
                } else if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Ok(Value::Number((f as i64).into()))
                } else {
                    Number::from_f64(f)
                        .map(Value::Number)
                        .ok_or_else(|| r_error(format!("{kind} '{what}': bad number {f}")))
                }
            })
            .collect::<Result<_>>()?
    } else if x.is_string() {
        strings(x, &format!("{kind} '{what}'"))?
            .into_iter()
            .map(Value::String)
            .collect()
    } else {
        return Err(r_error(format!(
            "{kind} '{what}' has an unsupported type (use numbers, strings, logicals and lists)"
        )));
    };
    if items.len() == 1 && !shape.arrays.contains(&key) {
        Ok(items.into_iter().next().expect("one item"))
    } else {
        Ok(Value::Array(items))
    }
}

/// JSON as R values: objects become named lists, arrays of scalars vectors.
pub(crate) fn from_json(v: &Value) -> Robj {
    match v {
        Value::Null => ().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN).into(),
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            if items.iter().all(|i| i.is_number()) && !items.is_empty() {
                items
                    .iter()
                    .map(|i| i.as_f64().unwrap_or(f64::NAN))
                    .collect::<Vec<f64>>()
                    .into()
            } else if items.iter().all(|i| i.is_string()) && !items.is_empty() {
                items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_string())
                    .collect::<Vec<String>>()
                    .into()
            } else {
                List::from_values(items.iter().map(from_json)).into()
            }
        }
        Value::Object(map) => List::from_names_and_values(map.keys(), map.values().map(from_json))
            .map(Robj::from)
            .unwrap_or_else(|_| ().into()),
    }
}
