//! Encoding many conversations in parallel, with a per-row error policy, into flat buffers ready for Arrow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::ArrayRef;
use minijinja::value::Value;
use rayon::prelude::*;
use rayon::ThreadPool;

use crate::arrow_values::value_at;
use crate::conversation::Conversation;
use crate::error::{catch_panic, Error, Result};
use crate::masker::{Encoded, Masker, RenderOptions};

/// Rows are encoded in blocks this large, so memory holds one block of intermediate results at a time.
const BLOCK_ROWS: usize = 4096;

/// What to do with a row that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Fail the whole batch with the first failing row's error, naming the row.
    Raise,
    /// Leave the row out of the output and record why.
    Skip,
    /// Keep the row with null outputs and record why.
    Null,
}

impl std::str::FromStr for OnError {
    type Err = Error;

    fn from_str(s: &str) -> Result<OnError> {
        match s {
            "raise" => Ok(OnError::Raise),
            "skip" => Ok(OnError::Skip),
            "null" => Ok(OnError::Null),
            other => Err(Error::Input(format!("on_error must be 'raise', 'skip' or 'null', got '{other}'"))),
        }
    }
}

/// A row that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub error: Error,
}

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
        match &self.body {
            Body::Messages(column) | Body::PromptCompletion { completion: column, .. } => column.len(),
        }
    }

    fn values(&self, row: usize) -> Result<RowValues> {
        let cell = |column: &ArrayRef| value_at(column.as_ref(), row);
        let body = match &self.body {
            Body::Messages(messages) => Body::Messages(cell(messages)?),
            Body::PromptCompletion { prompt, completion } => {
                Body::PromptCompletion { prompt: prompt.as_ref().map(cell).transpose()?, completion: cell(completion)? }
            }
        };
        Ok(RowValues { body, tools: self.tools.as_ref().map(cell).transpose()? })
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

/// Encoded rows as flat buffers: the layout of Arrow `list<int32>` columns.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    pub input_ids: Vec<i32>,
    pub labels: Vec<i32>,
    /// `offsets[i]..offsets[i + 1]` are row i's tokens; `len() == rows + 1`.
    pub offsets: Vec<i32>,
    pub num_tokens: Vec<i32>,
    pub num_trained_tokens: Vec<i32>,
    /// Per output row: false where the row failed under [`OnError::Null`]. Empty when every row is valid.
    pub valid: Vec<bool>,
    pub rows_in: usize,
    pub errors: Vec<RowError>,
    /// Rows that `max_length` cut.
    pub truncated: usize,
}

impl EncodedBatch {
    pub fn rows_out(&self) -> usize {
        self.offsets.len() - 1
    }

    fn push(&mut self, encoded: &Encoded) -> Result<()> {
        let trained = encoded.num_trained_tokens();
        self.input_ids.extend(encoded.input_ids.iter().map(|&id| id as i32));
        self.labels.extend_from_slice(&encoded.labels);
        let end = i32::try_from(self.input_ids.len())
            .map_err(|_| Error::Input("a batch holds more than 2^31 tokens: pass smaller batches".into()))?;
        self.offsets.push(end);
        self.num_tokens.push(encoded.input_ids.len() as i32);
        self.num_trained_tokens.push(trained as i32);
        self.truncated += usize::from(encoded.truncated);
        if !self.valid.is_empty() {
            self.valid.push(true);
        }
        Ok(())
    }

    fn push_null(&mut self) {
        let rows = self.rows_out();
        if self.valid.is_empty() {
            self.valid = vec![true; rows];
        }
        self.valid.push(false);
        self.offsets.push(*self.offsets.last().unwrap_or(&0));
        self.num_tokens.push(0);
        self.num_trained_tokens.push(0);
    }
}

/// Encodes every row on `threads` threads, keeping row order.
pub fn encode_rows(
    masker: &Masker,
    rows: &dyn Rows,
    options: &RenderOptions,
    on_error: OnError,
    threads: usize,
) -> Result<EncodedBatch> {
    let pool = thread_pool(threads)?;
    let mut batch = EncodedBatch { offsets: vec![0], rows_in: rows.len(), ..Default::default() };
    for block_start in (0..rows.len()).step_by(BLOCK_ROWS) {
        let block = block_start..(block_start + BLOCK_ROWS).min(rows.len());
        let results: Vec<Result<Encoded>> = pool.install(|| {
            block
                .clone()
                .into_par_iter()
                .map(|row| catch_panic(|| masker.encode(&rows.conversation(row)?, options)))
                .collect()
        });
        for (row, result) in block.zip(results) {
            match result {
                Ok(encoded) => batch.push(&encoded)?,
                Err(error) => match on_error {
                    OnError::Raise => return Err(error.context(format_args!("row {row}"))),
                    OnError::Skip => batch.errors.push(RowError { row, error }),
                    OnError::Null => {
                        batch.errors.push(RowError { row, error });
                        batch.push_null();
                    }
                },
            }
        }
    }
    Ok(batch)
}

/// The default thread count: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// One pool per thread count, built on first use and kept, so repeated batches pay no start-up. Pools are also
/// keyed by process id: a process forked from this one (`datasets.map(num_proc=...)`, multiprocessing) inherits
/// the pools but not their threads, and must build its own.
fn thread_pool(threads: usize) -> Result<Arc<ThreadPool>> {
    type Pools = HashMap<(u32, usize), Arc<ThreadPool>>;
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let threads = if threads == 0 { default_threads() } else { threads };
    let key = (std::process::id(), threads);
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = pools.get(&key) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sftmask-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.insert(key, pool.clone());
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenizerFiles;

    fn demo_masker() -> Masker {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo");
        Masker::from_files(&TokenizerFiles::read_dir(&dir).unwrap(), None).unwrap()
    }

    fn rows(json: serde_json::Value) -> ValueRows {
        let rows = json.as_array().unwrap().iter().map(|m| {
            Ok(RowValues { body: Body::Messages(Value::from(minijinja::value::Serde(m.clone()))), tools: None })
        });
        ValueRows(rows.collect())
    }

    fn sample() -> ValueRows {
        rows(serde_json::json!([
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            [{"content": "no role"}],
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        ]))
    }

    #[test]
    fn batch_equals_row_by_row_in_order() {
        let masker = demo_masker();
        let rows = rows(serde_json::json!([
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}],
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        ]));
        let batch = encode_rows(&masker, &rows, &RenderOptions::default(), OnError::Raise, 2).unwrap();
        assert_eq!(batch.rows_out(), 2);
        for row in 0..2 {
            let single = masker.encode(&rows.conversation(row).unwrap(), &RenderOptions::default()).unwrap();
            let range = batch.offsets[row] as usize..batch.offsets[row + 1] as usize;
            let ids: Vec<u32> = batch.input_ids[range.clone()].iter().map(|&i| i as u32).collect();
            assert_eq!(ids, single.input_ids);
            assert_eq!(batch.labels[range], single.labels[..]);
            assert_eq!(batch.num_trained_tokens[row] as usize, single.num_trained_tokens());
        }
        assert!(batch.valid.is_empty());
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
    fn raise_names_the_row() {
        let err = encode_rows(&demo_masker(), &sample(), &RenderOptions::default(), OnError::Raise, 1).unwrap_err();
        assert_eq!(err, Error::Input("row 1: message 0: field 'role' is missing".into()));
    }

    #[test]
    fn skip_leaves_the_row_out_and_records_it() {
        let batch = encode_rows(&demo_masker(), &sample(), &RenderOptions::default(), OnError::Skip, 1).unwrap();
        assert_eq!((batch.rows_in, batch.rows_out()), (3, 2));
        assert_eq!(batch.errors.len(), 1);
        assert_eq!(batch.errors[0].row, 1);
    }

    #[test]
    fn null_keeps_the_row_with_null_outputs() {
        let mut rows = sample();
        rows.0.extend(sample().0);
        let batch = encode_rows(&demo_masker(), &rows, &RenderOptions::default(), OnError::Null, 1).unwrap();
        assert_eq!(batch.rows_out(), 6);
        assert_eq!(batch.valid, [true, false, true, true, false, true]);
        assert_eq!(batch.offsets[1], batch.offsets[2]);
    }
}
