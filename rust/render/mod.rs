//! Rendering chat templates as transformers does, with the loop instrumentation that locates turns.

pub mod contents;
pub mod loops;
pub mod python_format;
pub mod template;
