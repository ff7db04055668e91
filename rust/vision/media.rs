//! The images and videos of a conversation, in the order transformers' `apply_chat_template` collects them: message
//! by message, part by part of each content given as a list of parts.

use std::path::Path;

use minijinja::value::{Value, ValueKind};

use super::header::{file_image_size, image_size};
use super::ImageSize;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
}

/// Where an image (or a video frame) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(String),
    Bytes(Vec<u8>),
    /// Only its size was given: enough to count its tokens, not to produce its pixels.
    SizeOnly,
}

/// One image or video part of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: Kind,
    /// An image's source, or a video's frames (one [`Source::SizeOnly`] per frame when only their number is given).
    pub sources: Vec<Source>,
    pub size: ImageSize,
}

impl Media {
    pub fn frames(&self) -> u64 {
        self.sources.len() as u64
    }
}

/// The images and videos of `messages`, each read from its header for its size. An error names the message and
/// part.
pub fn media(messages: &Value) -> Result<Vec<Media>> {
    let mut found = Vec::new();
    for (m, message) in messages.try_iter().into_iter().flatten().enumerate() {
        let Ok(content) = message.get_attr("content") else { continue };
        if content.kind() != ValueKind::Seq {
            continue;
        }
        for (p, part) in content.try_iter().into_iter().flatten().enumerate() {
            let kind = match part.get_attr("type").ok().as_ref().and_then(Value::as_str) {
                Some("image") => Kind::Image,
                Some("video") => Kind::Video,
                _ => continue,
            };
            let item = read_part(&part, kind).map_err(|e| Error::Input(format!("message {m}, part {p}: {e}")))?;
            found.push(item);
        }
    }
    Ok(found)
}

/// `messages` with the image parts that carry no image (`{"type": "image"}`, as TRL's datasets write them, the images
/// in a column of their own) given the row's `images`, in order; the counts must match. Messages with no such part
/// are returned as they are: an `images` column means nothing to them.
pub fn attach_images(messages: &Value, images: &Value) -> Result<Value> {
    let bare = |part: &Value| {
        part.get_attr("type").ok().as_ref().and_then(Value::as_str) == Some("image")
            && IMAGE_FIELDS.iter().all(|key| field(part, key).is_none())
    };
    let parts = messages.try_iter().into_iter().flatten().filter_map(|m| m.get_attr("content").ok());
    if !parts.filter(|c| c.kind() == ValueKind::Seq).any(|c| c.try_iter().into_iter().flatten().any(|p| bare(&p))) {
        return Ok(messages.clone());
    }
    let mut images = images.try_iter().map_err(|_| Error::Input("the images column must hold a list".into()))?;
    let mut attached = 0;
    let mut part_without_image = |part: Value| -> Result<Value> {
        if !bare(&part) {
            return Ok(part);
        }
        let image = images.next().ok_or_else(|| {
            Error::Input(format!(
                "the messages have more image parts without an image than the images column's {attached}"
            ))
        })?;
        attached += 1;
        Ok(with_entry(&part, "image", image))
    };
    let mut out = Vec::new();
    for message in messages.try_iter().into_iter().flatten() {
        match message.get_attr("content") {
            Ok(content) if content.kind() == ValueKind::Seq => {
                let parts: Vec<Value> =
                    content.try_iter().into_iter().flatten().map(&mut part_without_image).collect::<Result<_>>()?;
                out.push(with_entry(&message, "content", Value::from(parts)));
            }
            _ => out.push(message),
        }
    }
    let left = images.count();
    if left > 0 {
        return Err(Error::Input(format!(
            "the images column has {} images, and the messages {attached} image parts to put them in",
            attached + left
        )));
    }
    Ok(Value::from(out))
}

/// A mapping with `key` set to `value`.
fn with_entry(map: &Value, key: &str, value: Value) -> Value {
    let keys = map.try_iter().into_iter().flatten().filter(|k| k.as_str() != Some(key));
    let entries: Vec<(Value, Value)> = keys.map(|k| (k.clone(), map.get_item(&k).unwrap_or_default())).collect();
    crate::values::map_value(entries.into_iter().chain([(Value::from(key), value)]))
}

/// The fields an image part gives its image (or its size) in.
const IMAGE_FIELDS: [&str; 6] = ["path", "url", "image", "bytes", "width", "height"];

/// Whether any message's content is a list of parts: the only rows that can hold images.
pub fn has_parts(messages: &Value) -> bool {
    messages
        .try_iter()
        .into_iter()
        .flatten()
        .any(|message| message.get_attr("content").is_ok_and(|content| content.kind() == ValueKind::Seq))
}

fn field(part: &Value, key: &str) -> Option<Value> {
    part.get_attr(key).ok().filter(|v| !v.is_undefined() && !v.is_none())
}

fn read_part(part: &Value, kind: Kind) -> std::result::Result<Media, String> {
    let given = given_size(part)?;
    if kind == Kind::Video {
        return read_video(part, given);
    }
    let source = IMAGE_FIELDS[..4].iter().find_map(|key| field(part, key));
    match (source, given) {
        (Some(source), _) => {
            let (source, size) = read_source(&source)?;
            Ok(Media { kind, sources: vec![source], size: given.unwrap_or(size) })
        }
        (None, Some(size)) => Ok(Media { kind, sources: vec![Source::SizeOnly], size }),
        (None, None) => Err("an image part needs 'path', 'url', 'image' (a path or bytes), 'bytes', or its \
                             'width' and 'height'"
            .into()),
    }
}

/// A video as its frames (`frames`: a list of paths or bytes, or their number with `width` and `height`).
fn read_video(part: &Value, given: Option<ImageSize>) -> std::result::Result<Media, String> {
    let no_frames = || {
        "a video part needs 'frames': a list of frame images, or their number with 'width' and 'height' (video \
         files are not decoded: sample the frames first)"
            .to_string()
    };
    let frames = field(part, "frames").ok_or_else(no_frames)?;
    if let Some(count) = frames.as_usize() {
        let size = given.ok_or_else(no_frames)?;
        return Ok(Media { kind: Kind::Video, sources: vec![Source::SizeOnly; count.max(1)], size });
    }
    let mut sources = Vec::new();
    let mut size = given;
    for frame in frames.try_iter().map_err(|_| no_frames())? {
        let (source, frame_size) = read_source(&frame)?;
        size.get_or_insert(frame_size);
        sources.push(source);
    }
    let size = size.ok_or_else(no_frames)?;
    Ok(Media { kind: Kind::Video, sources, size })
}

/// `width` and `height` given in the part.
fn given_size(part: &Value) -> std::result::Result<Option<ImageSize>, String> {
    let dimension = |key: &str| -> std::result::Result<Option<u32>, String> {
        field(part, key)
            .map(|v| v.as_usize().and_then(|n| u32::try_from(n).ok()).ok_or(format!("'{key}' must be a whole number")))
            .transpose()
    };
    match (dimension("width")?, dimension("height")?) {
        (Some(0), _) | (_, Some(0)) => Err("'width' and 'height' must be positive".into()),
        (Some(width), Some(height)) => Ok(Some(ImageSize { width, height })),
        (None, None) => Ok(None),
        _ => Err("give both 'width' and 'height', or neither".into()),
    }
}

/// An image given as a path (or `file://` URL), as bytes, or as a `datasets` Image (`{"bytes": ..., "path": ...}`).
fn read_source(value: &Value) -> std::result::Result<(Source, ImageSize), String> {
    if value.kind() == ValueKind::Bytes {
        let bytes = value.as_bytes().unwrap_or_default().to_vec();
        let size = image_size(&bytes)?;
        return Ok((Source::Bytes(bytes), size));
    }
    if value.kind() == ValueKind::Map {
        let inner = field(value, "bytes").or_else(|| field(value, "path"));
        return read_source(&inner.ok_or("an image mapping needs 'bytes' or 'path'")?);
    }
    let Some(text) = value.as_str() else {
        return Err(format!("an image must be a path or bytes, got {}", value.kind()));
    };
    if text.starts_with('<') && text.ends_with('>') {
        // What the Python conversion writes for an object it does not know: a decoded (PIL) image, most often.
        return Err(format!(
            "{text} is a Python object, not an image sftmask reads: give the image's path or bytes (a `datasets` \
             Image column: cast it to Image(decode=False))"
        ));
    }
    if text.starts_with("http://") || text.starts_with("https://") || text.starts_with("data:") {
        return Err(format!("'{}' is not a local file: download the image first", shorten(text)));
    }
    let path = text.strip_prefix("file://").unwrap_or(text);
    let size = file_image_size(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    Ok((Source::Path(path.to_string()), size))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}
