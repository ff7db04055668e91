//! Rendered text to token ids with byte offsets: the `tokenizers` pipeline, or a fast path that gives the same ids.

pub mod fast;
pub mod memo;
pub mod pretokenize;
pub mod sanitize;
pub mod sentencepiece;
pub mod text;
pub mod tokens;

pub use text::TextTokenizer;
pub use tokens::Tokens;
