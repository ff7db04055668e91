//! An encoded row, and fitting it into `max_length` tokens.

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

/// Cuts `encoded` to `max_length` tokens as `truncation` says; returns whether anything was cut. Under
/// [`Truncation::Drop`] a longer row is an [`Error::Untrainable`].
pub fn truncate(encoded: &mut Encoded, max_length: Option<usize>, truncation: Truncation) -> Result<bool> {
    let Some(max_length) = max_length else {
        return Ok(false);
    };
    let len = encoded.input_ids.len();
    if len <= max_length {
        return Ok(false);
    }
    match truncation {
        Truncation::KeepStart => {
            encoded.input_ids.truncate(max_length);
            encoded.labels.truncate(max_length);
        }
        Truncation::KeepEnd => {
            encoded.input_ids.drain(..len - max_length);
            encoded.labels.drain(..len - max_length);
        }
        Truncation::Drop => {
            return Err(Error::Untrainable(format!(
                "the row has {len} tokens, more than max_length={max_length}, and truncation='drop'"
            )))
        }
    }
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
