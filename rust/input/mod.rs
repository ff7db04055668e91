//! Reading rows: dataset formats, Arrow cells and JSON values into normalized conversations.

pub mod arrow_values;
pub mod completion;
pub mod conversation;
pub mod formats;
pub mod rows;
