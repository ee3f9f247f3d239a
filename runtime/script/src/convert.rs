//! `Dynamic` ⇄ `Value`: the one place Rhai values meet the model's.

use rhai::{Array, Dynamic, ImmutableString, Map};
use xsh_sim::Value;

/// A model value as a Rhai value.
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Unit => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Int(i) => Dynamic::from_int(*i),
        Value::Float(f) => Dynamic::from_float(*f),
        Value::Str(s) => Dynamic::from(ImmutableString::from(&**s)),
        Value::List(l) => Dynamic::from_array(l.iter().map(to_dynamic).collect()),
        Value::Map(m) => {
            let mut map = Map::new();
            for (k, v) in m {
                map.insert(k.as_ref().into(), to_dynamic(v));
            }
            Dynamic::from_map(map)
        }
    }
}

/// A Rhai value as a model value (functions and custom types become strings).
pub fn from_dynamic(d: &Dynamic) -> Value {
    if d.is_unit() {
        Value::Unit
    } else if let Ok(b) = d.as_bool() {
        Value::Bool(b)
    } else if let Ok(i) = d.as_int() {
        Value::Int(i)
    } else if let Ok(f) = d.as_float() {
        Value::Float(f)
    } else if d.is_string() {
        Value::str(d.clone().into_string().unwrap_or_default())
    } else if d.is_array() {
        let a: Array = d.clone().into_array().unwrap_or_default();
        Value::List(a.iter().map(from_dynamic).collect())
    } else if d.is_map() {
        let m = d.clone().cast::<Map>();
        Value::Map(
            m.iter()
                .map(|(k, v)| (k.as_str().into(), from_dynamic(v)))
                .collect(),
        )
    } else {
        Value::str(d.to_string())
    }
}

/// A list of strings as a Rhai array.
pub fn str_array<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Dynamic {
    Dynamic::from_array(
        items
            .into_iter()
            .map(|s| Dynamic::from(ImmutableString::from(s.into())))
            .collect(),
    )
}
