//! Binding of packing: flat numpy token buffers in, a pyarrow `RecordBatch` of packs out.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3_arrow::PyRecordBatch;

use crate::batch::arrow::PACK_REPORT_KEY;
use crate::batch::pack::{pack, Overflow, Strategy};
use crate::error::catch_panic;
use crate::python::errors::to_py_err;

/// Packs sequences `offsets[i]..offsets[i + 1]` of the flat `input_ids` / `labels` buffers; `seq_rows` adds the
/// column of each sequence's input row.
#[pyfunction]
#[pyo3(signature = (input_ids, labels, offsets, max_length, strategy="bfd", overflow="truncate", seq_rows=false))]
#[allow(clippy::too_many_arguments)]
pub fn pack_tokens(
    py: Python<'_>,
    input_ids: PyReadonlyArray1<'_, i32>,
    labels: PyReadonlyArray1<'_, i32>,
    offsets: PyReadonlyArray1<'_, i32>,
    max_length: usize,
    strategy: &str,
    overflow: &str,
    seq_rows: bool,
) -> PyResult<Py<PyAny>> {
    let strategy: Strategy = strategy.parse().map_err(to_py_err)?;
    let overflow: Overflow = overflow.parse().map_err(to_py_err)?;
    let (ids, labels, offsets) = (input_ids.as_slice()?, labels.as_slice()?, offsets.as_slice()?);
    let batch = py
        .detach(|| {
            catch_panic(|| {
                pack(ids, labels, offsets, max_length, strategy, overflow)?
                    .into_record_batch(max_length, strategy, seq_rows)
            })
        })
        .map_err(to_py_err)?;
    Ok(PyRecordBatch::new(batch).into_pyarrow(py)?.unbind())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pack_tokens, m)?)?;
    m.add("PACK_REPORT_KEY", PACK_REPORT_KEY)
}
