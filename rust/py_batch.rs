//! PyO3 bindings of the batch engine: Arrow or Python rows in, a pyarrow `RecordBatch` out.
//!
//! Output buffers are built once in Rust and handed to pyarrow through the Arrow C data interface: pyarrow
//! references them, nothing is copied, and numpy views of the flat values need no copy either.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, ListArray, RecordBatch};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use pyo3::prelude::*;
use minijinja::value::Value;
use pyo3::types::{PyDict, PyList};
use pyo3_arrow::{PyRecordBatch, PyTable};

use crate::arrow_values::is_conversation_type;
use crate::batch::{encode_rows, EncodedBatch, OnError};
use crate::rows::{ArrowRows, Body, ChunkColumns, ColumnNames, JsonLineRows, RowValues, Rows, ValueRows};
use crate::error::Error;
use crate::py::{render_options, to_py_err, to_value, training_policy, PyMasker};

/// Key of the schema metadata entry that reports what happened to each row.
pub const REPORT_KEY: &str = "sftmask";

/// A `list<int32>` column over flat `values`, row i being `values[offsets[i]..offsets[i + 1]]`; `values` is moved, not copied.
pub(crate) fn int32_list(values: Vec<i32>, offsets: &[i32], nulls: Option<NullBuffer>) -> ArrayRef {
    let item = Arc::new(Field::new("item", DataType::Int32, false));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets.to_vec()));
    Arc::new(ListArray::new(item, offsets, Arc::new(Int32Array::from(values)), nulls))
}

/// The report stored in the schema metadata: rows in and out, and every failed row with its cause.
fn report_json(batch: &EncodedBatch, on_error: &str) -> String {
    let errors: Vec<serde_json::Value> = batch
        .errors
        .iter()
        .map(|e| serde_json::json!({"row": e.row, "type": e.error.kind_name(), "message": e.error.message()}))
        .collect();
    serde_json::json!({
        "rows_in": batch.rows_in,
        "rows_out": batch.rows_out(),
        "truncated": batch.truncated,
        "on_error": on_error,
        "errors": errors,
    })
    .to_string()
}

fn to_record_batch(batch: EncodedBatch, on_error: &str) -> PyResult<RecordBatch> {
    let report = report_json(&batch, on_error);
    let nulls = (!batch.valid.is_empty()).then(|| NullBuffer::from(batch.valid.clone()));
    let list_type = DataType::List(Arc::new(Field::new("item", DataType::Int32, false)));
    let schema: SchemaRef = Arc::new(
        Schema::new(vec![
            Field::new("input_ids", list_type.clone(), true),
            Field::new("labels", list_type, true),
            Field::new("num_tokens", DataType::Int32, false),
            Field::new("num_trained_tokens", DataType::Int32, false),
        ])
        .with_metadata([(REPORT_KEY.to_string(), report)].into()),
    );
    let columns = vec![
        int32_list(batch.input_ids, &batch.offsets, nulls.clone()),
        int32_list(batch.labels, &batch.offsets, nulls),
        Arc::new(Int32Array::from(batch.num_tokens)) as ArrayRef,
        Arc::new(Int32Array::from(batch.num_trained_tokens)) as ArrayRef,
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| to_py_err(Error::Input(e.to_string())))
}

/// Finds the columns of each chunk (messages, or else prompt and completion; and tools) and checks their types.
fn arrow_rows(batches: Vec<RecordBatch>, schema: &Schema, names: &ColumnNames) -> PyResult<ArrowRows> {
    // The index of a column, if the table has it and its type can hold conversations.
    let find = |name: &str, expected: &str| -> PyResult<Option<usize>> {
        let Ok(index) = schema.index_of(name) else { return Ok(None) };
        let data_type = schema.field(index).data_type();
        if !is_conversation_type(data_type) {
            return Err(to_py_err(Error::Input(format!("column '{name}' has type {data_type}; expected {expected}"))));
        }
        Ok(Some(index))
    };
    let part = "a string or a list of message structs";
    let body = if let Some(messages) = find(&names.messages, "a list of message structs or JSON text")? {
        Body::Messages(messages)
    } else if let Some(completion) = find(&names.completion, part)? {
        Body::PromptCompletion { prompt: find(&names.prompt, part)?, completion }
    } else {
        let columns = schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ");
        return Err(to_py_err(Error::Input(format!(
            "column '{}' not found, nor a '{}' column of prompt-completion rows; the columns are: {columns}",
            names.messages, names.completion
        ))));
    };
    let tools = schema.index_of(&names.tools).ok();
    let chunk = |b: &RecordBatch| ChunkColumns {
        body: body.map(|&i| b.column(i).clone()),
        tools: tools.map(|i| b.column(i).clone()),
    };
    Ok(ArrowRows::new(batches.iter().map(chunk).collect()))
}

/// How a batch is encoded, as `Masker.encode_batch` passes it: a dict with these keys.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct BatchOptions<'py> {
    on_error: String,
    threads: Option<usize>,
    template_kwargs: Option<Bound<'py, PyDict>>,
    policy: Option<Bound<'py, PyDict>>,
}

fn run(py: Python<'_>, masker: &PyMasker, rows: &dyn Rows, options: &BatchOptions<'_>) -> PyResult<Py<PyAny>> {
    let mut render = render_options(false, options.template_kwargs.as_ref())?;
    if options.policy.is_some() {
        render.policy = Some(training_policy(masker.masker().policy(), options.policy.as_ref())?);
    }
    let on_error: OnError = options.on_error.parse().map_err(to_py_err)?;
    let masker = masker.masker();
    let threads = options.threads.unwrap_or(0);
    let batch = py.detach(|| encode_rows(masker, rows, &render, on_error, threads)).map_err(to_py_err)?;
    let record_batch = to_record_batch(batch, &options.on_error)?;
    Ok(PyRecordBatch::new(record_batch).into_pyarrow(py)?.unbind())
}

/// Encodes the rows of an Arrow table or record batch (anything with `__arrow_c_stream__` or `__arrow_c_array__`).
#[pyfunction]
pub fn encode_batch_arrow(
    py: Python<'_>,
    masker: &PyMasker,
    data: &Bound<'_, PyAny>,
    columns: ColumnNames,
    options: BatchOptions<'_>,
) -> PyResult<Py<PyAny>> {
    let (batches, schema) = if data.hasattr("__arrow_c_stream__")? {
        data.extract::<PyTable>()?.into_inner()
    } else {
        let batch = data.extract::<PyRecordBatch>()?.into_inner();
        let schema = batch.schema();
        (vec![batch], schema)
    };
    let rows = arrow_rows(batches, &schema, &columns)?;
    run(py, masker, &rows, &options)
}

/// Encodes conversations given as Python objects: `messages[i]` a list of message dicts (or its JSON text), or
/// `prompt[i]` and `completion[i]` (strings or lists of messages; `prompt` may be missing); `tools[i]` a list of
/// tool schemas, their JSON text, or None.
#[pyfunction]
#[pyo3(signature = (masker, options, messages=None, tools=None, prompt=None, completion=None))]
pub fn encode_batch_objects(
    py: Python<'_>,
    masker: &PyMasker,
    options: BatchOptions<'_>,
    messages: Option<&Bound<'_, PyList>>,
    tools: Option<&Bound<'_, PyList>>,
    prompt: Option<&Bound<'_, PyList>>,
    completion: Option<&Bound<'_, PyList>>,
) -> PyResult<Py<PyAny>> {
    let body = match (messages, completion) {
        (Some(messages), None) if prompt.is_none() => Body::Messages(messages),
        (None, Some(completion)) => Body::PromptCompletion { prompt, completion },
        _ => return Err(to_py_err(Error::Input("give either messages, or completion (and prompt)".into()))),
    };
    let rows_len = body.main().len();
    for (name, column) in [("tools", tools), ("prompt", prompt)] {
        if let Some(column) = column.filter(|c| c.len() != rows_len) {
            return Err(to_py_err(Error::Input(format!("{rows_len} rows but {} rows of {name}", column.len()))));
        }
    }
    // A value that cannot even be converted (a lone surrogate, ...) is that row's error, not the batch's.
    let row_values = |row: usize| -> PyResult<RowValues> {
        let cell = |column: &&Bound<'_, PyList>| -> PyResult<Value> { to_value(&column.get_item(row)?) };
        Ok(RowValues { body: body.try_map(cell)?, tools: tools.as_ref().map(cell).transpose()? })
    };
    let rows = (0..rows_len).map(|row| row_values(row).map_err(|e| Error::Input(e.value(py).to_string()))).collect();
    run(py, masker, &ValueRows(rows), &options)
}

/// Encodes the rows of JSON Lines text (one JSON object a line, with the columns as fields), parsing the lines on
/// the worker threads. Row i is line i; an empty or malformed line is that row's error.
#[pyfunction]
pub fn encode_batch_jsonl(
    py: Python<'_>,
    masker: &PyMasker,
    text: &[u8],
    columns: ColumnNames,
    options: BatchOptions<'_>,
) -> PyResult<Py<PyAny>> {
    run(py, masker, &JsonLineRows::new(text, columns), &options)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_batch_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(encode_batch_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(encode_batch_objects, m)?)?;
    m.add("REPORT_KEY", REPORT_KEY)?;
    Ok(())
}
