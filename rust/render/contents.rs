//! Where the template printed each message's content: provenance from markers in the data, never from the text.
//!
//! Each message's content gets an invisible marker (a pair of private-use characters encoding the message's
//! index) before it is rendered; the marker shows in the output wherever the template printed that part of the
//! content, however the content is quoted, trimmed or repeated. The render is trusted only when its text without
//! the markers equals the plain render: a template whose control flow the markers changed (a test such as
//! `content == 'yes'`) shows it there, and the caller then goes without.
//!
//! Where a marker goes keeps the tests templates run on contents answering as before:
//! - [`Placement::Inside`] (provenance of a message's text): at the start of the word nearest the middle (after a
//!   whitespace, not the first word), so `startswith('<tool_response>')`, `strip()`, `split('</think>')` and
//!   other tag or prefix tests see the content as it is; in a content of one word, between its middle characters.
//! - [`Placement::Start`] (where a message's text starts, for turns whose header is template text before it): at
//!   the first character that is not whitespace, so `strip()` and `trim` leave it where it was.
//!
//! A content with no visible text gets a marker after it where the placement says so ([`Placement::InsideOrAfter`]):
//! the template still writes text for it (an empty tool result's wrapper).

use minijinja::value::{Value, ValueKind};

use crate::values::map_value;

/// The halves of a marker: 12 bits each of the message index, in private-use ranges apart from the loop markers.
const HIGH: u32 = 0xF6000;
const LOW: u32 = 0xF7000;
const MAX_MESSAGES: usize = 1 << 24;

/// Where a message's marker goes in its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Not marked.
    None,
    /// Inside the content's text; a content with no visible text is not marked (an assistant's empty content
    /// beside tool calls is often tested for truthiness).
    Inside,
    /// Inside the content's text, or after a content with none: an empty tool result still shows where the template
    /// wrote it.
    InsideOrAfter,
    /// At the start of the content's visible text, or after a content with none.
    Start,
}

/// The marker of message `index`.
pub fn marker(index: usize) -> String {
    let high = char::from_u32(HIGH + (index >> 12) as u32).expect("private-use character");
    let low = char::from_u32(LOW + (index & 0xFFF) as u32).expect("private-use character");
    [high, low].into_iter().collect()
}

/// The message index a marker's two characters encode, `None` when they are not a marker.
pub fn decode(high: char, low: char) -> Option<usize> {
    let (high, low) = (high as u32, low as u32);
    ((HIGH..HIGH + 0x1000).contains(&high) && (LOW..LOW + 0x1000).contains(&low))
        .then(|| (((high - HIGH) << 12) | (low - LOW)) as usize)
}

/// Whether `c` is half of a marker.
pub fn is_marker_char(c: char) -> bool {
    (HIGH..HIGH + 0x1000).contains(&(c as u32)) || (LOW..LOW + 0x1000).contains(&(c as u32))
}

/// The messages with a marker in each content as `placements` says: a string content, or the text of each text
/// part of a content given as parts. A content with nothing to mark (empty, all whitespace, not text) is left as
/// it is, and so is every message past the markers' range.
pub fn mark(messages: &[Value], placements: &[Placement]) -> Vec<Value> {
    let marked = messages.iter().zip(placements).enumerate().map(|(index, (message, &placement))| {
        if placement == Placement::None || index >= MAX_MESSAGES {
            return message.clone();
        }
        let marker = marker(index);
        with_field(message, "content", |content| mark_content(content, &marker, placement))
    });
    marked.collect()
}

fn mark_content(content: &Value, marker: &str, placement: Placement) -> Option<Value> {
    if let Some(text) = content.as_str() {
        return marked_text(text, marker, placement).map(Value::from);
    }
    if content.kind() != ValueKind::Seq {
        return None;
    }
    let parts: Vec<Value> = content.try_iter().ok()?.collect();
    let mut changed = false;
    let parts = parts.iter().map(|part| {
        let is_text = part.get_attr("type").ok().and_then(|t| t.as_str().map(|t| t == "text")).unwrap_or(false);
        let marked = is_text
            .then(|| with_field(part, "text", |text| marked_text(text.as_str()?, marker, placement).map(Value::from)));
        changed |= marked.as_ref().is_some_and(|m| m != part);
        marked.unwrap_or_else(|| part.clone())
    });
    let parts: Vec<Value> = parts.collect();
    changed.then(|| Value::from(parts))
}

/// `text` with `marker` where `placement` puts it; `None` when the text has no place for one.
fn marked_text(text: &str, marker: &str, placement: Placement) -> Option<String> {
    let blank = !text.contains(|c: char| !c.is_whitespace());
    let at = match placement {
        Placement::None => None,
        Placement::InsideOrAfter | Placement::Start if blank => Some(text.len()),
        Placement::Start => text.find(|c: char| !c.is_whitespace()),
        Placement::Inside | Placement::InsideOrAfter => inside_position(text),
    }?;
    Some(format!("{}{marker}{}", &text[..at], &text[at..]))
}

/// The start of the word nearest the middle of `text` that is not its first word (one that starts with a letter or
/// digit first: a word like `</tool_response>` may be what a template splits on together with the newline before
/// it), else the middle of its one word; `None` for text without a character that is not whitespace.
fn inside_position(text: &str) -> Option<usize> {
    let first = text.find(|c: char| !c.is_whitespace())?;
    let middle = text.len() / 2;
    let mut previous_is_space = false;
    // (starts with a letter or digit, distance to the middle), the best first.
    let mut best: Option<(usize, (bool, usize))> = None;
    for (i, c) in text.char_indices().skip_while(|&(i, _)| i <= first) {
        if previous_is_space && !c.is_whitespace() {
            let score = (!c.is_alphanumeric(), i.abs_diff(middle));
            if best.is_none_or(|(_, best)| score < best) {
                best = Some((i, score));
            }
        }
        previous_is_space = c.is_whitespace();
    }
    if let Some((i, _)) = best {
        return Some(i);
    }
    // One word: between its middle characters (after its first, so a prefix test of one character still holds).
    let word = text[first..].trim_end();
    let chars: Vec<usize> = word.char_indices().map(|(i, _)| first + i).collect();
    Some(chars.get(chars.len().div_ceil(2).max(1)).copied().unwrap_or(first + word.len()))
}

/// A copy of a mapping with `field` replaced by what `change` makes of it; the value itself when there is no such
/// field or `change` declines.
fn with_field(value: &Value, field: &str, change: impl FnOnce(&Value) -> Option<Value>) -> Value {
    let Some(new) = value.get_attr(field).ok().filter(|v| !v.is_undefined()).and_then(|old| change(&old)) else {
        return value.clone();
    };
    let keys = value.try_iter().into_iter().flatten();
    map_value(keys.map(|key| {
        let item = if key.as_str() == Some(field) { new.clone() } else { value.get_item(&key).unwrap_or_default() };
        (key, item)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Serde;

    fn inside(text: &str) -> String {
        marked_text(text, "|", Placement::Inside).unwrap_or_default()
    }

    #[test]
    fn inside_markers_go_at_the_word_nearest_the_middle_and_never_split_a_tag() {
        assert_eq!(inside("Say yes or no."), "Say yes |or no.");
        assert_eq!(
            inside("<tool_response>\n{\"a\": 1}\n</tool_response>"),
            "<tool_response>\n{\"a\": |1}\n</tool_response>"
        );
        assert_eq!(inside("<think>\nr\n</think>\n\nanswer"), "<think>\n|r\n</think>\n\nanswer");
        assert_eq!(inside("  yes  "), "  ye|s  ");
        assert_eq!(inside("ok"), "o|k");
        assert_eq!(inside("y"), "y|");
        assert_eq!(inside("é"), "é|");
        assert_eq!(inside("   "), "");
        assert_eq!(inside(""), "");
    }

    #[test]
    fn start_markers_go_after_leading_whitespace() {
        assert_eq!(marked_text("\n 42\n", "|", Placement::Start).unwrap(), "\n |42\n");
        assert_eq!(marked_text(" \n", "|", Placement::Start).unwrap(), " \n|");
        assert_eq!(marked_text("", "|", Placement::InsideOrAfter).unwrap(), "|");
        assert_eq!(marked_text("a b", "|", Placement::InsideOrAfter).unwrap(), "a |b");
    }

    #[test]
    fn markers_encode_the_message_index() {
        let m: Vec<char> = marker(70_000).chars().collect();
        assert_eq!(decode(m[0], m[1]), Some(70_000));
        assert!(m.iter().all(|&c| is_marker_char(c)));
        assert_eq!(decode('a', m[1]), None);
    }

    #[test]
    fn string_contents_and_text_parts_are_marked_other_fields_kept() {
        let messages: Vec<Value> = Value::from(Serde(serde_json::json!([
            {"role": "user", "content": "hi there", "name": "x"},
            {"role": "assistant", "content": [{"type": "text", "text": "a b"}, {"type": "image"}]},
            {"role": "tool", "content": null},
        ])))
        .try_iter()
        .unwrap()
        .collect();
        let marked = mark(&messages, &[Placement::Inside, Placement::Start, Placement::Inside]);
        let content = |i: usize| marked[i].get_attr("content").unwrap();
        assert_eq!(content(0).as_str().unwrap(), format!("hi {}there", marker(0)));
        assert_eq!(marked[0].get_attr("name").unwrap().as_str(), Some("x"));
        let parts: Vec<Value> = content(1).try_iter().unwrap().collect();
        assert_eq!(parts[0].get_attr("text").unwrap().as_str().unwrap(), format!("{}a b", marker(1)));
        assert_eq!(parts[1], messages[1].get_attr("content").unwrap().get_item(&Value::from(1)).unwrap());
        assert_eq!(marked[2], messages[2]);
    }
}
