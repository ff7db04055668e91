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

    /// The name of the Python exception class this error becomes.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Template(_) => "TemplateError",
            Error::Input(_) => "InputError",
            Error::Config(_) => "ConfigError",
            Error::Tokenizer(_) => "TokenizerError",
            Error::Untrainable(_) => "UntrainableError",
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

/// Runs `f`, turning a panic into an error, so that one bad row never brings down a batch or the interpreter.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Input(format!("internal error (please report it to sftmask): {what}")))
    })
}
