//! sftmask: assistant-only loss masking for supervised fine-tuning of chat models.
//!
//! The core (everything but `py`) is plain Rust with no Python in it, so `cargo test` covers it alone.

pub mod arrow_values;
pub mod batch;
pub mod config;
pub mod conversation;
pub mod fast_tokenize;
pub mod error;
pub mod masker;
pub mod pack;
pub mod pretokenize;
pub mod pyfmt;
pub mod spans;
pub mod template;
pub mod tokenize;

#[cfg(feature = "python")]
mod py;
#[cfg(feature = "python")]
mod py_batch;
#[cfg(feature = "python")]
mod py_pack;

pub use conversation::Conversation;
pub use error::{Error, Result};
pub use masker::{Encoded, Masker, RenderOptions};
