//! The render with each image and video placeholder replaced by what the processor writes for it, in order, as
//! transformers' `get_text_with_replacements` does; and the byte ranges of the image runs in the new text.

use std::ops::Range;

use super::media::{Kind, Media};
use super::{Replacement, Vision};
use crate::error::{Error, Result};

/// A render with its images expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// Each image's or video's run in `text` (its replacement and the template's wrapper tokens around it), in
    /// order: never trained.
    pub runs: Vec<Range<usize>>,
    /// Per image and per video, in order, its grid where the family has one.
    pub image_grids: Vec<[u64; 3]>,
    pub video_grids: Vec<[u64; 3]>,
    /// `(old start, old end, new start, new end)` of each placeholder replaced.
    edits: Vec<(usize, usize, usize, usize)>,
}

impl Expanded {
    /// `spans` of the render moved to the expanded text, less the image runs.
    pub fn spans(&self, spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
        let moved = spans.into_iter().map(|span| self.position(span.start)..self.position(span.end));
        moved.flat_map(|span| without(span, &self.runs)).collect()
    }

    /// Where a position of the render lands in the expanded text (inside a placeholder: at its replacement's start).
    fn position(&self, old: usize) -> usize {
        let mut new = old;
        for &(old_start, old_end, new_start, new_end) in &self.edits {
            if old >= old_end {
                new = old - old_end + new_end;
            } else if old > old_start {
                return new_start;
            } else {
                break;
            }
        }
        new
    }
}

/// `span` less the (sorted) `runs`: at most one piece per gap between runs. An empty span stays unless a run
/// holds it (an empty span inside a token trains that token, as in transformers).
fn without(span: Range<usize>, runs: &[Range<usize>]) -> Vec<Range<usize>> {
    if span.is_empty() {
        let inside = runs.iter().any(|run| run.start < span.start && span.start < run.end);
        return if inside { Vec::new() } else { vec![span] };
    }
    let mut pieces = Vec::new();
    let mut start = span.start;
    for run in runs.iter().filter(|run| run.end > span.start && run.start < span.end) {
        if run.start > start {
            pieces.push(start..run.start);
        }
        start = start.max(run.end);
    }
    if start < span.end {
        pieces.push(start..span.end);
    }
    pieces
}

/// `text` with its placeholders replaced by `media`'s replacements, taken in order per kind.
pub fn expand(vision: &Vision, text: &str, media: &[Media]) -> Result<Expanded> {
    for item in media {
        vision.check_kind(item.kind)?;
    }
    let mut queues = [Kind::Image, Kind::Video].map(|kind| media.iter().filter(move |m| m.kind == kind));
    let placeholders = [Kind::Image, Kind::Video].map(|kind| vision.placeholder(kind).filter(|p| !p.is_empty()));
    let (open, close) = vision.wrappers();
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        runs: Vec::new(),
        image_grids: Vec::new(),
        video_grids: Vec::new(),
        edits: Vec::new(),
    };
    let mut rest = 0;
    while let Some((start, which)) = next_placeholder(text, rest, &placeholders) {
        let placeholder = placeholders[which].unwrap_or_default();
        let end = start + placeholder.len();
        let item = queues[which].next().ok_or_else(|| {
            Error::Input(format!(
                "the render holds more {} placeholders ('{placeholder}') than the conversation has {}s",
                ["image", "video"][which],
                ["image", "video"][which],
            ))
        })?;
        let Replacement { text: replacement, grid } = vision.replacement(item)?;
        out.text.push_str(&text[rest..start]);
        let new_start = out.text.len();
        out.text.push_str(&replacement);
        let new_end = out.text.len();
        let run_start = if text[..start].ends_with(open) { new_start - open.len() } else { new_start };
        let run_end = if text[end..].starts_with(close) { new_end + close.len() } else { new_end };
        out.runs.push(run_start..run_end);
        out.edits.push((start, end, new_start, new_end));
        if let Some(grid) = grid {
            [&mut out.image_grids, &mut out.video_grids][which].push(grid);
        }
        rest = end;
    }
    out.text.push_str(&text[rest..]);
    for (which, queue) in queues.iter_mut().enumerate() {
        let left = queue.count();
        if left > 0 {
            return Err(Error::Input(format!(
                "{left} {}(s) of the conversation have no placeholder in the render: the chat template left them out",
                ["image", "video"][which]
            )));
        }
    }
    Ok(out)
}

/// The first placeholder at or after `from`: its position and which kind (0 image, 1 video).
fn next_placeholder(text: &str, from: usize, placeholders: &[Option<&str>; 2]) -> Option<(usize, usize)> {
    let found = placeholders
        .iter()
        .enumerate()
        .filter_map(|(which, placeholder)| placeholder.and_then(|p| text[from..].find(p)).map(|at| (from + at, which)));
    found.min()
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // spans are lists of ranges, often of one
mod tests {
    use super::*;
    use crate::vision::config::ProcessorFiles;
    use crate::vision::media::Source;
    use crate::vision::ImageSize;

    fn qwen() -> Vision {
        let files = ProcessorFiles {
            processor: serde_json::json!({"processor_class": "Qwen2_5_VLProcessor"}),
            ..Default::default()
        };
        Vision::from_files(&files).unwrap()
    }

    fn image(width: u32, height: u32) -> Media {
        Media { kind: Kind::Image, sources: vec![Source::SizeOnly], size: ImageSize { width, height } }
    }

    const PAD: &str = "<|image_pad|>";

    #[test]
    fn placeholders_become_runs_and_spans_move_around_them() {
        let text = format!("u:<|vision_start|>{PAD}<|vision_end|>hi|a:<|vision_start|>{PAD}<|vision_end|>ok|");
        // 56x56 is 2x2 merged patches: 4 pads; 1x1 grows to 56x56 as well.
        let expanded = expand(&qwen(), &text, &[image(56, 56), image(1, 1)]).unwrap();
        let run = format!("<|vision_start|>{}<|vision_end|>", PAD.repeat(4));
        assert_eq!(expanded.text, format!("u:{run}hi|a:{run}ok|"));
        assert_eq!(expanded.image_grids, vec![[1, 4, 4], [1, 4, 4]]);
        let first = 2..2 + run.len();
        assert_eq!(expanded.runs[0], first);
        // The assistant's turn "a:<image>ok|" is trained but for its image run.
        let a = text.find("a:").unwrap();
        let spans = expanded.spans(vec![a..text.len()]);
        let new_a = expanded.text.find("a:").unwrap();
        assert_eq!(spans, vec![new_a..new_a + 2, expanded.runs[1].end..expanded.text.len()]);
        assert_eq!(&expanded.text[spans[1].clone()], "ok|");
    }

    #[test]
    fn counts_must_match() {
        let text = format!("{PAD}{PAD}");
        let err = expand(&qwen(), &text, &[image(56, 56)]).unwrap_err();
        assert!(err.message().contains("more image placeholders"), "{err:?}");
        let err = expand(&qwen(), "no image here", &[image(56, 56)]).unwrap_err();
        assert!(err.message().contains("left them out"), "{err:?}");
    }

    #[test]
    fn without_cuts_runs_out_of_spans() {
        assert_eq!(without(0..10, &[2..4, 6..8]), vec![0..2, 4..6, 8..10]);
        assert_eq!(without(3..7, &[2..4, 6..8]), vec![4..6]);
        assert_eq!(without(2..4, &[2..4]), Vec::<Range<usize>>::new());
        assert_eq!(without(5..5, &[2..4]), vec![5..5]);
    }
}
