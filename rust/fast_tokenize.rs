//! A lean encoding path for byte-level BPE tokenizers (GPT-2, Llama 3, Qwen 2/3 and their kin) that gives the
//! same ids as the `tokenizers` pipeline, several times faster.
//!
//! The `tokenizers` pipeline tracks every character's alignment through normalization and pre-tokenization and
//! allocates a string per token; chat corpora repeat the same words endlessly. This path runs the same steps on
//! plain byte ranges: added tokens are split off with the same leftmost-longest automaton, the rest is cut with
//! the same pre-tokenizer regex (the same Oniguruma engine), and each piece goes through the same BPE model,
//! memoized per thread. It only takes tokenizers whose configuration it reproduces exactly (checked when the
//! tokenizer is loaded) and texts that NFC leaves unchanged; anything else goes through `tokenizers` itself.

use std::cell::RefCell;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use tokenizers::models::bpe::BPE;
use tokenizers::utils::SysRegex;
use tokenizers::{Model, ModelWrapper, Tokenizer};

use crate::pretokenize::{AsciiSplitter, GPT2_PATTERN};
use crate::tokenize::Tokens;

/// Pieces memoized per thread before the memo is cleared, bounding its memory.
const MEMO_CAPACITY: usize = 200_000;

pub struct FastByteLevel {
    added_tokens: Option<AhoCorasick>,
    added_ids: Vec<u32>,
    nfc: bool,
    split: SysRegex,
    /// The same split written out by hand for ASCII text, for the regexes that have one.
    ascii_split: Option<AsciiSplitter>,
    byte_chars: [char; 256],
    /// Distinguishes the memos of different tokenizers living in the same thread.
    id: usize,
}

/// Token ids of one piece, with the number of text bytes each covers.
type Piece = Box<[(u32, u32)]>;

thread_local! {
    /// Per tokenizer (by `FastByteLevel::id`): piece text -> its tokens.
    static MEMO: RefCell<HashMap<usize, HashMap<Box<str>, Piece>>> = RefCell::new(HashMap::default());
}

impl FastByteLevel {
    /// Returns the fast path when `config` (the parsed `tokenizer.json`) is a configuration it reproduces exactly.
    pub fn for_config(config: &serde_json::Value, tokenizer: &Tokenizer) -> Option<FastByteLevel> {
        use serde_json::Value as J;
        let str_field = |v: &J, key: &str| v.get(key).and_then(J::as_str).map(str::to_owned);
        let is_false = |v: &J, key: &str| v.get(key).is_none_or(|x| x == &J::Bool(false));
        let is_blank = |v: &J, key: &str| v.get(key).is_none_or(|x| x.is_null() || x == &J::String(String::new()));

        let model = config.get("model")?;
        let simple_bpe = str_field(model, "type").as_deref() == Some("BPE")
            && model.get("dropout").is_none_or(J::is_null)
            && is_false(model, "byte_fallback")
            && is_blank(model, "continuing_subword_prefix")
            && is_blank(model, "end_of_word_suffix");
        if !simple_bpe || !matches!(tokenizer.get_model(), ModelWrapper::BPE(_)) {
            return None;
        }
        let nfc = match config.get("normalizer") {
            None | Some(J::Null) => false,
            Some(n) if str_field(n, "type").as_deref() == Some("NFC") => true,
            Some(_) => return None,
        };
        let pattern = byte_level_split_pattern(config.get("pre_tokenizer")?)?;
        if !post_processor_keeps_offsets(config.get("post_processor").unwrap_or(&J::Null)) {
            return None;
        }
        let mut added = Vec::new();
        for token in config.get("added_tokens").and_then(J::as_array).map(Vec::as_slice).unwrap_or_default() {
            let plain = ["lstrip", "rstrip", "single_word", "normalized"].iter().all(|k| is_false(token, k));
            if !plain {
                return None;
            }
            added.push((str_field(token, "content")?, token.get("id")?.as_u64()? as u32));
        }
        let added_tokens = if added.is_empty() {
            None
        } else {
            let patterns: Vec<&str> = added.iter().map(|(content, _)| content.as_str()).collect();
            Some(AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns).ok()?)
        };
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        Some(FastByteLevel {
            added_tokens,
            added_ids: added.into_iter().map(|(_, id)| id).collect(),
            nfc,
            split: SysRegex::new(&pattern).ok()?,
            ascii_split: AsciiSplitter::for_pattern(&pattern),
            byte_chars: byte_chars(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Encodes `text`, or returns `None` when it must go through the full pipeline (text that NFC would change).
    pub fn encode(&self, tokenizer: &Tokenizer, text: &str) -> Option<tokenizers::Result<Tokens>> {
        if self.nfc && unicode_normalization::is_nfc_quick(text.chars()) != unicode_normalization::IsNormalized::Yes {
            return None;
        }
        let ModelWrapper::BPE(bpe) = tokenizer.get_model() else { return None };
        let mut tokens = Tokens { ids: Vec::with_capacity(text.len() / 3), offsets: Vec::with_capacity(text.len() / 3) };
        let mut start = 0;
        if let Some(added) = &self.added_tokens {
            for found in added.find_iter(text) {
                if let Err(e) = self.encode_plain(bpe, text, start, found.start(), &mut tokens) {
                    return Some(Err(e));
                }
                tokens.ids.push(self.added_ids[found.pattern().as_usize()]);
                tokens.offsets.push((found.start(), found.end()));
                start = found.end();
            }
        }
        Some(self.encode_plain(bpe, text, start, text.len(), &mut tokens).map(|_| tokens))
    }

    /// Encodes `text[start..end]`, which holds no added token: pre-tokenizer pieces through the BPE model.
    fn encode_plain(&self, bpe: &BPE, text: &str, start: usize, end: usize, out: &mut Tokens) -> tokenizers::Result<()> {
        let segment = &text[start..end];
        if let Some(splitter) = self.ascii_split.filter(|_| segment.is_ascii()) {
            let mut result = Ok(());
            splitter.split(segment.as_bytes(), |piece_start, piece_end| {
                if result.is_ok() {
                    result = self.encode_piece(bpe, segment, start, piece_start, piece_end, out);
                }
            });
            return result;
        }
        let mut covered = 0;
        for (piece_start, piece_end) in self.split.find_iter(segment) {
            // `Isolated` splitting: the text between two matches is a piece of its own.
            if covered < piece_start {
                self.encode_piece(bpe, segment, start, covered, piece_start, out)?;
            }
            self.encode_piece(bpe, segment, start, piece_start, piece_end, out)?;
            covered = piece_end;
        }
        if covered < segment.len() {
            self.encode_piece(bpe, segment, start, covered, segment.len(), out)?;
        }
        Ok(())
    }

    fn encode_piece(
        &self,
        bpe: &BPE,
        segment: &str,
        base: usize,
        start: usize,
        end: usize,
        out: &mut Tokens,
    ) -> tokenizers::Result<()> {
        if start == end {
            return Ok(());
        }
        let piece = &segment[start..end];
        MEMO.with_borrow_mut(|memos| {
            let memo = memos.entry(self.id).or_default();
            if !memo.contains_key(piece) {
                let tokens = self.tokenize_piece(bpe, piece)?;
                if memo.len() >= MEMO_CAPACITY {
                    memo.clear();
                }
                memo.insert(piece.into(), tokens);
            }
            let mut offset = base + start;
            for &(id, len) in memo[piece].iter() {
                out.ids.push(id);
                out.offsets.push((offset, offset + len as usize));
                offset += len as usize;
            }
            Ok(())
        })
    }

    /// Runs the BPE model on a piece mapped to byte-level characters, as the ByteLevel pre-tokenizer does.
    fn tokenize_piece(&self, bpe: &BPE, piece: &str) -> tokenizers::Result<Piece> {
        let mapped: String = piece.bytes().map(|b| self.byte_chars[b as usize]).collect();
        let tokens = bpe.tokenize(&mapped)?;
        // Each byte-level character stands for one byte of the text.
        Ok(tokens.into_iter().map(|t| (t.id, t.value.chars().count() as u32)).collect())
    }
}

/// The regex a byte-level pre-tokenizer configuration splits with, if it is one this path reproduces:
/// `ByteLevel(use_regex=true)` or `Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)]`.
fn byte_level_split_pattern(pre_tokenizer: &serde_json::Value) -> Option<String> {
    let kind = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()).map(str::to_owned);
    let flag = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_bool());
    match kind(pre_tokenizer)?.as_str() {
        "ByteLevel" if flag(pre_tokenizer, "add_prefix_space") == Some(false) && flag(pre_tokenizer, "use_regex") != Some(false) => {
            Some(GPT2_PATTERN.to_string())
        }
        "Sequence" => match pre_tokenizer.get("pretokenizers")?.as_array()?.as_slice() {
            [split, byte_level]
                if kind(split).as_deref() == Some("Split")
                    && split.get("behavior")?.as_str()? == "Isolated"
                    && flag(split, "invert") == Some(false)
                    && kind(byte_level).as_deref() == Some("ByteLevel")
                    && flag(byte_level, "add_prefix_space") == Some(false)
                    && flag(byte_level, "use_regex") == Some(false) =>
            {
                Some(split.get("pattern")?.get("Regex")?.as_str()?.to_string())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether the post-processor leaves offsets as the model made them when no special tokens are added.
fn post_processor_keeps_offsets(processor: &serde_json::Value) -> bool {
    let kind = processor.get("type").and_then(|t| t.as_str());
    match kind {
        None => processor.is_null(),
        Some("ByteLevel") => processor.get("trim_offsets").and_then(|t| t.as_bool()) == Some(false),
        Some("TemplateProcessing") | Some("BertProcessing") | Some("RobertaProcessing") => kind != Some("RobertaProcessing"),
        Some("Sequence") => processor
            .get("processors")
            .and_then(|p| p.as_array())
            .is_some_and(|ps| ps.iter().all(post_processor_keeps_offsets)),
        Some(_) => false,
    }
}

/// GPT-2's map from bytes to printable characters (`bytes_to_unicode`).
fn byte_chars() -> [char; 256] {
    let mut chars = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        chars[b as usize] = if printable {
            b as char
        } else {
            let c = char::from_u32(next).expect("valid code point");
            next += 1;
            c
        };
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (Tokenizer, FastByteLevel) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo/tokenizer.json");
        let json = std::fs::read_to_string(path).unwrap();
        let tokenizer: Tokenizer = json.parse().unwrap();
        let fast = FastByteLevel::for_config(&serde_json::from_str(&json).unwrap(), &tokenizer).expect("eligible");
        (tokenizer, fast)
    }

    /// Offsets the way `tokenizers` reports them: widened to whole characters.
    fn char_aligned(text: &str, offsets: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let floor = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let ceil = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i += 1;
            }
            i
        };
        offsets.iter().map(|&(s, e)| (floor(s), ceil(e))).collect()
    }

    #[test]
    fn same_ids_and_offsets_as_the_full_pipeline() {
        let (tokenizer, fast) = demo();
        let texts = [
            "<|im_start|>user\nHello there, what's up?  I'm fine!!\n\n<|im_end|>\n<|im_start|>assistant\n",
            "Numbers 12345 and   spaces\t\ttabs\r\n\r\nnewlines  ",
            "潮汐是月球和太阳的引力 😀 emoji, é composed, e\u{301} decomposed<|im_end|><|im_end|>",
            "",
            "<|im_start|>",
            "trailing space ",
        ];
        for text in texts {
            let expected = tokenizer.encode(text, false).unwrap();
            let got = fast.encode(&tokenizer, text).unwrap().unwrap();
            assert_eq!(got.ids, expected.get_ids(), "{text:?}");
            assert_eq!(char_aligned(text, &got.offsets), expected.get_offsets(), "{text:?}");
        }
    }

    #[test]
    fn byte_chars_match_gpt2() {
        let chars = byte_chars();
        assert_eq!(chars[b' ' as usize], 'Ġ');
        assert_eq!(chars[b'\n' as usize], 'Ċ');
        assert_eq!(chars[b'a' as usize], 'a');
    }
}
