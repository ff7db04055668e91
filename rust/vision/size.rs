//! transformers' image sizes: a `size` / `crop_size` setting as `get_size_dict` reads it ([`SizeDict`]), and the size
//! an image is resized to by each of its key sets, as the image processors' `resize` computes it.

use serde_json::Value;

/// One image processor `size` / `crop_size` setting, as transformers' `SizeDict` holds it after `get_size_dict`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeDict {
    pub height: Option<u64>,
    pub width: Option<u64>,
    pub shortest_edge: Option<u64>,
    pub longest_edge: Option<u64>,
    pub max_height: Option<u64>,
    pub max_width: Option<u64>,
}

/// The key sets `get_size_dict` accepts (`VALID_SIZE_DICT_KEYS`): exactly one of these, or transformers raises.
const VALID_SIZE_KEYS: [&[&str]; 6] = [
    &["height", "width"],
    &["shortest_edge"],
    &["shortest_edge", "longest_edge"],
    &["longest_edge"],
    &["max_height", "max_width"],
    &["min_pixels", "max_pixels"],
];

impl SizeDict {
    /// `get_size_dict(value, default_to_square)`: an int is a square (`default_to_square`) or the shortest edge, a
    /// list is `[height, width]`, a dict must have one of the valid key sets. `None` / null: the class default.
    pub fn parse(value: Option<&Value>, default: &Value, default_to_square: bool, name: &str) -> Result<Self, String> {
        let value = match value {
            None | Some(Value::Null) => default,
            Some(value) => value,
        };
        let int = |v: &Value| v.as_u64().ok_or_else(|| format!("{name}: {v} is not a size in pixels"));
        match value {
            Value::Number(_) if default_to_square => {
                let n = int(value)?;
                Ok(SizeDict { height: Some(n), width: Some(n), ..Default::default() })
            }
            Value::Number(_) => Ok(SizeDict { shortest_edge: Some(int(value)?), ..Default::default() }),
            Value::Array(items) if items.len() >= 2 => {
                Ok(SizeDict { height: Some(int(&items[0])?), width: Some(int(&items[1])?), ..Default::default() })
            }
            Value::Object(map) => {
                let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
                keys.sort_unstable();
                let valid = VALID_SIZE_KEYS.iter().any(|set| {
                    let mut set = set.to_vec();
                    set.sort_unstable();
                    set == keys
                });
                if !valid {
                    return Err(format!("{name} must have the keys of one of {VALID_SIZE_KEYS:?}, not {keys:?}"));
                }
                // A null value is a missing one (SizeDict's None); min_pixels / max_pixels are kept by transformers
                // but no resize here uses them.
                let get = |key: &str| match map.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => int(v).map(Some),
                };
                Ok(SizeDict {
                    height: get("height")?,
                    width: get("width")?,
                    shortest_edge: get("shortest_edge")?,
                    longest_edge: get("longest_edge")?,
                    max_height: get("max_height")?,
                    max_width: get("max_width")?,
                })
            }
            other => Err(format!("{name}: {other} is not a size")),
        }
    }

    /// Python's truthiness of a SizeDict field: None and 0 are both unset.
    pub fn get(field: Option<u64>) -> Option<u64> {
        field.filter(|&v| v != 0)
    }

    /// `(height, width)` when both are set.
    pub fn height_width(&self) -> Option<(u64, u64)> {
        Some((Self::get(self.height)?, Self::get(self.width)?))
    }

    /// The size `PilBackend.resize` / `TorchvisionBackend.resize` resize an image of `(height, width)` to, trying
    /// the keys in their order. Err: the size has none of the keys it resizes by.
    pub fn resize(&self, height: u64, width: u64) -> Result<(u64, u64), String> {
        if let (Some(shortest), Some(longest)) = (Self::get(self.shortest_edge), Self::get(self.longest_edge)) {
            Ok(size_with_aspect_ratio(height, width, shortest, Some(longest)))
        } else if let Some(shortest) = Self::get(self.shortest_edge) {
            Ok(resize_shortest_edge(height, width, shortest))
        } else if let (Some(max_h), Some(max_w)) = (Self::get(self.max_height), Self::get(self.max_width)) {
            Ok(size_for_max_height_width(height, width, max_h, max_w))
        } else if let Some(size) = self.height_width() {
            Ok(size)
        } else {
            Err("size must have height and width, max_height and max_width, or shortest_edge".into())
        }
    }
}

/// transformers' `get_size_with_aspect_ratio`: the short edge to `size`, unless the long edge would pass `max_size`,
/// then the long edge to `max_size` with the short one `round(raw)` (Python's round: half to even).
pub fn size_with_aspect_ratio(height: u64, width: u64, size: u64, max_size: Option<u64>) -> (u64, u64) {
    let (mut size, mut raw_size) = (size, None);
    if let Some(max_size) = max_size {
        let (min_original, max_original) = (height.min(width) as f64, height.max(width) as f64);
        if max_original / min_original * size as f64 > max_size as f64 {
            let raw = max_size as f64 * min_original / max_original;
            size = raw.round_ties_even() as u64;
            raw_size = Some(raw);
        }
    }
    if (height <= width && height == size) || (width <= height && width == size) {
        (height, width)
    } else if width < height {
        let oh = match raw_size {
            Some(raw) => raw * height as f64 / width as f64,
            None => (size * height) as f64 / width as f64,
        };
        (oh as u64, size)
    } else {
        let ow = match raw_size {
            Some(raw) => raw * width as f64 / height as f64,
            None => (size * width) as f64 / height as f64,
        };
        (size, ow as u64)
    }
}

/// transformers' `get_resize_output_image_size(size, default_to_square=False)`: the short edge to `size`, the long
/// edge `int(size * long / short)`.
fn resize_shortest_edge(height: u64, width: u64, size: u64) -> (u64, u64) {
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let new_long = ((size * long) as f64 / short as f64) as u64;
    if width <= height {
        (new_long, size)
    } else {
        (size, new_long)
    }
}

/// transformers' `get_image_size_for_max_height_width`: the largest scale that fits both bounds, each edge truncated.
fn size_for_max_height_width(height: u64, width: u64, max_height: u64, max_width: u64) -> (u64, u64) {
    let scale = (max_height as f64 / height as f64).min(max_width as f64 / width as f64);
    ((height as f64 * scale) as u64, (width as f64 * scale) as u64)
}
