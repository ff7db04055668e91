//! Leaving the end-of-turn tokens of a trained turn untrained (`train_end_of_turn=False`).

use std::ops::Range;

/// `span` of `text` without the end-of-turn run that closes it: the special tokens at its end (`<|im_end|>`,
/// `<|eot_id|>`, `</s>`), with the whitespace after and between them. Whitespace before the first of them is the
/// turn's own and stays. A span that does not end with a special token is returned unchanged.
///
/// `special_tokens` must be sorted longest first, so that a token is preferred to a shorter one it ends with.
pub fn without_end_of_turn(text: &str, span: Range<usize>, special_tokens: &[String]) -> Range<usize> {
    let mut end = span.end;
    loop {
        let rest = text[span.start..end].trim_end();
        match special_tokens.iter().find(|token| !token.is_empty() && rest.ends_with(token.as_str())) {
            Some(token) => end = span.start + rest.len() - token.len(),
            None => break,
        }
    }
    span.start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> &str {
        let specials = ["<|im_end|>", "<|eot_id|>", "</s>", "<s>"].map(String::from);
        &text[without_end_of_turn(text, 0..text.len(), &specials)]
    }

    #[test]
    fn end_of_turn_tokens_and_their_whitespace_are_cut() {
        assert_eq!(cut("The answer.<|im_end|>\n"), "The answer.");
        assert_eq!(cut("ok<|eot_id|>"), "ok");
        assert_eq!(cut("ok </s><s>"), "ok ");
        assert_eq!(cut("ok\n\n<|im_end|>\n"), "ok\n\n");
    }

    #[test]
    fn a_turn_without_an_end_of_turn_token_is_kept_whole() {
        assert_eq!(cut("no marker\n"), "no marker\n");
        assert_eq!(cut("<|im_end|> in the middle"), "<|im_end|> in the middle");
    }
}
