//! Where the rows of a batch come from: Python objects, Arrow columns, or JSON Lines text. Each source turns row i
//! into a [`Row`] on demand, so that reading a row happens on the worker thread that encodes it.

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{FieldRef, Schema};
use minijinja::value::{Value, ValueKind};

use crate::error::{Error, Result};
use crate::input::arrow_values::{field_value, is_conversation_type};
use crate::input::conversation::{Conversation, Row};
pub use crate::input::formats::ColumnNames;
use crate::input::formats::{no_format, text_part, Format, Part, RowOptions};
use crate::values::map_value;

/// Conversations to encode, addressed by row number.
pub trait Rows: Sync {
    fn len(&self) -> usize;
    fn row(&self, row: usize) -> Result<Row>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One row's values: its format and the parts of it that are present (a null cell counts as absent).
#[derive(Debug, Clone)]
pub struct RowValues {
    pub format: Format,
    pub parts: Vec<(Part, Value)>,
}

impl RowValues {
    /// A row given as one mapping (a JSON object, a Python dict): its format is found from its fields.
    pub fn from_object(object: &Value, options: &RowOptions) -> Result<RowValues> {
        let names = &options.columns;
        if object.kind() != ValueKind::Map {
            return Err(Error::Input(format!("got {}: {}", object.kind(), no_format(names, &[], "field"))));
        }
        let keys: Vec<Value> = object.try_iter().map_err(|e| Error::Input(e.to_string()))?.collect();
        let present: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        let (format, fields) = options.columns_to_read(&present, "field")?;
        let parts = fields.into_iter().filter_map(|(part, name)| {
            let value = object.get_attr(name).ok().filter(|v| !v.is_undefined())?;
            Some((part, value))
        });
        Ok(RowValues { format, parts: parts.collect() })
    }

    fn part(&self, part: Part) -> Option<&Value> {
        self.parts.iter().find(|(p, v)| *p == part && !v.is_none()).map(|(_, v)| v)
    }

    /// The row to encode: each format's parts become messages (or, for two strings, plain text).
    pub fn row(&self, options: &RowOptions) -> Result<Row> {
        let roles = &options.roles;
        let tools = self.part(Part::Tools);
        let none = Value::from(());
        let mut conversation = match self.format {
            Format::Messages => Conversation::with_roles(self.part(Part::Messages).unwrap_or(&none), tools, roles)?,
            Format::Conversations => {
                let messages = self.part(Part::Messages).unwrap_or(&none);
                match self.system_message()? {
                    Some(system) if messages.kind() == ValueKind::Seq => {
                        let messages = std::iter::once(system).chain(messages.try_iter().into_iter().flatten());
                        Conversation::with_roles(&Value::from(messages.collect::<Vec<_>>()), tools, roles)?
                    }
                    _ => Conversation::with_roles(messages, tools, roles)?,
                }
            }
            Format::Alpaca => Conversation::with_roles(&self.alpaca_messages()?, tools, roles)?,
            Format::PromptCompletion => {
                let completion = self.part(Part::Completion).unwrap_or(&none);
                let prompt = self.part(Part::Prompt).unwrap_or(&none);
                match Row::prompt_completion_with_roles(prompt, completion, tools, roles)? {
                    Row::Chat(conversation) => conversation,
                    plain => return Ok(plain),
                }
            }
        };
        conversation.format = self.format;
        conversation.template_kwargs = self.template_kwargs()?;
        if let Some(images) = self.part(Part::Images) {
            conversation.messages = crate::vision::media::attach_images(&conversation.messages, images)?;
        }
        Ok(Row::Chat(conversation))
    }

    /// The `system` column of a ShareGPT or Alpaca row, as a system message.
    fn system_message(&self) -> Result<Option<Value>> {
        let system = self.part(Part::System).map(|s| text_part(s, "system")).transpose()?.flatten();
        Ok(system.filter(|s| !s.is_empty()).map(|s| message("system", s.to_string())))
    }

    /// Alpaca: the system prompt, the `history` turns, then the instruction (and its input, after a newline, as
    /// LLaMA-Factory joins them) answered by the output.
    fn alpaca_messages(&self) -> Result<Value> {
        let text =
            |part: Part, name: &str| self.part(part).map(|v| text_part(v, name)).transpose().map(Option::flatten);
        let missing = |name: &str| Error::Input(format!("the {name} is missing (null)"));
        let instruction = text(Part::Instruction, "instruction")?.ok_or_else(|| missing("instruction"))?;
        let output = text(Part::Output, "output")?.ok_or_else(|| missing("output"))?;
        let mut messages: Vec<Value> = self.system_message()?.into_iter().collect();
        if let Some(history) = self.part(Part::History) {
            let pairs = "a list of [query, response] pairs";
            let turns = history
                .try_iter()
                .map_err(|_| Error::Input(format!("field 'history' must be {pairs}, got {}", history.kind())))?;
            for (index, turn) in turns.enumerate() {
                let pair: Vec<Value> = turn.try_iter().into_iter().flatten().collect();
                match pair.as_slice() {
                    [query, response] if query.as_str().is_some() && response.as_str().is_some() => {
                        messages.push(message("user", query.to_string()));
                        messages.push(message("assistant", response.to_string()));
                    }
                    _ => {
                        let expected = "expected a [query, response] pair of strings";
                        return Err(Error::Input(format!("history {index}: {expected}, got {turn}")));
                    }
                }
            }
        }
        let query = match text(Part::Input, "input")? {
            Some(input) if !input.is_empty() => format!("{instruction}\n{input}"),
            _ => instruction.to_string(),
        };
        messages.push(message("user", query));
        messages.push(message("assistant", output.to_string()));
        Ok(Value::from(messages))
    }

    /// The row's `chat_template_kwargs`: a mapping (or its JSON text) of template variables.
    fn template_kwargs(&self) -> Result<Vec<(String, Value)>> {
        let Some(kwargs) = self.part(Part::TemplateKwargs) else { return Ok(Vec::new()) };
        let kwargs = match kwargs.as_str() {
            Some(text) => crate::values::parse_json(text, "chat_template_kwargs")?,
            None => kwargs.clone(),
        };
        if kwargs.kind() != ValueKind::Map {
            let kind = kwargs.kind();
            return Err(Error::Input(format!(
                "chat_template_kwargs must be a mapping of template variables, got {kind}"
            )));
        }
        let keys = kwargs.try_iter().map_err(|e| Error::Input(e.to_string()))?;
        Ok(keys.map(|key| (key.to_string(), kwargs.get_item(&key).unwrap_or_default())).collect())
    }
}

fn message(role: &str, content: String) -> Value {
    map_value([("role", Value::from(role)), ("content", Value::from(content))])
}

/// Rows already converted to template values (from Python objects); a row that failed conversion keeps its error.
pub struct ValueRows {
    pub rows: Vec<Result<RowValues>>,
    pub options: RowOptions,
}

impl Rows for ValueRows {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn row(&self, row: usize) -> Result<Row> {
        self.rows[row].as_ref().map_err(Clone::clone)?.row(&self.options)
    }
}

impl ValueRows {
    /// Rows from columns of values (a `datasets` batch: a dict of columns, converted cell by cell, a cell that
    /// failed conversion keeping its error), all of the same length.
    pub fn from_columns(
        format: Format,
        columns: Vec<(Part, &str, Vec<Result<Value>>)>,
        options: RowOptions,
    ) -> Result<ValueRows> {
        let len = columns.first().map_or(0, |(_, _, cells)| cells.len());
        if let Some((_, name, cells)) = columns.iter().find(|(_, _, cells)| cells.len() != len) {
            return Err(Error::Input(format!("{len} rows but {} rows of {name}", cells.len())));
        }
        let mut columns: Vec<_> = columns.into_iter().map(|(part, _, cells)| (part, cells.into_iter())).collect();
        let rows = (0..len).map(|_| {
            let parts = columns.iter_mut().map(|(part, cells)| Ok((*part, cells.next().expect("checked length")?)));
            Ok(RowValues { format, parts: parts.collect::<Result<_>>()? })
        });
        Ok(ValueRows { rows: rows.collect(), options })
    }
}

/// Rows as JSON Lines text: line i is row i, parsed when the row is encoded (so on the worker threads).
pub struct JsonLineRows<'a> {
    lines: Vec<&'a [u8]>,
    options: RowOptions,
}

impl<'a> JsonLineRows<'a> {
    pub fn new(text: &'a [u8], options: RowOptions) -> JsonLineRows<'a> {
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let lines = if text.is_empty() { Vec::new() } else { text.split(|&b| b == b'\n').collect() };
        JsonLineRows { lines, options }
    }

    fn values(&self, row: usize) -> Result<RowValues> {
        let line = self.lines[row].trim_ascii();
        if line.is_empty() {
            return Err(Error::Input("empty line".into()));
        }
        let value = serde_json::from_slice(line).map_err(|e| Error::Input(format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(Error::Input("a row must be a JSON object".into()));
        };
        RowValues::from_object(&Value::from(minijinja::value::Serde(object)), &self.options)
    }
}

impl Rows for JsonLineRows<'_> {
    fn len(&self) -> usize {
        self.lines.len()
    }

    fn row(&self, row: usize) -> Result<Row> {
        self.values(row)?.row(&self.options)
    }
}

/// The columns of one chunk of an Arrow table that its format reads, each with its field (for its type's
/// extension metadata).
pub struct ChunkColumns {
    pub format: Format,
    pub columns: Vec<(Part, FieldRef, ArrayRef)>,
}

impl ChunkColumns {
    fn len(&self) -> usize {
        self.columns.first().map_or(0, |(_, _, column)| column.len())
    }

    fn values(&self, row: usize, keep_nulls: bool) -> Result<RowValues> {
        let parts = self
            .columns
            .iter()
            .map(|(part, field, column)| Ok((*part, field_value(field, column.as_ref(), row, keep_nulls)?)));
        Ok(RowValues { format: self.format, parts: parts.collect::<Result<_>>()? })
    }
}

/// The columns of an Arrow table, possibly in several chunks.
pub struct ArrowRows {
    chunks: Vec<ChunkColumns>,
    /// Row number at which each chunk starts.
    starts: Vec<usize>,
    len: usize,
    options: RowOptions,
}

impl ArrowRows {
    /// The rows of a table in `batches` of `schema`: the columns its format reads (detected from the column names,
    /// or forced), checked to be of a type messages can be read from.
    pub fn from_table(batches: &[RecordBatch], schema: &Schema, options: RowOptions) -> Result<ArrowRows> {
        let present: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let (format, names) = options.columns_to_read(&present, "column")?;
        let mut columns = Vec::new();
        for (part, name) in names {
            let index = schema.index_of(name).map_err(|e| Error::Input(e.to_string()))?;
            let expected = match part {
                Part::Messages => "a list of message structs or JSON text",
                Part::Prompt | Part::Completion => "a string or a list of message structs",
                _ => "",
            };
            let data_type = schema.field(index).data_type();
            if !expected.is_empty() && !is_conversation_type(data_type) {
                return Err(Error::Input(format!("column '{name}' has type {data_type}; expected {expected}")));
            }
            columns.push((part, index));
        }
        let chunk = |b: &RecordBatch| ChunkColumns {
            format,
            columns: columns.iter().map(|&(part, i)| (part, schema.fields()[i].clone(), b.column(i).clone())).collect(),
        };
        Ok(ArrowRows::new(batches.iter().map(chunk).collect(), options))
    }

    pub fn new(chunks: Vec<ChunkColumns>, options: RowOptions) -> ArrowRows {
        let mut starts = Vec::with_capacity(chunks.len());
        let mut len = 0;
        for chunk in &chunks {
            starts.push(len);
            len += chunk.len();
        }
        ArrowRows { chunks, starts, len, options }
    }
}

impl Rows for ArrowRows {
    fn len(&self) -> usize {
        self.len
    }

    fn row(&self, row: usize) -> Result<Row> {
        let chunk = self.starts.partition_point(|&start| start <= row) - 1;
        self.chunks[chunk].values(row - self.starts[chunk], self.options.keep_nulls)?.row(&self.options)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ListArray, StringArray, StructArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::{DataType, Field};

    use super::*;
    use crate::batch::{encode_rows, OnError};
    use crate::config::TokenizerFiles;
    use crate::masker::{Masker, RenderOptions};

    fn demo_masker() -> Masker {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo");
        Masker::from_files(&TokenizerFiles::read_dir(&dir).unwrap(), None).unwrap()
    }

    fn json_rows(lines: &[serde_json::Value]) -> Vec<Result<Conversation>> {
        let text = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
        let rows = JsonLineRows::new(text.as_bytes(), RowOptions::default());
        (0..rows.len()).map(|row| rows.row(row).map(|row| row.into_chat().expect("a chat"))).collect()
    }

    #[test]
    fn json_lines_are_rows_and_bad_lines_their_errors() {
        let text = b"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n\
                     \n{\"messages\": [\n[1, 2]\n{\"completion\": \"plain\"}\n{\"other\": 1}\n";
        let rows = JsonLineRows::new(text, RowOptions::default());
        assert_eq!(rows.len(), 6);
        let batch = encode_rows(&demo_masker(), &rows, &RenderOptions::default(), None, OnError::Skip, 1).unwrap();
        let errors: Vec<(usize, String)> =
            batch.errors.iter().map(|e| (e.row, e.error.message().to_string())).collect();
        assert_eq!(batch.rows_out(), 2);
        assert_eq!(errors[0], (1, "empty line".into()));
        assert_eq!(errors[1].0, 2);
        assert!(errors[1].1.starts_with("not valid JSON: EOF while parsing"), "{}", errors[1].1);
        assert_eq!(errors[2], (3, "a row must be a JSON object".into()));
        assert_eq!(
            errors[3],
            (
                5,
                "expected a mapping with a 'messages' field (OpenAI / Hugging Face messages), or 'completion' \
                 (prompt-completion), or 'conversations' (ShareGPT), 'instruction' and 'output' (Alpaca); the fields \
                 are: other"
                    .into()
            )
        );
        assert_eq!(batch.formats, [(Format::Messages, 1), (Format::PromptCompletion, 1)]);
    }

    #[test]
    fn every_format_becomes_the_same_messages() {
        let messages = serde_json::json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi\nthere"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye"},
            {"role": "assistant", "content": "Ciao"},
        ]);
        let rows = json_rows(&[
            serde_json::json!({"messages": messages}),
            serde_json::json!({"conversations": [
                {"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi\nthere"},
                {"from": "gpt", "value": "Hello"}, {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Ciao"},
            ]}),
            serde_json::json!({"system": "Be brief.", "conversations": [
                {"role": "user", "content": "Hi\nthere"}, {"role": "assistant", "content": "Hello"},
                {"role": "human", "content": "Bye"}, {"role": "model", "content": "Ciao"},
            ]}),
            serde_json::json!({"system": "Be brief.", "instruction": "Bye", "input": "", "output": "Ciao",
                               "history": [["Hi\nthere", "Hello"]]}),
            serde_json::json!({"system": "Be brief.", "history": [["Hi", "Hello"]], "instruction": "Bye", "input": null, "output": "Ciao"}),
        ]);
        let expected = rows[0].as_ref().unwrap().messages.to_string();
        for (index, row) in rows.iter().enumerate().skip(1).take(3) {
            assert_eq!(row.as_ref().unwrap().messages.to_string(), expected, "row {index}");
        }
        assert_eq!(rows[3].as_ref().unwrap().format, Format::Alpaca);
        let alpaca = json_rows(&[serde_json::json!({"instruction": "Translate", "input": "chat", "output": "cat"})]);
        let alpaca = alpaca[0].as_ref().unwrap();
        assert_eq!(
            alpaca.messages.to_string(),
            "[{'role': 'user', 'content': 'Translate\\nchat'}, {'role': 'assistant', 'content': 'cat'}]"
        );
    }

    #[test]
    fn malformed_rows_of_each_format_are_input_errors() {
        let rows = json_rows(&[
            serde_json::json!({"instruction": "x", "output": null}),
            serde_json::json!({"instruction": 3, "output": "y"}),
            serde_json::json!({"instruction": "x", "output": "y", "history": [["only a query"]]}),
            serde_json::json!({"conversations": [{"from": "gpt"}], "system": 1}),
            serde_json::json!({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": [1]}),
        ]);
        let errors: Vec<String> = rows.iter().map(|r| r.as_ref().unwrap_err().message().to_string()).collect();
        assert_eq!(errors[0], "the output is missing (null)");
        assert_eq!(errors[1], "field 'instruction' must be a string, got number");
        assert!(errors[2].starts_with("history 0: expected a [query, response] pair of strings"), "{}", errors[2]);
        assert_eq!(errors[3], "field 'system' must be a string, got number");
        assert_eq!(errors[4], "chat_template_kwargs must be a mapping of template variables, got sequence");
    }

    #[test]
    fn a_rows_template_variables_are_read() {
        let rows = json_rows(&[serde_json::json!({
            "messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"enable_thinking": false}
        })]);
        let kwargs = &rows[0].as_ref().unwrap().template_kwargs;
        assert_eq!(kwargs.len(), 1);
        assert_eq!((kwargs[0].0.as_str(), kwargs[0].1.is_true()), ("enable_thinking", false));
    }

    #[test]
    fn arrow_prompt_completion_cells_are_plain_text_and_a_null_prompt_is_empty() {
        use crate::input::conversation::PlainText;
        let field = |name: &str| Arc::new(Field::new(name, DataType::Utf8, true));
        let chunk = || ChunkColumns {
            format: Format::PromptCompletion,
            columns: vec![
                (Part::Prompt, field("prompt"), Arc::new(StringArray::from(vec![Some("Q: 2+2?"), None])) as ArrayRef),
                (Part::Completion, field("completion"), Arc::new(StringArray::from(vec![" 4", "[1]"]))),
            ],
        };
        let rows = ArrowRows::new(vec![chunk(), chunk()], RowOptions::default());
        assert_eq!(rows.len(), 4);
        let plain = |row| match rows.row(row).unwrap() {
            Row::Plain(plain) => plain,
            chat => panic!("plain text, not {chat:?}"),
        };
        assert_eq!(plain(2), PlainText { prompt: "Q: 2+2?".into(), completion: " 4".into() });
        // Text is never parsed as JSON.
        assert_eq!(plain(3), PlainText { prompt: "".into(), completion: "[1]".into() });
    }

    #[test]
    fn arrow_json_messages_are_parsed_and_struct_nulls_dropped() {
        // `datasets` 5: list<extension<arrow.json>>, each message its JSON text.
        let json_item = Field::new("item", DataType::Utf8, true)
            .with_metadata([("ARROW:extension:name".to_string(), "arrow.json".to_string())].into());
        let texts = StringArray::from(vec![
            r#"{"role": "user", "content": "hi", "x": null}"#,
            r#"{"role": "assistant", "content": "yo"}"#,
        ]);
        let messages = ListArray::new(Arc::new(json_item), OffsetBuffer::from_lengths([2]), Arc::new(texts), None);
        // Tools as structs whose fields other rows needed: null where this row has none.
        let name: ArrayRef = Arc::new(StringArray::from(vec!["f"]));
        let description: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
        let tool = StructArray::from(vec![
            (Arc::new(Field::new("name", DataType::Utf8, true)), name),
            (Arc::new(Field::new("description", DataType::Utf8, true)), description),
        ]);
        let tools = ListArray::new(
            Arc::new(Field::new("item", tool.data_type().clone(), true)),
            OffsetBuffer::from_lengths([1]),
            Arc::new(tool),
            None,
        );
        let chunk = |keep_nulls| {
            let columns = vec![
                (
                    Part::Messages,
                    Arc::new(Field::new("messages", messages.data_type().clone(), true)),
                    Arc::new(messages.clone()) as ArrayRef,
                ),
                (
                    Part::Tools,
                    Arc::new(Field::new("tools", tools.data_type().clone(), true)),
                    Arc::new(tools.clone()) as ArrayRef,
                ),
            ];
            ArrowRows::new(
                vec![ChunkColumns { format: Format::Messages, columns }],
                RowOptions { keep_nulls, ..Default::default() },
            )
        };
        let conversation = chunk(false).row(0).unwrap().into_chat().unwrap();
        // An explicit null in JSON text is data (transformers renders it); top-level message nulls are dropped.
        assert_eq!(
            conversation.messages.to_string(),
            "[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}]"
        );
        assert_eq!(conversation.tools.unwrap().to_string(), "[{'name': 'f'}]");
        assert_eq!(
            chunk(true).row(0).unwrap().into_chat().unwrap().tools.unwrap().to_string(),
            "[{'name': 'f', 'description': None}]"
        );
    }
}
