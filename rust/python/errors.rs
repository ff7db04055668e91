//! sftmask's Python exception classes, and the core's errors mapped onto them.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::Error;

create_exception!(sftmask, SftmaskError, PyValueError, "Base class of sftmask's errors; a subclass of ValueError.");
create_exception!(
    sftmask,
    TemplateError,
    SftmaskError,
    "The chat template raised, or could not be parsed or rendered."
);
create_exception!(
    sftmask,
    InputError,
    SftmaskError,
    "A conversation is malformed (missing role, content of a wrong type, ...)."
);
create_exception!(sftmask, ConfigError, SftmaskError, "The tokenizer files are missing or cannot be understood.");
create_exception!(sftmask, TokenizerError, SftmaskError, "The tokenizer failed on a rendered text.");
create_exception!(
    sftmask,
    UntrainableError,
    SftmaskError,
    "The row leaves nothing to train: no trained message, every trained token truncated away, or too long under truncation='drop'."
);

pub fn to_py_err(err: Error) -> PyErr {
    match err {
        Error::Template(m) => TemplateError::new_err(m),
        Error::Input(m) => InputError::new_err(m),
        Error::Config(m) => ConfigError::new_err(m),
        Error::Tokenizer(m) => TokenizerError::new_err(m),
        Error::Untrainable(m) => UntrainableError::new_err(m),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SftmaskError", py.get_type::<SftmaskError>())?;
    m.add("TemplateError", py.get_type::<TemplateError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("TokenizerError", py.get_type::<TokenizerError>())?;
    m.add("UntrainableError", py.get_type::<UntrainableError>())?;
    Ok(())
}
