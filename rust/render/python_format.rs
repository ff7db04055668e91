//! Python-compatible text forms of template values.
//!
//! Chat templates were written against Jinja2 running on Python, so a value printed with `{{ }}` must look like
//! Python's `str()` (`True`, `None`, `{'a': 1}`), and `tojson` must produce exactly what transformers' filter
//! produces: `json.dumps(x, ensure_ascii=False)` with its default `", "` / `": "` separators.

use std::fmt::Write;

use minijinja::value::{Value, ValueKind};

/// Options of Python's `json.dumps` that chat templates pass to `tojson`.
#[derive(Debug, Clone)]
pub struct JsonOptions {
    pub ensure_ascii: bool,
    /// `None` keeps everything on one line; `Some(s)` puts each item on its own line indented by `s` per level.
    pub indent: Option<String>,
    pub item_separator: String,
    pub key_separator: String,
    pub sort_keys: bool,
    /// Output longer than this is refused: values can share parts, so a small value can print as exabytes.
    pub max_len: usize,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            ensure_ascii: false,
            indent: None,
            item_separator: ", ".into(),
            key_separator: ": ".into(),
            sort_keys: false,
            max_len: usize::MAX,
        }
    }
}

impl JsonOptions {
    /// Python switches the default item separator to `","` when an indent is given.
    pub fn with_indent(mut self, indent: Option<String>) -> Self {
        if indent.is_some() {
            self.item_separator = ",".into();
        }
        self.indent = indent;
        self
    }
}

/// `json.dumps(value, ...)`. Fails only on values JSON cannot hold (callables, raw bytes).
pub fn json_dumps(value: &Value, options: &JsonOptions) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, value, options, 0)?;
    Ok(out)
}

fn write_json(out: &mut String, value: &Value, options: &JsonOptions, depth: usize) -> Result<(), String> {
    check_len(out, options.max_len)?;
    match value.kind() {
        // transformers never passes undefined into json.dumps, but a template can (`foo.missing | tojson`);
        // Jinja2's Undefined is not JSON serializable either.
        ValueKind::Undefined => return Err("Object of type Undefined is not JSON serializable".into()),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value, true),
        ValueKind::String => write_json_string(out, value.as_str().unwrap_or_default(), options.ensure_ascii),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter().map_err(|e| e.to_string())?.collect();
            write_container(out, '[', ']', &items, options, depth, |out, item, depth| {
                write_json(out, item, options, depth)
            })?;
        }
        ValueKind::Map => {
            let mut entries = map_entries(value)?;
            if options.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            write_container(out, '{', '}', &entries, options, depth, |out, (key, item), depth| {
                write_json_string(out, key, options.ensure_ascii);
                out.push_str(&options.key_separator);
                write_json(out, item, options, depth)
            })?;
        }
        _ => return Err(format!("Object of type {} is not JSON serializable", value.kind())),
    }
    Ok(())
}

fn check_len(out: &str, max_len: usize) -> Result<(), String> {
    if out.len() > max_len {
        return Err(format!("the text would exceed the template's data budget of {max_len} bytes"));
    }
    Ok(())
}

fn write_container<T>(
    out: &mut String,
    open: char,
    close: char,
    items: &[T],
    options: &JsonOptions,
    depth: usize,
    mut write_item: impl FnMut(&mut String, &T, usize) -> Result<(), String>,
) -> Result<(), String> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    let newline = |out: &mut String, level: usize| {
        if let Some(indent) = &options.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(indent);
            }
        }
    };
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&options.item_separator);
        }
        newline(out, depth + 1);
        write_item(out, item, depth + 1)?;
    }
    newline(out, depth);
    out.push(close);
    Ok(())
}

/// Map entries with keys converted the way `json.dumps` converts them (str as is, numbers and bools as text).
fn map_entries(value: &Value) -> Result<Vec<(String, Value)>, String> {
    let mut entries = Vec::new();
    for key in value.try_iter().map_err(|e| e.to_string())? {
        let item = value.get_item(&key).unwrap_or(Value::UNDEFINED);
        let key = match key.kind() {
            ValueKind::String => key.as_str().unwrap_or_default().to_string(),
            ValueKind::None => "null".into(),
            ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).into(),
            ValueKind::Number => {
                let mut s = String::new();
                write_number(&mut s, &key, true);
                s
            }
            _ => return Err(format!("keys must be str, int, float, bool or None, not {}", key.kind())),
        };
        entries.push((key, item));
    }
    Ok(entries)
}

fn write_json_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{:04x}", unit).unwrap();
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Numbers as Python prints them; `json` selects `json.dumps`' spelling of non-finite floats.
fn write_number(out: &mut String, value: &Value, json: bool) {
    if let Ok(f) = f64::try_from(value.clone()) {
        if value.is_integer() {
            write!(out, "{}", value).unwrap();
        } else {
            out.push_str(&python_float_repr(f, json));
        }
    } else {
        write!(out, "{}", value).unwrap();
    }
}

/// `repr(float)`: the shortest digits that round-trip, in scientific notation when the exponent is below -4
/// or at least 16, otherwise positional with at least one decimal.
pub fn python_float_repr(f: f64, json: bool) -> String {
    if f.is_nan() {
        return if json { "NaN" } else { "nan" }.into();
    }
    if f.is_infinite() {
        let s = if json { "Infinity" } else { "inf" };
        return if f < 0.0 { format!("-{s}") } else { s.into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "-1.5e-5" or "1e16".
    let sci = format!("{:e}", f);
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1; // digits before the decimal point
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{sign}{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (int_part, frac_part) = digits.split_at(point as usize);
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Python's `str(value)`, which Jinja2 uses to print `{{ value }}`; fails past `max_len` bytes.
pub fn python_str(out: &mut String, value: &Value, max_len: usize) -> Result<(), String> {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::String => out.push_str(value.as_str().unwrap_or_default()),
        _ => python_repr(out, value, max_len)?,
    }
    check_len(out, max_len)
}

/// Python's `repr(value)` for the types chat templates see; fails past `max_len` bytes.
pub fn python_repr(out: &mut String, value: &Value, max_len: usize) -> Result<(), String> {
    check_len(out, max_len)?;
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(out, value, false),
        ValueKind::String => write_repr_string(out, value.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            out.push('[');
            if let Ok(items) = value.try_iter() {
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    python_repr(out, &item, max_len)?;
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    python_repr(out, &key, max_len)?;
                    out.push_str(": ");
                    python_repr(out, &value.get_item(&key).unwrap_or(Value::UNDEFINED), max_len)?;
                }
            }
            out.push('}');
        }
        _ => write!(out, "{}", value).unwrap(),
    }
    Ok(())
}

fn write_repr_string(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(out, "\\x{:02x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.25e-7, "-1.25e-07"),
            (0.0, "0.0"),
            (1e300, "1e+300"),
        ];
        for (f, expected) in cases {
            assert_eq!(python_float_repr(f, false), expected, "{f}");
        }
        assert_eq!(python_float_repr(f64::NAN, true), "NaN");
        assert_eq!(python_float_repr(f64::NEG_INFINITY, true), "-Infinity");
    }

    #[test]
    fn json_dumps_matches_python_defaults() {
        let value: Value = serde_json::from_str::<serde_json::Value>(
            r#"{"b": [1, 2.0, "x<>&'\"\n\u0001é"], "a": {"k": null, "t": true}, "e": [], "f": {}}"#,
        )
        .map(|v| Value::from(minijinja::value::Serde(v)))
        .unwrap();
        let plain = json_dumps(&value, &JsonOptions::default()).unwrap();
        assert_eq!(plain, r#"{"b": [1, 2.0, "x<>&'\"\n\u0001é"], "a": {"k": null, "t": true}, "e": [], "f": {}}"#);
        let indented = json_dumps(&value, &JsonOptions::default().with_indent(Some("  ".into()))).unwrap();
        assert_eq!(
            indented,
            "{\n  \"b\": [\n    1,\n    2.0,\n    \"x<>&'\\\"\\n\\u0001é\"\n  ],\n  \"a\": {\n    \"k\": null,\n    \"t\": true\n  },\n  \"e\": [],\n  \"f\": {}\n}"
        );
        let ascii = json_dumps(&Value::from("é😀"), &JsonOptions { ensure_ascii: true, ..Default::default() }).unwrap();
        assert_eq!(ascii, r#""\u00e9\ud83d\ude00""#);
        let limited = JsonOptions { max_len: 10, ..Default::default() };
        assert!(json_dumps(&value, &limited).is_err());
    }

    #[test]
    fn str_and_repr_match_python() {
        let value: Value =
            Value::from(minijinja::value::Serde(serde_json::json!({"a": [true, null, 1.5, "it's"], "b": "x"})));
        let mut out = String::new();
        python_str(&mut out, &value, usize::MAX).unwrap();
        assert_eq!(out, r#"{'a': [True, None, 1.5, "it's"], 'b': 'x'}"#);
    }
}
