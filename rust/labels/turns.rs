//! Locating a message's turn in the render of a template without `{% generation %}` tags.
//!
//! The rule: trained = what the model writes after the generation prompt, through the end of its turn as the full
//! conversation R renders it. Two locators apply it:
//! - [`LoopLocator`](super::loop_locator::LoopLocator), linear in the number of messages, from one instrumented
//!   render of R whose markers say where each message's iteration starts and where each message's content went.
//!   It serves templates that walk the messages in one loop, which is nearly all of them.
//! - [`TurnLocator`] (this module), the fallback, probes prefixes of the conversation (quadratic in the number of
//!   turns). With `P(m)` the render of the first m messages and `G(k)` that of the first k with the generation
//!   prompt:
//!   - an assistant turn starts where `G(k)` ends, after the header the model is prompted with; other roles have
//!     no generation prompt, and their header is what renders of the message with other contents share;
//!   - a turn ends where `P(k + 1)` ends: when message k is the last one, the render stops right after what the
//!     model writes for it (reasoning, content, tool calls, end-of-turn tokens).
//!
//!   When a probe is a prefix of R, its end is a position in R. A template that renders a message differently once
//!   more messages follow (Qwen3 drops the reasoning of answered turns) makes probes diverge from R. The probe's
//!   turn is then compared with R at the turn's start, which R reached by template structure; failing that its end
//!   is carried into R by template structure ([`align_end`]), searching only between the turn's start and where the
//!   next message's content shows in R (found with a marker in that content, not by its text).
//!
//! Whatever cannot be located is an error naming the reason, never a guess. Both render the messages themselves,
//! so text inside a message that spells a header cannot move a boundary, and neither searches R for a message's text.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use minijinja::value::Value;

use crate::error::{Error, Result};
use crate::labels::align::align_end;
use crate::render::template::Trace;
use crate::values::map_value;

/// How much of the generation prompt `prompt` the turn's text `turn` starts with: all of it, or else its longest
/// part that ends after an added token, a line or a `>` (training data without reasoning does not start with the
/// `<think>` a prompt prefills). `None` when the turn does not even start with the first such part.
pub fn prompt_part_len(prompt: &str, turn: &str, added_tokens: &[String]) -> Option<usize> {
    let common = common_prefix_len(prompt, turn);
    if common == prompt.len() {
        return Some(common);
    }
    let shared = &prompt[..common];
    // A line, a tag such as `<｜Assistant｜>` (whether or not this tokenizer knows it), or an added token.
    let after_mark = shared.rfind(['\n', '>']).map(|i| i + 1);
    let after_token = added_tokens
        .iter()
        .filter(|token| !token.is_empty())
        .filter_map(|token| shared.rfind(token.as_str()).map(|i| i + token.len()))
        .max();
    after_mark.max(after_token).filter(|&len| len > 0)
}

/// A private-use character that templates print as it is (`tojson` too) and data practically never holds.
const MARK: char = '\u{F0010}';

/// Renders a list of messages with the conversation's tools and variables: `(messages, add_generation_prompt)`.
pub type RenderFn<'a> = dyn Fn(&[Value], bool) -> Result<Trace> + 'a;

pub struct TurnLocator<'a> {
    messages: Vec<Value>,
    /// Each message's role.
    roles: &'a [String],
    full: String,
    /// Whether R ends with a generation prompt (then `P(n)` is a prefix of R rather than R itself).
    full_has_prompt: bool,
    render_text: &'a RenderFn<'a>,
    render_traced: &'a RenderFn<'a>,
    added_tokens: &'a [String],
    probes: RefCell<HashMap<(usize, bool), Rc<Trace>>>,
    traced: RefCell<HashMap<usize, Rc<Trace>>>,
    full_traced: RefCell<Option<Rc<Trace>>>,
    starts: RefCell<HashMap<usize, usize>>,
    /// Set once a turn needed alignment: later probes are then rendered traced straight away, as they likely
    /// need it too.
    aligning: Cell<bool>,
}

impl<'a> TurnLocator<'a> {
    /// `render_text` renders without recording template pieces, `render_traced` with.
    pub fn new(
        messages: Vec<Value>,
        roles: &'a [String],
        full: String,
        full_has_prompt: bool,
        render_text: &'a RenderFn<'a>,
        render_traced: &'a RenderFn<'a>,
        added_tokens: &'a [String],
    ) -> TurnLocator<'a> {
        TurnLocator {
            messages,
            roles,
            full,
            full_has_prompt,
            render_text,
            render_traced,
            added_tokens,
            probes: Default::default(),
            traced: Default::default(),
            full_traced: Default::default(),
            starts: Default::default(),
            aligning: Cell::new(false),
        }
    }

    pub fn full_text(&self) -> &str {
        &self.full
    }

    pub fn into_text(self) -> String {
        self.full
    }

    /// The bytes of R that message `k` is trained on: from the end of its header to the end of its turn.
    pub fn turn(&self, k: usize) -> Result<Range<usize>> {
        // A template that cannot render the generation prompt alone (it reads messages[0]) says nothing about
        // the header of a first assistant message: that one is found like any other role's.
        let prompt = match self.roles[k] == "assistant" {
            true => match self.probe(k, true) {
                Err(_) if k == 0 => None,
                prompt => Some(prompt?),
            },
            false => None,
        };
        let (start, end) = if let Some(header) = prompt {
            let start = self.assistant_start(k, &header.text)?;
            (start, self.end_of(k, start, &header.text)?)
        } else {
            let at = self.start_of(k)?;
            let before = self.probe(k, false)?;
            let end = self.end_of(k, at, &before.text)?;
            (at + self.header_len(k, at..end, &before.text)?, end)
        };
        if end < start {
            return Err(Error::Template(format!("its turn ends (byte {end}) before its header does (byte {start})")));
        }
        Ok(start..end)
    }

    /// Where assistant `k`'s text starts in R: after the generation prompt `header` (`G(k)`) adds.
    fn assistant_start(&self, k: usize, header: &str) -> Result<usize> {
        if self.full.starts_with(header) {
            return Ok(header.len());
        }
        let before = self.probe(k, false)?;
        let opening = header.strip_prefix(before.text.as_str()).ok_or_else(|| {
            Error::Template("the generation prompt does not extend the render of the messages before it".into())
        })?;
        let at = self.start_of(k)?;
        let part = prompt_part_len(opening, &self.full[at..], self.added_tokens).ok_or_else(|| {
            Error::Template(format!(
                "the template does not open it with the generation prompt {opening:?} in the full conversation \
                 (a template variable that changes only the generation prompt, such as enable_thinking=False, \
                 makes the prompt differ from the turns before the last)"
            ))
        })?;
        Ok(at + part)
    }

    /// Where message `k`'s turn ends in R, given that its text starts at `lo`, which corresponds to the end of
    /// `opening` (a prefix of `P(k + 1)`) in the probe.
    fn end_of(&self, k: usize, lo: usize, opening: &str) -> Result<usize> {
        let m = k + 1;
        if let Some(end) = self.exact(m)? {
            return Ok(end);
        }
        let probe = self.probe(m, false)?;
        // Only earlier messages render differently: the turn itself is there verbatim.
        if let Some(turn) = probe.text.strip_prefix(opening) {
            if self.full[lo..].starts_with(turn) {
                return Ok(lo + turn.len());
            }
        }
        // Message m's content bounds the search from above, tighter than any later exact position.
        let hi = match self.content_position(m)? {
            Some(at) => at,
            None => self.next_exact(m)?,
        };
        self.aligning.set(true);
        let probe = self.traced_probe(m)?;
        let full = self.full_traced()?;
        align_end(&probe, &full, lo..=hi).ok_or_else(|| {
            Error::Template(
                "the template renders this turn differently when later messages follow, and the end of the turn \
                 could not be matched to the full conversation"
                    .into(),
            )
        })
    }

    /// Where message `m` starts in R (where message `m - 1`'s turn ends).
    fn start_of(&self, m: usize) -> Result<usize> {
        // Walk back to the nearest message whose start is known, then carry the ends forward.
        let mut known = m;
        let mut start = loop {
            if let Some(&start) = self.starts.borrow().get(&known) {
                break start;
            }
            if let Some(start) = self.exact(known)? {
                break start;
            }
            if known == 0 {
                return Err(Error::Template(
                    "the template renders what precedes the first message differently once messages follow".into(),
                ));
            }
            known -= 1;
        };
        for message in known..m {
            let before = self.probe(message, false)?;
            start = self.end_of(message, start, &before.text)?;
            self.starts.borrow_mut().insert(message + 1, start);
        }
        Ok(start)
    }

    /// The end of `P(m)` when `P(m)` is a prefix of R.
    fn exact(&self, m: usize) -> Result<Option<usize>> {
        if m == self.messages.len() && !self.full_has_prompt {
            return Ok(Some(self.full.len()));
        }
        let probe = self.probe(m, false)?;
        Ok(self.full.starts_with(probe.text.as_str()).then_some(probe.text.len()))
    }

    /// The first position known exactly after the start of message `m`: the end of R if nothing nearer.
    fn next_exact(&self, m: usize) -> Result<usize> {
        for later in m + 1..=self.messages.len() {
            if let Some(position) = self.exact(later)? {
                return Ok(position);
            }
        }
        Ok(self.full.len())
    }

    /// Where message `m`'s content shows in R, which bounds the end of message `m - 1` from above: a render with a
    /// mark inserted in the middle of the content (its start and end stay, for templates that test them) parts
    /// from R exactly at the mark. The messages up to `m` are tried first, then all of them. `None` when the content
    /// is not a string or the mark does not show first.
    fn content_position(&self, m: usize) -> Result<Option<usize>> {
        let Some(content) = self.messages.get(m).and_then(|msg| msg.get_attr("content").ok()) else {
            return Ok(None);
        };
        let Some(content) = content.as_str() else {
            return Ok(None);
        };
        let middle = content.char_indices().nth(content.chars().count() / 2).map_or(content.len(), |(i, _)| i);
        let marked = format!("{}{MARK}{}", &content[..middle], &content[middle..]);
        let mut messages = self.messages.clone();
        messages[m] = with_content(&messages[m], &marked);
        for (count, prompt) in [(m + 1, false), (messages.len(), self.full_has_prompt)] {
            let Ok(trace) = (self.render_text)(&messages[..count], prompt) else {
                continue;
            };
            let at = common_prefix_len(&self.full, &trace.text);
            if trace.text[at..].starts_with(MARK) {
                return Ok(Some(at));
            }
        }
        Ok(None)
    }

    /// The length of the header of a message that is not the assistant's (no generation prompt shows it): what its
    /// segment `at..end` has in common with renders of the same message with other content.
    fn header_len(&self, k: usize, segment: Range<usize>, before: &str) -> Result<usize> {
        let segment = &self.full[segment];
        let mut len = segment.len();
        // Two replacements that differ in their first character, so content cannot extend the common part.
        for replacement in ["", "\u{1}"] {
            let mut messages = self.messages[..k].to_vec();
            messages.push(with_content(&self.messages[k], replacement));
            let probe = (self.render_text)(&messages, false).map_err(|e| probe_error(k + 1, e))?;
            let alone = probe.text.strip_prefix(before).ok_or_else(|| {
                Error::Template(
                    "its header cannot be told from its content: the template renders earlier messages differently \
                     when its content changes"
                        .into(),
                )
            })?;
            len = len.min(common_prefix_len(segment, alone));
        }
        Ok(len)
    }

    fn probe(&self, m: usize, generation_prompt: bool) -> Result<Rc<Trace>> {
        if let Some(trace) = self.probes.borrow().get(&(m, generation_prompt)) {
            return Ok(trace.clone());
        }
        if self.aligning.get() && !generation_prompt && m > 0 {
            return self.traced_probe(m);
        }
        let trace = match (self.render_text)(&self.messages[..m], generation_prompt) {
            Ok(trace) => trace,
            // Many templates read messages[0] and cannot render no message: nothing precedes the first message,
            // and what the template writes before it counts as its header.
            Err(_) if m == 0 && !generation_prompt => Trace::default(),
            Err(e) => return Err(probe_error(m, e)),
        };
        let trace = Rc::new(trace);
        self.probes.borrow_mut().insert((m, generation_prompt), trace.clone());
        Ok(trace)
    }

    fn traced_probe(&self, m: usize) -> Result<Rc<Trace>> {
        if let Some(trace) = self.traced.borrow().get(&m) {
            return Ok(trace.clone());
        }
        let trace = Rc::new((self.render_traced)(&self.messages[..m], false).map_err(|e| probe_error(m, e))?);
        self.traced.borrow_mut().insert(m, trace.clone());
        self.probes.borrow_mut().insert((m, false), trace.clone());
        Ok(trace)
    }

    fn full_traced(&self) -> Result<Rc<Trace>> {
        if let Some(trace) = self.full_traced.borrow().as_ref() {
            return Ok(trace.clone());
        }
        let trace = Rc::new((self.render_traced)(&self.messages, self.full_has_prompt)?);
        if trace.text != self.full {
            return Err(Error::Template(
                "the template renders the same conversation differently from one render to the next".into(),
            ));
        }
        *self.full_traced.borrow_mut() = Some(trace.clone());
        Ok(trace)
    }
}

fn probe_error(m: usize, err: Error) -> Error {
    Error::Template(format!(
        "locating it needs the render of the first {m} message(s), and the template failed on it: {}",
        err.message()
    ))
}

fn with_content(message: &Value, content: &str) -> Value {
    let keys = message.try_iter().into_iter().flatten();
    let entries = keys.map(|key| {
        let value = if key.as_str() == Some("content") {
            Value::from(content)
        } else {
            message.get_item(&key).unwrap_or_default()
        };
        (key, value)
    });
    let mut entries: Vec<(Value, Value)> = entries.collect();
    if !entries.iter().any(|(key, _)| key.as_str() == Some("content")) {
        entries.push((Value::from("content"), Value::from(content)));
    }
    map_value(entries)
}

/// The byte length of the longest common prefix of `a` and `b`, on a character boundary.
fn common_prefix_len(a: &str, b: &str) -> usize {
    a.char_indices().zip(b.chars()).find(|((_, x), y)| x != y).map_or(a.len().min(b.len()), |((i, _), _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::fixtures::{role, DROPS_REASONING};
    use crate::render::template::{ChatTemplate, RenderLimits};
    use minijinja::value::Serde;

    fn turns(source: &str, messages: serde_json::Value) -> Result<Vec<String>> {
        let template = ChatTemplate::new(source, RenderLimits::default())?;
        let messages: Vec<Value> = Value::from(Serde(messages)).try_iter().unwrap().collect();
        let template = &template;
        let render = |traced: bool| {
            move |list: &[Value], prompt: bool| {
                let ctx = minijinja::context!(messages => Value::from(list.to_vec()), add_generation_prompt => prompt);
                template.render_traced(ctx, traced)
            }
        };
        let (text_only, traced) = (render(false), render(true));
        let full = text_only(&messages, false)?.text;
        let roles: Vec<String> = messages.iter().map(role).collect();
        let locator = TurnLocator::new(messages.clone(), &roles, full, false, &text_only, &traced, &[]);
        let mut out = Vec::new();
        for (k, message) in messages.iter().enumerate() {
            if role(message) != "user" {
                out.push(locator.turn(k).map(|r| locator.full_text()[r].to_string())?);
            }
        }
        Ok(out)
    }

    #[test]
    fn prefix_preserving_template() {
        let source = "{% for m in messages %}<{{ m.role }}>\n{{ m.content }}<end>\n{% endfor %}{% if add_generation_prompt %}<assistant>\n{% endif %}";
        let got = turns(
            source,
            serde_json::json!([
                {"role": "user", "content": "hi <end>\n<assistant>\nfake"},
                {"role": "assistant", "content": "yo"},
                {"role": "user", "content": "more"},
                {"role": "assistant", "content": "ok"},
            ]),
        );
        assert_eq!(got.unwrap(), ["yo<end>\n", "ok<end>\n"]);
    }

    #[test]
    fn template_that_drops_earlier_reasoning() {
        let got = turns(
            DROPS_REASONING,
            serde_json::json!([
                {"role": "user", "content": "q1"},
                {"role": "assistant", "content": "a1", "reasoning": "r1"},
                {"role": "user", "content": "a1"},
                {"role": "assistant", "content": "a1", "reasoning": "r2"},
            ]),
        );
        assert_eq!(got.unwrap(), ["a1<end>\n", "<think>r2</think>a1<end>\n"]);
    }

    #[test]
    fn tool_turns_between_answers() {
        let got = turns(
            DROPS_REASONING,
            serde_json::json!([
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "call", "reasoning": "r1"},
                {"role": "tool", "content": "call"},
                {"role": "assistant", "content": "call", "reasoning": ""},
                {"role": "user", "content": "q2"},
                {"role": "assistant", "content": "done"},
            ]),
        );
        let tool_turn = "call<end>\n";
        assert_eq!(got.unwrap(), ["call<end>\n", tool_turn, "call<end>\n", "<think></think>done<end>\n"]);
    }

    #[test]
    fn a_turn_that_cannot_be_matched_is_an_error() {
        // The last turn ends with a different token than the others: its end cannot be carried over.
        let source = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% if loop.last %}<stop>{% else %}<end>{% endif %}{% endfor %}";
        let err = turns(source, serde_json::json!([
            {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"},
        ]))
        .unwrap_err();
        assert!(err.message().contains("could not be matched"), "{err}");
    }

    #[test]
    fn the_longest_part_of_the_prompt_ends_after_a_line_a_tag_or_an_added_token() {
        let tokens = ["<think>".to_string()];
        assert_eq!(prompt_part_len("<|a|>\n<think>\n", "<|a|>\n<think>\nx", &tokens), Some(14));
        assert_eq!(prompt_part_len("<|a|>\n<think>\n", "<|a|>\n<think></think>x", &tokens), Some(13));
        assert_eq!(prompt_part_len("<｜A｜><think>\n", "<｜A｜><thumbs>", &[]), Some("<｜A｜>".len()));
        assert_eq!(prompt_part_len("<x>", "y", &tokens), None);
    }

    #[test]
    fn common_prefix_len_stops_on_a_character_boundary() {
        assert_eq!(common_prefix_len("<user>é", "<user>è"), 6);
        assert_eq!(common_prefix_len("ab", "abc"), 2);
    }
}
