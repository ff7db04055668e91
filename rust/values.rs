//! Template values built by hand: ordered mappings and parsed JSON.

use minijinja::value::Value;

use crate::error::{Error, Result};

/// A mapping value that keeps the entries' order, as Python dicts do. A key given twice keeps its first position
/// and its last value.
pub fn map_value<K: Into<Value>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::from(entries.into_iter().map(|(k, v)| (k.into(), v)).collect::<indexmap::IndexMap<Value, Value>>())
}

/// Parses JSON text into a template value, keeping key order.
pub fn parse_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|v| Value::from(minijinja::value::Serde(v)))
        .map_err(|e| Error::Input(format!("{what} is not valid JSON: {e}")))
}
