//! Carrying the end of a probe render into the full render by template structure.
//!
//! A probe render (the conversation cut after a message) ends where that message's turn ends. When the template
//! renders the turn differently once later messages follow, the probe is not a prefix of the full render, but the
//! turn still closes with the same pieces of output from the same places in the template (`'<|im_end|>\n'` from the
//! assistant branch, the tool-call loop, ...). Comparing pieces by template source as well as by text keeps data
//! from impersonating structure: a user message that quotes the assistant comes from another expression.

use std::ops::RangeInclusive;

use crate::render::template::Trace;

/// Where the end of `probe` falls in `full`: the output position `p` inside `window` such that the pieces of `full`
/// ending at `p` repeat the longest run of `probe`'s last pieces, the earliest such `p` when several tie (a turn
/// closes before any later turn does). `None` when not even `probe`'s last piece is found.
pub fn align_end(probe: &Trace, full: &Trace, window: RangeInclusive<usize>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (matched pieces, position)
    for (index, span) in full.spans.iter().enumerate() {
        if !window.contains(&span.output.end) {
            continue;
        }
        let matched = common_tail(probe, probe.spans.len(), full, index + 1);
        if matched > 0 && best.is_none_or(|(most, _)| matched > most) {
            best = Some((matched, span.output.end));
        }
    }
    best.map(|(_, position)| position)
}

/// How many pieces `probe.spans[..a]` and `full.spans[..b]` have in common at their ends.
fn common_tail(probe: &Trace, a: usize, full: &Trace, b: usize) -> usize {
    let same = |x: &crate::render::template::TraceSpan, y: &crate::render::template::TraceSpan| {
        x.source == y.source && probe.text[x.output.clone()] == full.text[y.output.clone()]
    };
    probe.spans[..a].iter().rev().zip(full.spans[..b].iter().rev()).take_while(|(x, y)| same(x, y)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::template::TraceSpan;

    /// A trace from (source start, text) pieces; the source range is one byte long at that start.
    fn trace(pieces: &[(usize, &str)]) -> Trace {
        let mut text = String::new();
        let mut spans = Vec::new();
        for &(source, piece) in pieces {
            let start = text.len();
            text.push_str(piece);
            spans.push(TraceSpan { output: start..text.len(), source: source..source + 1 });
        }
        Trace { text, spans }
    }

    // Template sources: 1 user turn, 2 assistant turn without reasoning, 3 with reasoning, 4 end of assistant turn.
    #[test]
    fn the_turn_end_is_found_although_the_turn_renders_differently() {
        let probe = trace(&[(1, "U:hi|"), (3, "A:<think></think>ok"), (4, "|")]);
        let full =
            trace(&[(1, "U:hi|"), (2, "A:ok"), (4, "|"), (1, "U:more|"), (3, "A:<think>r</think>fine"), (4, "|")]);
        assert_eq!(align_end(&probe, &full, 0..=full.text.len()), Some("U:hi|A:ok|".len()));
    }

    #[test]
    fn a_later_identical_turn_does_not_win_a_tie() {
        let probe = trace(&[(3, "A:<think></think>ok"), (4, "|")]);
        let full = trace(&[(2, "A:ok"), (4, "|"), (1, "U:q|"), (2, "A:ok"), (4, "|")]);
        assert_eq!(align_end(&probe, &full, 0..=full.text.len()), Some(5));
    }

    #[test]
    fn text_from_another_place_in_the_template_does_not_match() {
        // The user quotes the assistant's closing text; only the assistant branch's piece counts.
        let probe = trace(&[(3, "A:<think></think>ok"), (4, "|")]);
        let full = trace(&[(2, "A:ok"), (5, "|"), (1, "U:ok|")]);
        assert_eq!(align_end(&probe, &full, 0..=full.text.len()), None);
    }

    #[test]
    fn the_longest_match_wins_and_the_window_bounds_the_search() {
        let probe = trace(&[(2, "A:x"), (6, "call"), (4, "|")]);
        let full = trace(&[(2, "A:x"), (4, "|"), (2, "A:x"), (6, "call"), (4, "|")]);
        assert_eq!(align_end(&probe, &full, 0..=full.text.len()), Some(full.text.len()));
        assert_eq!(align_end(&probe, &full, 0..=4), Some(4));
    }
}
