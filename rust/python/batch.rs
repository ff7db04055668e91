//! Bindings of the batch engine: rows from Python (JSON Lines bytes, an Arrow object, a dict of columns, a list of
//! rows) in, a pyarrow `RecordBatch` out, handed over through the Arrow C data interface without a copy.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use pyo3_arrow::{PyRecordBatch, PyTable};

use crate::batch::arrow::REPORT_KEY;
use crate::batch::{encode_rows, OnError};
use crate::error::{catch_panic, Error};
use crate::input::conversation::Row;
use crate::input::formats::{ColumnNames, Format, RoleMap, RowOptions};
use crate::input::rows::{ArrowRows, JsonLineRows, RowValues, Rows, ValueRows};
use crate::python::convert::{render_options, to_value, training_policy};
use crate::python::errors::to_py_err;
use crate::python::masker::PyMasker;

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

/// Runs `f` on the rows of `data`. JSON Lines text is parsed on the worker threads and Arrow columns are read
/// there; Python objects are converted here, holding the GIL.
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
        return f(&ArrowRows::from_table(&batches, &schema, options).map_err(to_py_err)?);
    }
    // A value that cannot even be converted (a lone surrogate, ...) is that row's error, not the batch's.
    let cell = |value: PyResult<Bound<'_, PyAny>>| {
        value.and_then(|v| to_value(&v)).map_err(|e| Error::Input(e.value(py).to_string()))
    };
    if let Ok(rows) = data.cast::<PyList>() {
        let values = rows.iter().map(|row| cell(Ok(row)).and_then(|row| RowValues::from_object(&row, &options)));
        return f(&ValueRows { rows: values.collect(), options });
    }
    let columns = data.cast::<PyDict>().map_err(|_| {
        let expected = "expected JSON Lines bytes, an Arrow table, a dict of columns or a list of rows";
        pyo3::exceptions::PyTypeError::new_err(expected)
    })?;
    let names: Vec<String> = columns.keys().iter().filter_map(|k| k.extract::<String>().ok()).collect();
    let present: Vec<&str> = names.iter().map(String::as_str).collect();
    let (format, read) = options.columns_to_read(&present, "column").map_err(to_py_err)?;
    let mut cells = Vec::with_capacity(read.len());
    for (part, name) in read {
        let column = columns.get_item(name)?.expect("a present column");
        cells.push((part, name, column.try_iter()?.map(cell).collect()));
    }
    let rows = ValueRows::from_columns(format, cells, options.clone()).map_err(to_py_err)?;
    f(&rows)
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
    let render = render_options(false, template_kwargs.as_ref())?;
    let policy = policy.map(|policy| training_policy(masker.masker().policy(), Some(&policy))).transpose()?;
    let on_error: OnError = on_error.parse().map_err(to_py_err)?;
    let masker = masker.masker();
    let threads = threads.unwrap_or(0);
    let batch = with_rows(data, rows.row_options()?, |rows| {
        py.detach(|| encode_rows(masker, rows, &render, policy.as_ref(), on_error, threads)).map_err(to_py_err)
    })?;
    let record_batch = batch.into_record_batch(on_error).map_err(to_py_err)?;
    Ok(PyRecordBatch::new(record_batch).into_pyarrow(py)?.unbind())
}

/// Each row of `data` as the conversation sftmask renders: `(format, messages as JSON text)`, or None where it
/// cannot be read (encoding reports why). What `check` inspects beside the encoded tokens.
#[pyfunction]
pub fn read_conversations(data: &Bound<'_, PyAny>, rows: ReadOptions) -> PyResult<Vec<Option<(String, String)>>> {
    with_rows(data, rows.row_options()?, |rows| {
        let read = |row: usize| -> crate::error::Result<(String, String)> {
            let row = catch_panic(|| rows.row(row))?;
            let format = row.format().name().to_string();
            let messages = match row {
                Row::Chat(conversation) => serde_json::to_string(&conversation.messages),
                Row::Plain(_) => Ok("[]".to_string()),
            };
            Ok((format, messages.map_err(|e| Error::Input(e.to_string()))?))
        };
        Ok((0..rows.len()).map(|row| read(row).ok()).collect())
    })
}

/// Every column some format reads with these column names: what file readers load, leaving the others on disk.
#[pyfunction]
pub fn format_columns(columns: ColumnNames) -> Vec<String> {
    columns.every_format_column().into_iter().map(String::from).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(read_conversations, m)?)?;
    m.add_function(wrap_pyfunction!(format_columns, m)?)?;
    m.add("FORMATS", Format::ALL.map(Format::name).to_vec())?;
    m.add("REPORT_KEY", REPORT_KEY)?;
    Ok(())
}
