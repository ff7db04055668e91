//! The processor files beside a tokenizer: `preprocessor_config.json` (the image processor),
//! `video_preprocessor_config.json` and `processor_config.json` (the processor itself), as transformers reads them.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// The JSON configs of a model's processor; an empty object for each file the directory lacks.
#[derive(Debug, Clone, Default)]
pub struct ProcessorFiles {
    pub image: Value,
    pub video: Value,
    pub processor: Value,
    /// `tokenizer_config.json`: where a few processors read their special tokens (`boi_token`, `image_token`).
    pub tokenizer: Value,
}

impl ProcessorFiles {
    /// The configs in `dir`; None when it holds no image processor config (a text-only model).
    pub fn read_dir(dir: &Path, tokenizer: &Value) -> Result<Option<ProcessorFiles>> {
        let processor = read_json(dir, "processor_config.json")?;
        // As transformers reads them: the settings nested in processor_config.json (what transformers 5 saves) first,
        // then the sub-processor's own file.
        let nested = |key: &str| processor.as_ref().and_then(|p| p.get(key)).cloned();
        let image = match nested("image_processor") {
            Some(image) => image,
            None => match read_json(dir, "preprocessor_config.json")? {
                Some(image) => image,
                None => return Ok(None),
            },
        };
        let video = match nested("video_processor") {
            Some(video) => Some(video),
            None => read_json(dir, "video_preprocessor_config.json")?,
        };
        let empty = || Value::Object(Default::default());
        Ok(Some(ProcessorFiles {
            image,
            video: video.unwrap_or_else(empty),
            processor: processor.unwrap_or_else(empty),
            tokenizer: tokenizer.clone(),
        }))
    }

    /// The processor's class name (`Qwen2_5_VLProcessor`, `LlavaProcessor`, ...), wherever the files record it.
    pub fn processor_class(&self) -> Option<&str> {
        [&self.processor, &self.image, &self.tokenizer].into_iter().find_map(|c| c.get("processor_class")?.as_str())
    }

    /// The image processor's class name, without the `Fast` / `Pil` suffix of its backends.
    pub fn image_processor_type(&self) -> Option<&str> {
        image_processor_type(&self.image)
    }

    /// A special token the tokenizer config names (`boi_token`), as a top-level key or among
    /// `extra_special_tokens`; `default` when it names none.
    pub fn tokenizer_token(&self, name: &str, default: &str) -> String {
        let extra = self.tokenizer.get("extra_special_tokens").and_then(|extra| extra.get(name));
        self.tokenizer.get(name).or(extra).and_then(token_text).unwrap_or(default).to_string()
    }
}

/// A token given as text or as an AddedToken object (`{"content": ...}`).
fn token_text(value: &Value) -> Option<&str> {
    value.as_str().or_else(|| value.get("content")?.as_str())
}

fn read_json(dir: &Path, name: &str) -> Result<Option<Value>> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{} is not valid JSON: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
    }
}

/// A whole number setting; None when absent or null.
pub fn number(config: &Value, key: &str) -> std::result::Result<Option<u64>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a whole number, got {value}")),
    }
}

/// A whole number inside the config's `size` mapping (`size.longest_edge`).
pub fn size_field(config: &Value, key: &str) -> std::result::Result<Option<u64>, String> {
    match config.get("size") {
        Some(size @ Value::Object(_)) => number(size, key),
        _ => Ok(None),
    }
}

/// The image processor's settings: the `image_processor` object inside processor_config.json when there is one (as
/// transformers 5 saves them, and reads them first), else preprocessor_config.json.
pub fn image_config<'a>(preprocessor: &'a Value, processor: &'a Value) -> &'a Value {
    match processor.get("image_processor") {
        Some(nested @ Value::Object(_)) => nested,
        _ => preprocessor,
    }
}

/// The image processor's class, without the `Fast` / `Pil` suffix of its backends.
pub fn image_processor_type(config: &Value) -> Option<&str> {
    let name = config.get("image_processor_type")?.as_str()?;
    Some(name.strip_suffix("Fast").or_else(|| name.strip_suffix("Pil")).unwrap_or(name))
}

/// A boolean setting as transformers' `_set_attributes` reads it: missing or null is the class default, anything
/// else its Python truthiness.
pub fn flag(config: &Value, key: &str, default: bool) -> bool {
    match config.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// A whole-number processor setting: missing is the `__init__` default; null or anything else than a non-negative
/// integer breaks transformers' arithmetic, so it is an error here.
pub fn count(config: &Value, key: &str, default: u64) -> std::result::Result<u64, String> {
    match config.get(key) {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| format!("{key} must be a whole number, not {v}")),
    }
}
