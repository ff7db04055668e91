//! Token ids with their offsets: what every tokenizing path produces.

/// Token ids with each token's `(start, end)` byte range in the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
}
