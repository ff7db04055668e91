//! An encoded row, and fitting it into `max_length` tokens.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::labels::spans::IGNORE_INDEX;
use crate::policy::Truncation;
use crate::vision::VisionRow;

/// One encoded conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    pub input_ids: Vec<u32>,
    /// The token id where trained, `-100` elsewhere.
    pub labels: Vec<i32>,
    /// Whether `max_length` cut the row.
    pub truncated: bool,
    /// The row's images and videos, for a row that has any.
    pub vision: Option<Box<VisionRow>>,
}

impl Encoded {
    pub fn num_trained_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE_INDEX).count()
    }
}

/// The tokens a row of `len` tokens keeps under `max_length` and `truncation`: all of them when it fits (or under
/// [`Truncation::Drop`], which keeps a row whole or not at all).
pub fn kept(len: usize, max_length: Option<usize>, truncation: Truncation) -> Range<usize> {
    match max_length {
        Some(max_length) if len > max_length => match truncation {
            Truncation::KeepStart => 0..max_length,
            Truncation::KeepEnd => len - max_length..len,
            Truncation::Drop => 0..len,
        },
        _ => 0..len,
    }
}

/// Cuts `encoded` to `max_length` tokens as `truncation` says; returns whether anything was cut. Under
/// [`Truncation::Drop`] a longer row is an [`Error::Untrainable`].
pub fn truncate(encoded: &mut Encoded, max_length: Option<usize>, truncation: Truncation) -> Result<bool> {
    let len = encoded.input_ids.len();
    if let (Some(max_length), Truncation::Drop) = (max_length.filter(|&max| len > max), truncation) {
        return Err(Error::Untrainable(format!(
            "the row has {len} tokens, more than max_length={max_length}, and truncation='drop'"
        )));
    }
    let keep = kept(len, max_length, truncation);
    if keep.len() == len {
        return Ok(false);
    }
    encoded.input_ids.truncate(keep.end);
    encoded.input_ids.drain(..keep.start);
    encoded.labels.truncate(keep.end);
    encoded.labels.drain(..keep.start);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Encoded {
        Encoded { input_ids: vec![1, 2, 3, 4, 5], labels: vec![-100, -100, 3, 4, -100], truncated: false, vision: None }
    }

    #[test]
    fn keep_start_and_keep_end() {
        let mut e = row();
        assert!(truncate(&mut e, Some(3), Truncation::KeepStart).unwrap());
        assert_eq!((e.input_ids, e.labels), (vec![1, 2, 3], vec![-100, -100, 3]));
        let mut e = row();
        assert!(truncate(&mut e, Some(2), Truncation::KeepEnd).unwrap());
        assert_eq!((e.input_ids, e.labels), (vec![4, 5], vec![4, -100]));
    }

    #[test]
    fn short_rows_are_untouched_and_long_rows_dropped_on_request() {
        for truncation in [Truncation::KeepStart, Truncation::KeepEnd, Truncation::Drop] {
            let mut e = row();
            assert!(!truncate(&mut e, Some(5), truncation).unwrap());
            assert!(!truncate(&mut e, None, truncation).unwrap());
            assert_eq!(e, row());
        }
        let err = truncate(&mut row(), Some(4), Truncation::Drop).unwrap_err();
        assert_eq!(
            err,
            Error::Untrainable("the row has 5 tokens, more than max_length=4, and truncation='drop'".into())
        );
    }
}
