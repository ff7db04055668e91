//! sftmask: assistant-only loss masking for supervised fine-tuning of chat models.
//!
//! The core (everything but `py`) is plain Rust with no Python in it, so `cargo test` covers it alone.

pub mod align;
pub mod arrow_values;
pub mod batch;
pub mod completion;
pub mod config;
pub mod conversation;
pub mod eot;
pub mod error;
pub mod fast_tokenize;
pub mod formats;
pub mod loops;
pub mod masker;
pub mod pack;
pub mod policy;
pub mod pretokenize;
pub mod pyfmt;
pub mod rows;
pub mod sanitize;
pub mod sentencepiece;
pub mod spans;
pub mod template;
pub mod tokenize;
pub mod truncate;
pub mod turns;

#[cfg(feature = "python")]
mod py;
#[cfg(feature = "python")]
mod py_batch;
#[cfg(feature = "python")]
mod py_pack;

pub use conversation::Conversation;
pub use error::{Error, Result};
pub use masker::{Encoded, Masker, RenderOptions};
pub use policy::{Mode, Policy, Truncation};
