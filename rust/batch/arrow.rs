//! The Arrow record batches handed to Python: encoded rows and packs as `list<int32>` columns over the flat
//! buffers (moved, not copied), each with its report in the schema metadata.

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, Int32Array, ListArray, RecordBatch, StringArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema};

use crate::batch::pack::{Packed, Strategy};
use crate::batch::{EncodedBatch, OnError, VisionColumns};
use crate::error::{Error, Result};
use crate::policy::History;
use crate::vision::media::{Media, Source};
use crate::vision::VisionRow;

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

/// A `list<T>` column over `values`, row i being `values[offsets[i]..offsets[i + 1]]`.
fn list_of(values: ArrayRef, offsets: Vec<i32>) -> ArrayRef {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(ListArray::new(field, OffsetBuffer::new(ScalarBuffer::from(offsets)), values, None))
}

/// Offsets of lists of `lengths` items.
fn offsets_of(lengths: impl Iterator<Item = usize>) -> Vec<i32> {
    std::iter::once(0)
        .chain(lengths.scan(0, |end, n| {
            *end += n as i32;
            Some(*end)
        }))
        .collect()
}

/// Images (or frames) as `datasets` stores an `Image`: `struct<bytes: binary, path: string>`, both null for an
/// image given only by its size.
fn image_structs<'a>(sources: impl Iterator<Item = &'a Source>) -> ArrayRef {
    let (bytes, paths): (Vec<Option<&[u8]>>, Vec<Option<&str>>) = sources
        .map(|source| match source {
            Source::Bytes(bytes) => (Some(bytes.as_slice()), None),
            Source::Path(path) => (None, Some(path.as_str())),
            Source::SizeOnly => (None, None),
        })
        .unzip();
    let fields = vec![Field::new("bytes", DataType::Binary, true), Field::new("path", DataType::Utf8, true)];
    let arrays: Vec<ArrayRef> = vec![Arc::new(BinaryArray::from(bytes)), Arc::new(StringArray::from(paths))];
    Arc::new(StructArray::new(fields.into(), arrays, None))
}

/// `list<list<int32>>` of small integer tuples (grids, sizes), one list per row.
fn tuples_column(rows: &[Vec<Vec<i32>>]) -> ArrayRef {
    let inner: Vec<i32> = rows.iter().flatten().flatten().copied().collect();
    let inner_offsets = offsets_of(rows.iter().flatten().map(Vec::len));
    let tuples = list_of(Arc::new(Int32Array::from(inner)), inner_offsets);
    list_of(tuples, offsets_of(rows.iter().map(Vec::len)))
}

/// The columns of a vision-language batch: `num_image_tokens`, `images` with `image_sizes` (`[height, width]`)
/// and, per family, `image_grid_thw`, `videos` (each a list of frames) and `video_grid_thw`.
fn vision_columns(vision: &VisionColumns) -> Vec<(Field, ArrayRef)> {
    let none = VisionRow::default();
    let rows: Vec<&VisionRow> = vision.rows.iter().map(|row| row.as_deref().unwrap_or(&none)).collect();
    let tokens: Int32Array = rows.iter().map(|row| row.num_image_tokens as i32).collect();
    let field = |name: &str, column: &ArrayRef| Field::new(name, column.data_type().clone(), false);
    let mut columns: Vec<(&str, ArrayRef)> = vec![("num_image_tokens", Arc::new(tokens))];
    let images = image_structs(rows.iter().flat_map(|row| row.images.iter().flat_map(|m| &m.sources)));
    columns.push(("images", list_of(images, offsets_of(rows.iter().map(|row| row.images.len())))));
    let sizes = |media: &[Media]| media.iter().map(|m| vec![m.size.height as i32, m.size.width as i32]).collect();
    columns.push(("image_sizes", tuples_column(&rows.iter().map(|row| sizes(&row.images)).collect::<Vec<_>>())));
    let grids = |grids: &[[u64; 3]]| grids.iter().map(|g| g.iter().map(|&n| n as i32).collect()).collect();
    if vision.grids {
        let column: Vec<Vec<Vec<i32>>> = rows.iter().map(|row| grids(&row.image_grid_thw)).collect();
        columns.push(("image_grid_thw", tuples_column(&column)));
    }
    if vision.videos {
        let frames = image_structs(rows.iter().flat_map(|row| row.videos.iter().flat_map(|m| &m.sources)));
        let videos =
            list_of(frames, offsets_of(rows.iter().flat_map(|row| row.videos.iter().map(|m| m.sources.len()))));
        columns.push(("videos", list_of(videos, offsets_of(rows.iter().map(|row| row.videos.len())))));
        let column: Vec<Vec<Vec<i32>>> = rows.iter().map(|row| grids(&row.video_grid_thw)).collect();
        columns.push(("video_grid_thw", tuples_column(&column)));
    }
    columns.into_iter().map(|(name, column)| (field(name, &column), column)).collect()
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
            "image_tokens": self.vision.as_ref().map(VisionColumns::num_image_tokens),
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
        if let Some(vision) = &self.vision {
            for (field, column) in vision_columns(vision) {
                fields.push(field);
                columns.push(column);
            }
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
