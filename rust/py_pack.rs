//! PyO3 binding of packing: flat numpy token buffers in, a pyarrow `RecordBatch` of packs out.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3_arrow::PyRecordBatch;

use crate::error::{catch_panic, Error};
use crate::pack::{pack, Overflow, Strategy};
use crate::py::to_py_err;
use crate::py_batch::int32_list;

/// Packs sequences `offsets[i]..offsets[i + 1]` of the flat `input_ids` / `labels` buffers.
#[pyfunction]
#[pyo3(signature = (input_ids, labels, offsets, max_length, strategy="bfd", overflow="truncate"))]
pub fn pack_tokens(
    py: Python<'_>,
    input_ids: PyReadonlyArray1<'_, i32>,
    labels: PyReadonlyArray1<'_, i32>,
    offsets: PyReadonlyArray1<'_, i32>,
    max_length: usize,
    strategy: &str,
    overflow: &str,
) -> PyResult<Py<PyAny>> {
    let strategy: Strategy = strategy.parse().map_err(to_py_err)?;
    let overflow: Overflow = overflow.parse().map_err(to_py_err)?;
    let (ids, labels, offsets) = (input_ids.as_slice()?, labels.as_slice()?, offsets.as_slice()?);
    let packed = py
        .detach(|| catch_panic(|| pack(ids, labels, offsets, max_length, strategy, overflow)))
        .map_err(to_py_err)?;
    let report = serde_json::json!({
        "max_length": max_length,
        "strategy": format!("{strategy:?}").to_lowercase(),
        "packs": packed.num_packs(),
        "sequences": packed.seq_lengths.len(),
        "tokens": packed.input_ids.len(),
        "truncated": packed.truncated,
        "split": packed.split,
        "dropped": packed.dropped,
        "tokens_dropped": packed.tokens_dropped,
    });
    let list_type = DataType::List(Arc::new(Field::new("item", DataType::Int32, false)));
    let names = ["input_ids", "labels", "position_ids", "seq_lengths", "cu_seqlens"];
    let schema = Schema::new(names.iter().map(|n| Field::new(*n, list_type.clone(), false)).collect::<Vec<_>>())
        .with_metadata([("sftmask.pack".to_string(), report.to_string())].into());
    let columns: Vec<ArrayRef> = vec![
        int32_list(packed.input_ids, &packed.token_offsets, None),
        int32_list(packed.labels, &packed.token_offsets, None),
        int32_list(packed.position_ids, &packed.token_offsets, None),
        int32_list(packed.seq_lengths, &packed.seq_offsets, None),
        int32_list(packed.cu_seqlens, &packed.cu_offsets, None),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| to_py_err(Error::Input(e.to_string())))?;
    Ok(PyRecordBatch::new(batch).into_pyarrow(py)?.unbind())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pack_tokens, m)?)
}
