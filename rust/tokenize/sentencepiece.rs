//! The fast path's text-to-pieces step for SentencePiece-style BPE tokenizers (Llama 2, Mistral, Gemma): spaces
//! become "▁" (a `Replace` normalizer or a `Metaspace` pre-tokenizer), a "▁" may be put in front of the text
//! (a `Prepend` normalizer, or `Metaspace`'s `prepend_scheme`), and the BPE model, usually with byte fallback,
//! runs on the whole text between added tokens: there is no pre-tokenizer to cut it into words.
//!
//! Running BPE on one long text is slow and never repeats, so this path cuts the text into words itself, where
//! the cut provably changes nothing. BPE only ever joins two adjacent symbols by one of its merges, so a symbol
//! spanning the boundary between characters x and y needs a first merge `(a, b)` with `a` ending in x and `b`
//! starting with y (a byte-fallback symbol `<0x0A>` stands for its byte). The tokenizer's merge list says which
//! pairs some merge joins: for ASCII characters (a space standing for "▁") a table of all pairs, and for a "▁"
//! after another character the characters a merge joins to it (usually only "▁" itself: runs of spaces merge).
//! Between any other pair the text is cut; next to other non-ASCII characters it is not. Each word then goes
//! through the same BPE model and is memoized, and token offsets are mapped back to the text as `tokenizers`
//! aligns them ("▁" for a space covers that space, a prefixed "▁" covers the first character).

use rustc_hash::FxHashSet as HashSet;
use tokenizers::models::bpe::BPE;
use tokenizers::Model;

use crate::tokenize::memo::{Output, PieceTokens};

const SPACE_MARK: char = '▁';

pub struct SentencePiece {
    prefix: Prefix,
    /// `Metaspace(split=true)`: every "▁" starts a piece of its own.
    split_at_every_space: bool,
    /// Characters that a merge may join to a following "▁" (a space written as "▁" included).
    joins_space: HashSet<char>,
    /// Whether a merge may join a non-ASCII byte-fallback symbol to a following "▁": then nothing is cut there.
    bytes_join_space: bool,
    /// `ascii_joins[x][y]`: whether a merge may join ASCII character x to a following ASCII character y, the space
    /// (index 32) standing for "▁".
    ascii_joins: Box<[[bool; 128]; 128]>,
    /// Whether a normalizer (not the pre-tokenizer) writes the "▁"s: added tokens with `normalized: true` would
    /// then be looked for in changed text, which this path does not do.
    normalizer: bool,
}

/// Where a "▁" is put in front of a text between added tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// Every text (a `Prepend("▁")` normalizer).
    Always,
    /// Every text that does not start with a space (`Metaspace`, `prepend_scheme: "always"`).
    UnlessSpace,
    /// Only the text at the very start, unless it starts with a space (`prepend_scheme: "first"`).
    FirstUnlessSpace,
    Never,
}

impl SentencePiece {
    /// The SentencePiece-style configuration of a `tokenizer.json`, when it is one this path reproduces.
    pub fn for_config(config: &serde_json::Value, bpe: &BPE) -> Option<SentencePiece> {
        if bpe.ignore_merges {
            // The whole text is looked up in the vocabulary first: cutting it into words would change that.
            return None;
        }
        let normalizer = normalizer_kind(config.get("normalizer").unwrap_or(&serde_json::Value::Null))?;
        let pre_tokenizer = pre_tokenizer_kind(config.get("pre_tokenizer").unwrap_or(&serde_json::Value::Null))?;
        let (prefix, split_at_every_space, by_normalizer) = match (normalizer, pre_tokenizer) {
            (Normalizer::PrependReplace, PreTokenizer::None) => (Prefix::Always, false, true),
            // Splitting on " " after spaces became "▁" is a no-op (Gemma's configuration).
            (Normalizer::Replace, PreTokenizer::None | PreTokenizer::SplitOnSpace) => (Prefix::Never, false, true),
            (Normalizer::None, PreTokenizer::Metaspace { prefix, split }) => (prefix, split, false),
            _ => return None,
        };
        let vocab = config.get("model")?.get("vocab")?.as_object()?;
        let every_byte = (0..=255u8).all(|b| vocab.contains_key(&format!("<0x{b:02X}>")));
        if bpe.fuse_unk && !(bpe.byte_fallback && every_byte) {
            // Unknown characters next to each other become one token: a cut between them would make two.
            return None;
        }
        let unk = bpe.get_unk_token().clone();
        let mut joins_space = HashSet::default();
        let mut bytes_join_space = false;
        let mut ascii_joins = Box::new([[false; 128]; 128]);
        for merge in config.get("model")?.get("merges")?.as_array()? {
            let (left, right) = match merge {
                serde_json::Value::String(s) => s.split_once(' ')?,
                serde_json::Value::Array(pair) => (pair.first()?.as_str()?, pair.get(1)?.as_str()?),
                _ => return None,
            };
            if unk.as_deref().is_some_and(|unk| unk == left || unk == right) {
                // An unknown symbol stands for any character: give up on cutting.
                return None;
            }
            let (last, first) = (symbol_char(left, false)?, symbol_char(right, true)?);
            if let (Some(x), Some(y)) = (ascii_index(last), ascii_index(first)) {
                ascii_joins[x][y] = true;
            }
            if first == Symbol::Char(SPACE_MARK) {
                match last {
                    Symbol::Char(c) => _ = joins_space.insert(c),
                    Symbol::NonAsciiByte => bytes_join_space = true,
                }
            }
        }
        Some(SentencePiece {
            prefix,
            split_at_every_space,
            joins_space,
            bytes_join_space,
            ascii_joins,
            normalizer: by_normalizer,
        })
    }

    /// Whether added tokens with `normalized: true` are matched in normalized text.
    pub fn normalizes(&self) -> bool {
        self.normalizer
    }

    /// Encodes `text[start..end]`, which holds no added token, word by word.
    pub(crate) fn encode(
        &self,
        bpe: &BPE,
        text: &str,
        start: usize,
        end: usize,
        out: &mut Output,
    ) -> tokenizers::Result<()> {
        let segment = &text[start..end];
        let starts_with_space = segment.starts_with(' ') || segment.starts_with(SPACE_MARK);
        let mut prefixed = match self.prefix {
            Prefix::Always => true,
            Prefix::UnlessSpace => !starts_with_space,
            Prefix::FirstUnlessSpace => start == 0 && !starts_with_space,
            Prefix::Never => false,
        };
        let bytes = segment.as_bytes();
        let mut word_start = 0;
        for k in 1..bytes.len() {
            if !self.cuts_before(segment, k) {
                continue;
            }
            let variant = prefixed as usize;
            out.piece(text, start + word_start, start + k, variant, |word| self.tokenize_word(bpe, word, prefixed))?;
            prefixed = false;
            word_start = k;
        }
        if word_start < bytes.len() {
            let variant = prefixed as usize;
            out.piece(text, start + word_start, end, variant, |word| self.tokenize_word(bpe, word, prefixed))?;
        }
        Ok(())
    }

    /// Whether `segment` may be cut before byte `k` (0 < k < len): no merge joins the characters on either side.
    fn cuts_before(&self, segment: &str, k: usize) -> bool {
        let bytes = segment.as_bytes();
        let (before, at) = (bytes[k - 1], bytes[k]);
        let at_space = at == b' ' || (at == 0xE2 && bytes[k + 1..].starts_with(&[0x96, 0x81]));
        if at_space && self.split_at_every_space {
            return true;
        }
        let before_space = before == b' ' || (before == 0x81 && bytes[..k].ends_with(&[0xE2, 0x96, 0x81]));
        let index = |b: u8, space: bool| if space { Some(32) } else { b.is_ascii().then_some(b as usize) };
        match (index(before, before_space), index(at, at_space)) {
            (Some(x), Some(y)) => !self.ascii_joins[x][y],
            // A "▁" after a non-ASCII character.
            _ if at_space && !self.bytes_join_space && segment.is_char_boundary(k) => {
                let last = segment[..k].chars().next_back().unwrap_or(SPACE_MARK);
                !self.joins_space.contains(&last)
            }
            _ => false,
        }
    }

    /// Runs the BPE model on a word with its spaces as "▁" (and the prefix), and maps the tokens back to the
    /// word's bytes as `tokenizers` aligns them.
    fn tokenize_word(&self, bpe: &BPE, word: &str, prefixed: bool) -> tokenizers::Result<PieceTokens> {
        let mut normalized = String::with_capacity(word.len() + 8);
        // For each byte of `normalized`, the range of `word` it stands for.
        let mut alignment: Vec<(u32, u32)> = Vec::with_capacity(word.len() + 8);
        if prefixed {
            let first = word.chars().next().map_or(0, char::len_utf8) as u32;
            normalized.push(SPACE_MARK);
            alignment.extend([(0, first); 3]);
        }
        for (i, c) in word.char_indices() {
            let i = i as u32;
            if c == ' ' {
                normalized.push(SPACE_MARK);
                alignment.extend([(i, i + 1); 3]);
            } else {
                let len = c.len_utf8() as u32;
                normalized.push(c);
                alignment.extend(std::iter::repeat_n((i, i + len), len as usize));
            }
        }
        let tokens = bpe.tokenize(&normalized)?;
        Ok(tokens
            .into_iter()
            .map(|t| {
                let (start, end) = t.offsets;
                (t.id, alignment[start].0, alignment[end.max(start + 1) - 1].1)
            })
            .collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Normalizer {
    None,
    /// `Replace(" ", "▁")`
    Replace,
    /// `Sequence[Prepend("▁"), Replace(" ", "▁")]`
    PrependReplace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PreTokenizer {
    None,
    /// `Split(" ")`: after a `Replace(" ", "▁")` normalizer there is no space left to split on.
    SplitOnSpace,
    Metaspace {
        prefix: Prefix,
        split: bool,
    },
}

fn kind(value: &serde_json::Value) -> Option<&str> {
    value.get("type").and_then(|t| t.as_str())
}

fn normalizer_kind(normalizer: &serde_json::Value) -> Option<Normalizer> {
    let is_replace = |n: &serde_json::Value| {
        kind(n) == Some("Replace")
            && n.get("pattern").and_then(|p| p.get("String")).and_then(|s| s.as_str()) == Some(" ")
            && n.get("content").and_then(|c| c.as_str()) == Some("▁")
    };
    let is_prepend =
        |n: &serde_json::Value| kind(n) == Some("Prepend") && n.get("prepend").and_then(|p| p.as_str()) == Some("▁");
    if normalizer.is_null() {
        return Some(Normalizer::None);
    }
    if is_replace(normalizer) {
        return Some(Normalizer::Replace);
    }
    if kind(normalizer) != Some("Sequence") {
        return None;
    }
    match normalizer.get("normalizers")?.as_array()?.as_slice() {
        [] => Some(Normalizer::None),
        [replace] if is_replace(replace) => Some(Normalizer::Replace),
        [prepend, replace] if is_prepend(prepend) && is_replace(replace) => Some(Normalizer::PrependReplace),
        _ => None,
    }
}

fn pre_tokenizer_kind(pre_tokenizer: &serde_json::Value) -> Option<PreTokenizer> {
    if pre_tokenizer.is_null() {
        return Some(PreTokenizer::None);
    }
    match kind(pre_tokenizer)? {
        "Split" => {
            let on_space =
                pre_tokenizer.get("pattern").and_then(|p| p.get("String")).and_then(|s| s.as_str()) == Some(" ");
            let invert = pre_tokenizer.get("invert").and_then(|i| i.as_bool()).unwrap_or(false);
            (on_space && !invert).then_some(PreTokenizer::SplitOnSpace)
        }
        "Metaspace" => {
            if pre_tokenizer.get("replacement").and_then(|r| r.as_str()) != Some("▁") {
                return None;
            }
            // Older files have `add_prefix_space` instead of `prepend_scheme`.
            let legacy = match pre_tokenizer.get("add_prefix_space").and_then(|a| a.as_bool()) {
                Some(false) => "never",
                _ => "always",
            };
            let prefix = match pre_tokenizer.get("prepend_scheme").and_then(|p| p.as_str()).unwrap_or(legacy) {
                "always" => Prefix::UnlessSpace,
                "first" => Prefix::FirstUnlessSpace,
                "never" => Prefix::Never,
                _ => return None,
            };
            let split = pre_tokenizer.get("split").and_then(|s| s.as_bool()).unwrap_or(true);
            Some(PreTokenizer::Metaspace { prefix, split })
        }
        _ => None,
    }
}

/// What a BPE symbol starts or ends with, as far as cutting is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symbol {
    Char(char),
    /// A byte-fallback symbol of a non-ASCII character's byte.
    NonAsciiByte,
}

/// The character a merge's symbol starts (`first`) or ends with: a byte-fallback token (`<0x0A>`) stands for its
/// byte.
fn symbol_char(token: &str, first: bool) -> Option<Symbol> {
    let bytes = token.as_bytes();
    let is_byte_token = bytes.len() == 6 && token.starts_with("<0x") && token.ends_with('>');
    if let Some(byte) = is_byte_token.then(|| u8::from_str_radix(&token[3..5], 16).ok()).flatten() {
        return Some(if byte.is_ascii() { Symbol::Char(byte as char) } else { Symbol::NonAsciiByte });
    }
    let c = if first { token.chars().next() } else { token.chars().next_back() };
    c.map(Symbol::Char)
}

/// The row of `ascii_joins` for a symbol's character: "▁" at the space's index, other ASCII at their own.
fn ascii_index(symbol: Symbol) -> Option<usize> {
    match symbol {
        Symbol::Char(SPACE_MARK) => Some(32),
        Symbol::Char(c) if c.is_ascii() && c != ' ' => Some(c as usize),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tokenizers::Tokenizer;

    use crate::tokenize::fast::tests::assert_same_as_pipeline;
    use crate::tokenize::fast::FastTokenizer;

    /// A small SentencePiece-style tokenizer: characters, byte fallback, merges over "▁" pieces, runs of "▁".
    fn tokenizer_json(normalizer: serde_json::Value, pre_tokenizer: serde_json::Value) -> String {
        let mut vocab = serde_json::Map::new();
        let mut add = |token: &str| {
            let id = vocab.len();
            vocab.entry(token.to_string()).or_insert(serde_json::json!(id));
        };
        for token in ["<unk>", "<s>", "</s>"] {
            add(token);
        }
        for b in 0..=255u8 {
            add(&format!("<0x{b:02X}>"));
        }
        let merges = [
            ("▁", "▁"),
            ("▁▁", "▁▁"),
            ("▁", "t"),
            ("h", "e"),
            ("▁t", "he"),
            ("▁", "a"),
            ("l", "l"),
            ("▁", "w"),
            ("o", "r"),
            ("▁w", "or"),
            ("l", "d"),
            ("▁wor", "ld"),
            ("▁", "h"),
            ("e", "ll"),
            ("▁h", "ell"),
            ("▁hell", "o"),
            ("1", "2"),
            ("▁", "1"),
            ("▁1", "2"),
            (".", "▁"),
            ("x", "."),
            ("▁", "é"),
        ];
        for c in "▁abcdefghijklmnopqrstuvwxyzHW0123456789.,!?'é潮".chars() {
            add(&c.to_string());
        }
        for (a, b) in merges {
            add(&format!("{a}{b}"));
        }
        let merges: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
        serde_json::json!({
            "version": "1.0",
            "added_tokens": [
                {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            ],
            "normalizer": normalizer,
            "pre_tokenizer": pre_tokenizer,
            "post_processor": null,
            "decoder": null,
            "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                      "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "vocab": vocab, "merges": merges},
        })
        .to_string()
    }

    const TEXTS: [&str; 14] = [
        "hello world",
        " hello  world   the",
        "the x. the x.. hello",
        "</s> x</s>x<s>  hello",
        "12 123 1212",
        "\nhello\n\n world\t!",
        "é 潮汐 ▁hello ▁▁x ▁",
        "",
        " ",
        "   ",
        "<s>",
        "x▁▁y z ▁",
        "Hello World!",
        "q😀 z",
    ];

    fn check(normalizer: serde_json::Value, pre_tokenizer: serde_json::Value) {
        let json = tokenizer_json(normalizer, pre_tokenizer);
        let tokenizer: Tokenizer = json.parse().unwrap();
        let fast = FastTokenizer::for_config(&serde_json::from_str(&json).unwrap(), &tokenizer).expect("eligible");
        assert_same_as_pipeline(&tokenizer, &fast, &TEXTS);
    }

    #[test]
    fn llama2_file_kind_prepend_and_replace() {
        let normalizer = serde_json::json!({"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]});
        check(normalizer, serde_json::Value::Null);
    }

    #[test]
    fn gemma_kind_replace_and_split_on_space() {
        let normalizer = serde_json::json!({"type": "Replace", "pattern": {"String": " "}, "content": "▁"});
        check(normalizer.clone(), serde_json::Value::Null);
        check(
            normalizer,
            serde_json::json!({"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false}),
        );
    }

    #[test]
    fn metaspace_every_scheme() {
        for scheme in ["always", "first", "never"] {
            for split in [false, true] {
                let pre_tokenizer = serde_json::json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split});
                check(serde_json::Value::Null, pre_tokenizer);
            }
        }
    }
}
