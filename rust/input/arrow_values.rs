//! Arrow cells as template values: the messages and tools columns of a table, one row at a time.
//!
//! `datasets` and pyarrow store conversations as `list<struct<role, content, ...>>`, with every field of every
//! message present and absent ones null; nested fields (`tool_calls`, `arguments` as a struct or a JSON string)
//! follow the same rule. A struct cannot tell a null field from an absent one, so [`field_value`] drops null fields
//! at every depth (a tool call's arguments `{"x": 0}` must not render as `{"x": 0, "theta": null}` because another
//! row has a `theta`), unless asked to keep them as `None`.
//!
//! Data of no fixed type, `datasets` (5 and later) stores as JSON text in `arrow.json` extension columns, at any
//! depth (`list<extension<arrow.json>>` messages, a tool's `parameters`): such text is parsed as JSON.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{self as types, DataType, Field};
use minijinja::value::Value;

use crate::error::{Error, Result};
use crate::values::{map_value, parse_json};

/// The value of `array[row]`, null struct fields kept as `None`.
pub fn value_at(array: &dyn Array, row: usize) -> Result<Value> {
    read(array, row, Cell { json: false, keep_nulls: true })
}

/// The value of `column[row]` where `field` describes the column: `arrow.json` text parsed at any depth, null
/// struct fields dropped unless `keep_nulls`.
pub fn field_value(field: &Field, column: &dyn Array, row: usize, keep_nulls: bool) -> Result<Value> {
    read(column, row, Cell { json: is_json(field), keep_nulls })
}

/// Whether a field is an `arrow.json` extension: JSON text.
fn is_json(field: &Field) -> bool {
    field.metadata().get("ARROW:extension:name").is_some_and(|name| name == "arrow.json")
}

/// How a cell is read: as JSON text or not, and what becomes of null struct fields.
#[derive(Clone, Copy)]
struct Cell {
    json: bool,
    keep_nulls: bool,
}

impl Cell {
    /// The same reading for a child field.
    fn child(self, field: &Field) -> Cell {
        Cell { json: is_json(field), ..self }
    }

    fn text(self, text: &str) -> Result<Value> {
        if self.json {
            parse_json(text, "an arrow.json value")
        } else {
            Ok(Value::from(text))
        }
    }
}

fn read(array: &dyn Array, row: usize, cell: Cell) -> Result<Value> {
    if array.is_null(row) {
        return Ok(Value::from(()));
    }
    Ok(match array.data_type() {
        DataType::Null => Value::from(()),
        DataType::Boolean => Value::from(array.as_boolean().value(row)),
        DataType::Int8 => Value::from(array.as_primitive::<types::Int8Type>().value(row)),
        DataType::Int16 => Value::from(array.as_primitive::<types::Int16Type>().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<types::Int32Type>().value(row)),
        DataType::Int64 => Value::from(array.as_primitive::<types::Int64Type>().value(row)),
        DataType::UInt8 => Value::from(array.as_primitive::<types::UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(array.as_primitive::<types::UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(array.as_primitive::<types::UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<types::UInt64Type>().value(row)),
        DataType::Float16 => Value::from(f64::from(array.as_primitive::<types::Float16Type>().value(row))),
        DataType::Float32 => Value::from(f64::from(array.as_primitive::<types::Float32Type>().value(row))),
        DataType::Float64 => Value::from(array.as_primitive::<types::Float64Type>().value(row)),
        DataType::Utf8 => cell.text(array.as_string::<i32>().value(row))?,
        DataType::LargeUtf8 => cell.text(array.as_string::<i64>().value(row))?,
        DataType::Utf8View => cell.text(array.as_string_view().value(row))?,
        // An image's encoded file (a `datasets` Image's `bytes`).
        DataType::Binary => Value::from_bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::from_bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::List(item) => sequence(array.as_list::<i32>().value(row).as_ref(), cell.child(item))?,
        DataType::LargeList(item) => sequence(array.as_list::<i64>().value(row).as_ref(), cell.child(item))?,
        DataType::FixedSizeList(item, _) => sequence(array.as_fixed_size_list().value(row).as_ref(), cell.child(item))?,
        DataType::ListView(item) => sequence(array.as_list_view::<i32>().value(row).as_ref(), cell.child(item))?,
        DataType::LargeListView(item) => sequence(array.as_list_view::<i64>().value(row).as_ref(), cell.child(item))?,
        DataType::Struct(fields) => {
            let array = array.as_struct();
            let mut entries = Vec::with_capacity(fields.len());
            for (field, column) in fields.iter().zip(array.columns()) {
                let value = read(column.as_ref(), row, cell.child(field))?;
                if cell.keep_nulls || !value.is_none() {
                    entries.push((Value::from(field.name().as_str()), value));
                }
            }
            map_value(entries)
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let fields = entries.fields();
            let mut pairs = Vec::with_capacity(entries.len());
            for i in 0..entries.len() {
                let key = read(keys.as_ref(), i, cell.child(&fields[0]))?;
                pairs.push((key, read(values.as_ref(), i, cell.child(&fields[1]))?));
            }
            map_value(pairs)
        }
        DataType::Dictionary(_, _) => {
            // Only this row's key: `normalized_keys()` would convert the whole key column for every cell.
            let dictionary = array.as_any_dictionary();
            let (values, key) = (dictionary.values(), dictionary_key(dictionary.keys(), row)?);
            if key >= values.len() {
                return Err(Error::Input(format!("Arrow dictionary key {key} is out of range")));
            }
            read(values.as_ref(), key, cell)?
        }
        other => return Err(Error::Input(format!("Arrow type {other} is not supported in a conversation"))),
    })
}

/// The key of a dictionary-encoded cell (its row is not null).
fn dictionary_key(keys: &dyn Array, row: usize) -> Result<usize> {
    let key = match keys.data_type() {
        DataType::Int8 => keys.as_primitive::<types::Int8Type>().value(row) as i64,
        DataType::Int16 => keys.as_primitive::<types::Int16Type>().value(row) as i64,
        DataType::Int32 => keys.as_primitive::<types::Int32Type>().value(row) as i64,
        DataType::Int64 => keys.as_primitive::<types::Int64Type>().value(row),
        DataType::UInt8 => keys.as_primitive::<types::UInt8Type>().value(row) as i64,
        DataType::UInt16 => keys.as_primitive::<types::UInt16Type>().value(row) as i64,
        DataType::UInt32 => keys.as_primitive::<types::UInt32Type>().value(row) as i64,
        DataType::UInt64 => keys.as_primitive::<types::UInt64Type>().value(row).min(i64::MAX as u64) as i64,
        other => return Err(Error::Input(format!("Arrow dictionary keys of type {other} are not supported"))),
    };
    usize::try_from(key).map_err(|_| Error::Input(format!("Arrow dictionary key {key} is negative")))
}

fn sequence(items: &dyn Array, cell: Cell) -> Result<Value> {
    (0..items.len()).map(|i| read(items, i, cell)).collect::<Result<Vec<_>>>().map(Value::from)
}

/// Whether a column of this type can hold conversations: JSON text, or lists of message structs.
pub fn is_conversation_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Null
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, ListArray, StringArray, StructArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::Field;

    use super::*;

    #[test]
    fn list_of_structs_becomes_messages_with_nulls_as_none() {
        let role: ArrayRef = Arc::new(StringArray::from(vec!["user", "assistant", "user"]));
        let content: ArrayRef = Arc::new(StringArray::from(vec![Some("hi"), None, Some("x")]));
        let count: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let messages = StructArray::from(vec![
            (Arc::new(Field::new("role", DataType::Utf8, false)), role),
            (Arc::new(Field::new("content", DataType::Utf8, true)), content),
            (Arc::new(Field::new("n", DataType::Int64, false)), count),
        ]);
        let field = Arc::new(Field::new("item", messages.data_type().clone(), true));
        let list = ListArray::new(field, OffsetBuffer::from_lengths([2, 1]), Arc::new(messages), None);
        let first = value_at(&list, 0).unwrap();
        assert_eq!(
            first.to_string(),
            "[{'role': 'user', 'content': 'hi', 'n': 1}, {'role': 'assistant', 'content': None, 'n': 2}]"
        );
        assert_eq!(value_at(&list, 1).unwrap().len(), Some(1));
    }

    #[test]
    fn dictionary_cells_read_their_own_key() {
        use arrow::array::{DictionaryArray, Int16Array};
        let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let keys = Int16Array::from(vec![Some(1), None, Some(0), Some(1)]);
        let array = DictionaryArray::try_new(keys, values).unwrap();
        let cells: Vec<String> = (0..4).map(|row| value_at(&array, row).unwrap().to_string()).collect();
        assert_eq!(cells, ["b", "None", "a", "b"]);
    }

    #[test]
    fn unsupported_types_are_input_errors() {
        let array = arrow::array::TimestampSecondArray::from(vec![1]);
        assert!(matches!(value_at(&array, 0), Err(Error::Input(_))));
    }
}
