//! Python objects to the core's values: template values, render options, conversations, policies.

use minijinja::value::{Value, ValueKind};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PySequence, PyString, PyTuple};

use crate::input::conversation::{Conversation, Row};
use crate::input::formats::{Part, RowOptions};
use crate::input::rows::RowValues;
use crate::masker::RenderOptions;
use crate::policy::Policy;
use crate::python::errors::{to_py_err, InputError};
use crate::values::map_value;

/// Deeper nesting than this in a message is refused rather than risking the stack.
const MAX_NESTING: usize = 200;

/// Converts Python data (dicts, lists, str, numbers, None, ...) into template values, as transformers'
/// `_plain_template_data` does: anything that is not plain data becomes a placeholder naming its type.
pub fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_value_at(obj, 0)
}

fn to_value_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_NESTING {
        return Err(InputError::new_err(format!("data is nested more than {MAX_NESTING} levels deep")));
    }
    if obj.is_none() {
        return Ok(Value::from(()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::from(s)),
            Err(_) => Err(InputError::new_err(
                "a string is not valid Unicode (it holds a lone surrogate), so it cannot be tokenized",
            )),
        };
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::from_bytes(b.as_bytes().to_vec())); // an image's encoded file
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::from(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<i128>() {
            return Ok(Value::from(v));
        }
        return Ok(Value::from(i.str()?.to_str()?));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::from(f.value()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            entries.push((to_value_at(&k, depth + 1)?, to_value_at(&v, depth + 1)?));
        }
        return Ok(map_value(entries));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|item| to_value_at(&item, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::from);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|item| to_value_at(&item, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::from);
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        let mut entries = Vec::new();
        for item in m.items()?.iter() {
            let (k, v): (Bound<PyAny>, Bound<PyAny>) = item.extract()?;
            entries.push((to_value_at(&k, depth + 1)?, to_value_at(&v, depth + 1)?));
        }
        return Ok(map_value(entries));
    }
    // numpy scalars and arrays (as `datasets` may hand them over), pydantic models.
    if obj.hasattr("dtype")? && obj.hasattr("tolist")? {
        return to_value_at(&obj.call_method0("tolist")?, depth + 1);
    }
    if obj.hasattr("model_dump")? {
        return to_value_at(&obj.call_method0("model_dump")?, depth + 1);
    }
    if let Ok(seq) = obj.cast::<PySequence>() {
        return seq
            .try_iter()?
            .map(|item| to_value_at(&item?, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::from);
    }
    Ok(Value::from(format!("<{}>", obj.get_type().name()?)))
}

pub fn render_options(
    add_generation_prompt: bool,
    template_kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<RenderOptions> {
    let mut options = RenderOptions { add_generation_prompt, ..Default::default() };
    if let Some(kwargs) = template_kwargs {
        for (k, v) in kwargs.iter() {
            options.template_kwargs.push((k.extract::<String>()?, to_value(&v)?));
        }
    }
    Ok(options)
}

/// A row given as its messages, or as a dataset row in any format (a mapping; `tools`, when given, replaces the
/// row's).
pub fn row(messages: &Bound<'_, PyAny>, tools: Option<&Bound<'_, PyAny>>) -> PyResult<Row> {
    let messages = to_value(messages)?;
    let tools = tools.map(to_value).transpose()?;
    if messages.kind() != ValueKind::Map {
        return Ok(Row::Chat(Conversation::new(&messages, tools.as_ref()).map_err(to_py_err)?));
    }
    let options = RowOptions::default();
    let mut row = RowValues::from_object(&messages, &options).map_err(to_py_err)?;
    if let Some(tools) = tools {
        row.parts.retain(|(part, _)| *part != Part::Tools);
        row.parts.push((Part::Tools, tools));
    }
    row.row(&options).map_err(to_py_err)
}

/// A prompt-completion row given as its two parts.
pub fn prompt_completion(
    prompt: Option<&Bound<'_, PyAny>>,
    completion: &Bound<'_, PyAny>,
    tools: Option<&Bound<'_, PyAny>>,
) -> PyResult<Row> {
    let prompt = prompt.map(to_value).transpose()?.unwrap_or_default();
    let tools = tools.map(to_value).transpose()?;
    Row::from_prompt_completion(&prompt, &to_value(completion)?, tools.as_ref()).map_err(to_py_err)
}

/// `base` with the options of a Python mapping applied.
pub fn training_policy(base: &Policy, options: Option<&Bound<'_, PyDict>>) -> PyResult<Policy> {
    let Some(options) = options else { return Ok(base.clone()) };
    let options = serde_json::to_value(to_value(options.as_any())?).map_err(|e| InputError::new_err(e.to_string()))?;
    base.with_options(&options).map_err(to_py_err)
}
