//! A lean encoding path for BPE tokenizers that gives the same ids as the `tokenizers` pipeline, several times
//! faster: byte-level BPE (GPT-2, Llama 3, Qwen 2/3, DeepSeek-V3 and their kin) and SentencePiece-style BPE with
//! "▁" for spaces (Llama 2, Mistral, Gemma; see `sentencepiece.rs`).
//!
//! The `tokenizers` pipeline tracks every character's alignment through normalization and pre-tokenization and
//! allocates a string per token; chat corpora repeat the same words endlessly. This path runs the same steps on
//! plain byte ranges: added tokens are split off as `tokenizers` does (first those matched on the raw text, then,
//! inside the text between them, those matched on the normalized text, each set with a leftmost-longest
//! automaton), the rest is cut into pieces the BPE model sees independently (the pre-tokenizer's pieces for
//! byte-level tokenizers, words for SentencePiece-style ones), and each piece goes through the same BPE model,
//! memoized. It only takes tokenizers whose configuration it reproduces exactly (checked when the tokenizer is
//! loaded) and texts that NFC leaves unchanged where the normalizer is NFC; anything else goes through
//! `tokenizers` itself.
//!
//! The memo belongs to the tokenizer, so it is freed with it; it is sharded by worker thread (each rayon worker
//! locks its own shard once per text, uncontended) and each shard is capped by bytes.

use aho_corasick::{AhoCorasick, MatchKind};
use tokenizers::models::bpe::BPE;
use tokenizers::utils::SysRegex;
use tokenizers::{Model, ModelWrapper, Tokenizer};

use crate::tokenize::memo::{Memo, Output, PieceTokens, MEMO_BYTES};
use crate::tokenize::pretokenize::{AsciiSplitter, GPT2_PATTERN};
use crate::tokenize::sentencepiece::SentencePiece;
use crate::tokenize::tokens::Tokens;

pub struct FastTokenizer {
    added: AddedTokens,
    kind: Kind,
    memo: Memo,
}

/// How the text between added tokens becomes pieces for the BPE model.
enum Kind {
    ByteLevel(Box<ByteLevel>),
    SentencePiece(SentencePiece),
}

impl FastTokenizer {
    /// Returns the fast path when `config` (the parsed `tokenizer.json`, as loaded) is a configuration it
    /// reproduces exactly.
    pub fn for_config(config: &serde_json::Value, tokenizer: &Tokenizer) -> Option<FastTokenizer> {
        use serde_json::Value as J;
        let model = config.get("model")?;
        let is_blank = |key: &str| model.get(key).is_none_or(|x| x.is_null() || x == &J::String(String::new()));
        let ModelWrapper::BPE(bpe) = tokenizer.get_model() else { return None };
        let simple_bpe = model.get("type").and_then(J::as_str) == Some("BPE")
            && bpe.dropout.is_none()
            && is_blank("continuing_subword_prefix")
            && is_blank("end_of_word_suffix");
        if !simple_bpe || !post_processor_keeps_offsets(config.get("post_processor").unwrap_or(&J::Null)) {
            return None;
        }
        let kind = match ByteLevel::for_config(config, bpe) {
            Some(byte_level) => Kind::ByteLevel(Box::new(byte_level)),
            None => Kind::SentencePiece(SentencePiece::for_config(config, bpe)?),
        };
        let added = AddedTokens::new(tokenizer, |content| match &kind {
            Kind::ByteLevel(b) => !b.nfc || unicode_normalization::is_nfc(content),
            Kind::SentencePiece(s) => !s.normalizes(),
        })?;
        Some(FastTokenizer { added, kind, memo: Memo::new(MEMO_BYTES) })
    }

    /// Encodes `text`, or returns `None` when it must go through the full pipeline (text that NFC would change).
    pub fn encode(&self, tokenizer: &Tokenizer, text: &str) -> Option<tokenizers::Result<Tokens>> {
        // Text that NFC would change goes through the full pipeline, which normalizes it.
        let nfc = matches!(&self.kind, Kind::ByteLevel(b) if b.nfc);
        if nfc && unicode_normalization::is_nfc_quick(text.chars()) != unicode_normalization::IsNormalized::Yes {
            return None;
        }
        let ModelWrapper::BPE(bpe) = tokenizer.get_model() else { return None };
        let mut tokens =
            Tokens { ids: Vec::with_capacity(text.len() / 3), offsets: Vec::with_capacity(text.len() / 3) };
        let result = self.memo.with_shard(|memo| {
            self.added.split(text, |part| match part {
                Part::Added(id, start, end) => {
                    tokens.ids.push(id);
                    tokens.offsets.push((start, end));
                    Ok(())
                }
                Part::Text(start, end) => {
                    let mut out = Output::new(memo, &mut tokens);
                    match &self.kind {
                        Kind::ByteLevel(b) => b.encode(bpe, text, start, end, &mut out),
                        Kind::SentencePiece(s) => s.encode(bpe, text, start, end, &mut out),
                    }
                }
            })
        });
        Some(result.map(|_| tokens))
    }
}

/// The tokenizer's added tokens, as `tokenizers` matches them: those with `normalized: false` on the raw text,
/// then those with `normalized: true` inside the text between them.
struct AddedTokens {
    raw: Option<(AhoCorasick, Vec<u32>)>,
    normalized: Option<(AhoCorasick, Vec<u32>)>,
}

/// A part of the text: an added token's id and range, or a range of text between added tokens.
enum Part {
    Added(u32, usize, usize),
    Text(usize, usize),
}

impl AddedTokens {
    /// Takes the added tokens from the loaded tokenizer, with the ids it assigned them (the vocabulary's id for a
    /// token it already has, whatever the JSON says). `normalized_ok` says whether a token with `normalized: true`
    /// matches the same text as without normalization (then it is matched in the second pass).
    fn new(tokenizer: &Tokenizer, normalized_ok: impl Fn(&str) -> bool) -> Option<AddedTokens> {
        let mut tokens: Vec<(u32, tokenizers::AddedToken)> = tokenizer.get_added_tokens_decoder().into_iter().collect();
        tokens.sort_by_key(|(id, _)| *id);
        let (mut raw, mut normalized) = (Vec::new(), Vec::new());
        for (id, token) in tokens {
            if token.lstrip || token.rstrip || token.single_word || token.content.is_empty() {
                return None;
            }
            if token.normalized {
                if !normalized_ok(&token.content) {
                    return None;
                }
                normalized.push((token.content, id));
            } else {
                raw.push((token.content, id));
            }
        }
        let automaton = |tokens: Vec<(String, u32)>| -> Option<Option<(AhoCorasick, Vec<u32>)>> {
            if tokens.is_empty() {
                return Some(None);
            }
            let patterns: Vec<&str> = tokens.iter().map(|(content, _)| content.as_str()).collect();
            let automaton = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns).ok()?;
            Some(Some((automaton, tokens.into_iter().map(|(_, id)| id).collect())))
        };
        Some(AddedTokens { raw: automaton(raw)?, normalized: automaton(normalized)? })
    }

    fn split(&self, text: &str, mut part: impl FnMut(Part) -> tokenizers::Result<()>) -> tokenizers::Result<()> {
        let mut start = 0;
        if let Some((automaton, ids)) = &self.raw {
            for found in automaton.find_iter(text) {
                self.split_normalized(text, start, found.start(), &mut part)?;
                part(Part::Added(ids[found.pattern().as_usize()], found.start(), found.end()))?;
                start = found.end();
            }
        }
        self.split_normalized(text, start, text.len(), &mut part)
    }

    fn split_normalized(
        &self,
        text: &str,
        mut start: usize,
        end: usize,
        part: &mut impl FnMut(Part) -> tokenizers::Result<()>,
    ) -> tokenizers::Result<()> {
        if let Some((automaton, ids)) = &self.normalized {
            let base = start;
            for found in automaton.find_iter(&text[base..end]) {
                if start < base + found.start() {
                    part(Part::Text(start, base + found.start()))?;
                }
                part(Part::Added(ids[found.pattern().as_usize()], base + found.start(), base + found.end()))?;
                start = base + found.end();
            }
        }
        if start < end {
            part(Part::Text(start, end))?;
        }
        Ok(())
    }
}

/// Byte-level BPE: the pre-tokenizer's split regexes, then bytes mapped to GPT-2's printable characters.
struct ByteLevel {
    nfc: bool,
    /// The `Isolated` split regexes, applied in order, each to every piece the one before left.
    splits: Vec<SysRegex>,
    /// The same splits written out by hand for ASCII text, for the regexes that have one.
    ascii_split: Option<AsciiSplitter>,
    byte_chars: [char; 256],
}

impl ByteLevel {
    fn for_config(config: &serde_json::Value, bpe: &BPE) -> Option<ByteLevel> {
        if bpe.byte_fallback {
            return None;
        }
        let nfc = match config.get("normalizer") {
            None | Some(serde_json::Value::Null) => false,
            Some(n) if n.get("type").and_then(|t| t.as_str()) == Some("NFC") => true,
            Some(n) if is_empty_sequence(n, "normalizers") => false,
            Some(_) => return None,
        };
        let patterns = byte_level_split_patterns(config.get("pre_tokenizer")?)?;
        let splits = patterns.iter().map(|p| SysRegex::new(p).ok()).collect::<Option<Vec<_>>>()?;
        Some(ByteLevel { nfc, splits, ascii_split: AsciiSplitter::for_patterns(&patterns), byte_chars: byte_chars() })
    }

    /// Encodes `text[start..end]`, which holds no added token: pre-tokenizer pieces through the BPE model.
    fn encode(&self, bpe: &BPE, text: &str, start: usize, end: usize, out: &mut Output) -> tokenizers::Result<()> {
        let segment = &text[start..end];
        let mut result = Ok(());
        let mut piece = |piece_start: usize, piece_end: usize| {
            if result.is_ok() && piece_start < piece_end {
                result = out.piece(text, start + piece_start, start + piece_end, 0, |p| self.tokenize_piece(bpe, p));
            }
        };
        match self.ascii_split.filter(|_| segment.is_ascii()) {
            Some(splitter) => splitter.split(segment.as_bytes(), piece),
            None => split_isolated(&self.splits, segment, 0, &mut piece),
        }
        result
    }

    /// Runs the BPE model on a piece mapped to byte-level characters, as the ByteLevel pre-tokenizer does.
    fn tokenize_piece(&self, bpe: &BPE, piece: &str) -> tokenizers::Result<PieceTokens> {
        let mapped: String = piece.bytes().map(|b| self.byte_chars[b as usize]).collect();
        let tokens = bpe.tokenize(&mapped)?;
        // Each byte-level character stands for one byte of the text.
        let mut offset = 0;
        Ok(tokens
            .into_iter()
            .map(|t| {
                let start = offset;
                offset += t.value.chars().count() as u32;
                (t.id, start, offset)
            })
            .collect())
    }
}

/// Calls `piece` for the pieces of `text` (at `base` in the segment) cut by `Isolated` split regexes in turn: each
/// match and each stretch between matches is a piece, and the next regex splits each of them.
fn split_isolated(splits: &[SysRegex], text: &str, base: usize, piece: &mut impl FnMut(usize, usize)) {
    let Some((split, rest)) = splits.split_first() else {
        return piece(base, base + text.len());
    };
    let mut covered = 0;
    for (start, end) in split.find_iter(text) {
        if covered < start {
            split_isolated(rest, &text[covered..start], base + covered, piece);
        }
        split_isolated(rest, &text[start..end], base + start, piece);
        covered = end;
    }
    if covered < text.len() {
        split_isolated(rest, &text[covered..], base + covered, piece);
    }
}

fn is_empty_sequence(value: &serde_json::Value, key: &str) -> bool {
    value.get("type").and_then(|t| t.as_str()) == Some("Sequence")
        && value.get(key).and_then(|n| n.as_array()).is_some_and(Vec::is_empty)
}

/// The regexes a byte-level pre-tokenizer configuration splits with, if it is one this path reproduces:
/// `ByteLevel(use_regex=true)` or `Sequence[Split(Regex, Isolated), ..., ByteLevel(use_regex=false)]`.
fn byte_level_split_patterns(pre_tokenizer: &serde_json::Value) -> Option<Vec<String>> {
    let kind = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()).map(str::to_owned);
    let flag = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_bool());
    match kind(pre_tokenizer)?.as_str() {
        "ByteLevel"
            if flag(pre_tokenizer, "add_prefix_space") == Some(false)
                && flag(pre_tokenizer, "use_regex") != Some(false) =>
        {
            Some(vec![GPT2_PATTERN.to_string()])
        }
        "Sequence" => {
            let (byte_level, splits) = pre_tokenizer.get("pretokenizers")?.as_array()?.split_last()?;
            let byte_level_ok = kind(byte_level).as_deref() == Some("ByteLevel")
                && flag(byte_level, "add_prefix_space") == Some(false)
                && flag(byte_level, "use_regex") == Some(false);
            if !byte_level_ok || splits.is_empty() {
                return None;
            }
            splits
                .iter()
                .map(|split| {
                    let isolated = kind(split).as_deref() == Some("Split")
                        && split.get("behavior")?.as_str()? == "Isolated"
                        && flag(split, "invert") == Some(false);
                    isolated.then(|| Some(split.get("pattern")?.get("Regex")?.as_str()?.to_string()))?
                })
                .collect()
        }
        _ => None,
    }
}

/// Whether the post-processor leaves offsets as the model made them when no special tokens are added.
fn post_processor_keeps_offsets(processor: &serde_json::Value) -> bool {
    let kind = processor.get("type").and_then(|t| t.as_str());
    match kind {
        None => processor.is_null(),
        Some("ByteLevel") => processor.get("trim_offsets").and_then(|t| t.as_bool()) == Some(false),
        Some("TemplateProcessing") | Some("BertProcessing") | Some("RobertaProcessing") => {
            kind != Some("RobertaProcessing")
        }
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
pub(crate) mod tests {
    use super::*;

    fn load(json: &str) -> (Tokenizer, FastTokenizer) {
        let tokenizer: Tokenizer = json.parse().unwrap();
        let fast = FastTokenizer::for_config(&serde_json::from_str(json).unwrap(), &tokenizer).expect("eligible");
        (tokenizer, fast)
    }

    fn demo_json() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sftmask/demo/tokenizer.json");
        std::fs::read_to_string(path).unwrap()
    }

    /// Offsets the way `tokenizers` reports them: widened to whole characters.
    pub(crate) fn char_aligned(text: &str, offsets: &[(usize, usize)]) -> Vec<(usize, usize)> {
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

    /// Asserts that the fast path gives the ids and offsets of the full pipeline on each text.
    pub(crate) fn assert_same_as_pipeline(tokenizer: &Tokenizer, fast: &FastTokenizer, texts: &[&str]) {
        for text in texts {
            let expected = tokenizer.encode(*text, false).unwrap();
            let got = fast.encode(tokenizer, text).unwrap().unwrap();
            assert_eq!(got.ids, expected.get_ids(), "{text:?}");
            assert_eq!(char_aligned(text, &got.offsets), expected.get_offsets(), "{text:?}");
        }
    }

    #[test]
    fn same_ids_and_offsets_as_the_full_pipeline() {
        let (tokenizer, fast) = load(&demo_json());
        let texts = [
            "<|im_start|>user\nHello there, what's up?  I'm fine!!\n\n<|im_end|>\n<|im_start|>assistant\n",
            "Numbers 12345 and   spaces\t\ttabs\r\n\r\nnewlines  ",
            "潮汐是月球和太阳的引力 😀 emoji, é composed, e\u{301} decomposed<|im_end|><|im_end|>",
            "",
            "<|im_start|>",
            "trailing space ",
        ];
        assert_same_as_pipeline(&tokenizer, &fast, &texts);
    }

    #[test]
    fn added_token_ids_come_from_the_loaded_tokenizer() {
        // "hello" is in the vocabulary: `tokenizers` gives it the vocabulary's id, not the one in the JSON, and skips
        // an added token with empty content.
        let mut config: serde_json::Value = serde_json::from_str(&demo_json()).unwrap();
        let (word, vocab_id) = config["model"]["vocab"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(token, _)| token.len() >= 4 && token.bytes().all(|b| b.is_ascii_lowercase()))
            .map(|(token, id)| (token.clone(), id.as_u64().unwrap()))
            .expect("a word in the demo vocabulary");
        let token = |content: &str, id: u64| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                               "normalized": false, "special": false})
        };
        let added = config["added_tokens"].as_array_mut().unwrap();
        added.push(token(&word, 900_000));
        added.push(token("", 900_001));
        let (tokenizer, fast) = load(&config.to_string());
        assert_eq!(fast.encode(&tokenizer, &word).unwrap().unwrap().ids, [vocab_id as u32]);
        let text = format!("say {word}<|im_end|>{word}");
        assert_same_as_pipeline(&tokenizer, &fast, &[&word, &text]);
    }

    #[test]
    fn normalized_added_tokens_are_matched_between_the_others() {
        // DeepSeek-V3's kind: no normalizer, and added tokens with `normalized: true` that overlap the others.
        let mut config: serde_json::Value = serde_json::from_str(&demo_json()).unwrap();
        config["normalizer"] = serde_json::json!({"type": "Sequence", "normalizers": []});
        let added = config["added_tokens"].as_array_mut().unwrap();
        for (i, content) in ["<|im", "im_end|>x", "<tool>"].iter().enumerate() {
            added
                .push(serde_json::json!({"id": 900_000 + i, "content": content, "single_word": false, "lstrip": false,
                                          "rstrip": false, "normalized": true, "special": false}));
        }
        let (tokenizer, fast) = load(&config.to_string());
        let texts = ["<|im_end|>x<|im <tool><tool>", "a<|im_start|>b<|imc", "<|im_end|x", ""];
        assert_same_as_pipeline(&tokenizer, &fast, &texts);
    }

    #[test]
    fn memo_stays_under_its_byte_cap() {
        use crate::tokenize::memo::MEMO_MAX_PIECE;
        let (tokenizer, mut fast) = load(&demo_json());
        fast.memo = Memo::new(5_000);
        let long = "x".repeat(MEMO_MAX_PIECE + 1);
        for i in 0..400 {
            let text = if i == 0 { format!("word {long}") } else { format!("word{i} ") };
            assert_same_as_pipeline(&tokenizer, &fast, &[&text]);
            let (largest, _) = fast.memo.largest_shard_and_piece();
            assert!(largest <= 5_000, "{largest}");
        }
        // Long pieces are not kept.
        let (_, kept) = fast.memo.largest_shard_and_piece();
        assert!(kept <= MEMO_MAX_PIECE);
    }

    #[test]
    fn byte_chars_match_gpt2() {
        let chars = byte_chars();
        assert_eq!(chars[b' ' as usize], 'Ġ');
        assert_eq!(chars[b'\n' as usize], 'Ċ');
        assert_eq!(chars[b'a' as usize], 'a');
    }
}
