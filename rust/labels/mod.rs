//! Which text is trained and the labels it gives: generation spans or located turns, end-of-turn tokens,
//! truncation.

pub mod align;
pub mod encoded;
pub mod eot;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod loop_locator;
pub mod spans;
pub mod turns;

pub use encoded::Encoded;
pub use spans::IGNORE_INDEX;
