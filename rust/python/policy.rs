//! Binding of the policy: the checks and defaults `sftmask.Policy` defers to.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::policy::Policy;
use crate::python::convert::training_policy;

/// The whole policy that `options` give (the defaults where they are silent), as JSON text; an unknown option or
/// a bad value raises `InputError` naming the option.
#[pyfunction]
pub fn resolve_policy(options: &Bound<'_, PyDict>) -> PyResult<String> {
    let policy = training_policy(&Policy::default(), Some(options))?;
    Ok(serde_json::to_string(&policy).expect("a policy is plain data"))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(resolve_policy, m)?)
}
