//! The core's error type. Each variant becomes a Python exception class in the bindings.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The chat template raised (`raise_exception`), failed to parse, or failed while rendering.
    Template(String),
    /// The conversation itself is malformed: not a list of mappings, missing role, content of a wrong type, ...
    Input(String),
    /// The tokenizer files could not be read or understood.
    Config(String),
    /// The tokenizer failed on a rendered text.
    Tokenizer(String),
    /// The row leaves nothing to train: no message is trained, truncation removed every trained token, or it is
    /// longer than `max_length` under `truncation="drop"`.
    Untrainable(String),
}

impl Error {
    /// The same error with `context` (a row or message position) put in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Error {
        let wrap = |message: String| format!("{context}: {message}");
        match self {
            Error::Template(m) => Error::Template(wrap(m)),
            Error::Input(m) => Error::Input(wrap(m)),
            Error::Config(m) => Error::Config(wrap(m)),
            Error::Tokenizer(m) => Error::Tokenizer(wrap(m)),
            Error::Untrainable(m) => Error::Untrainable(wrap(m)),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Template(m) | Error::Input(m) | Error::Config(m) | Error::Tokenizer(m) | Error::Untrainable(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
