//! Encoding many conversations in parallel, with a per-row error policy, into flat buffers ready for Arrow.

pub mod arrow;
pub mod pack;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::error::{catch_panic, Error, Result};
use crate::input::formats::Format;
use crate::input::rows::Rows;
use crate::labels::Encoded;
use crate::masker::{Expansion, Lost, Masker, RenderOptions};
use crate::policy::{History, Policy};
use crate::vision::VisionRow;

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

impl OnError {
    pub fn name(self) -> &'static str {
        match self {
            OnError::Raise => "raise",
            OnError::Skip => "skip",
            OnError::Null => "null",
        }
    }
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
    /// Rows encoded, by the dataset format they were read in.
    pub formats: Vec<(Format, usize)>,
    /// The policy's `history`: whether rows may be expanded, and the source columns written.
    pub history: History,
    /// Per output row, the input row it came from and the message of its one trained turn (-1 for a row trained
    /// as rendered); written as columns when `history` may expand rows.
    pub source_rows: Vec<i32>,
    pub source_messages: Vec<i32>,
    /// Input rows written as one row per trained turn.
    pub rows_expanded: usize,
    /// Tokens the encoded input rows have rendered once, as `history="as_rendered"` writes them.
    pub tokens_as_rendered: usize,
    /// Trained text the output leaves out (reasoning a template drops from history).
    pub lost: Lost,
    /// For a vision-language model, per output row, its images and videos (None for a row without, or failed).
    pub vision: Option<VisionColumns>,
}

/// What a vision-language model's batch writes beside the tokens.
#[derive(Debug, Default)]
pub struct VisionColumns {
    pub rows: Vec<Option<Box<VisionRow>>>,
    /// Whether the family's images have grids (`image_grid_thw`), and whether it takes videos.
    pub grids: bool,
    pub videos: bool,
}

impl VisionColumns {
    pub fn num_image_tokens(&self) -> usize {
        self.rows.iter().flatten().map(|row| row.num_image_tokens).sum()
    }
}

impl EncodedBatch {
    pub fn rows_out(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn tokens_out(&self) -> usize {
        self.input_ids.len()
    }

    /// Adds input row `row`'s encodings.
    fn push_expansion(&mut self, row: usize, expansion: Expansion, format: Format) -> Result<()> {
        match self.formats.iter_mut().find(|(f, _)| *f == format) {
            Some((_, count)) => *count += 1,
            None => self.formats.push((format, 1)),
        }
        self.rows_expanded += usize::from(expansion.rows.first().is_some_and(|(message, _)| message.is_some()));
        self.tokens_as_rendered += expansion.tokens_as_rendered;
        self.lost.messages += expansion.lost.messages;
        self.lost.tokens += expansion.lost.tokens;
        for (message, encoded) in expansion.rows {
            self.push(encoded, row, message.map_or(-1, |m| m as i32))?;
        }
        Ok(())
    }

    fn push(&mut self, encoded: Encoded, row: usize, message: i32) -> Result<()> {
        self.source_rows.push(row as i32);
        self.source_messages.push(message);
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
        if let Some(vision) = &mut self.vision {
            vision.rows.push(encoded.vision);
        }
        Ok(())
    }

    fn push_null(&mut self, row: usize) {
        self.source_rows.push(row as i32);
        self.source_messages.push(-1);
        let rows = self.rows_out();
        if self.valid.is_empty() {
            self.valid = vec![true; rows];
        }
        self.valid.push(false);
        self.offsets.push(*self.offsets.last().unwrap_or(&0));
        self.num_tokens.push(0);
        self.num_trained_tokens.push(0);
        if let Some(vision) = &mut self.vision {
            vision.rows.push(None);
        }
    }
}

/// Encodes every row on `threads` threads, keeping row order, under `policy` (the masker's when None).
pub fn encode_rows(
    masker: &Masker,
    rows: &dyn Rows,
    options: &RenderOptions,
    policy: Option<&Policy>,
    on_error: OnError,
    threads: usize,
) -> Result<EncodedBatch> {
    let pool = thread_pool(threads)?;
    let history = policy.unwrap_or(masker.policy()).history;
    let vision = masker.vision().ok().map(|vision| VisionColumns {
        grids: vision.has_grids(),
        videos: vision.takes_videos(),
        ..Default::default()
    });
    let mut batch = EncodedBatch { offsets: vec![0], rows_in: rows.len(), history, vision, ..Default::default() };
    for block_start in (0..rows.len()).step_by(BLOCK_ROWS) {
        let block = block_start..(block_start + BLOCK_ROWS).min(rows.len());
        let encode = |row: usize| -> Result<(Expansion, Format)> {
            let row = rows.row(row)?;
            Ok((masker.encode_history(&row, options, policy)?, row.format()))
        };
        let results: Vec<Result<(Expansion, Format)>> =
            pool.install(|| block.clone().into_par_iter().map(|row| catch_panic(|| encode(row))).collect());
        for (row, result) in block.zip(results) {
            match result {
                Ok((expansion, format)) => batch.push_expansion(row, expansion, format)?,
                Err(error) => match on_error {
                    OnError::Raise => return Err(error.context(format_args!("row {row}"))),
                    OnError::Skip => batch.errors.push(RowError { row, error }),
                    OnError::Null => {
                        batch.errors.push(RowError { row, error });
                        batch.push_null(row);
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
    use crate::input::formats::Part;
    use crate::input::rows::{RowValues, ValueRows};
    use minijinja::value::Value;

    fn demo_masker() -> Masker {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo");
        Masker::from_files(&TokenizerFiles::read_dir(&dir).unwrap(), None).unwrap()
    }

    fn rows(json: serde_json::Value) -> ValueRows {
        let rows = json.as_array().unwrap().iter().map(|m| {
            Ok(RowValues {
                format: Format::Messages,
                parts: vec![(Part::Messages, Value::from(minijinja::value::Serde(m.clone())))],
            })
        });
        ValueRows { rows: rows.collect(), options: Default::default() }
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
        let batch = encode_rows(&masker, &rows, &RenderOptions::default(), None, OnError::Raise, 2).unwrap();
        assert_eq!(batch.rows_out(), 2);
        for row in 0..2 {
            let single = masker.encode(&rows.row(row).unwrap(), &RenderOptions::default(), None).unwrap();
            let range = batch.offsets[row] as usize..batch.offsets[row + 1] as usize;
            let ids: Vec<u32> = batch.input_ids[range.clone()].iter().map(|&i| i as u32).collect();
            assert_eq!(ids, single.input_ids);
            assert_eq!(batch.labels[range], single.labels[..]);
            assert_eq!(batch.num_trained_tokens[row] as usize, single.num_trained_tokens());
        }
        assert!(batch.valid.is_empty());
    }

    #[test]
    fn per_turn_rows_say_where_they_came_from() {
        // Drops the reasoning of turns before the last user message, as Qwen3's template does.
        let template = "{%- set ns = namespace(q=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}\
            {%- set ns.q = loop.index0 %}{%- endif %}{%- endfor %}{%- for m in messages %}<|im_start|>{{ m.role }}\n\
            {%- if m.reasoning_content and loop.index0 > ns.q %}<think>{{ m.reasoning_content }}</think>{%- endif %}\
            {{ m.content }}<|im_end|>\n{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}";
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo");
        let masker = Masker::from_files(&TokenizerFiles::read_dir(&dir).unwrap(), Some(template)).unwrap();
        let rows = rows(serde_json::json!([
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "reasoning_content": "think b"},
             {"role": "user", "content": "c"}, {"role": "assistant", "content": "d", "reasoning_content": "think d"}],
        ]));
        let encode = |history| {
            let policy = Policy { history, ..Policy::default() };
            encode_rows(&masker, &rows, &RenderOptions::default(), Some(&policy), OnError::Raise, 1).unwrap()
        };
        let as_rendered = encode(History::AsRendered);
        assert_eq!((as_rendered.rows_out(), as_rendered.rows_expanded), (2, 0));
        assert_eq!(as_rendered.lost.messages, 1);
        assert!(as_rendered.lost.tokens > 0);
        let auto = encode(History::Auto);
        assert_eq!((auto.source_rows.as_slice(), auto.source_messages.as_slice()), (&[0, 1, 1][..], &[-1, 1, 3][..]));
        assert_eq!((auto.rows_expanded, auto.lost), (1, Lost::default()));
        assert_eq!(auto.tokens_as_rendered, as_rendered.tokens_out());
        assert!(auto.tokens_out() > auto.tokens_as_rendered);
        let per_turn = encode(History::PerTurn);
        assert_eq!(per_turn.source_messages, [1, 1, 3]);
        assert_eq!(per_turn.rows_expanded, 2);
    }

    #[test]
    fn raise_names_the_row() {
        let err =
            encode_rows(&demo_masker(), &sample(), &RenderOptions::default(), None, OnError::Raise, 1).unwrap_err();
        assert_eq!(err, Error::Input("row 1: message 0: field 'role' is missing".into()));
    }

    #[test]
    fn skip_leaves_the_row_out_and_records_it() {
        let batch = encode_rows(&demo_masker(), &sample(), &RenderOptions::default(), None, OnError::Skip, 1).unwrap();
        assert_eq!((batch.rows_in, batch.rows_out()), (3, 2));
        assert_eq!(batch.errors.len(), 1);
        assert_eq!(batch.errors[0].row, 1);
    }

    #[test]
    fn null_keeps_the_row_with_null_outputs() {
        let mut rows = sample();
        rows.rows.extend(sample().rows);
        let batch = encode_rows(&demo_masker(), &rows, &RenderOptions::default(), None, OnError::Null, 1).unwrap();
        assert_eq!(batch.rows_out(), 6);
        assert_eq!(batch.valid, [true, false, true, true, false, true]);
        assert_eq!(batch.offsets[1], batch.offsets[2]);
    }
}
