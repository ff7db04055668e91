//! PyO3 bindings: conversions, GIL release and error mapping only. The Python facade (`sftmask/masker.py`) owns
//! the public API and its argument checking.

mod batch;
mod convert;
mod errors;
mod masker;
mod pack;
mod policy;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<masker::PyMasker>()?;
    errors::register(m)?;
    batch::register(m)?;
    pack::register(m)?;
    policy::register(m)?;
    Ok(())
}
