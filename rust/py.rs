//! PyO3 bindings: conversions, GIL release and error mapping only. The Python facade (`sftmask/masker.py`) owns
//! the public API and its argument checking.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Value, ValueKind};
use numpy::IntoPyArray;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PySequence, PyString, PyTuple};

use crate::config::TokenizerFiles;
use crate::conversation::Conversation;
use crate::error::{catch_panic as no_panic, Error};
use crate::formats::{Part, RowOptions};
use crate::rows::{row_render_options, RowValues};
use crate::masker::{Encoded, Masker, RenderOptions};
use crate::policy::Policy;
use crate::template::Rendered;

create_exception!(sftmask, SftmaskError, PyValueError, "Base class of sftmask's errors; a subclass of ValueError.");
create_exception!(sftmask, TemplateError, SftmaskError, "The chat template raised, or could not be parsed or rendered.");
create_exception!(sftmask, InputError, SftmaskError, "A conversation is malformed (missing role, content of a wrong type, ...).");
create_exception!(sftmask, ConfigError, SftmaskError, "The tokenizer files are missing or cannot be understood.");
create_exception!(sftmask, TokenizerError, SftmaskError, "The tokenizer failed on a rendered text.");
create_exception!(
    sftmask,
    UntrainableError,
    SftmaskError,
    "The row leaves nothing to train: no trained message, every trained token truncated away, or too long under truncation='drop'."
);

/// Deeper nesting than this in a message is refused rather than risking the stack.
const MAX_NESTING: usize = 200;

pub fn to_py_err(err: Error) -> PyErr {
    match err {
        Error::Template(m) => TemplateError::new_err(m),
        Error::Input(m) => InputError::new_err(m),
        Error::Config(m) => ConfigError::new_err(m),
        Error::Tokenizer(m) => TokenizerError::new_err(m),
        Error::Untrainable(m) => UntrainableError::new_err(m),
    }
}

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
        return Ok(crate::conversation::map_value(entries));
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
        return Ok(crate::conversation::map_value(entries));
    }
    // numpy scalars and arrays (as `datasets` may hand them over), pydantic models.
    if obj.hasattr("dtype")? && obj.hasattr("tolist")? {
        return to_value_at(&obj.call_method0("tolist")?, depth + 1);
    }
    if obj.hasattr("model_dump")? {
        return to_value_at(&obj.call_method0("model_dump")?, depth + 1);
    }
    if let Ok(seq) = obj.cast::<PySequence>() {
        return seq.try_iter()?.map(|item| to_value_at(&item?, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::from);
    }
    Ok(Value::from(format!("<{}>", obj.get_type().name()?)))
}

pub fn render_options(add_generation_prompt: bool, template_kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<RenderOptions> {
    let mut options = RenderOptions { add_generation_prompt, ..Default::default() };
    if let Some(kwargs) = template_kwargs {
        for (k, v) in kwargs.iter() {
            options.template_kwargs.push((k.extract::<String>()?, to_value(&v)?));
        }
    }
    Ok(options)
}

/// A conversation given as its messages, or as a dataset row in any format (a mapping; `tools`, when given,
/// replaces the row's).
fn conversation(messages: &Bound<'_, PyAny>, tools: Option<&Bound<'_, PyAny>>) -> PyResult<Conversation> {
    let messages = to_value(messages)?;
    let tools = tools.map(to_value).transpose()?;
    if messages.kind() != ValueKind::Map {
        return Conversation::new(&messages, tools.as_ref()).map_err(to_py_err);
    }
    let options = RowOptions::default();
    let mut row = RowValues::from_object(&messages, &options).map_err(to_py_err)?;
    if let Some(tools) = tools {
        row.parts.retain(|(part, _)| *part != Part::Tools);
        row.parts.push((Part::Tools, tools));
    }
    row.conversation(&options).map_err(to_py_err)
}

/// `base` with the options of a Python mapping applied.
pub fn training_policy(base: &Policy, overrides: Option<&Bound<'_, PyDict>>) -> PyResult<Policy> {
    match overrides {
        Some(overrides) => base.with_overrides(&to_value(overrides.as_any())?).map_err(to_py_err),
        None => Ok(base.clone()),
    }
}

/// The native masker. Immutable once built, so one instance serves any number of threads.
#[pyclass(frozen, module = "sftmask._native", name = "Masker")]
pub struct PyMasker {
    inner: Arc<Masker>,
}

impl PyMasker {
    pub fn masker(&self) -> &Arc<Masker> {
        &self.inner
    }

    /// Renders a conversation given as Python objects, with the GIL released while the template runs.
    fn rendered(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        tools: Option<&Bound<'_, PyAny>>,
        add_generation_prompt: bool,
        template_kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Rendered> {
        let conversation = conversation(messages, tools)?;
        let options = render_options(add_generation_prompt, template_kwargs)?;
        let options = row_render_options(&options, &conversation);
        let masker = &self.inner;
        py.detach(|| no_panic(|| masker.render(&conversation, &options))).map_err(to_py_err)
    }
}

#[pymethods]
impl PyMasker {
    /// Loads `tokenizer.json`, `tokenizer_config.json` and `chat_template.jinja` from a directory.
    #[staticmethod]
    #[pyo3(signature = (path, chat_template=None, policy=None))]
    fn from_dir(
        py: Python<'_>,
        path: PathBuf,
        chat_template: Option<String>,
        policy: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyMasker> {
        let policy = training_policy(&Policy::default(), policy)?;
        let masker = py.detach(|| no_panic(|| Masker::from_dir(&path, chat_template.as_deref()))).map_err(to_py_err)?;
        Ok(PyMasker { inner: Arc::new(masker.with_policy(policy)) })
    }

    /// Builds a masker from file contents: `tokenizer.json` text, `tokenizer_config.json` text (or None).
    #[staticmethod]
    #[pyo3(signature = (tokenizer_json, tokenizer_config=None, chat_template=None, policy=None))]
    fn from_strings(
        py: Python<'_>,
        tokenizer_json: String,
        tokenizer_config: Option<String>,
        chat_template: Option<String>,
        policy: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyMasker> {
        let policy = training_policy(&Policy::default(), policy)?;
        let masker = py
            .detach(|| {
                no_panic(|| {
                    let config = match tokenizer_config {
                        Some(text) => serde_json::from_str(&text)
                            .map_err(|e| Error::Config(format!("tokenizer_config is not valid JSON: {e}")))?,
                        None => serde_json::Value::Object(Default::default()),
                    };
                    let files = TokenizerFiles { tokenizer_json, config, chat_template_file: None };
                    Masker::from_files(&files, chat_template.as_deref())
                })
            })
            .map_err(to_py_err)?;
        Ok(PyMasker { inner: Arc::new(masker.with_policy(policy)) })
    }

    /// Names of the chat templates this masker holds (`default`, `tool_use`, ...).
    fn template_names(&self) -> Vec<String> {
        self.inner.template_names().into_iter().map(String::from).collect()
    }

    /// Token ids of a text, as the chat template's output is tokenized (no special tokens added). With
    /// `full_pipeline=True` the `tokenizers` pipeline is used even where sftmask's faster path applies.
    #[pyo3(signature = (text, full_pipeline=false))]
    fn token_ids(&self, py: Python<'_>, text: &str, full_pipeline: bool) -> PyResult<Vec<u32>> {
        let tokenizer = self.inner.tokenizer();
        let tokens = py.detach(|| if full_pipeline { tokenizer.encode_full(text) } else { tokenizer.encode(text) });
        Ok(tokens.map_err(to_py_err)?.ids)
    }

    /// Whether this tokenizer takes sftmask's fast path (BPE configurations it reproduces exactly).
    fn has_fast_tokenizer(&self) -> bool {
        self.inner.tokenizer().has_fast_path()
    }

    /// The tokenizer's special added tokens (`<|im_end|>`, `</s>`, ...) and their ids.
    fn special_tokens(&self) -> Vec<(String, u32)> {
        let tokenizer = self.inner.tokenizer();
        let tokens = tokenizer.special_tokens().into_iter();
        tokens.filter_map(|token| tokenizer.token_to_id(&token).map(|id| (token, id))).collect()
    }

    /// Decodes token ids back to text with the tokenizer's decoder.
    #[pyo3(signature = (ids, skip_special_tokens=false))]
    fn decode(&self, ids: Vec<u32>, skip_special_tokens: bool) -> PyResult<String> {
        self.inner.tokenizer().decode(&ids, skip_special_tokens).map_err(to_py_err)
    }

    /// Whether the template used for a conversation (with or without tools) has `{% generation %}` tags.
    #[pyo3(signature = (has_tools=false))]
    fn has_generation_tags(&self, has_tools: bool) -> PyResult<bool> {
        Ok(self.inner.template_for(has_tools).map_err(to_py_err)?.has_generation_tags())
    }

    #[pyo3(signature = (messages, tools=None, add_generation_prompt=false, template_kwargs=None))]
    fn render(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        tools: Option<&Bound<'_, PyAny>>,
        add_generation_prompt: bool,
        template_kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<String> {
        Ok(self.rendered(py, messages, tools, add_generation_prompt, template_kwargs)?.text)
    }

    /// The rendered text and its `{% generation %}` spans, as `(start, end)` character offsets.
    #[pyo3(signature = (messages, tools=None, add_generation_prompt=false, template_kwargs=None))]
    fn render_spans(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        tools: Option<&Bound<'_, PyAny>>,
        add_generation_prompt: bool,
        template_kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(String, Vec<(usize, usize)>)> {
        let rendered = self.rendered(py, messages, tools, add_generation_prompt, template_kwargs)?;
        // Python indexes strings by character, not byte.
        let char_index = |byte: usize| rendered.text[..byte].chars().count();
        let spans = rendered.generation_spans.iter().map(|s| (char_index(s.start), char_index(s.end))).collect();
        Ok((rendered.text, spans))
    }

    /// Returns `(input_ids, labels)` as numpy arrays (int32, or int64 with `int64=True`). `policy` overrides options
    /// of the masker's policy for this call. With `completion`, the row is `prompt` + `completion` and `messages`
    /// is ignored.
    #[pyo3(signature = (messages, tools=None, add_generation_prompt=false, template_kwargs=None, int64=false, policy=None, prompt=None, completion=None))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        messages: &Bound<'py, PyAny>,
        tools: Option<&Bound<'py, PyAny>>,
        add_generation_prompt: bool,
        template_kwargs: Option<&Bound<'py, PyDict>>,
        int64: bool,
        policy: Option<&Bound<'py, PyDict>>,
        prompt: Option<&Bound<'py, PyAny>>,
        completion: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let conversation = match completion {
            Some(completion) => {
                let prompt = prompt.map(to_value).transpose()?.unwrap_or_default();
                let tools = tools.map(to_value).transpose()?;
                Conversation::from_prompt_completion(&prompt, &to_value(completion)?, tools.as_ref()).map_err(to_py_err)?
            }
            None => conversation(messages, tools)?,
        };
        let mut options = render_options(add_generation_prompt, template_kwargs)?;
        if policy.is_some() {
            options.policy = Some(training_policy(self.inner.policy(), policy)?);
        }
        let options = row_render_options(&options, &conversation);
        let masker = &self.inner;
        let Encoded { input_ids, labels, .. } =
            py.detach(|| no_panic(|| masker.encode(&conversation, &options))).map_err(to_py_err)?;
        Ok(if int64 {
            let ids: Vec<i64> = input_ids.into_iter().map(i64::from).collect();
            let labels: Vec<i64> = labels.into_iter().map(i64::from).collect();
            (ids.into_pyarray(py).into_any(), labels.into_pyarray(py).into_any())
        } else {
            let ids: Vec<i32> = input_ids.into_iter().map(|id| id as i32).collect();
            (ids.into_pyarray(py).into_any(), labels.into_pyarray(py).into_any())
        })
    }
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyMasker>()?;
    m.add("SftmaskError", py.get_type::<SftmaskError>())?;
    m.add("TemplateError", py.get_type::<TemplateError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("TokenizerError", py.get_type::<TokenizerError>())?;
    m.add("UntrainableError", py.get_type::<UntrainableError>())?;
    crate::py_batch::register(m)?;
    crate::py_pack::register(m)?;

    Ok(())
}
