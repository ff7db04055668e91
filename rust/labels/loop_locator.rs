//! The linear turn locator: each message's turn from one instrumented render of the whole conversation R.
//!
//! Two kinds of markers make the render say what came from where, and neither reads the messages' text:
//! - loop markers ([`crate::render::loops`]): where the template's loop over the messages starts each message's
//!   iteration. A turn ends where the next message's iteration starts (or, for the last message, where R ends), as
//!   the full conversation renders it.
//! - content markers ([`crate::render::contents`]): where the template printed each message's content. A turn holds
//!   text of a later message only when a later message's marker shows inside it (Gemma-style templates write tool
//!   results into the assistant's turn); that text is left out. A message whose turn has a header of template text
//!   (a tool or user message; the assistant's header is its generation prompt) is trained from where its content
//!   starts.
//!
//! The render with content markers is trusted only when it renders R exactly: markers that changed what the template
//! does (a test such as `content == 'yes'`) show there. Then a render with fewer markers is tried, and failing that,
//! the turns that need what the markers tell are left to the prefix-probing [`TurnLocator`](super::turns::TurnLocator).
//! An assistant turn starts after the part of the generation prompt it opens with.

use std::cell::OnceCell;
use std::ops::Range;

use minijinja::value::Value;

use crate::error::{Error, Result};
use crate::labels::turns::{prompt_part_len, RenderFn};
use crate::render::contents::{self, Placement};
use crate::render::loops::Event;
use crate::render::template::{LoopTrace, Trace, TraceSpan};

/// Renders a list of messages with the conversation's tools and variables through the instrumented template.
pub type RenderLoopsFn<'a> = dyn Fn(&[Value], bool) -> Result<Option<LoopTrace>> + 'a;

/// Renders what follows a loop (by id) on its own, with or without the generation prompt, when it reads only the
/// caller's variables ([`crate::render::template::ChatTemplate::render_after_loop`]).
pub type RenderAfterLoopFn<'a> = dyn Fn(u32, bool) -> Option<Result<String>> + 'a;

/// The renders the locator asks for, each with the conversation's tools and variables.
pub struct Renders<'a> {
    pub loops: &'a RenderLoopsFn<'a>,
    /// With the template pieces that produced the output.
    pub traced: &'a RenderFn<'a>,
    pub after_loop: &'a RenderAfterLoopFn<'a>,
}

/// How many messages before an assistant message the probe for its generation prompt renders at first; longer
/// windows follow when the template cannot render a conversation that starts there, and the whole prefix last.
const PROMPT_WINDOWS: [usize; 3] = [1, 2, 4];

pub struct LoopLocator<'a> {
    messages: &'a [Value],
    /// Each message's role.
    roles: &'a [String],
    full: &'a str,
    full_has_prompt: bool,
    loop_id: u32,
    /// Where each message's iteration of the message loop starts in R, for the messages it iterates over.
    starts: Vec<Option<usize>>,
    loop_end: usize,
    /// Where content markers showed in R, as `(message index, position)` in output order ([`LoopTrace::contents`]);
    /// `None` when no marked render rendered R.
    contents: Option<Vec<(usize, usize)>>,
    /// Where each message's marker was put.
    placements: Vec<Placement>,
    renders: Renders<'a>,
    /// The generation prompt when the template writes the same one whatever the messages before it.
    constant_prompt: Option<String>,
    /// R with the template pieces that produced it, rendered when a turn first needs it.
    full_traced: OnceCell<Option<Trace>>,
    /// The tokenizer's added tokens: a generation prompt is matched in parts that end after one of them, a line or
    /// a `>`.
    added_tokens: &'a [String],
}

impl<'a> LoopLocator<'a> {
    /// A locator for the turns of the `selected` messages of R (`full`). `None` when no render shows a single loop
    /// that walks the messages in order.
    pub fn new(
        messages: &'a [Value],
        roles: &'a [String],
        selected: &[bool],
        full: &'a str,
        full_has_prompt: bool,
        renders: Renders<'a>,
        added_tokens: &'a [String],
    ) -> Result<Option<LoopLocator<'a>>> {
        let Some(marked) = marked_render(messages, roles, selected, full, full_has_prompt, &renders)? else {
            return Ok(None);
        };
        let Some((loop_id, starts, loop_end)) = message_loop(&marked.trace, &marked.messages) else {
            return Ok(None);
        };
        let contents = marked.provenance.then_some(marked.trace.contents);
        let placements = marked.placements;
        // What follows the loop, rendered alone, must be what R has after it before it stands for every probe.
        let constant_prompt = match (renders.after_loop)(loop_id, full_has_prompt) {
            Some(Ok(after)) if after == full[loop_end..] => (renders.after_loop)(loop_id, true).and_then(|r| r.ok()),
            _ => None,
        };
        Ok(Some(LoopLocator {
            messages,
            roles,
            full,
            full_has_prompt,
            loop_id,
            starts,
            loop_end,
            contents,
            placements,
            renders,
            constant_prompt,
            full_traced: OnceCell::new(),
            added_tokens,
        }))
    }

    /// The bytes of R that message `k` is trained on: usually one range, more when the turn holds text of later
    /// messages (tool results written into the turn), which is left out. `Ok(None)` when this locator cannot tell
    /// (the caller then asks the prefix-probing locator); an error when the turn holds a later message's text that
    /// cannot be told apart from the turn's own.
    pub fn turn(&self, k: usize) -> Result<Option<Vec<Range<usize>>>> {
        let Some(contents) = &self.contents else { return Ok(None) };
        let Some(segment) = self.segment(k) else { return Ok(None) };
        let start = if self.roles[k] == "assistant" {
            let Some(prompt) = self.generation_prompt(k) else { return Ok(None) };
            // A turn that does not open with any part of the prompt (DeepSeek-V3's template drops the header of a
            // second tool-calling turn) is trained from where its iteration starts: the template wrote nothing else.
            segment.start + prompt_part_len(&prompt, &self.full[segment.clone()], self.added_tokens).unwrap_or(0)
        } else {
            // Other roles have no generation prompt: their header is the template's text before their content.
            let first = markers_in(contents, segment.clone()).find(|&(m, _)| m == k);
            match (self.placements[k], first) {
                (Placement::Start, Some((_, start))) => start,
                _ => return Ok(None),
            }
        };
        let turn = start..segment.end;
        let later: Vec<usize> = markers_in(contents, turn.clone()).filter(|&(m, _)| m > k).map(|(_, p)| p).collect();
        if later.is_empty() {
            return Ok(Some(vec![turn]));
        }
        self.without_later_messages(k, turn, &later).map(Some)
    }

    /// What message `k`'s iteration of the message loop wrote: from where it starts to where the next message's
    /// starts. `None` when another message sits between them outside the loop.
    fn segment(&self, k: usize) -> Option<Range<usize>> {
        let begin = self.starts[k]?;
        let end = match (k + 1..self.messages.len()).find(|&j| self.starts[j].is_some()) {
            Some(next) if next == k + 1 => self.starts[next]?,
            // A message between this one and the next iterated one is rendered elsewhere, or not at all.
            Some(_) => return None,
            None if k + 1 < self.messages.len() => return None,
            None if self.full_has_prompt => self.loop_end,
            None => self.full.len(),
        };
        Some(begin..end)
    }

    /// `turn` without the text of later messages that the template writes into it (`later`: where their content
    /// markers are), as Gemma-style templates write tool results into the assistant's turn. A probe that ends with
    /// message `k` shows what the turn holds on its own: a run of pieces of R with no counterpart in the probe (by
    /// template source and text) that holds a later message's marker is left out, with the text the template wraps
    /// it in. A marker in a piece that the probe has too cannot be told apart: an error.
    fn without_later_messages(&self, k: usize, turn: Range<usize>, later: &[usize]) -> Result<Vec<Range<usize>>> {
        let unclear = |why: &str| {
            Error::Template(format!(
                "the template writes text of a later message into this turn, and {why}, so which part is the turn's \
                 own cannot be told"
            ))
        };
        let full = self.full_traced.get_or_init(|| (self.renders.traced)(self.messages, self.full_has_prompt).ok());
        let full =
            full.as_ref().filter(|trace| trace.text == self.full).ok_or_else(|| unclear("R cannot be traced"))?;
        let probe = (self.renders.traced)(&self.messages[k.saturating_sub(1)..=k], false)
            .map_err(|e| unclear(&format!("the turn cannot be rendered on its own ({})", e.message())))?;
        let pieces: Vec<&TraceSpan> =
            full.spans.iter().filter(|p| p.output.end > turn.start && p.output.start < turn.end).collect();
        let probe_pieces: Vec<&TraceSpan> = probe.spans.iter().collect();
        let matched = common_subsequence(&pieces, &probe_pieces, |a, b| {
            a.source == b.source && full.text[a.output.clone()] == probe.text[b.output.clone()]
        });
        let mut spans: Vec<Range<usize>> = Vec::new();
        let mut from = turn.start;
        let mut left_out = 0;
        let mut i = 0;
        while i < pieces.len() {
            let run = matched[i..].iter().take_while(|&&m| !m).count().max(1);
            let output = pieces[i].output.start..pieces[i + run - 1].output.end;
            let holds = later.iter().filter(|&&p| output.contains(&p)).count();
            if !matched[i] && holds > 0 {
                if output.start > from {
                    spans.push(from..output.start);
                }
                from = output.end.clamp(from, turn.end);
                left_out += holds;
            }
            i += run;
        }
        if left_out < later.len() {
            return Err(unclear("it is printed by the same template text as the turn's own"));
        }
        if from < turn.end {
            spans.push(from..turn.end);
        }
        Ok(spans)
    }

    /// What the template writes after its message loop when it renders the messages before `k` with the
    /// generation prompt.
    fn generation_prompt(&self, k: usize) -> Option<String> {
        if let Some(prompt) = &self.constant_prompt {
            return Some(prompt.clone());
        }
        let windows = PROMPT_WINDOWS.iter().filter(|&&w| w < k).copied().chain(std::iter::once(k));
        for window in windows {
            let Ok(Some(probe)) = (self.renders.loops)(&self.messages[k - window..k], true) else {
                continue;
            };
            let end = probe.events.iter().rev().find_map(|located| match located.event {
                Event::End { loop_id } if loop_id == self.loop_id => Some(located.position),
                _ => None,
            });
            if let Some(end) = end {
                return Some(probe.text[end..].to_string());
            }
        }
        None
    }
}

/// The `(message index, position)` markers of `contents` (in output order, so by position) that lie in `range`.
fn markers_in(contents: &[(usize, usize)], range: Range<usize>) -> impl Iterator<Item = (usize, usize)> + '_ {
    let from = contents.partition_point(|&(_, p)| p < range.start);
    contents[from..].iter().copied().take_while(move |&(_, p)| p < range.end)
}

/// The instrumented render of R with content markers ([`marked_render`]).
struct MarkedRender {
    trace: LoopTrace,
    /// The messages as the render got them, markers included.
    messages: Vec<Value>,
    /// Where each message's marker was put.
    placements: Vec<Placement>,
    /// Whether the markers show where every message after the first selected one was printed.
    provenance: bool,
}

/// The instrumented render of R with content markers: every message after the first selected one gets a marker
/// inside its content, and a selected message that is not the assistant's one at the start of its content. When
/// markers change the render, the start markers are dropped first, then all of them (and with them provenance).
/// `None` when no instrumented render renders R.
fn marked_render(
    messages: &[Value],
    roles: &[String],
    selected: &[bool],
    full: &str,
    full_has_prompt: bool,
    renders: &Renders<'_>,
) -> Result<Option<MarkedRender>> {
    let first = selected.iter().position(|&s| s).unwrap_or(messages.len());
    let placement = |j: usize, starts: bool| match j {
        j if starts && selected[j] && roles[j] != "assistant" => Placement::Start,
        // An assistant's empty content is left alone: templates test it (`if content`) beside tool calls.
        j if j > first && roles[j] == "assistant" => Placement::Inside,
        j if j > first => Placement::InsideOrAfter,
        _ => Placement::None,
    };
    let with_starts: Vec<Placement> = (0..messages.len()).map(|j| placement(j, true)).collect();
    let inside_only: Vec<Placement> = (0..messages.len()).map(|j| placement(j, false)).collect();
    let unmarked = vec![Placement::None; messages.len()];
    let mut tries = vec![with_starts];
    for fewer in [inside_only, unmarked] {
        if tries.last() != Some(&fewer) {
            tries.push(fewer);
        }
    }
    let count = tries.len();
    for (attempt, placements) in tries.into_iter().enumerate() {
        let marked = contents::mark(messages, &placements);
        let last = attempt + 1 == count;
        // A marked render that raises is told apart like one that renders something else: by trying fewer markers.
        let trace = match (renders.loops)(&marked, full_has_prompt) {
            Err(_) if !last => None,
            trace => trace?,
        };
        if let Some(trace) = trace.filter(|trace| trace.text == full) {
            // The unmarked render, when it had to be tried, tells nothing of where contents went.
            let provenance = !last || count == 1;
            return Ok(Some(MarkedRender { trace, messages: marked, placements, provenance }));
        }
    }
    Ok(None)
}

/// The loop of the template that walks the messages: `(loop id, where each message's iteration starts, where the
/// loop ends)`. A loop qualifies when it runs once, its items are the conversation's messages in their order (a
/// slice or a filtered walk qualifies), and its iterations start at non-decreasing positions; of those, the one
/// whose iterations start at the most distinct positions (the one that writes the turns). `None` when there is no
/// such loop, or two tie.
fn message_loop(trace: &LoopTrace, messages: &[Value]) -> Option<(u32, Vec<Option<usize>>, usize)> {
    struct Walk {
        starts: Vec<Option<usize>>,
        next: usize,
        last: Option<usize>,
        distinct: usize,
        end: Option<usize>,
        valid: bool,
    }
    let mut walks: Vec<Walk> = Vec::new();
    for located in &trace.events {
        let (Event::Iteration { loop_id, .. } | Event::End { loop_id }) = located.event;
        let id = loop_id as usize;
        while walks.len() <= id {
            walks.push(Walk {
                starts: vec![None; messages.len()],
                next: 0,
                last: None,
                distinct: 0,
                end: None,
                valid: true,
            });
        }
        let walk = &mut walks[id];
        if !walk.valid {
            continue;
        }
        match &located.event {
            Event::End { .. } => walk.valid = walk.end.replace(located.position).is_none(),
            Event::Iteration { item, .. } => {
                let found = (walk.next..messages.len()).find(|&j| &messages[j] == item);
                match found {
                    Some(j) if walk.end.is_none() && walk.last.is_none_or(|last| last <= located.position) => {
                        walk.distinct += usize::from(walk.last != Some(located.position));
                        walk.last = Some(located.position);
                        walk.starts[j] = Some(located.position);
                        walk.next = j + 1;
                    }
                    _ => walk.valid = false,
                }
            }
        }
    }
    let candidates = walks.into_iter().enumerate().filter(|(_, w)| w.valid && w.end.is_some() && w.distinct > 0);
    let mut best: Option<(usize, Walk)> = None;
    let mut tie = false;
    for (id, walk) in candidates {
        match &best {
            Some((_, b)) if walk.distinct == b.distinct => tie = true,
            Some((_, b)) if walk.distinct < b.distinct => {}
            _ => {
                tie = false;
                best = Some((id, walk));
            }
        }
    }
    let (id, walk) = best.filter(|_| !tie)?;
    Some((id as u32, walk.starts, walk.end?))
}

/// Which items of `a` belong to a longest common subsequence of `a` and `b`.
fn common_subsequence<A, B>(a: &[A], b: &[B], same: impl Fn(&A, &B) -> bool) -> Vec<bool> {
    // lengths[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lengths = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i][j] =
                if same(&a[i], &b[j]) { lengths[i + 1][j + 1] + 1 } else { lengths[i + 1][j].max(lengths[i][j + 1]) };
        }
    }
    let mut matched = vec![false; a.len()];
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if same(&a[i], &b[j]) {
            matched[i] = true;
            (i, j) = (i + 1, j + 1);
        } else if lengths[i + 1][j] >= lengths[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::fixtures::{role, DROPS_REASONING};
    use crate::render::template::{ChatTemplate, RenderLimits};
    use minijinja::value::Serde;

    /// Tool results rendered inside the assistant's turn, as Gemma-style templates do.
    const RESULTS_IN_TURN: &str = "{% for m in messages %}{% if m.role == 'assistant' %}<model>{{ m.call }}\
        {% for r in messages[loop.index0 + 1:] %}{% if r.role == 'tool' %}{{ '<result>' + r.content + '</result>' }}{% endif %}{% endfor %}\
        {{ m.content }}<end>{% elif m.role == 'user' %}<user>{{ m.content }}<end>{% endif %}{% endfor %}\
        {% if add_generation_prompt %}<model>{% endif %}";

    /// The turns of the messages with a role in `trained`, by this locator alone (`None` where it defers), its
    /// ranges joined by `|`.
    fn loop_turns(source: &str, messages: serde_json::Value, trained: &[&str]) -> Result<Vec<Option<String>>> {
        let template = ChatTemplate::new(source, RenderLimits::default()).unwrap();
        let messages: Vec<Value> = Value::from(Serde(messages)).try_iter().unwrap().collect();
        let template = &template;
        let context = |list: &[Value], prompt: bool| minijinja::context!(messages => Value::from(list.to_vec()), add_generation_prompt => prompt);
        let full = template.render_traced(context(&messages, false), false).unwrap().text;
        let render_loops = |list: &[Value], prompt: bool| template.render_loops(context(list, prompt));
        let traced = |list: &[Value], prompt: bool| template.render_traced(context(list, prompt), true);
        let after = |id: u32, prompt: bool| template.render_after_loop(id, context(&[], prompt));
        let roles: Vec<String> = messages.iter().map(role).collect();
        let selected: Vec<bool> = roles.iter().map(|r| trained.contains(&r.as_str())).collect();
        let renders = Renders { loops: &render_loops, traced: &traced, after_loop: &after };
        let locator = LoopLocator::new(&messages, &roles, &selected, &full, false, renders, &[])?.unwrap();
        let text = |ranges: Vec<Range<usize>>| ranges.into_iter().map(|r| &full[r]).collect::<Vec<_>>().join("|");
        (0..messages.len()).filter(|&k| selected[k]).map(|k| Ok(locator.turn(k)?.map(text))).collect()
    }

    fn some(texts: &[&str]) -> Vec<Option<String>> {
        texts.iter().map(|t| Some(t.to_string())).collect()
    }

    #[test]
    fn turns_end_where_the_next_message_starts_as_the_full_conversation_renders_it() {
        // The last turn closes with another token than the others, and the system message is taken off the loop.
        let source = "{% if messages[0].role == 'system' %}[{{ messages[0].content }}]{% set loop_messages = messages[1:] %}\
            {% else %}{% set loop_messages = messages %}{% endif %}\
            {% for m in loop_messages %}<{{ m.role }}>{{ m.content }}{% if loop.last %}<stop>{% else %}<end>{% endif %}{% endfor %}\
            {% if add_generation_prompt %}<assistant><think>{% endif %}";
        let got = loop_turns(
            source,
            serde_json::json!([
                {"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                {"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>r</think>b"},
            ]),
            &["assistant"],
        );
        // The prefilled <think> is the prompt's: the first answer starts after <assistant>, the second after <think>.
        assert_eq!(got.unwrap(), some(&["a<end>", "r</think>b<stop>"]));
    }

    #[test]
    fn a_turn_stays_whole_when_later_messages_repeat_its_words() {
        // The earlier turn renders differently once a user message follows (its reasoning dropped), and the later
        // messages say what it said: a word of it, all of it, the same answer again.
        let got = loop_turns(
            DROPS_REASONING,
            serde_json::json!([
                {"role": "user", "content": "Shall we go?"}, {"role": "assistant", "content": "Say yes or no.", "reasoning": "r"},
                {"role": "user", "content": "yes"}, {"role": "assistant", "content": "Say yes or no.", "reasoning": "r2"},
                {"role": "user", "content": "Say yes or no."}, {"role": "assistant", "content": "no"},
            ]),
            &["assistant"],
        );
        assert_eq!(got.unwrap(), some(&["Say yes or no.<end>\n", "Say yes or no.<end>\n", "<think></think>no<end>\n"]));
    }

    #[test]
    fn later_messages_written_into_a_turn_are_left_out_by_where_they_came_from() {
        // The tool result says what the assistant says, and the next user repeats it: only the result is left out.
        let got = loop_turns(
            RESULTS_IN_TURN,
            serde_json::json!([
                {"role": "user", "content": "q"}, {"role": "assistant", "call": "f()", "content": "42"},
                {"role": "tool", "content": "42"}, {"role": "user", "content": "42"},
            ]),
            &["assistant"],
        );
        assert_eq!(got.unwrap(), some(&["f()|42<end>"]));
    }

    #[test]
    fn an_empty_later_message_written_into_a_turn_is_left_out_too() {
        let got = loop_turns(
            RESULTS_IN_TURN,
            serde_json::json!([
                {"role": "user", "content": "q"}, {"role": "assistant", "call": "f()", "content": "done"},
                {"role": "tool", "content": ""},
            ]),
            &["assistant"],
        );
        assert_eq!(got.unwrap(), some(&["f()|done<end>"]));
    }

    #[test]
    fn other_roles_are_trained_from_where_their_content_starts() {
        let got = loop_turns(
            DROPS_REASONING,
            serde_json::json!([
                {"role": "user", "content": "q"}, {"role": "assistant", "content": "call"},
                {"role": "tool", "content": "\n call"}, {"role": "assistant", "content": "done"},
            ]),
            &["assistant", "tool"],
        );
        assert_eq!(got.unwrap(), some(&["<think></think>call<end>\n", "call<end>\n", "<think></think>done<end>\n"]));
    }

    #[test]
    fn markers_that_change_the_render_leave_the_turns_to_the_fallback() {
        // A template that tests a content for equality renders something else with a marker in it.
        let source = "{% for m in messages %}<{{ m.role }}>{% if m.content == 'yes' %}YES{% else %}{{ m.content }}{% endif %}<end>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
        let messages = serde_json::json!([
            {"role": "user", "content": "q"}, {"role": "assistant", "content": "yes"}, {"role": "user", "content": "yes"},
            {"role": "assistant", "content": "ok"},
        ]);
        assert_eq!(loop_turns(source, messages.clone(), &["assistant"]).unwrap(), [None, None]);
        // Nothing after the only trained message needs a marker: the turn is located.
        let last_only =
            serde_json::json!([{"role": "user", "content": "yes"}, {"role": "assistant", "content": "yes"}]);
        assert_eq!(loop_turns(source, last_only, &["assistant"]).unwrap(), some(&["YES<end>"]));
    }

    #[test]
    fn a_template_without_a_loop_over_the_messages_has_no_loop_locator() {
        let template = ChatTemplate::new(
            "{% for i in range(messages|length) %}{{ messages[i].content }}{% endfor %}",
            RenderLimits::default(),
        )
        .unwrap();
        let messages: Vec<Value> =
            Value::from(Serde(serde_json::json!([{"role": "user", "content": "q"}]))).try_iter().unwrap().collect();
        let trace =
            template.render_loops(minijinja::context!(messages => Value::from(messages.clone()))).unwrap().unwrap();
        assert!(message_loop(&trace, &messages).is_none());
    }

    #[test]
    fn common_subsequence_marks_the_items_in_common() {
        assert_eq!(
            common_subsequence(&[1, 9, 2, 3, 8], &[1, 2, 3, 4], |a, b| a == b),
            [true, false, true, true, false]
        );
    }
}
