//! PyO3 bindings of the batch engine: Arrow or Python rows in, a pyarrow `RecordBatch` out.
//!
//! Output buffers are built once in Rust and handed to pyarrow through the Arrow C data interface: pyarrow
//! references them, nothing is copied, and numpy views of the flat values need no copy either.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, ListArray, RecordBatch};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use pyo3_arrow::{PyRecordBatch, PyTable};

use crate::arrow_values::is_conversation_type;
use crate::batch::{encode_rows, EncodedBatch, OnError};
use crate::error::Error;
use crate::formats::{ColumnNames, Format, Part, RoleMap, RowOptions};
use crate::rows::{ArrowRows, ChunkColumns, JsonLineRows, RowValues, Rows, ValueRows};
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
        "formats": batch.formats.iter().map(|(f, n)| (f.name(), n)).collect::<std::collections::BTreeMap<_, _>>(),
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

/// Finds the columns the table's format reads (detected from the column names, or forced) and checks their types.
fn arrow_rows(batches: Vec<RecordBatch>, schema: &Schema, options: RowOptions) -> PyResult<ArrowRows> {
    let present: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let format = Format::detect(options.format, &options.columns, &present, "column").map_err(to_py_err)?;
    let mut columns = Vec::new();
    for (part, name, _) in format.columns(&options.columns) {
        let Ok(index) = schema.index_of(name) else { continue };
        let expected = match part {
            Part::Messages => "a list of message structs or JSON text",
            Part::Prompt | Part::Completion => "a string or a list of message structs",
            _ => "",
        };
        let data_type = schema.field(index).data_type();
        if !expected.is_empty() && !is_conversation_type(data_type) {
            return Err(to_py_err(Error::Input(format!("column '{name}' has type {data_type}; expected {expected}"))));
        }
        columns.push((part, index));
    }
    let chunk = |b: &RecordBatch| ChunkColumns {
        format,
        columns: columns.iter().map(|&(part, i)| (part, schema.fields()[i].clone(), b.column(i).clone())).collect(),
    };
    Ok(ArrowRows::new(batches.iter().map(chunk).collect(), options))
}

/// How rows are read, as `Masker.encode_batch` passes it: a dict with these keys.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct ReadOptions {
    format: Option<String>,
    columns: ColumnNames,
    role_map: Vec<(String, String)>,
    keep_nulls: bool,
}

impl ReadOptions {
    fn row_options(self) -> PyResult<RowOptions> {
        let format = self.format.as_deref().map(Format::from_name).transpose().map_err(to_py_err)?;
        Ok(RowOptions { format, columns: self.columns, roles: RoleMap(self.role_map), keep_nulls: self.keep_nulls })
    }
}

/// How a batch is encoded, as `Masker.encode_batch` passes it: a dict with these keys.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct BatchOptions<'py> {
    on_error: String,
    threads: Option<usize>,
    template_kwargs: Option<Bound<'py, PyDict>>,
    policy: Option<Bound<'py, PyDict>>,
    rows: ReadOptions,
}

/// Runs `f` on the rows of `data`: JSON Lines text (`bytes`, parsed on the worker threads), an Arrow table or record
/// batch (anything with `__arrow_c_stream__` or `__arrow_c_array__`), a dict of columns (a `datasets` batch), or a
/// list of rows (mappings). A table's or a dict's format is found from its columns, a row's from its fields.
fn with_rows<R>(data: &Bound<'_, PyAny>, options: RowOptions, f: impl FnOnce(&dyn Rows) -> PyResult<R>) -> PyResult<R> {
    let py = data.py();
    if let Ok(text) = data.cast::<PyBytes>() {
        return f(&JsonLineRows::new(text.as_bytes(), options));
    }
    if data.hasattr("__arrow_c_stream__")? || data.hasattr("__arrow_c_array__")? {
        let (batches, schema) = if data.hasattr("__arrow_c_stream__")? {
            data.extract::<PyTable>()?.into_inner()
        } else {
            let batch = data.extract::<PyRecordBatch>()?.into_inner();
            let schema = batch.schema();
            (vec![batch], schema)
        };
        return f(&arrow_rows(batches, &schema, options)?);
    }
    // A value that cannot even be converted (a lone surrogate, ...) is that row's error, not the batch's.
    let row_error = |e: PyErr| Error::Input(e.value(py).to_string());
    if let Ok(rows) = data.cast::<PyList>() {
        let values = rows.iter().map(|row| {
            let row = to_value(&row).map_err(row_error)?;
            RowValues::from_object(&row, &options)
        });
        return f(&ValueRows { rows: values.collect(), options });
    }
    let columns = data.cast::<PyDict>().map_err(|_| {
        let expected = "expected JSON Lines bytes, an Arrow table, a dict of columns or a list of rows";
        pyo3::exceptions::PyTypeError::new_err(expected)
    })?;
    let names: Vec<String> = columns.keys().iter().filter_map(|k| k.extract::<String>().ok()).collect();
    let present: Vec<&str> = names.iter().map(String::as_str).collect();
    let format = Format::detect(options.format, &options.columns, &present, "column").map_err(to_py_err)?;
    let mut parts: Vec<(Part, &str, Bound<'_, PyAny>)> = Vec::new();
    for (part, name, _) in format.columns(&options.columns) {
        if let Some(column) = columns.get_item(name)? {
            parts.push((part, name, column));
        }
    }
    let rows_len = parts.first().map_or(Ok(0), |(_, _, column)| column.len())?;
    for (_, name, column) in &parts {
        if column.len()? != rows_len {
            return Err(to_py_err(Error::Input(format!("{rows_len} rows but {} rows of {name}", column.len()?))));
        }
    }
    let row_values = |row: usize| -> PyResult<RowValues> {
        let parts = parts.iter().map(|(part, _, column)| Ok((*part, to_value(&column.get_item(row)?)?)));
        Ok(RowValues { format, parts: parts.collect::<PyResult<_>>()? })
    };
    let rows = (0..rows_len).map(|row| row_values(row).map_err(row_error)).collect();
    f(&ValueRows { rows, options })
}

/// Encodes the rows of `data` (see [`with_rows`]) into a record batch, with a report of the rows that failed.
#[pyfunction]
pub fn encode_batch(
    py: Python<'_>,
    masker: &PyMasker,
    data: &Bound<'_, PyAny>,
    options: BatchOptions<'_>,
) -> PyResult<Py<PyAny>> {
    let BatchOptions { on_error, threads, template_kwargs, policy, rows } = options;
    let mut render = render_options(false, template_kwargs.as_ref())?;
    if policy.is_some() {
        render.policy = Some(training_policy(masker.masker().policy(), policy.as_ref())?);
    }
    let on_error_policy: OnError = on_error.parse().map_err(to_py_err)?;
    let masker = masker.masker();
    let batch = with_rows(data, rows.row_options()?, |rows| {
        py.detach(|| encode_rows(masker, rows, &render, on_error_policy, threads.unwrap_or(0))).map_err(to_py_err)
    })?;
    let record_batch = to_record_batch(batch, &on_error)?;
    Ok(PyRecordBatch::new(record_batch).into_pyarrow(py)?.unbind())
}

/// Each row of `data` as the conversation sftmask renders: `(format, messages as JSON text)`, or None where it
/// cannot be read (encoding reports why). What `check` inspects beside the encoded tokens.
#[pyfunction]
pub fn read_conversations(data: &Bound<'_, PyAny>, rows: ReadOptions) -> PyResult<Vec<Option<(String, String)>>> {
    with_rows(data, rows.row_options()?, |rows| {
        let read = |row: usize| -> crate::error::Result<(String, String)> {
            let conversation = crate::error::catch_panic(|| rows.conversation(row))?;
            let messages = serde_json::to_string(&conversation.messages).map_err(|e| Error::Input(e.to_string()))?;
            Ok((conversation.format.name().to_string(), messages))
        };
        Ok((0..rows.len()).map(|row| read(row).ok()).collect())
    })
}

/// Every column some format reads with these column names: what file readers load, leaving the others on disk.
#[pyfunction]
pub fn format_columns(columns: ColumnNames) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for format in Format::ALL {
        for (_, name, _) in format.columns(&columns) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(read_conversations, m)?)?;
    m.add_function(wrap_pyfunction!(format_columns, m)?)?;
    m.add("FORMATS", Format::ALL.map(Format::name).to_vec())?;
    m.add("REPORT_KEY", REPORT_KEY)?;
    Ok(())
}
