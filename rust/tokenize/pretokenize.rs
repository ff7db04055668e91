//! Pre-tokenizer splitting of ASCII text, written out by hand for the regexes of the GPT-2, Llama 3 / Qwen 2 and
//! DeepSeek-V3 families. It returns exactly the pieces Oniguruma finds with those regexes (leftmost match,
//! alternatives tried in order, with backtracking), which the tests check against the regex itself; text with any
//! non-ASCII byte goes to the regex.
//!
//! DeepSeek-V3 splits with a sequence of three `Isolated` regexes, each applied to every piece the one before
//! left: digit runs in groups of three, CJK runs (none in ASCII), then a GPT-like word regex. On ASCII the first
//! cuts the text into digit groups and the gaps between them, and the third runs on each gap on its own (so its
//! lookahead sees the end of the gap); a stretch where it matches nothing is a piece of its own.

/// The Llama 3 split regex; Qwen 2/3 use the same with `\p{N}` instead of `\p{N}{1,3}`.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
pub(crate) const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// DeepSeek-V3's three split regexes, applied in this order.
const DEEPSEEK_V3_PATTERNS: [&str; 3] = [
    r"\p{N}{1,3}",
    "[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsciiSplitter {
    /// Llama 3 (`max_digits` 3) and Qwen 2/3 (`max_digits` 1).
    Llama3 {
        max_digits: usize,
    },
    Gpt2,
    DeepSeekV3,
}

impl AsciiSplitter {
    /// The hand-written splitter for a sequence of `Isolated` split regexes, when there is one.
    pub fn for_patterns<S: AsRef<str>>(patterns: &[S]) -> Option<AsciiSplitter> {
        match patterns.iter().map(AsRef::as_ref).collect::<Vec<&str>>().as_slice() {
            [LLAMA3_PATTERN] => Some(AsciiSplitter::Llama3 { max_digits: 3 }),
            [QWEN2_PATTERN] => Some(AsciiSplitter::Llama3 { max_digits: 1 }),
            [GPT2_PATTERN] => Some(AsciiSplitter::Gpt2),
            patterns if patterns == DEEPSEEK_V3_PATTERNS => Some(AsciiSplitter::DeepSeekV3),
            _ => None,
        }
    }

    /// The hand-written splitter for a regex, when there is one.
    pub fn for_pattern(pattern: &str) -> Option<AsciiSplitter> {
        AsciiSplitter::for_patterns(&[pattern])
    }

    /// Calls `piece(start, end)` for each piece of `text`, which must be ASCII.
    pub fn split(self, text: &[u8], mut piece: impl FnMut(usize, usize)) {
        debug_assert!(text.is_ascii());
        if self == AsciiSplitter::DeepSeekV3 {
            return deepseek_v3_split(text, piece);
        }
        let mut start = 0;
        while start < text.len() {
            let end = match self {
                AsciiSplitter::Llama3 { max_digits } => llama3_match(text, start, max_digits),
                AsciiSplitter::Gpt2 | AsciiSplitter::DeepSeekV3 => gpt2_match(text, start),
            };
            piece(start, end);
            start = end;
        }
    }
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `\s` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// `[^\s\p{L}\p{N}]`
fn is_symbol(b: u8) -> bool {
    !is_space(b) && !is_letter(b) && !is_digit(b)
}

fn run(text: &[u8], mut i: usize, class: impl Fn(u8) -> bool) -> usize {
    while i < text.len() && class(text[i]) {
        i += 1;
    }
    i
}

/// `'s|'t|'re|'ve|'m|'ll|'d`, case-insensitively or not.
fn contraction(text: &[u8], p: usize, ignore_case: bool) -> Option<usize> {
    if text[p] != b'\'' {
        return None;
    }
    let at = |i: usize| text.get(i).map(|&b| if ignore_case { b.to_ascii_lowercase() } else { b });
    match at(p + 1)? {
        b's' | b't' | b'm' | b'd' => Some(p + 2),
        b'r' | b'v' if at(p + 2) == Some(b'e') => Some(p + 3),
        b'l' if at(p + 2) == Some(b'l') => Some(p + 3),
        _ => None,
    }
}

/// The whitespace alternatives `\s+(?!\S)|\s+` at a whitespace byte, given the end of its whitespace run.
fn trailing_space(text: &[u8], p: usize, run_end: usize) -> usize {
    if run_end == text.len() || run_end - p < 2 {
        run_end
    } else {
        // Leave the last space to the word after it.
        run_end - 1
    }
}

fn llama3_match(text: &[u8], p: usize, max_digits: usize) -> usize {
    if let Some(end) = contraction(text, p, true) {
        return end;
    }
    let b = text[p];
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if is_letter(b) {
        return run(text, p, is_letter);
    }
    if !is_newline(b) && !is_digit(b) && text.get(p + 1).copied().is_some_and(is_letter) {
        return run(text, p + 1, is_letter);
    }
    // \p{N}{1,max_digits}
    if is_digit(b) {
        // Bounded scan: a long digit run is cut into many pieces, and scanning it whole for each would be quadratic.
        return run(&text[..text.len().min(p + max_digits)], p, is_digit);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let symbols = if b == b' ' { p + 1 } else { p };
    if text.get(symbols).copied().is_some_and(is_symbol) {
        return run(text, run(text, symbols, is_symbol), is_newline);
    }
    // Only whitespace is left. `\s*[\r\n]+` ends after the run's last line break, if it has one.
    let run_end = run(text, p, is_space);
    if let Some(last_newline) = (p..run_end).rev().find(|&i| is_newline(text[i])) {
        return last_newline + 1;
    }
    trailing_space(text, p, run_end)
}

fn gpt2_match(text: &[u8], p: usize) -> usize {
    if let Some(end) = contraction(text, p, false) {
        return end;
    }
    let start = if text[p] == b' ' { p + 1 } else { p };
    // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`
    for class in [is_letter as fn(u8) -> bool, is_digit, is_symbol] {
        if text.get(start).copied().is_some_and(class) {
            return run(text, start, class);
        }
    }
    trailing_space(text, p, run(text, p, is_space))
}

/// DeepSeek-V3: digit groups of at most three, and each gap between them split by the word regex.
fn deepseek_v3_split(text: &[u8], mut piece: impl FnMut(usize, usize)) {
    let mut start = 0;
    while start < text.len() {
        if is_digit(text[start]) {
            let end = run(&text[..text.len().min(start + 3)], start, is_digit);
            piece(start, end);
            start = end;
            continue;
        }
        let gap_end = run(text, start, |b| !is_digit(b));
        let gap = &text[..gap_end];
        // Stretches the regex does not match are pieces of their own, up to the next match.
        let mut unmatched = None;
        while start < gap_end {
            match deepseek_v3_match(gap, start) {
                Some(end) => {
                    if let Some(from) = unmatched.take() {
                        piece(from, start);
                    }
                    piece(start, end);
                    start = end;
                }
                None => {
                    unmatched.get_or_insert(start);
                    start += 1;
                }
            }
        }
        if let Some(from) = unmatched {
            piece(from, gap_end);
        }
    }
}

/// `[\p{P}\p{S}]`: on ASCII, exactly the punctuation characters.
fn is_punctuation(b: u8) -> bool {
    b.is_ascii_punctuation()
}

/// The match of DeepSeek-V3's word regex at `p` in a gap without digits (`text` ends where the gap ends):
/// `[!"#...~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ | ?[\p{P}\p{S}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+`
fn deepseek_v3_match(text: &[u8], p: usize) -> Option<usize> {
    let b = text[p];
    let next = text.get(p + 1).copied();
    // A punctuation character followed by letters.
    if is_punctuation(b) && next.is_some_and(is_letter) {
        return Some(run(text, p + 1, is_letter));
    }
    // Letters, after at most one character that is none of line break, letter, punctuation.
    if is_letter(b) {
        return Some(run(text, p, is_letter));
    }
    if !is_newline(b) && !is_punctuation(b) && next.is_some_and(is_letter) {
        return Some(run(text, p + 1, is_letter));
    }
    // ` ?[\p{P}\p{S}]+[\r\n]*`
    let symbols = if b == b' ' { p + 1 } else { p };
    if text.get(symbols).copied().is_some_and(is_punctuation) {
        return Some(run(text, run(text, symbols, is_punctuation), is_newline));
    }
    if !is_space(b) {
        return None;
    }
    let run_end = run(text, p, is_space);
    if let Some(last_newline) = (p..run_end).rev().find(|&i| is_newline(text[i])) {
        return Some(last_newline + 1);
    }
    Some(trailing_space(text, p, run_end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::utils::SysRegex;

    fn regex_pieces(pattern: &str, text: &str) -> Vec<(usize, usize)> {
        SysRegex::new(pattern).unwrap().find_iter(text).collect()
    }

    fn splitter_pieces(splitter: AsciiSplitter, text: &str) -> Vec<(usize, usize)> {
        let mut pieces = Vec::new();
        splitter.split(text.as_bytes(), |s, e| pieces.push((s, e)));
        pieces
    }

    /// Deterministic pseudo-random ASCII texts over an alphabet that exercises every alternative.
    fn texts() -> Vec<String> {
        let alphabet: &[u8] = b"aZs'tSrReEvVlLmMdD019 \t\n\r\x0b\x0c!?.(){}-_\"#\x00\x1f\x7f$+<`|~";
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut texts: Vec<String> = (0..20_000)
            .map(|_| {
                let len = (next() % 24) as usize;
                (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char).collect()
            })
            .collect();
        texts.extend(
            [
                "Hello world! It's   fine.\n\n  def f(x):\n\treturn x**2  # 12345\r\n",
                "'S 'LL 'Re 'rE 'x '",
                "    ",
                " \n \n ",
                "a  ",
                "  a",
                "1234567",
                "?!\n\r\n",
                " ?!",
                "' s",
            ]
            .map(String::from),
        );
        texts
    }

    #[test]
    fn splits_exactly_like_the_regexes() {
        let cases = [
            (LLAMA3_PATTERN, AsciiSplitter::Llama3 { max_digits: 3 }),
            (QWEN2_PATTERN, AsciiSplitter::Llama3 { max_digits: 1 }),
            (GPT2_PATTERN, AsciiSplitter::Gpt2),
        ];
        for (pattern, splitter) in cases {
            assert_eq!(AsciiSplitter::for_pattern(pattern), Some(splitter));
            for text in texts() {
                assert_eq!(splitter_pieces(splitter, &text), regex_pieces(pattern, &text), "{splitter:?} {text:?}");
            }
        }
    }

    /// `tokenizers`' own pre-tokenizer for a sequence of `Isolated` split regexes.
    fn split_sequence(patterns: &[&str]) -> tokenizers::pre_tokenizers::PreTokenizerWrapper {
        let splits: Vec<serde_json::Value> = patterns
            .iter()
            .map(|p| serde_json::json!({"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": false}))
            .collect();
        serde_json::from_value(serde_json::json!({"type": "Sequence", "pretokenizers": splits})).unwrap()
    }

    fn sequence_pieces(
        pre_tokenizer: &tokenizers::pre_tokenizers::PreTokenizerWrapper,
        text: &str,
    ) -> Vec<(usize, usize)> {
        use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};
        let mut pieces = PreTokenizedString::from(text);
        pre_tokenizer.pre_tokenize(&mut pieces).unwrap();
        pieces.get_splits(OffsetReferential::Original, OffsetType::Byte).into_iter().map(|(_, o, _)| o).collect()
    }

    #[test]
    fn deepseek_v3_splits_exactly_like_its_regex_sequence() {
        assert_eq!(AsciiSplitter::for_patterns(&DEEPSEEK_V3_PATTERNS), Some(AsciiSplitter::DeepSeekV3));
        let pre_tokenizer = split_sequence(&DEEPSEEK_V3_PATTERNS);
        let mut all = texts();
        all.extend(
            ["x1234567y", "a.b..c .d  .e\n\n.f", "\x00\x01ab\x00 \x7f9", " \t\n x", "it's 'S' (ok)?!\r\n"]
                .map(String::from),
        );
        for text in all {
            let expected = sequence_pieces(&pre_tokenizer, &text);
            assert_eq!(splitter_pieces(AsciiSplitter::DeepSeekV3, &text), expected, "{text:?}");
        }
    }

    #[test]
    fn deepseek_v3_patterns_are_the_shipped_ones() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tokenizers/deepseek_v3/tokenizer.json");
        let Ok(json) = std::fs::read_to_string(path) else { return };
        let config: serde_json::Value = serde_json::from_str(&json).unwrap();
        let shipped: Vec<String> = config["pre_tokenizer"]["pretokenizers"].as_array().unwrap()[..3]
            .iter()
            .map(|split| split["pattern"]["Regex"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(shipped, DEEPSEEK_V3_PATTERNS);
    }

    #[test]
    fn long_digit_runs() {
        let text = format!("a{}b {} 7", "1234567890".repeat(1_000), "9".repeat(10_001));
        for (pattern, splitter) in [
            (LLAMA3_PATTERN, AsciiSplitter::Llama3 { max_digits: 3 }),
            (QWEN2_PATTERN, AsciiSplitter::Llama3 { max_digits: 1 }),
        ] {
            assert_eq!(splitter_pieces(splitter, &text), regex_pieces(pattern, &text), "{splitter:?}");
        }
    }

    #[test]
    fn other_patterns_have_no_splitter() {
        assert_eq!(AsciiSplitter::for_pattern(r"\s+|\S+"), None);
    }
}
