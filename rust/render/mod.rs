//! Rendering chat templates as transformers does, with the loop instrumentation that locates turns.

pub mod loops;
pub mod python_format;
pub mod template;
