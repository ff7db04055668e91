//! Where the rows of a batch come from: Python objects, Arrow columns, or JSON Lines text. Each source turns row i
//! into a [`Conversation`] on demand, so that reading a row happens on the worker thread that encodes it.

use std::convert::Infallible;

use arrow::array::ArrayRef;
use minijinja::value::Value;

use crate::arrow_values::value_at;
use crate::conversation::Conversation;
use crate::error::{Error, Result};

/// Conversations to encode, addressed by row number.
pub trait Rows: Sync {
    fn len(&self) -> usize;
    fn conversation(&self, row: usize) -> Result<Conversation>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a row holds: its messages, or a prompt and its completion (each a string or a list of messages).
#[derive(Debug, Clone)]
pub enum Body<T> {
    Messages(T),
    PromptCompletion { prompt: Option<T>, completion: T },
}

impl<T> Body<T> {
    /// The part every row has: its messages, or its completion.
    pub fn main(&self) -> &T {
        match self {
            Body::Messages(main) | Body::PromptCompletion { completion: main, .. } => main,
        }
    }

    /// The same body with `f` applied to each part (a column becomes a row's cell, an index a column, ...).
    pub fn try_map<U, E>(&self, mut f: impl FnMut(&T) -> std::result::Result<U, E>) -> std::result::Result<Body<U>, E> {
        Ok(match self {
            Body::Messages(messages) => Body::Messages(f(messages)?),
            Body::PromptCompletion { prompt, completion } => {
                Body::PromptCompletion { prompt: prompt.as_ref().map(&mut f).transpose()?, completion: f(completion)? }
            }
        })
    }

    /// [`Body::try_map`] for a function that cannot fail.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Body<U> {
        match self.try_map(|part| Ok::<U, Infallible>(f(part))) {
            Ok(body) => body,
            Err(never) => match never {},
        }
    }
}

/// One row's values: its body and its tools.
#[derive(Debug, Clone)]
pub struct RowValues {
    pub body: Body<Value>,
    pub tools: Option<Value>,
}

impl RowValues {
    pub fn conversation(&self) -> Result<Conversation> {
        match &self.body {
            Body::Messages(messages) => Conversation::new(messages, self.tools.as_ref()),
            Body::PromptCompletion { prompt, completion } => {
                let prompt = prompt.clone().unwrap_or_default();
                Conversation::from_prompt_completion(&prompt, completion, self.tools.as_ref())
            }
        }
    }
}

/// Rows already converted to template values (from Python objects); a row that failed conversion keeps its error.
pub struct ValueRows(pub Vec<Result<RowValues>>);

impl Rows for ValueRows {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn conversation(&self, row: usize) -> Result<Conversation> {
        self.0[row].as_ref().map_err(Clone::clone)?.conversation()
    }
}

/// The names of the columns (or JSON fields) rows are read from.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "python", derive(pyo3::FromPyObject), pyo3(from_item_all))]
pub struct ColumnNames {
    pub messages: String,
    pub tools: String,
    pub prompt: String,
    pub completion: String,
}

impl Default for ColumnNames {
    fn default() -> ColumnNames {
        let name = String::from;
        ColumnNames { messages: name("messages"), tools: name("tools"), prompt: name("prompt"), completion: name("completion") }
    }
}

/// Rows as JSON Lines text: line i is row i, parsed when the row is encoded (so on the worker threads).
pub struct JsonLineRows<'a> {
    lines: Vec<&'a [u8]>,
    columns: ColumnNames,
}

impl<'a> JsonLineRows<'a> {
    pub fn new(text: &'a [u8], columns: ColumnNames) -> JsonLineRows<'a> {
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let lines = if text.is_empty() { Vec::new() } else { text.split(|&b| b == b'\n').collect() };
        JsonLineRows { lines, columns }
    }

    fn values(&self, row: usize) -> Result<RowValues> {
        let line = self.lines[row].trim_ascii();
        if line.is_empty() {
            return Err(Error::Input("empty line".into()));
        }
        let value = serde_json::from_slice(line).map_err(|e| Error::Input(format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(mut object) = value else {
            return Err(Error::Input("a row must be a JSON object".into()));
        };
        let mut take = |name: &str| object.remove(name).map(|v| Value::from(minijinja::value::Serde(v)));
        let names = &self.columns;
        let body = match (take(&names.messages), take(&names.completion)) {
            (Some(messages), _) => Body::Messages(messages),
            (None, Some(completion)) => Body::PromptCompletion { prompt: take(&names.prompt), completion },
            (None, None) => {
                return Err(Error::Input(format!("the row has no '{}' field (nor '{}')", names.messages, names.completion)))
            }
        };
        Ok(RowValues { body, tools: take(&names.tools) })
    }
}

impl Rows for JsonLineRows<'_> {
    fn len(&self) -> usize {
        self.lines.len()
    }

    fn conversation(&self, row: usize) -> Result<Conversation> {
        self.values(row)?.conversation()
    }
}

/// The columns of one chunk of an Arrow table: the body's and the tools'.
pub struct ChunkColumns {
    pub body: Body<ArrayRef>,
    pub tools: Option<ArrayRef>,
}

impl ChunkColumns {
    fn len(&self) -> usize {
        self.body.main().len()
    }

    fn values(&self, row: usize) -> Result<RowValues> {
        let cell = |column: &ArrayRef| value_at(column.as_ref(), row);
        Ok(RowValues { body: self.body.try_map(cell)?, tools: self.tools.as_ref().map(cell).transpose()? })
    }
}

/// The columns of an Arrow table, possibly in several chunks.
pub struct ArrowRows {
    chunks: Vec<ChunkColumns>,
    /// Row number at which each chunk starts.
    starts: Vec<usize>,
    len: usize,
}

impl ArrowRows {
    pub fn new(chunks: Vec<ChunkColumns>) -> ArrowRows {
        let mut starts = Vec::with_capacity(chunks.len());
        let mut len = 0;
        for chunk in &chunks {
            starts.push(len);
            len += chunk.len();
        }
        ArrowRows { chunks, starts, len }
    }
}

impl Rows for ArrowRows {
    fn len(&self) -> usize {
        self.len
    }

    fn conversation(&self, row: usize) -> Result<Conversation> {
        let chunk = self.starts.partition_point(|&start| start <= row) - 1;
        self.chunks[chunk].values(row - self.starts[chunk])?.conversation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{encode_rows, OnError};
    use crate::config::TokenizerFiles;
    use crate::masker::{Masker, RenderOptions};

    fn demo_masker() -> Masker {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo");
        Masker::from_files(&TokenizerFiles::read_dir(&dir).unwrap(), None).unwrap()
    }

    #[test]
    fn json_lines_are_rows_and_bad_lines_their_errors() {
        let text = b"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n\
                     \n{\"messages\": [\n[1, 2]\n{\"completion\": \"plain\"}\n{\"other\": 1}\n";
        let rows = JsonLineRows::new(text, ColumnNames::default());
        assert_eq!(rows.len(), 6);
        let batch = encode_rows(&demo_masker(), &rows, &RenderOptions::default(), OnError::Skip, 1).unwrap();
        let errors: Vec<(usize, String)> = batch.errors.iter().map(|e| (e.row, e.error.message().to_string())).collect();
        assert_eq!(batch.rows_out(), 2);
        assert_eq!(errors[0], (1, "empty line".into()));
        assert_eq!(errors[1].0, 2);
        assert!(errors[1].1.starts_with("not valid JSON: EOF while parsing"), "{}", errors[1].1);
        assert_eq!(errors[2], (3, "a row must be a JSON object".into()));
        assert_eq!(errors[3], (5, "the row has no 'messages' field (nor 'completion')".into()));
    }

    #[test]
    fn arrow_prompt_completion_cells_are_plain_text_and_a_null_prompt_is_empty() {
        use crate::conversation::PlainText;
        use arrow::array::StringArray;
        use std::sync::Arc;
        let chunk = || ChunkColumns {
            body: Body::PromptCompletion {
                prompt: Some(Arc::new(StringArray::from(vec![Some("Q: 2+2?"), None])) as ArrayRef),
                completion: Arc::new(StringArray::from(vec![" 4", "[1]"])),
            },
            tools: None,
        };
        let rows = ArrowRows::new(vec![chunk(), chunk()]);
        assert_eq!(rows.len(), 4);
        let plain = |row| rows.conversation(row).unwrap().plain.unwrap();
        assert_eq!(plain(2), PlainText { prompt: "Q: 2+2?".into(), completion: " 4".into() });
        // Text is never parsed as JSON.
        assert_eq!(plain(3), PlainText { prompt: "".into(), completion: "[1]".into() });
    }
}
