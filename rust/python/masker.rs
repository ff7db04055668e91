//! The native masker class: loading, rendering and encoding one row, with the GIL released.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::config::TokenizerFiles;
use crate::error::{catch_panic as no_panic, Error};
use crate::input::conversation::{Conversation, Row};
use crate::labels::Encoded;
use crate::masker::Masker;
use crate::policy::Policy;
use crate::python::convert::{prompt_completion, render_options, row, training_policy};
use crate::python::errors::to_py_err;
use crate::render::template::Rendered;
use crate::vision::media::Source;
use crate::vision::VisionRow;

/// `encode`'s result: `input_ids`, `labels`, and a row with images' other columns.
type EncodedRow<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Option<Bound<'py, PyDict>>);

/// `(message index, start, end)`: a range of a located turn, in characters.
type TurnSpan = (usize, usize, usize);

/// An image or frame as `datasets` gives an `Image`: `{"bytes": ..., "path": ...}`.
fn source_dict<'py>(py: Python<'py>, source: &Source) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match source {
        Source::Bytes(bytes) => dict.set_item("bytes", PyBytes::new(py, bytes))?,
        _ => dict.set_item("bytes", py.None())?,
    }
    match source {
        Source::Path(path) => dict.set_item("path", path)?,
        _ => dict.set_item("path", py.None())?,
    }
    Ok(dict)
}

/// A row's images as `encode` returns them: the columns `encode_batch` writes, for one row.
fn vision_dict<'py>(py: Python<'py>, vision: &VisionRow) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let images =
        vision.images.iter().flat_map(|m| &m.sources).map(|s| source_dict(py, s)).collect::<PyResult<Vec<_>>>()?;
    dict.set_item("images", images)?;
    let sizes: Vec<[u32; 2]> = vision.images.iter().map(|m| [m.size.height, m.size.width]).collect();
    dict.set_item("image_sizes", sizes)?;
    dict.set_item("image_grid_thw", vision.image_grid_thw.to_vec())?;
    let videos = vision
        .videos
        .iter()
        .map(|m| m.sources.iter().map(|s| source_dict(py, s)).collect::<PyResult<Vec<_>>>())
        .collect::<PyResult<Vec<_>>>()?;
    dict.set_item("videos", videos)?;
    dict.set_item("video_grid_thw", vision.video_grid_thw.to_vec())?;
    dict.set_item("num_image_tokens", vision.num_image_tokens)?;
    Ok(dict)
}

/// A row given as Python objects that must be a chat: a prompt-completion row of two strings has no render.
fn chat_row(messages: &Bound<'_, PyAny>, tools: Option<&Bound<'_, PyAny>>) -> PyResult<Conversation> {
    match row(messages, tools)? {
        Row::Chat(conversation) => Ok(conversation),
        Row::Plain(_) => Err(to_py_err(Error::Input(
            "a prompt-completion row of two strings is plain text, encoded without the chat template: it has no \
             render"
                .into(),
        ))),
    }
}

/// Character offsets of byte offsets of `text` (Python indexes strings by character): offsets given in increasing
/// order take one walk through the text for all of them.
fn char_indexer(text: &str) -> impl FnMut(usize) -> usize + '_ {
    let (mut byte, mut chars) = (0, 0);
    move |to: usize| {
        if to < byte {
            (byte, chars) = (0, 0);
        }
        chars += text[byte..to].chars().count();
        byte = to;
        chars
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
        let conversation = chat_row(messages, tools)?;
        let options = render_options(add_generation_prompt, template_kwargs)?;
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
                    let files = TokenizerFiles { tokenizer_json, config, chat_template_file: None, processor: None };
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

    /// The variables the chat templates read without setting them (`messages`, `enable_thinking`, ...), sorted.
    fn template_variables(&self) -> Vec<String> {
        self.inner.template_variables()
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
        let spans = {
            let mut char_index = char_indexer(&rendered.text);
            rendered.generation_spans.iter().map(|s| (char_index(s.start), char_index(s.end))).collect()
        };
        Ok((rendered.text, spans))
    }

    /// The rendered text and the turn of each message the policy trains, located without `{% generation %}` tags
    /// (`mode="turns"`): `(message index, start, end)` character offsets, one entry per range of a turn.
    #[pyo3(signature = (messages, tools=None, template_kwargs=None, policy=None))]
    fn located_turns(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        tools: Option<&Bound<'_, PyAny>>,
        template_kwargs: Option<&Bound<'_, PyDict>>,
        policy: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(String, Vec<TurnSpan>)> {
        let conversation = chat_row(messages, tools)?;
        let options = render_options(false, template_kwargs)?;
        let policy = policy.map(|policy| training_policy(self.inner.policy(), Some(policy))).transpose()?;
        let masker = &self.inner;
        let (text, turns) = py
            .detach(|| no_panic(|| masker.located_turns(&conversation, &options, policy.as_ref())))
            .map_err(to_py_err)?;
        let spans = {
            let mut char_index = char_indexer(&text);
            let ranges = turns.iter().flat_map(|(k, ranges)| ranges.iter().map(move |r| (*k, r.clone())));
            ranges.map(|(k, r)| (k, char_index(r.start), char_index(r.end))).collect()
        };
        Ok((text, spans))
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
    ) -> PyResult<EncodedRow<'py>> {
        let row = match completion {
            Some(completion) => prompt_completion(prompt, completion, tools)?,
            None => row(messages, tools)?,
        };
        let options = render_options(add_generation_prompt, template_kwargs)?;
        let policy = policy.map(|policy| training_policy(self.inner.policy(), Some(policy))).transpose()?;
        let masker = &self.inner;
        let Encoded { input_ids, labels, vision, .. } =
            py.detach(|| no_panic(|| masker.encode(&row, &options, policy.as_ref()))).map_err(to_py_err)?;
        let vision = vision.map(|vision| vision_dict(py, &vision)).transpose()?;
        Ok(if int64 {
            let ids: Vec<i64> = input_ids.into_iter().map(i64::from).collect();
            let labels: Vec<i64> = labels.into_iter().map(i64::from).collect();
            (ids.into_pyarray(py).into_any(), labels.into_pyarray(py).into_any(), vision)
        } else {
            let ids: Vec<i32> = input_ids.into_iter().map(|id| id as i32).collect();
            (ids.into_pyarray(py).into_any(), labels.into_pyarray(py).into_any(), vision)
        })
    }
}
