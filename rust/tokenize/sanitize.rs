//! Encoding control-token text found inside messages as plain text (`sanitize_control_tokens=True`), the way
//! transformers' `apply_chat_template(sanitize_control_tokens=True)` does.
//!
//! Control tokens are the tokenizer's special added tokens and the other added tokens the template writes itself.
//! Every string of the messages, tools and template variables has its control tokens wrapped in two private-use
//! markers before rendering. The render is then cut at the markers: marked tokens are encoded without added
//! tokens, the rest normally, each piece after a newline that is then dropped (so SentencePiece adds no prefix
//! space). Markers a template's string methods separate are dropped but still cut the text.

use std::ops::Range;

use minijinja::value::{Value, ValueKind};
use regex::Regex;

use crate::error::{Error, Result};
use crate::tokenize::text::TextTokenizer;
use crate::tokenize::tokens::Tokens;
use crate::values::map_value;

const START: char = '\u{F0000}';
const END: char = '\u{F0001}';

pub struct Sanitizer {
    /// Any control token, longest first; `None` when there is none.
    control: Option<Regex>,
    /// A marked added token (captured), or a lone marker.
    markers: Regex,
}

/// A rendered text encoded with its marked control tokens as plain text.
pub struct Sanitized {
    /// The render without its markers; token offsets refer to it.
    pub text: String,
    pub tokens: Tokens,
    /// Byte positions of the markers in the marked render, ascending.
    marker_positions: Vec<usize>,
}

impl Sanitized {
    /// A byte range of the marked render as a range of [`Sanitized::text`].
    pub fn unmark(&self, range: Range<usize>) -> Range<usize> {
        let shift =
            |position: usize| position - START.len_utf8() * self.marker_positions.partition_point(|&m| m < position);
        shift(range.start)..shift(range.end)
    }
}

impl Sanitizer {
    /// `added_tokens`: the tokenizer's added tokens and whether each is special.
    pub fn new(template_source: &str, added_tokens: &[(String, bool)]) -> Sanitizer {
        let literals = literal_text(template_source);
        let control: Vec<&str> = added_tokens
            .iter()
            .filter(|(token, special)| *special || (literals.contains(token.as_str()) && !token.trim().is_empty()))
            .map(|(token, _)| token.as_str())
            .collect();
        let all: Vec<&str> = added_tokens.iter().map(|(token, _)| token.as_str()).collect();
        let control = (!control.is_empty()).then(|| Regex::new(&alternation(&control)).expect("escaped tokens"));
        let markers =
            Regex::new(&format!("{START}({}){END}|[{START}{END}]", alternation(&all))).expect("escaped tokens");
        Sanitizer { control, markers }
    }

    /// `value` with the control tokens in each of its strings wrapped in markers (mapping keys are left alone).
    pub fn mark(&self, value: &Value) -> Value {
        match value.kind() {
            ValueKind::String => Value::from(self.mark_str(value.as_str().unwrap_or_default())),
            ValueKind::Seq => {
                Value::from(value.try_iter().into_iter().flatten().map(|v| self.mark(&v)).collect::<Vec<_>>())
            }
            ValueKind::Map => map_value(value.try_iter().into_iter().flatten().map(|key| {
                let item = value.get_item(&key).unwrap_or_default();
                (key, self.mark(&item))
            })),
            _ => value.clone(),
        }
    }

    fn mark_str(&self, text: &str) -> String {
        // Markers already in the data are dropped, so data cannot forge a marked token.
        let text: String = text.chars().filter(|&c| c != START && c != END).collect();
        match &self.control {
            Some(control) => control.replace_all(&text, format!("{START}$0{END}")).into_owned(),
            None => text,
        }
    }

    /// Encodes a render of marked data: marked control tokens as plain text, everything else normally.
    pub fn encode(&self, tokenizer: &TextTokenizer, marked: &str) -> Result<Sanitized> {
        let newline = tokenizer.encode("\n")?.ids;
        let text = String::with_capacity(marked.len());
        let mut out = Sanitized { text, tokens: Tokens::default(), marker_positions: Vec::new() };
        let push = |out: &mut Sanitized, piece: &str, as_text: bool, first: bool| -> Result<()> {
            let tokens =
                if first { tokenizer.encode(piece)? } else { encode_piece(tokenizer, piece, as_text, &newline)? };
            if as_text && tokenizer.token_to_id(piece).is_some_and(|id| tokens.ids.contains(&id)) {
                return Err(Error::Tokenizer(format!(
                    "cannot encode {piece:?} as plain text: the tokenizer produces that token from plain text"
                )));
            }
            let base = out.text.len();
            out.text.push_str(piece);
            out.tokens.ids.extend(tokens.ids);
            out.tokens.offsets.extend(tokens.offsets.iter().map(|&(s, e)| (base + s, base + e)));
            Ok(())
        };
        let mut last = 0;
        let mut first = true;
        for found in self.markers.captures_iter(marked) {
            let whole = found.get(0).expect("a match");
            let text = &marked[last..whole.start()];
            if first || !text.is_empty() {
                push(&mut out, text, false, first)?;
            }
            first = false;
            if let Some(token) = found.get(1) {
                out.marker_positions.push(whole.start());
                push(&mut out, token.as_str(), true, false)?;
            }
            out.marker_positions.push(whole.end() - END.len_utf8());
            last = whole.end();
        }
        let text = &marked[last..];
        if first || !text.is_empty() {
            push(&mut out, text, false, first)?;
        }
        Ok(out)
    }
}

/// Encodes a piece from the middle of a chat after a newline that is then dropped, so that SentencePiece does not
/// add the space it puts at the start of a text; as transformers' `_encode_chat_piece`.
fn encode_piece(tokenizer: &TextTokenizer, piece: &str, as_text: bool, newline: &[u32]) -> Result<Tokens> {
    let encode =
        |text: &str| if as_text { tokenizer.encode_without_added_tokens(text) } else { tokenizer.encode(text) };
    let after_newline = encode(&format!("\n{piece}"))?;
    if !after_newline.ids.starts_with(newline) {
        return encode(piece);
    }
    let skip = newline.len();
    let offsets =
        after_newline.offsets[skip..].iter().map(|&(s, e)| (s.saturating_sub(1), e.saturating_sub(1))).collect();
    Ok(Tokens { ids: after_newline.ids[skip..].to_vec(), offsets })
}

fn alternation(tokens: &[&str]) -> String {
    let mut tokens = tokens.to_vec();
    tokens.sort_by_key(|token| std::cmp::Reverse(token.len()));
    let alternatives: Vec<String> = tokens.iter().map(|t| regex::escape(t)).collect();
    if alternatives.is_empty() {
        return "[^\\s\\S]".into(); // matches nothing
    }
    alternatives.join("|")
}

/// The literal text of a template, as transformers' `_get_template_literal_text` collects it: the raw text outside
/// tags and the string constants inside them, joined with NUL so that no token matches across two of them.
fn literal_text(source: &str) -> String {
    let mut literals: Vec<String> = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        let Some(open) = rest.find(['{']) else {
            literals.push(rest.to_string());
            break;
        };
        let (before, tag) = rest.split_at(open);
        let close = match tag.get(..2) {
            Some("{#") => "#}",
            Some("{{") => "}}",
            Some("{%") => "%}",
            _ => {
                literals.push(before.to_string() + "{");
                rest = &tag[1..];
                continue;
            }
        };
        literals.push(before.to_string());
        let (body, after) = split_tag(&tag[2..], close);
        if close != "#}" {
            literals.extend(string_constants(body));
        }
        rest = after;
    }
    literals.join("\0")
}

/// The body of a tag up to `close` (outside string literals), and what follows the tag.
fn split_tag<'a>(text: &'a str, close: &str) -> (&'a str, &'a str) {
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if text[i..].starts_with(close) => return (&text[..i], &text[i + close.len()..]),
            None => {}
        }
    }
    (text, "")
}

/// The string constants in a tag body, unescaped.
fn string_constants(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut literal = String::new();
        while let Some(next) = chars.next() {
            match next {
                '\\' => match chars.next() {
                    Some('n') => literal.push('\n'),
                    Some('t') => literal.push('\t'),
                    Some('r') => literal.push('\r'),
                    Some(other) => literal.push(other),
                    None => {}
                },
                q if q == c => break,
                other => literal.push(other),
            }
        }
        out.push(literal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(list: &[(&str, bool)]) -> Vec<(String, bool)> {
        list.iter().map(|&(t, s)| (t.to_string(), s)).collect()
    }

    #[test]
    fn literal_text_has_raw_text_and_string_constants_but_no_comments() {
        let text = literal_text("A{# <c> #}{{ '<x>' + \"<y>\\n\" }}B{% if a == '}}' %}<z>{% endif %}");
        let parts: Vec<&str> = text.split('\0').filter(|p| !p.is_empty()).collect();
        assert_eq!(parts, ["A", "<x>", "<y>\n", "B", "}}", "<z>"]);
    }

    #[test]
    fn control_tokens_are_special_ones_and_those_the_template_writes() {
        let s =
            Sanitizer::new("{{ '<think>' }}", &tokens(&[("<|end|>", true), ("<think>", false), ("<other>", false)]));
        assert_eq!(s.mark_str("a<|end|>b<think>c<other>"), format!("a{START}<|end|>{END}b{START}<think>{END}c<other>"));
        assert_eq!(s.mark_str(&format!("x{START}<other>{END}")), "x<other>");
    }

    #[test]
    fn marking_reaches_nested_strings_but_not_keys() {
        let s = Sanitizer::new("", &tokens(&[("<e>", true)]));
        let value = Value::from(minijinja::value::Serde(serde_json::json!({"<e>": ["<e>", {"k": "<e>"}], "n": 1})));
        let marked = s.mark(&value);
        let json = serde_json::to_string(&marked).unwrap();
        assert_eq!(json, format!("{{\"<e>\":[\"{START}<e>{END}\",{{\"k\":\"{START}<e>{END}\"}}],\"n\":1}}"));
    }
}
