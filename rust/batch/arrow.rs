//! The Arrow record batches handed to Python: encoded rows and packs as `list<int32>` columns over the flat
//! buffers (moved, not copied), each with its report in the schema metadata.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, ListArray, RecordBatch};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema};

use crate::batch::pack::{Packed, Strategy};
use crate::batch::{EncodedBatch, OnError};
use crate::error::{Error, Result};
use crate::policy::History;

/// Key of the schema metadata entry that reports what happened to each row of an encoded batch.
pub const REPORT_KEY: &str = "sftmask";
/// Key of the schema metadata entry that reports how sequences were packed.
pub const PACK_REPORT_KEY: &str = "sftmask.pack";

/// A `list<int32>` column over flat `values`, row i being `values[offsets[i]..offsets[i + 1]]`.
fn int32_list(values: Vec<i32>, offsets: &[i32], nulls: Option<NullBuffer>) -> ArrayRef {
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets.to_vec()));
    Arc::new(ListArray::new(item_field(), offsets, Arc::new(Int32Array::from(values)), nulls))
}

fn item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Int32, false))
}

fn record_batch(fields: Vec<Field>, columns: Vec<ArrayRef>, key: &str, report: String) -> Result<RecordBatch> {
    let schema = Schema::new(fields).with_metadata([(key.to_string(), report)].into());
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| Error::Input(e.to_string()))
}

impl EncodedBatch {
    /// The report stored in the schema metadata: rows in and out, and every failed row with its cause.
    pub fn report_json(&self, on_error: OnError) -> String {
        let errors: Vec<serde_json::Value> = self
            .errors
            .iter()
            .map(|e| serde_json::json!({"row": e.row, "type": e.error.kind_name(), "message": e.error.message()}))
            .collect();
        let formats: std::collections::BTreeMap<_, _> = self.formats.iter().map(|(f, n)| (f.name(), n)).collect();
        serde_json::json!({
            "rows_in": self.rows_in,
            "rows_out": self.rows_out(),
            "tokens_out": self.tokens_out(),
            "history": self.history,
            "rows_expanded": self.rows_expanded,
            "tokens_as_rendered": self.tokens_as_rendered,
            "left_out_messages": self.lost.messages,
            "left_out_tokens": self.lost.tokens,
            "truncated": self.truncated,
            "formats": formats,
            "on_error": on_error.name(),
            "errors": errors,
        })
        .to_string()
    }

    /// Columns `input_ids`, `labels` (null for rows failed under [`OnError::Null`]), `num_tokens` and
    /// `num_trained_tokens`, with the report under [`REPORT_KEY`]. Unless `history` is `as_rendered`, also
    /// `source_row` (the input row of each output row) and `source_message` (the message of its one trained turn,
    /// null for a row trained as rendered).
    pub fn into_record_batch(self, on_error: OnError) -> Result<RecordBatch> {
        let report = self.report_json(on_error);
        let nulls = (!self.valid.is_empty()).then(|| NullBuffer::from(self.valid.clone()));
        let list_type = DataType::List(item_field());
        let mut fields = vec![
            Field::new("input_ids", list_type.clone(), true),
            Field::new("labels", list_type, true),
            Field::new("num_tokens", DataType::Int32, false),
            Field::new("num_trained_tokens", DataType::Int32, false),
        ];
        let mut columns = vec![
            int32_list(self.input_ids, &self.offsets, nulls.clone()),
            int32_list(self.labels, &self.offsets, nulls),
            Arc::new(Int32Array::from(self.num_tokens)) as ArrayRef,
            Arc::new(Int32Array::from(self.num_trained_tokens)) as ArrayRef,
        ];
        if self.history != History::AsRendered {
            let messages: Int32Array = self.source_messages.iter().map(|&m| (m >= 0).then_some(m)).collect();
            fields.push(Field::new("source_row", DataType::Int32, false));
            fields.push(Field::new("source_message", DataType::Int32, true));
            columns.push(Arc::new(Int32Array::from(self.source_rows)));
            columns.push(Arc::new(messages));
        }
        record_batch(fields, columns, REPORT_KEY, report)
    }
}

impl Packed {
    /// Columns `input_ids`, `labels`, `position_ids`, `seq_lengths` and `cu_seqlens`, one row per pack, with the
    /// report under [`PACK_REPORT_KEY`]; with `seq_rows`, also the input row of each sequence (laid out as
    /// `seq_lengths`).
    pub fn into_record_batch(self, max_length: usize, strategy: Strategy, seq_rows: bool) -> Result<RecordBatch> {
        let report = serde_json::json!({
            "max_length": max_length,
            "strategy": format!("{strategy:?}").to_lowercase(),
            "packs": self.num_packs(),
            "sequences": self.seq_lengths.len(),
            "tokens": self.input_ids.len(),
            "truncated": self.truncated,
            "split": self.split,
            "dropped": self.dropped,
            "tokens_dropped": self.tokens_dropped,
        });
        let list_type = DataType::List(item_field());
        let mut names = vec!["input_ids", "labels", "position_ids", "seq_lengths", "cu_seqlens"];
        let mut columns = vec![
            int32_list(self.input_ids, &self.token_offsets, None),
            int32_list(self.labels, &self.token_offsets, None),
            int32_list(self.position_ids, &self.token_offsets, None),
            int32_list(self.seq_lengths, &self.seq_offsets, None),
            int32_list(self.cu_seqlens, &self.cu_offsets, None),
        ];
        if seq_rows {
            names.push("seq_rows");
            columns.push(int32_list(self.seq_rows, &self.seq_offsets, None));
        }
        let fields = names.iter().map(|n| Field::new(*n, list_type.clone(), false)).collect();
        record_batch(fields, columns, PACK_REPORT_KEY, report.to_string())
    }
}
