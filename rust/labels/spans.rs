//! Trained character spans to per-token labels.
//!
//! The rule is transformers' (`apply_chat_template(return_assistant_tokens_mask=True)`): a token is trained when its
//! offsets overlap a span. Spans and token offsets are both sorted, so one pass over the tokens does it. The rule is
//! reproduced step for step, including its treatment of empty spans (an empty span strictly inside a token marks
//! that token), so that labels are identical to the reference.

use std::ops::Range;

/// Label value that PyTorch's cross-entropy ignores.
pub const IGNORE_INDEX: i32 = -100;

/// Which tokens overlap a trained span. `offsets` are the tokens' `(start, end)` in the rendered text and `spans`
/// the trained ranges of that text, both in the same unit (bytes here) and in ascending order.
pub fn trained_tokens(offsets: &[(usize, usize)], spans: &[Range<usize>]) -> Vec<bool> {
    let mut trained = vec![false; offsets.len()];
    let mut span_idx = 0;
    for (token, &(start, end)) in offsets.iter().enumerate() {
        while span_idx < spans.len() && start >= spans[span_idx].end {
            span_idx += 1;
        }
        if span_idx == spans.len() {
            break;
        }
        if end > spans[span_idx].start {
            trained[token] = true;
        }
    }
    trained
}

/// `labels[i] = input_ids[i]` where trained, [`IGNORE_INDEX`] elsewhere.
pub fn labels(input_ids: &[u32], trained: &[bool]) -> Vec<i32> {
    input_ids.iter().zip(trained).map(|(&id, &trained)| if trained { id as i32 } else { IGNORE_INDEX }).collect()
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // spans are lists of ranges, often of one
mod tests {
    use super::*;

    // Tokens of a 12-character text: [0,3) [3,6) [6,9) [9,12)
    const OFFSETS: [(usize, usize); 4] = [(0, 3), (3, 6), (6, 9), (9, 12)];

    #[test]
    fn span_on_token_boundaries() {
        assert_eq!(trained_tokens(&OFFSETS, &[3..9]), [false, true, true, false]);
    }

    #[test]
    fn span_starting_inside_a_token_trains_that_token() {
        assert_eq!(trained_tokens(&OFFSETS, &[4..9]), [false, true, true, false]);
    }

    #[test]
    fn span_ending_inside_a_token_trains_that_token() {
        assert_eq!(trained_tokens(&OFFSETS, &[3..7]), [false, true, true, false]);
    }

    #[test]
    fn span_inside_one_token() {
        assert_eq!(trained_tokens(&OFFSETS, &[4..5]), [false, true, false, false]);
    }

    #[test]
    fn empty_span_on_a_boundary_trains_nothing() {
        assert_eq!(trained_tokens(&OFFSETS, &[6..6]), [false; 4]);
        assert_eq!(trained_tokens(&OFFSETS, &[]), [false; 4]);
    }

    #[test]
    fn empty_span_strictly_inside_a_token_trains_it_as_transformers_does() {
        assert_eq!(trained_tokens(&OFFSETS, &[7..7]), [false, false, true, false]);
    }

    #[test]
    fn adjacent_spans_train_both_sides() {
        assert_eq!(trained_tokens(&OFFSETS, &[3..6, 6..9]), [false, true, true, false]);
        // Adjacent inside one token: that token once, nothing else.
        assert_eq!(trained_tokens(&OFFSETS, &[3..4, 4..5]), [false, true, false, false]);
    }

    #[test]
    fn several_spans_with_gaps() {
        assert_eq!(trained_tokens(&OFFSETS, &[0..2, 10..11]), [true, false, false, true]);
    }

    #[test]
    fn span_at_the_very_end() {
        assert_eq!(trained_tokens(&OFFSETS, &[9..12]), [false, false, false, true]);
        assert_eq!(trained_tokens(&OFFSETS, &[11..12]), [false, false, false, true]);
        // An empty span at the end of the text trains nothing.
        assert_eq!(trained_tokens(&OFFSETS, &[12..12]), [false; 4]);
    }

    #[test]
    fn zero_width_tokens_are_never_trained_at_a_span_start() {
        let offsets = [(0, 3), (3, 3), (3, 6)];
        assert_eq!(trained_tokens(&offsets, &[3..6]), [false, false, true]);
    }

    #[test]
    fn labels_copy_trained_ids_and_ignore_the_rest() {
        assert_eq!(labels(&[5, 6, 7], &[false, true, true]), [IGNORE_INDEX, 6, 7]);
    }
}
