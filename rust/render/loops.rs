//! Where each loop iteration of a template starts in its output: the instrumentation behind linear turn location.
//!
//! The template source is rewritten so that every `{% for %}` loop writes an invisible marker when an iteration
//! starts (recording the loop and the item it iterates over) and when the loop ends. The markers are pairs of
//! private-use characters that encode the index of the event in a log kept for the render. Stripping them from the
//! output gives the plain text and, for each event, its byte position in that text.
//!
//! The markers are written by empty `{% filter %}` blocks placed right after the `for` and `endfor` tags, which take
//! over the tags' right-hand whitespace control: block tags trim exactly as the original tag did, so the text
//! around them renders the same. Callers still compare the stripped text with a plain render before trusting the
//! positions: a template that captures its loop output and processes it as a string would see the markers.

use std::cell::RefCell;

use minijinja::value::Value;

use crate::render::contents;

/// The filter that marks the start of an iteration: `sftmask_loop(loop_id, item)`.
pub const ITERATION_FILTER: &str = "sftmask_loop";
/// The filter that marks the end of a loop: `sftmask_loop_end(loop_id)`.
pub const END_FILTER: &str = "sftmask_loop_end";

/// The high and low halves of a marker: 12 bits each, in private-use ranges that chat data practically never holds.
const HIGH: u32 = 0xF4000;
const LOW: u32 = 0xF5000;
const MAX_EVENTS: usize = 1 << 24;

/// What the instrumented template reported while rendering.
#[derive(Debug, Clone)]
pub enum Event {
    /// An iteration of loop `loop_id` started with this item (`none` when the loop unpacks several targets).
    Iteration {
        loop_id: u32,
        item: Value,
    },
    End {
        loop_id: u32,
    },
}

/// An event and where it happened in the stripped output.
#[derive(Debug, Clone)]
pub struct Located {
    pub event: Event,
    pub position: usize,
}

thread_local! {
    static LOG: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
}

/// Runs `render` with an empty event log on this thread and returns its output with the log.
pub fn with_log<T>(render: impl FnOnce() -> T) -> (T, Vec<Event>) {
    let previous = LOG.with(|log| log.replace(Some(Vec::new())));
    let out = render();
    let events = LOG.with(|log| log.replace(previous)).unwrap_or_default();
    (out, events)
}

/// Records an event and returns the marker to write. Outside [`with_log`] nothing is recorded or written.
pub fn record(event: Event) -> String {
    LOG.with(|log| {
        let mut log = log.borrow_mut();
        let Some(events) = log.as_mut() else { return String::new() };
        let index = events.len();
        if index >= MAX_EVENTS {
            return String::new();
        }
        events.push(event);
        let high = char::from_u32(HIGH + (index >> 12) as u32).expect("private-use character");
        let low = char::from_u32(LOW + (index & 0xFFF) as u32).expect("private-use character");
        [high, low].into_iter().collect()
    })
}

/// What [`strip`] finds in an instrumented render.
pub struct Stripped {
    pub text: String,
    pub events: Vec<Located>,
    /// `(message index, position)` of each content marker ([`crate::render::contents`]), in output order: a
    /// content printed twice shows twice.
    pub contents: Vec<(usize, usize)>,
}

/// The output without markers, each logged event with its position, and the content markers. `None` when a marker
/// is broken, repeated, or refers to no event (the output held private-use characters of its own, or the template
/// cut a marker).
pub fn strip(output: &str, events: Vec<Event>) -> Option<Stripped> {
    let mut text = String::with_capacity(output.len());
    let mut positions: Vec<Option<usize>> = vec![None; events.len()];
    let mut contents = Vec::new();
    let mut chars = output.chars();
    while let Some(c) = chars.next() {
        let code = c as u32;
        if contents::is_marker_char(c) {
            contents.push((contents::decode(c, chars.next()?)?, text.len()));
        } else if (HIGH..HIGH + 0x1000).contains(&code) {
            let low = chars.next()? as u32;
            if !(LOW..LOW + 0x1000).contains(&low) {
                return None;
            }
            let index = (((code - HIGH) << 12) | (low - LOW)) as usize;
            let slot = positions.get_mut(index)?;
            if slot.replace(text.len()).is_some() {
                return None;
            }
        } else if (LOW..LOW + 0x1000).contains(&code) {
            return None;
        } else {
            text.push(c);
        }
    }
    // An event whose marker never reached the output (captured and dropped) has no position.
    let located = events
        .into_iter()
        .zip(positions)
        .filter_map(|(event, position)| Some(Located { event, position: position? }))
        .collect();
    Some(Stripped { text, events: located, contents })
}

/// The template source with every `for` loop instrumented, and for each loop (by id) where its `endfor` tag ends
/// in `source` with the tag's right-hand whitespace control. Comments, `raw` blocks and string literals are left as
/// they are.
pub fn instrument(source: &str) -> (String, Vec<Option<(usize, String)>>) {
    let mut out = String::with_capacity(source.len() + 256);
    let mut ends: Vec<Option<(usize, String)>> = Vec::new();
    // Loops inside macros and capturing blocks are left alone: their output is a value the template may test or
    // transform (`captured | trim | length`), where markers would change the result.
    let mut open_loops: Vec<Option<u32>> = Vec::new();
    let mut captures = 0usize;
    let mut next_id = 0u32;
    let mut rest = source;
    while let Some(open) = rest.find('{') {
        let (before, from) = rest.split_at(open);
        out.push_str(before);
        let Some(kind) = from.get(..2) else {
            out.push_str(from);
            return (out, ends);
        };
        let close = match kind {
            "{#" => "#}",
            "{%" => "%}",
            "{{" => "}}",
            _ => {
                out.push('{');
                rest = &from[1..];
                continue;
            }
        };
        let Some(len) = tag_len(from, close) else {
            out.push_str(from);
            return (out, ends);
        };
        let tag = &from[..len];
        rest = &from[len..];
        out.push_str(tag);
        if kind != "{%" {
            continue;
        }
        let (body, right) = tag_body(tag);
        let mut words = body.split_whitespace();
        match words.next() {
            Some("raw") => {
                // Copy the raw block through its end tag untouched.
                let end = find_endraw(rest).unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            Some("macro" | "call" | "filter") => captures += 1,
            Some("set") if !body.contains('=') => captures += 1,
            Some("endmacro" | "endcall" | "endfilter" | "endset") => captures = captures.saturating_sub(1),
            Some("for") if captures > 0 => open_loops.push(None),
            Some("for") => {
                let id = next_id;
                next_id += 1;
                open_loops.push(Some(id));
                ends.push(None);
                let target = words.next().filter(|t| is_name(t)).unwrap_or("none");
                let target = if words.next() == Some("in") { target } else { "none" };
                take_right_control(&mut out, right);
                out.push_str(&format!("{{% filter {ITERATION_FILTER}({id}, {target}) %}}{{% endfilter {right}%}}"));
            }
            Some("endfor") => {
                if let Some(Some(id)) = open_loops.pop() {
                    ends[id as usize] = Some((source.len() - rest.len(), right.to_string()));
                    take_right_control(&mut out, right);
                    out.push_str(&format!("{{% filter {END_FILTER}({id}) %}}{{% endfilter {right}%}}"));
                }
            }
            _ => {}
        }
    }
    out.push_str(rest);
    (out, ends)
}

/// The template source that follows a loop, as a template of its own (it compiles only when the loop is not inside
/// a block that the rest closes). `end` and `right` are the loop's entry of [`instrument`]'s second result.
pub fn source_after(source: &str, end: usize, right: &str) -> String {
    let rest = &source[end..];
    // The whitespace the `endfor` tag trims: all of it with `-%}`, the first newline otherwise (trim_blocks).
    match right {
        "-" => rest.trim_start().to_string(),
        "+" => rest.to_string(),
        _ => rest.strip_prefix("\r\n").or_else(|| rest.strip_prefix('\n')).unwrap_or(rest).to_string(),
    }
}

/// The length of the tag at the start of `from` up to and including `close`, skipping string literals.
fn tag_len(from: &str, close: &str) -> Option<usize> {
    let bytes = from.as_bytes();
    let mut i = 2;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if close != "#}" && (b == b'\'' || b == b'"') => quote = Some(b),
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(i + close.len()),
            None => {}
        }
        i += 1;
    }
    None
}

/// The words of a `{% ... %}` tag without its delimiters and whitespace control, and its right-hand control
/// (`"-"`, `"+"` or `""`).
fn tag_body(tag: &str) -> (&str, &str) {
    let inner = &tag[2..tag.len() - 2];
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    match inner.strip_suffix('-').or_else(|| inner.strip_suffix('+')) {
        Some(body) => (body, &inner[body.len()..]),
        None => (inner, ""),
    }
}

/// Moves a tag's right-hand whitespace control (just written at the end of `out`) to the marker written after it.
fn take_right_control(out: &mut String, right: &str) {
    if !right.is_empty() {
        let end = out.len() - 2;
        out.replace_range(end - right.len()..end, "");
    }
}

fn find_endraw(rest: &str) -> Option<usize> {
    let re = regex::Regex::new(r"\{%[-+]?\s*endraw\s*[-+]?%\}").expect("valid regex");
    re.find(rest).map(|m| m.end())
}

fn is_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_get_markers_that_keep_the_tags_whitespace_control() {
        let source = "{%- for m in messages -%}\n  <{{ m }}>{# {% for x in y %} #}\n{%- endfor %}\nend";
        assert_eq!(
            instrument(source).0,
            "{%- for m in messages %}{% filter sftmask_loop(0, m) %}{% endfilter -%}\n  <{{ m }}>{# {% for x in y %} #}\n\
             {%- endfor %}{% filter sftmask_loop_end(0) %}{% endfilter %}\nend"
        );
    }

    #[test]
    fn loops_whose_output_is_captured_are_left_alone() {
        let source =
            "{% macro m(x) %}{% for c in x %}{{ c }}{% endfor %}{% endmacro %}{% set s %}{% for c in y %}{% endfor %}\
                      {% endset %}{% set t = 1 %}{% for a in b %}{% endfor %}";
        let (out, ends) = instrument(source);
        assert_eq!(out.matches("sftmask_loop(").count(), 1, "{out}");
        assert_eq!(ends.len(), 1);
    }

    #[test]
    fn strings_raw_blocks_and_unpacking_loops() {
        let source =
            "{{ '{% for a in b %}' }}{% raw %}{% for a in b %}{% endraw %}{% for k, v in d.items() %}{% endfor %}";
        let (out, ends) = instrument(source);
        assert_eq!(ends, [Some((source.len(), String::new()))]);
        assert!(out.starts_with("{{ '{% for a in b %}' }}{% raw %}{% for a in b %}{% endraw %}"), "{out}");
        assert!(out.contains("sftmask_loop(0, none)"), "{out}");
    }

    #[test]
    fn markers_are_stripped_with_their_positions() {
        let ((a, b), events) = with_log(|| {
            (record(Event::End { loop_id: 1 }), record(Event::Iteration { loop_id: 2, item: Value::from(3) }))
        });
        let content = contents::marker(7);
        let stripped = strip(&format!("ab{a}{content}c{b}{content}"), events).unwrap();
        assert_eq!(stripped.text, "abc");
        assert_eq!(stripped.events.iter().map(|l| l.position).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(stripped.contents, [(7, 2), (7, 3)]);
        assert!(strip(&format!("{a}{a}"), vec![Event::End { loop_id: 1 }]).is_none());
        assert!(record(Event::End { loop_id: 0 }).is_empty());
    }
}
