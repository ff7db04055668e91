//! sftmask: assistant-only loss masking for supervised fine-tuning of chat models.
//!
//! The crate is laid out by stage, each depending only on the ones above it:
//!
//! - [`input`]: dataset rows (Python objects, Arrow columns, JSON Lines) read into [`Conversation`]s;
//! - [`render`]: the chat template, rendered exactly as transformers renders it;
//! - [`tokenize`]: the rendered text to token ids with offsets;
//! - [`vision`]: images and videos, each placeholder expanded as the model's processor expands it;
//! - [`labels`]: which text is trained (generation blocks or located turns) and the labels it gives;
//! - [`masker`]: the pipeline of one row, under a [`Policy`];
//! - [`batch`]: many rows in parallel, packing, and the Arrow record batches handed to Python;
//! - `python` (feature `python`): the PyO3 bindings, conversions only.
//!
//! Everything but `python` is plain Rust, so `cargo test` covers the core alone.

pub mod batch;
pub mod config;
pub mod error;
pub mod input;
pub mod labels;
pub mod masker;
pub mod policy;
pub mod render;
pub mod tokenize;
pub mod values;
pub mod vision;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use input::conversation::Conversation;
pub use labels::Encoded;
pub use masker::{Masker, RenderOptions};
pub use policy::{Mode, Policy, Truncation};
