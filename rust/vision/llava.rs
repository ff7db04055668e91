//! LLaVA-1.5 (`LlavaProcessor`) and LLaVA-NeXT (`LlavaNextProcessor`): every image becomes a run of `<image>`, as
//! long as the vision tower's feature count, as transformers 5.25 computes it.
//!
//! - LLaVA-1.5: one view of the image; the count is the patch grid of the pixels the image processor outputs (after
//!   its optional pad to a square, resize and center crop), plus `num_additional_image_tokens` (the CLS token), minus
//!   1 when `vision_feature_select_strategy == "default"` (which drops the CLS feature).
//! - LLaVA-NeXT ("anyres"): a base view (the image resized to one crop) plus the image tiled at the grid pinpoint
//!   [`select_best_resolution`] picks, with the padding the tiling added cut off again and one newline feature per
//!   row of the tiled features (`_get_unpadded_features`).

use serde_json::Value;

use super::config::{count, flag, image_config, image_processor_type};
use super::size::SizeDict;
use super::ImageSize;

/// A string processor setting: missing is the `__init__` default; anything but a string is an error.
fn string(config: &Value, key: &str, default: &str) -> Result<String, String> {
    match config.get(key) {
        None => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("{key} must be a string, not {v}")),
    }
}

/// What decides an image's token count.
#[derive(Debug, Clone, PartialEq)]
enum Features {
    /// LLaVA-1.5: the patch grid of the processed pixels.
    Single {
        /// `LlavaImageProcessor`'s `do_pad`: pad to a square (the long edge) before anything else. CLIP's image
        /// processor, which most LLaVA checkpoints name, has no such step.
        pad_to_square: bool,
        /// `size` when `do_resize`.
        resize: Option<SizeDict>,
        /// `crop_size` when `do_center_crop`: the output is exactly this size, the crop pads a smaller image.
        crop: Option<(u64, u64)>,
    },
    /// LLaVA-NeXT: the base view's size (fixed by the config) and the resolutions the image may be tiled at.
    AnyRes { base: (u64, u64), pinpoints: Vec<(u64, u64)> },
}

/// The text `LlavaProcessor` / `LlavaNextProcessor` writes for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct LlavaProcessor {
    image_token: String,
    patch_size: u64,
    /// `num_additional_image_tokens`, added to the base view's features.
    additional: u64,
    /// `vision_feature_select_strategy == "default"`: one feature (the CLS) less.
    drop_cls: bool,
    features: Features,
}

/// The image processors' class defaults, the same for `LlavaImageProcessor`, `LlavaNextImageProcessor` and
/// `CLIPImageProcessor`.
const DEFAULT_SIZE: u64 = 224;
const DEFAULT_PINPOINTS: [(u64, u64); 5] = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)];

impl LlavaProcessor {
    /// `next`: LLaVA-NeXT's processor (anyres tiling) rather than LLaVA-1.5's.
    pub fn from_configs(preprocessor: &Value, processor: &Value, next: bool) -> Result<Self, String> {
        let image = image_config(preprocessor, processor);
        let kind = image_processor_type(image);
        let pad_step = match (next, kind) {
            (true, None | Some("LlavaNextImageProcessor")) => false,
            (false, None | Some("LlavaImageProcessor")) => true,
            (false, Some("CLIPImageProcessor")) => false,
            (_, Some(other)) => return Err(format!("the image processor {other} is not supported for LLaVA")),
        };
        let default_to_square = flag(image, "default_to_square", false);
        let size = SizeDict::parse(
            image.get("size"),
            &serde_json::json!({"shortest_edge": DEFAULT_SIZE}),
            default_to_square,
            "size",
        )?;
        let default_crop = serde_json::json!({"height": DEFAULT_SIZE, "width": DEFAULT_SIZE});
        let crop_size = SizeDict::parse(image.get("crop_size"), &default_crop, true, "crop_size")?;
        let resize = flag(image, "do_resize", true).then_some(size);
        let crop = match flag(image, "do_center_crop", true) {
            true => Some(crop_size.height_width().ok_or("crop_size must have height and width")?),
            false => None,
        };
        let features = if next {
            Features::AnyRes { base: base_view(&size, resize.as_ref(), crop)?, pinpoints: pinpoints(image)? }
        } else {
            Features::Single { pad_to_square: pad_step && flag(image, "do_pad", false), resize, crop }
        };
        let patch_size = match processor.get("patch_size") {
            None | Some(Value::Null) => return Err("processor_config.json has no patch_size".into()),
            Some(_) => count(processor, "patch_size", 0)?,
        };
        if patch_size == 0 {
            return Err("patch_size must not be 0".into());
        }
        let strategy = processor.get("vision_feature_select_strategy").and_then(Value::as_str);
        Ok(LlavaProcessor {
            image_token: string(processor, "image_token", "<image>")?,
            patch_size,
            additional: count(processor, "num_additional_image_tokens", 0)?,
            drop_cls: strategy == Some("default"),
            features,
        })
    }

    /// The placeholder the chat template writes for an image, which the processor replaces: the image token,
    /// `image_token` in processor_config.json, default `<image>`. (transformers prefers the tokenizer's own
    /// `image_token` attribute, from tokenizer_config.json's `extra_special_tokens`, when it has one.)
    pub fn placeholder(&self) -> &str {
        &self.image_token
    }

    /// The text the processor puts in place of the placeholder for an image of this size. For the sizes
    /// transformers raises on ([`Self::try_expand`]'s errors), no image tokens.
    pub fn expand(&self, size: ImageSize) -> String {
        self.try_expand(size).unwrap_or_default()
    }

    /// [`Self::expand`], or why transformers raises on an image of this size: no pixels, or a resize to 0 pixels.
    pub fn try_expand(&self, size: ImageSize) -> Result<String, String> {
        Ok(self.image_token.repeat(self.image_tokens(size)? as usize))
    }

    /// How many image tokens an image of this size becomes: Python's `str * n` writes none for a negative n.
    pub fn image_tokens(&self, size: ImageSize) -> Result<u64, String> {
        let (height, width) = (u64::from(size.height), u64::from(size.width));
        if height == 0 || width == 0 {
            return Err(format!("an image of {}x{} pixels", size.width, size.height));
        }
        let features = match &self.features {
            Features::Single { pad_to_square, resize, crop } => {
                let (h, w) = processed_size(height, width, *pad_to_square, resize.as_ref(), *crop)?;
                (h / self.patch_size) * (w / self.patch_size) + self.additional
            }
            Features::AnyRes { base, pinpoints } => self.anyres_features(height, width, *base, pinpoints)?,
        };
        Ok(features.saturating_sub(u64::from(self.drop_cls)))
    }

    /// `LlavaNextProcessor._get_number_of_features`: the unpadded tiled features, a newline feature per row of
    /// them, and the base view's features.
    fn anyres_features(
        &self,
        height: u64,
        width: u64,
        base: (u64, u64),
        pinpoints: &[(u64, u64)],
    ) -> Result<u64, String> {
        let (best_height, best_width) = select_best_resolution(height, width, pinpoints);
        let (scale_height, scale_width) = (best_height / base.0, best_width / base.1);
        let (patches_height, patches_width) = (base.0 / self.patch_size, base.1 / self.patch_size);
        let (current_height, current_width) = (patches_height * scale_height, patches_width * scale_width);
        if current_height == 0 || current_width == 0 {
            // transformers divides by it (ZeroDivisionError): a pinpoint smaller than the base view.
            return Err(format!("the grid pinpoint {best_height}x{best_width} is smaller than one view"));
        }
        let (unpadded, newlines) = unpadded_features(height, width, current_height, current_width);
        Ok(unpadded + newlines + patches_height * patches_width + self.additional)
    }
}

/// LLaVA-1.5's processed pixel size: pad to a square, resize, center crop (which always yields the crop size).
fn processed_size(
    height: u64,
    width: u64,
    pad_to_square: bool,
    resize: Option<&SizeDict>,
    crop: Option<(u64, u64)>,
) -> Result<(u64, u64), String> {
    let (mut h, mut w) = if pad_to_square { (height.max(width), height.max(width)) } else { (height, width) };
    if let Some(size) = resize {
        (h, w) = size.resize(h, w)?;
        if h == 0 || w == 0 {
            return Err(format!("a {width}x{height} image resizes to {w}x{h} pixels"));
        }
    }
    Ok(crop.unwrap_or((h, w)))
}

/// LLaVA-NeXT's base view (`pixel_values[0][0]`, whose size the processor divides by): the image resized to
/// `(size.height, size.width)` or a `shortest_edge` square, then like every view resized by `size` and center
/// cropped.
fn base_view(size: &SizeDict, resize: Option<&SizeDict>, crop: Option<(u64, u64)>) -> Result<(u64, u64), String> {
    let square = SizeDict::get(size.shortest_edge).map(|edge| (edge, edge));
    let (mut h, mut w) = size.height_width().or(square).ok_or("size must have height and width, or shortest_edge")?;
    if let Some(resize) = resize {
        (h, w) = resize.resize(h, w)?;
    }
    let (h, w) = crop.unwrap_or((h, w));
    if h == 0 || w == 0 {
        return Err("the base view has no pixels".into());
    }
    Ok((h, w))
}

/// `image_grid_pinpoints`: `[height, width]` pairs, default LLaVA-NeXT's five.
fn pinpoints(config: &Value) -> Result<Vec<(u64, u64)>, String> {
    let list = match config.get("image_grid_pinpoints") {
        None | Some(Value::Null) => return Ok(DEFAULT_PINPOINTS.to_vec()),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(format!("image_grid_pinpoints must be a list, not {other}")),
    };
    let pair = |v: &Value| match v.as_array().map(Vec::as_slice) {
        Some([h, w]) => Some((h.as_u64()?, w.as_u64()?)),
        _ => None,
    };
    let pinpoints = list
        .iter()
        .map(|v| pair(v).ok_or(format!("{v} is not a [height, width] pinpoint")))
        .collect::<Result<Vec<_>, _>>()?;
    if pinpoints.is_empty() {
        return Err("image_grid_pinpoints is empty".into());
    }
    Ok(pinpoints)
}

/// transformers' `select_best_resolution`: the pinpoint that keeps the most of the image's pixels once it is scaled
/// to fit, then the one that wastes the fewest; the first on a tie. An image too thin to keep any pixel in any
/// pinpoint gets the smallest one (effective 0 everywhere: the waste decides).
fn select_best_resolution(height: u64, width: u64, pinpoints: &[(u64, u64)]) -> (u64, u64) {
    let (mut best, mut max_effective, mut min_wasted) = (pinpoints[0], 0i128, None::<i128>);
    for &(h, w) in pinpoints {
        let scale = (w as f64 / width as f64).min(h as f64 / height as f64);
        let (down_w, down_h) = ((width as f64 * scale) as i128, (height as f64 * scale) as i128);
        let effective = (down_w * down_h).min(i128::from(width) * i128::from(height));
        let wasted = i128::from(w) * i128::from(h) - effective;
        if effective > max_effective || (effective == max_effective && min_wasted.is_none_or(|m| wasted < m)) {
            (best, max_effective, min_wasted) = ((h, w), effective, Some(wasted));
        }
    }
    best
}

/// `LlavaNextProcessor._get_unpadded_features`: the tiled features with the rows (or columns) that only cover the
/// tiling's padding removed (half the difference, floored, from each side), and one newline feature per remaining
/// row.
fn unpadded_features(height: u64, width: u64, current_height: u64, current_width: u64) -> (u64, u64) {
    let (mut current_height, mut current_width) = (current_height as i64, current_width as i64);
    let original_aspect_ratio = width as f64 / height as f64;
    let current_aspect_ratio = current_width as f64 / current_height as f64;
    if original_aspect_ratio > current_aspect_ratio {
        let new_height = int_round7(height as f64 * (current_width as f64 / width as f64));
        current_height -= 2 * (current_height - new_height).div_euclid(2);
    } else {
        let new_width = int_round7(width as f64 * (current_height as f64 / height as f64));
        current_width -= 2 * (current_width - new_width).div_euclid(2);
    }
    ((current_height * current_width).max(0) as u64, current_height.max(0) as u64)
}

/// Python's `int(round(x, 7))` for x >= 0: round to 7 decimals, correctly (on the exact binary value), then
/// truncate, so that 4.99999996 counts as 5. Rust's `{:.7}` is the same correctly rounded decimal (a tie at 7
/// decimals could round differently, but no tie lies just under an integer: n - 5e-8 is never a binary fraction).
fn int_round7(x: f64) -> i64 {
    let text = format!("{x:.7}");
    text.split('.').next().and_then(|whole| whole.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::expected::{assert_fixtures, fixture, Table};
    use crate::vision::size::size_with_aspect_ratio;

    fn build(table: &Table) -> LlavaProcessor {
        let (pre, proc) = table.configs();
        LlavaProcessor::from_configs(&pre, &proc, table.family == "llava_next").unwrap()
    }

    #[test]
    fn the_fixtures_are_the_tables_configs() {
        assert_fixtures(&[("llava", &LLAVA), ("llava_next", &LLAVA_NEXT)]);
    }

    #[test]
    fn every_size_matches_transformers_exactly() {
        for table in TABLES {
            let llava = build(table);
            assert_eq!(llava.placeholder(), "<image>");
            table.check(|size| llava.try_expand(size));
        }
    }

    #[test]
    fn published_counts() {
        let build = |family: &str| {
            let (pre, proc) = fixture(family);
            let (pre, proc) = (serde_json::from_str(pre).unwrap(), serde_json::from_str(proc).unwrap());
            LlavaProcessor::from_configs(&pre, &proc, family == "llava_next").unwrap()
        };
        let (llava, next) = (build("llava"), build("llava_next"));
        let tokens = |p: &LlavaProcessor, width, height| p.image_tokens(ImageSize { width, height }).unwrap();
        // 24 x 24 patches of 14 in 336, + CLS - CLS.
        assert_eq!(tokens(&llava, 1, 1), 576);
        assert_eq!(tokens(&llava, 4000, 3000), 576);
        // 336x336 fits (336, 672) wasting least: 24 x 48 tiled features, 24 rows unpadded of 48, + 24 newlines, + 576.
        assert_eq!(tokens(&next, 336, 336), 24 * 24 + 24 + 576);
        // 1024x768 fits (672, 672): 48 x 48 tiled features, 36 rows once the padding is cut (768 * 48 / 1024), + 36
        // newlines, + 576 + CLS - CLS.
        assert_eq!(tokens(&next, 1024, 768), 36 * 48 + 36 + 576);
    }

    #[test]
    fn bad_configs_are_errors() {
        let pre = serde_json::json!({"image_processor_type": "CLIPImageProcessor"});
        let err = |pre: Value, proc: Value, next| LlavaProcessor::from_configs(&pre, &proc, next).unwrap_err();
        assert!(err(pre.clone(), serde_json::json!({}), false).contains("patch_size"));
        assert!(err(pre.clone(), serde_json::json!({"patch_size": 0}), false).contains("patch_size"));
        assert!(err(pre, serde_json::json!({"patch_size": 14}), true).contains("CLIPImageProcessor"));
        let sized = serde_json::json!({"size": {"shortest_edge": 3, "height": 4}});
        assert!(err(sized, serde_json::json!({"patch_size": 14}), false).contains("keys"));
        let empty = serde_json::json!({"image_grid_pinpoints": []});
        assert!(err(empty, serde_json::json!({"patch_size": 14}), true).contains("empty"));
    }

    #[test]
    fn the_nested_image_processor_config_wins() {
        let pre = serde_json::json!({"crop_size": 336});
        let proc = serde_json::json!({"patch_size": 14, "image_processor": {"crop_size": 28}});
        let llava = LlavaProcessor::from_configs(&pre, &proc, false).unwrap();
        assert_eq!(llava.image_tokens(ImageSize { width: 5, height: 5 }).unwrap(), 4);
    }

    #[test]
    fn python_rounding() {
        assert_eq!(int_round7(4.99999996), 5);
        assert_eq!(int_round7(4.9999999), 4);
        assert_eq!(int_round7(7.0), 7);
        // round(41 * 5 / 82) = round(2.5) = 2: half to even.
        assert_eq!(size_with_aspect_ratio(82, 5, 20, Some(41)), (41, 2));
    }

    // BEGIN GENERATED by scripts/vision_expected.py: do not edit, rerun it.
    #[rustfmt::skip]
    const LLAVA: Table = Table {
        family: "llava",
        preprocessor: r#"{"crop_size": {"height": 336, "width": 336}, "do_center_crop": true, "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 1, "patch_size": 14, "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "default"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 4032, 576, 0x63f1202e216a2265), (1, 2, 4032, 576, 0x63f1202e216a2265), (2, 1, 4032, 576, 0x63f1202e216a2265),
            (2, 2, 4032, 576, 0x63f1202e216a2265), (3, 7, 4032, 576, 0x63f1202e216a2265), (14, 14, 4032, 576, 0x63f1202e216a2265),
            (333, 777, 4032, 576, 0x63f1202e216a2265), (777, 333, 4032, 576, 0x63f1202e216a2265), (1024, 768, 4032, 576, 0x63f1202e216a2265),
            (768, 1024, 4032, 576, 0x63f1202e216a2265), (4000, 3000, 4032, 576, 0x63f1202e216a2265), (3000, 4000, 4032, 576, 0x63f1202e216a2265),
            (640, 480, 4032, 576, 0x63f1202e216a2265), (1280, 720, 4032, 576, 0x63f1202e216a2265), (1920, 1080, 4032, 576, 0x63f1202e216a2265),
            (1080, 1920, 4032, 576, 0x63f1202e216a2265), (224, 224, 4032, 576, 0x63f1202e216a2265), (336, 336, 4032, 576, 0x63f1202e216a2265),
            (337, 336, 4032, 576, 0x63f1202e216a2265), (336, 337, 4032, 576, 0x63f1202e216a2265), (672, 336, 4032, 576, 0x63f1202e216a2265),
            (336, 672, 4032, 576, 0x63f1202e216a2265), (672, 672, 4032, 576, 0x63f1202e216a2265), (1008, 336, 4032, 576, 0x63f1202e216a2265),
            (336, 1008, 4032, 576, 0x63f1202e216a2265), (364, 364, 4032, 576, 0x63f1202e216a2265), (365, 364, 4032, 576, 0x63f1202e216a2265),
            (364, 365, 4032, 576, 0x63f1202e216a2265), (728, 364, 4032, 576, 0x63f1202e216a2265), (1092, 1093, 4032, 576, 0x63f1202e216a2265),
            (1456, 1456, 4032, 576, 0x63f1202e216a2265), (1457, 1456, 4032, 576, 0x63f1202e216a2265), (384, 384, 4032, 576, 0x63f1202e216a2265),
            (385, 385, 4032, 576, 0x63f1202e216a2265), (512, 512, 4032, 576, 0x63f1202e216a2265), (513, 512, 4032, 576, 0x63f1202e216a2265),
            (1536, 1536, 4032, 576, 0x63f1202e216a2265), (2048, 2048, 4032, 576, 0x63f1202e216a2265), (2049, 100, 4032, 576, 0x63f1202e216a2265),
            (100, 2049, 4032, 576, 0x63f1202e216a2265), (4096, 4096, 4032, 576, 0x63f1202e216a2265), (4097, 4097, 4032, 576, 0x63f1202e216a2265),
            (6000, 4000, 4032, 576, 0x63f1202e216a2265), (4000, 6000, 4032, 576, 0x63f1202e216a2265), (3, 448, 4032, 576, 0x63f1202e216a2265),
            (55, 1344, 4032, 576, 0x63f1202e216a2265), (1862, 730, 4032, 576, 0x63f1202e216a2265), (1386, 851, 4032, 576, 0x63f1202e216a2265),
            (1515, 1947, 4032, 576, 0x63f1202e216a2265), (2705, 2790, 4032, 576, 0x63f1202e216a2265), (704, 306, 4032, 576, 0x63f1202e216a2265),
            (2742, 2890, 4032, 576, 0x63f1202e216a2265), (1276, 1450, 4032, 576, 0x63f1202e216a2265), (2629, 855, 4032, 576, 0x63f1202e216a2265),
            (170, 2358, 4032, 576, 0x63f1202e216a2265), (61, 1998, 4032, 576, 0x63f1202e216a2265), (2941, 2345, 4032, 576, 0x63f1202e216a2265),
            (767, 2201, 4032, 576, 0x63f1202e216a2265), (1904, 1073, 4032, 576, 0x63f1202e216a2265), (2794, 302, 4032, 576, 0x63f1202e216a2265),
            (133, 2044, 4032, 576, 0x63f1202e216a2265), (1938, 1707, 4032, 576, 0x63f1202e216a2265), (2846, 1550, 4032, 576, 0x63f1202e216a2265),
            (424, 721, 4032, 576, 0x63f1202e216a2265), (2361, 733, 4032, 576, 0x63f1202e216a2265), (2943, 189, 4032, 576, 0x63f1202e216a2265),
            (1107, 365, 4032, 576, 0x63f1202e216a2265), (2010, 520, 4032, 576, 0x63f1202e216a2265), (1211, 347, 4032, 576, 0x63f1202e216a2265),
            (2605, 1113, 4032, 576, 0x63f1202e216a2265), (313, 2185, 4032, 576, 0x63f1202e216a2265), (727, 2261, 4032, 576, 0x63f1202e216a2265),
            (2846, 2617, 4032, 576, 0x63f1202e216a2265), (2000, 58, 4032, 576, 0x63f1202e216a2265), (1489, 1333, 4032, 576, 0x63f1202e216a2265),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_NO_CROP: Table = Table {
        family: "llava",
        preprocessor: r#"{"crop_size": {"height": 336, "width": 336}, "do_center_crop": false, "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 28}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 1, "patch_size": 1, "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "default"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 5488, 784, 0x6e5e5b3bfa924115), (1, 2, 10976, 1568, 0xd392f5fe24cd0f45), (2, 1, 10976, 1568, 0xd392f5fe24cd0f45),
            (2, 2, 5488, 784, 0x6e5e5b3bfa924115), (3, 7, 12740, 1820, 0xbbe44fcfc3ad7411), (14, 14, 5488, 784, 0x6e5e5b3bfa924115),
            (333, 777, 12740, 1820, 0xbbe44fcfc3ad7411), (777, 333, 12740, 1820, 0xbbe44fcfc3ad7411), (1024, 768, 7252, 1036, 0x965cc9d9f7b907e1),
            (768, 1024, 7252, 1036, 0x965cc9d9f7b907e1), (4000, 3000, 7252, 1036, 0x965cc9d9f7b907e1), (3000, 4000, 7252, 1036, 0x965cc9d9f7b907e1),
            (640, 480, 7252, 1036, 0x965cc9d9f7b907e1), (1280, 720, 9604, 1372, 0x34f56f6444f47b51), (1920, 1080, 9604, 1372, 0x34f56f6444f47b51),
            (1080, 1920, 9604, 1372, 0x34f56f6444f47b51), (224, 224, 5488, 784, 0x6e5e5b3bfa924115), (336, 336, 5488, 784, 0x6e5e5b3bfa924115),
            (337, 336, 5488, 784, 0x6e5e5b3bfa924115), (336, 337, 5488, 784, 0x6e5e5b3bfa924115), (672, 336, 10976, 1568, 0xd392f5fe24cd0f45),
            (336, 672, 10976, 1568, 0xd392f5fe24cd0f45), (672, 672, 5488, 784, 0x6e5e5b3bfa924115), (1008, 336, 16464, 2352, 0x965caa9e9bfe2b35),
            (336, 1008, 16464, 2352, 0x965caa9e9bfe2b35), (364, 364, 5488, 784, 0x6e5e5b3bfa924115), (365, 364, 5488, 784, 0x6e5e5b3bfa924115),
            (364, 365, 5488, 784, 0x6e5e5b3bfa924115), (728, 364, 10976, 1568, 0xd392f5fe24cd0f45), (1092, 1093, 5488, 784, 0x6e5e5b3bfa924115),
            (1456, 1456, 5488, 784, 0x6e5e5b3bfa924115), (1457, 1456, 5488, 784, 0x6e5e5b3bfa924115), (384, 384, 5488, 784, 0x6e5e5b3bfa924115),
            (385, 385, 5488, 784, 0x6e5e5b3bfa924115), (512, 512, 5488, 784, 0x6e5e5b3bfa924115), (513, 512, 5488, 784, 0x6e5e5b3bfa924115),
            (1536, 1536, 5488, 784, 0x6e5e5b3bfa924115), (2048, 2048, 5488, 784, 0x6e5e5b3bfa924115), (2049, 100, 112308, 16044, 0x4d68e1e2a0602781),
            (100, 2049, 112308, 16044, 0x4d68e1e2a0602781), (4096, 4096, 5488, 784, 0x6e5e5b3bfa924115), (4097, 4097, 5488, 784, 0x6e5e5b3bfa924115),
            (6000, 4000, 8232, 1176, 0xbd2ee55653662bdd), (4000, 6000, 8232, 1176, 0xbd2ee55653662bdd), (3, 448, 819476, 117068, 0xe222a76097f5f821),
            (55, 1344, 134064, 19152, 0x624711699646f5d5), (2129, 1250, 9212, 1316, 0x0d12f2c6425cd6b9), (2946, 636, 25284, 3612, 0x5e104cc60c83e511),
            (2389, 2522, 5684, 812, 0x0c8610ed437d0701), (2321, 1364, 9212, 1316, 0x0d12f2c6425cd6b9), (861, 2710, 17248, 2464, 0x8a5f519f13a4bfc5),
            (1141, 551, 11172, 1596, 0x3199b28531c9d3b1), (2936, 1780, 9016, 1288, 0x7ef99fd1280e4bed), (795, 126, 34496, 4928, 0x961816d78d9e6965),
            (401, 2706, 36848, 5264, 0x17285b016b545395), (2354, 1649, 7644, 1092, 0x6a495b9e30afe559), (1702, 1280, 7252, 1036, 0x965cc9d9f7b907e1),
            (733, 451, 8820, 1260, 0x6dd5e31603916cc1), (1818, 2080, 6272, 896, 0xf31a15fd66dc13a5), (701, 1043, 8036, 1148, 0x3f81b329be9448f1),
            (427, 1870, 23912, 3416, 0x4ae0901ef3205b9d), (639, 2065, 17640, 2520, 0xfbf960695d999b1d), (500, 102, 26852, 3836, 0xf64793cdf05d3271),
            (2232, 292, 41944, 5992, 0xe94d10476e544ecd), (1951, 2119, 5880, 840, 0x3cd4c1a908c6172d), (617, 2811, 24892, 3556, 0xaf3c0ea4beebba79),
            (1762, 552, 17444, 2492, 0x98c93ab23f9c4c31), (2358, 1643, 7840, 1120, 0xcf5ee178f9121e85), (1295, 882, 8036, 1148, 0x3f81b329be9448f1),
            (1378, 2968, 11760, 1680, 0x8c8f535db4971195), (2663, 2792, 5684, 812, 0x0c8610ed437d0701), (1666, 1843, 5880, 840, 0x3cd4c1a908c6172d),
            (2708, 1517, 9604, 1372, 0x34f56f6444f47b51), (57, 549, 52724, 7532, 0x3323f6450f851841), (458, 273, 9016, 1288, 0x7ef99fd1280e4bed),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_PAD_SQUARE: Table = Table {
        family: "llava",
        preprocessor: r#"{"crop_size": {"height": 336, "width": 336}, "do_center_crop": false, "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "LlavaImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": 30, "do_pad": true}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 0, "patch_size": 2, "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "full"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 1575, 225, 0x005a302cac60bc7a), (1, 2, 1575, 225, 0x005a302cac60bc7a), (2, 1, 1575, 225, 0x005a302cac60bc7a),
            (2, 2, 1575, 225, 0x005a302cac60bc7a), (3, 7, 1575, 225, 0x005a302cac60bc7a), (14, 14, 1575, 225, 0x005a302cac60bc7a),
            (333, 777, 1575, 225, 0x005a302cac60bc7a), (777, 333, 1575, 225, 0x005a302cac60bc7a), (1024, 768, 1575, 225, 0x005a302cac60bc7a),
            (768, 1024, 1575, 225, 0x005a302cac60bc7a), (4000, 3000, 1575, 225, 0x005a302cac60bc7a), (3000, 4000, 1575, 225, 0x005a302cac60bc7a),
            (640, 480, 1575, 225, 0x005a302cac60bc7a), (1280, 720, 1575, 225, 0x005a302cac60bc7a), (1920, 1080, 1575, 225, 0x005a302cac60bc7a),
            (1080, 1920, 1575, 225, 0x005a302cac60bc7a), (224, 224, 1575, 225, 0x005a302cac60bc7a), (336, 336, 1575, 225, 0x005a302cac60bc7a),
            (337, 336, 1575, 225, 0x005a302cac60bc7a), (336, 337, 1575, 225, 0x005a302cac60bc7a), (672, 336, 1575, 225, 0x005a302cac60bc7a),
            (336, 672, 1575, 225, 0x005a302cac60bc7a), (672, 672, 1575, 225, 0x005a302cac60bc7a), (1008, 336, 1575, 225, 0x005a302cac60bc7a),
            (336, 1008, 1575, 225, 0x005a302cac60bc7a), (364, 364, 1575, 225, 0x005a302cac60bc7a), (365, 364, 1575, 225, 0x005a302cac60bc7a),
            (364, 365, 1575, 225, 0x005a302cac60bc7a), (728, 364, 1575, 225, 0x005a302cac60bc7a), (1092, 1093, 1575, 225, 0x005a302cac60bc7a),
            (1456, 1456, 1575, 225, 0x005a302cac60bc7a), (1457, 1456, 1575, 225, 0x005a302cac60bc7a), (384, 384, 1575, 225, 0x005a302cac60bc7a),
            (385, 385, 1575, 225, 0x005a302cac60bc7a), (512, 512, 1575, 225, 0x005a302cac60bc7a), (513, 512, 1575, 225, 0x005a302cac60bc7a),
            (1536, 1536, 1575, 225, 0x005a302cac60bc7a), (2048, 2048, 1575, 225, 0x005a302cac60bc7a), (2049, 100, 1575, 225, 0x005a302cac60bc7a),
            (100, 2049, 1575, 225, 0x005a302cac60bc7a), (4096, 4096, 1575, 225, 0x005a302cac60bc7a), (4097, 4097, 1575, 225, 0x005a302cac60bc7a),
            (6000, 4000, 1575, 225, 0x005a302cac60bc7a), (4000, 6000, 1575, 225, 0x005a302cac60bc7a), (3, 448, 1575, 225, 0x005a302cac60bc7a),
            (55, 1344, 1575, 225, 0x005a302cac60bc7a), (2482, 1110, 1575, 225, 0x005a302cac60bc7a), (894, 546, 1575, 225, 0x005a302cac60bc7a),
            (2183, 831, 1575, 225, 0x005a302cac60bc7a), (2743, 2704, 1575, 225, 0x005a302cac60bc7a), (1896, 1162, 1575, 225, 0x005a302cac60bc7a),
            (2672, 210, 1575, 225, 0x005a302cac60bc7a), (1877, 135, 1575, 225, 0x005a302cac60bc7a), (1791, 922, 1575, 225, 0x005a302cac60bc7a),
            (1193, 1188, 1575, 225, 0x005a302cac60bc7a), (2790, 2787, 1575, 225, 0x005a302cac60bc7a), (855, 678, 1575, 225, 0x005a302cac60bc7a),
            (1033, 828, 1575, 225, 0x005a302cac60bc7a), (219, 1218, 1575, 225, 0x005a302cac60bc7a), (2753, 650, 1575, 225, 0x005a302cac60bc7a),
            (2107, 356, 1575, 225, 0x005a302cac60bc7a), (2174, 1510, 1575, 225, 0x005a302cac60bc7a), (252, 1628, 1575, 225, 0x005a302cac60bc7a),
            (2926, 2211, 1575, 225, 0x005a302cac60bc7a), (1983, 676, 1575, 225, 0x005a302cac60bc7a), (1938, 1298, 1575, 225, 0x005a302cac60bc7a),
            (1011, 1304, 1575, 225, 0x005a302cac60bc7a), (666, 456, 1575, 225, 0x005a302cac60bc7a), (340, 1395, 1575, 225, 0x005a302cac60bc7a),
            (1790, 551, 1575, 225, 0x005a302cac60bc7a), (1697, 1332, 1575, 225, 0x005a302cac60bc7a), (2503, 143, 1575, 225, 0x005a302cac60bc7a),
            (1899, 510, 1575, 225, 0x005a302cac60bc7a), (671, 2086, 1575, 225, 0x005a302cac60bc7a),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_SHORT_LONG: Table = Table {
        family: "llava",
        preprocessor: r#"{"crop_size": {"height": 336, "width": 336}, "do_center_crop": false, "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 20, "longest_edge": 41}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 3, "patch_size": 1, "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "default"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 2814, 402, 0x3029698a9159cedb), (1, 2, 5614, 802, 0x64a044bbddc5bbcb), (2, 1, 5614, 802, 0x64a044bbddc5bbcb),
            (2, 2, 2814, 402, 0x3029698a9159cedb), (3, 7, 5180, 740, 0xb1553386939bcd79), (14, 14, 2814, 402, 0x3029698a9159cedb),
            (333, 777, 5180, 740, 0xb1553386939bcd79), (777, 333, 5180, 740, 0xb1553386939bcd79), (1024, 768, 3654, 522, 0xae4937ad77e4dbd3),
            (768, 1024, 3654, 522, 0xae4937ad77e4dbd3), (4000, 3000, 3654, 522, 0xae4937ad77e4dbd3), (3000, 4000, 3654, 522, 0xae4937ad77e4dbd3),
            (640, 480, 3654, 522, 0xae4937ad77e4dbd3), (1280, 720, 4914, 702, 0xffeaf699e05b1137), (1920, 1080, 4914, 702, 0xffeaf699e05b1137),
            (1080, 1920, 4914, 702, 0xffeaf699e05b1137), (224, 224, 2814, 402, 0x3029698a9159cedb), (336, 336, 2814, 402, 0x3029698a9159cedb),
            (337, 336, 2814, 402, 0x3029698a9159cedb), (336, 337, 2814, 402, 0x3029698a9159cedb), (672, 336, 5614, 802, 0x64a044bbddc5bbcb),
            (336, 672, 5614, 802, 0x64a044bbddc5bbcb), (672, 672, 2814, 402, 0x3029698a9159cedb), (1008, 336, 4032, 576, 0x63f1202e216a2265),
            (336, 1008, 4032, 576, 0x63f1202e216a2265), (364, 364, 2814, 402, 0x3029698a9159cedb), (365, 364, 2814, 402, 0x3029698a9159cedb),
            (364, 365, 2814, 402, 0x3029698a9159cedb), (728, 364, 5614, 802, 0x64a044bbddc5bbcb), (1092, 1093, 2814, 402, 0x3029698a9159cedb),
            (1456, 1456, 2814, 402, 0x3029698a9159cedb), (1457, 1456, 2814, 402, 0x3029698a9159cedb), (384, 384, 2814, 402, 0x3029698a9159cedb),
            (385, 385, 2814, 402, 0x3029698a9159cedb), (512, 512, 2814, 402, 0x3029698a9159cedb), (513, 512, 2814, 402, 0x3029698a9159cedb),
            (1536, 1536, 2814, 402, 0x3029698a9159cedb), (2048, 2048, 2814, 402, 0x3029698a9159cedb), (2049, 100, 588, 84, 0x66f96608cd933f49),
            (100, 2049, 588, 84, 0x66f96608cd933f49), (4096, 4096, 2814, 402, 0x3029698a9159cedb), (4097, 4097, 2814, 402, 0x3029698a9159cedb),
            (6000, 4000, 4214, 602, 0x6ca336f69ff910c3), (4000, 6000, 4214, 602, 0x6ca336f69ff910c3), (55, 1344, 588, 84, 0x66f96608cd933f49),
            (993, 1345, 3794, 542, 0x2b10e1a7709ef317), (1633, 2389, 4074, 582, 0xf317a468e00dbadf), (334, 2939, 1449, 207, 0x03f9694b43753f98),
            (1666, 2383, 3934, 562, 0x45e2e2715f7411fb), (2885, 393, 1736, 248, 0x67c9a01cc82000bd), (1092, 1869, 4774, 682, 0x8273f10c02ec6773),
            (1497, 1307, 3094, 442, 0xc4c8e1f6519210a3), (2601, 1214, 5467, 781, 0x15dde1aadc6fbfc6), (543, 701, 3514, 502, 0x052279ddd37c7aaf),
            (1152, 674, 4774, 682, 0x8273f10c02ec6773), (1843, 2898, 4354, 622, 0x44bc0f96a6cfea07), (2156, 2820, 3654, 522, 0xae4937ad77e4dbd3),
            (2816, 778, 3171, 453, 0xbbac0c652e9dfd8e), (2420, 2033, 3234, 462, 0xde999b01f4d9dfe7), (796, 842, 2954, 422, 0x726fdb1d28541dbf),
            (1631, 421, 3171, 453, 0xbbac0c652e9dfd8e), (1175, 883, 3654, 522, 0xae4937ad77e4dbd3), (1281, 1445, 3094, 442, 0xc4c8e1f6519210a3),
            (1684, 1281, 3654, 522, 0xae4937ad77e4dbd3), (832, 2027, 4893, 699, 0x5fc35457e1393e64), (2986, 2151, 3794, 542, 0x2b10e1a7709ef317),
            (2662, 1555, 4774, 682, 0x8273f10c02ec6773), (2522, 499, 2310, 330, 0x2fec9a648c91e613), (2711, 2025, 3654, 522, 0xae4937ad77e4dbd3),
            (114, 1515, 875, 125, 0x69025facee825f36), (1862, 708, 4606, 658, 0x0333d26f3d26cddb), (1391, 2177, 4354, 622, 0x44bc0f96a6cfea07),
            (2605, 2718, 2814, 402, 0x3029698a9159cedb), (2843, 2364, 3374, 482, 0x2bbef0bb02ed568b), (923, 1503, 4494, 642, 0xefe5bc54ce657fab),
            (5, 82, 588, 84, 0x66f96608cd933f49), (82, 5, 588, 84, 0x66f96608cd933f49), (1, 60, 434, 62, 0x2b40e06f59735bb7),
        ],
        // sizes transformers raises on
        errors: &[(3, 448), (1, 82), (1, 100)],
    };

    #[rustfmt::skip]
    const LLAVA_MAX_HW: Table = Table {
        family: "llava",
        preprocessor: r#"{"crop_size": {"height": 336, "width": 336}, "do_center_crop": false, "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"max_height": 50, "max_width": 37}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 1, "patch_size": 1, "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "default"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 9583, 1369, 0xd206667ac95ba9e2), (1, 2, 8750, 1250, 0xf58a1d955cbe138b), (2, 1, 4662, 666, 0x2ef2ae8f1e33b203),
            (2, 2, 9583, 1369, 0xd206667ac95ba9e2), (3, 7, 7350, 1050, 0x2cd25298282a6083), (14, 14, 9583, 1369, 0xd206667ac95ba9e2),
            (333, 777, 7350, 1050, 0x2cd25298282a6083), (777, 333, 3885, 555, 0x421ce68ccbb8b6d4), (1024, 768, 6993, 999, 0x6f5ded8713981dc0),
            (768, 1024, 12691, 1813, 0x383931cc643da19e), (4000, 3000, 6993, 999, 0x6f5ded8713981dc0), (3000, 4000, 12691, 1813, 0x383931cc643da19e),
            (640, 480, 6993, 999, 0x6f5ded8713981dc0), (1280, 720, 5180, 740, 0xb1553386939bcd79), (1920, 1080, 5180, 740, 0xb1553386939bcd79),
            (1080, 1920, 9800, 1400, 0xfa87e958d044383d), (224, 224, 9583, 1369, 0xd206667ac95ba9e2), (336, 336, 9583, 1369, 0xd206667ac95ba9e2),
            (337, 336, 9324, 1332, 0xa09aa1373e6495a9), (336, 337, 9583, 1369, 0xd206667ac95ba9e2), (672, 336, 4662, 666, 0x2ef2ae8f1e33b203),
            (336, 672, 8750, 1250, 0xf58a1d955cbe138b), (672, 672, 9583, 1369, 0xd206667ac95ba9e2), (1008, 336, 3108, 444, 0x993f38fac93a1431),
            (336, 1008, 5600, 800, 0x2d399c41c2520a45), (364, 364, 9583, 1369, 0xd206667ac95ba9e2), (365, 364, 9324, 1332, 0xa09aa1373e6495a9),
            (364, 365, 9583, 1369, 0xd206667ac95ba9e2), (728, 364, 4662, 666, 0x2ef2ae8f1e33b203), (1092, 1093, 9583, 1369, 0xd206667ac95ba9e2),
            (1456, 1456, 9583, 1369, 0xd206667ac95ba9e2), (1457, 1456, 9324, 1332, 0xa09aa1373e6495a9), (384, 384, 9583, 1369, 0xd206667ac95ba9e2),
            (385, 385, 9583, 1369, 0xd206667ac95ba9e2), (512, 512, 9583, 1369, 0xd206667ac95ba9e2), (513, 512, 9324, 1332, 0xa09aa1373e6495a9),
            (1536, 1536, 9583, 1369, 0xd206667ac95ba9e2), (2048, 2048, 9583, 1369, 0xd206667ac95ba9e2), (2049, 100, 259, 37, 0x74b134352c6938ee),
            (100, 2049, 700, 100, 0xf1c0d80510e80bf9), (4096, 4096, 9583, 1369, 0xd206667ac95ba9e2), (4097, 4097, 9583, 1369, 0xd206667ac95ba9e2),
            (6000, 4000, 6216, 888, 0x52703afe0054ca3d), (4000, 6000, 11550, 1650, 0xcc869c5a1e42fe3b), (55, 1344, 700, 100, 0xf1c0d80510e80bf9),
            (991, 693, 6475, 925, 0xdbdae1f42ece90d6), (1146, 1418, 11655, 1665, 0x4e7d6e74cf35dd1a), (238, 138, 5439, 777, 0x67c9a07affecdf12),
            (1338, 1632, 11655, 1665, 0x4e7d6e74cf35dd1a), (131, 2520, 700, 100, 0xf1c0d80510e80bf9), (500, 1319, 6300, 900, 0xd2c33ad402aa0399),
            (1422, 2970, 8050, 1150, 0x46e03ce645bfedf7), (54, 1545, 343, 49, 0x01377cebaca0e84a), (105, 186, 9800, 1400, 0xfa87e958d044383d),
            (1849, 989, 4921, 703, 0x28944a5ad1273208), (331, 2624, 2100, 300, 0x8dba7b9a7fe8f901), (1624, 1381, 8029, 1147, 0xb35db6f9e870b024),
            (665, 2975, 3850, 550, 0x7433b2aee970c53f), (2597, 435, 1554, 222, 0x5bf6a8e530a0a9d7), (601, 2796, 3500, 500, 0x66610445e0ccb969),
            (2186, 1316, 5698, 814, 0x6ed6cde0b91168c7), (2158, 1381, 5957, 851, 0x119e9effd24f044c), (1453, 333, 2072, 296, 0x5842d90c7895de8d),
            (1167, 1180, 9583, 1369, 0xd206667ac95ba9e2), (2322, 2135, 8806, 1258, 0xc343176b0b5c91b3), (1941, 2291, 11137, 1591, 0xa18c44f66e66eb10),
            (1564, 2455, 10850, 1550, 0x7c26635e2e5b4927), (2904, 746, 2331, 333, 0x67020b67dd0bba06), (2653, 133, 259, 37, 0x74b134352c6938ee),
            (1734, 2463, 12250, 1750, 0xdf6fcd8910aaad0f), (2904, 738, 2331, 333, 0x67020b67dd0bba06), (145, 929, 2450, 350, 0x330bc098a2f84157),
            (1018, 1218, 11396, 1628, 0x392301af1fb94251), (1013, 2495, 7000, 1000, 0xacec16148e1d3e4d), (2, 100, 350, 50, 0xa28b375168a913fb),
        ],
        // sizes transformers raises on
        errors: &[(3, 448), (1, 60), (60, 1)],
    };

    #[rustfmt::skip]
    const LLAVA_DEFAULTS: Table = Table {
        family: "llava",
        preprocessor: r#"{"image_processor_type": "CLIPImageProcessor", "processor_class": "LlavaProcessor"}"#,
        processor: r#"{"processor_class": "LlavaProcessor", "patch_size": 14}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 1792, 256, 0xb18d7775061ffa25), (1, 2, 1792, 256, 0xb18d7775061ffa25), (2, 1, 1792, 256, 0xb18d7775061ffa25),
            (2, 2, 1792, 256, 0xb18d7775061ffa25), (3, 7, 1792, 256, 0xb18d7775061ffa25), (14, 14, 1792, 256, 0xb18d7775061ffa25),
            (333, 777, 1792, 256, 0xb18d7775061ffa25), (777, 333, 1792, 256, 0xb18d7775061ffa25), (1024, 768, 1792, 256, 0xb18d7775061ffa25),
            (768, 1024, 1792, 256, 0xb18d7775061ffa25), (4000, 3000, 1792, 256, 0xb18d7775061ffa25), (3000, 4000, 1792, 256, 0xb18d7775061ffa25),
            (640, 480, 1792, 256, 0xb18d7775061ffa25), (1280, 720, 1792, 256, 0xb18d7775061ffa25), (1920, 1080, 1792, 256, 0xb18d7775061ffa25),
            (1080, 1920, 1792, 256, 0xb18d7775061ffa25), (224, 224, 1792, 256, 0xb18d7775061ffa25), (336, 336, 1792, 256, 0xb18d7775061ffa25),
            (337, 336, 1792, 256, 0xb18d7775061ffa25), (336, 337, 1792, 256, 0xb18d7775061ffa25), (672, 336, 1792, 256, 0xb18d7775061ffa25),
            (336, 672, 1792, 256, 0xb18d7775061ffa25), (672, 672, 1792, 256, 0xb18d7775061ffa25), (1008, 336, 1792, 256, 0xb18d7775061ffa25),
            (336, 1008, 1792, 256, 0xb18d7775061ffa25), (364, 364, 1792, 256, 0xb18d7775061ffa25), (365, 364, 1792, 256, 0xb18d7775061ffa25),
            (364, 365, 1792, 256, 0xb18d7775061ffa25), (728, 364, 1792, 256, 0xb18d7775061ffa25), (1092, 1093, 1792, 256, 0xb18d7775061ffa25),
            (1456, 1456, 1792, 256, 0xb18d7775061ffa25), (1457, 1456, 1792, 256, 0xb18d7775061ffa25), (384, 384, 1792, 256, 0xb18d7775061ffa25),
            (385, 385, 1792, 256, 0xb18d7775061ffa25), (512, 512, 1792, 256, 0xb18d7775061ffa25), (513, 512, 1792, 256, 0xb18d7775061ffa25),
            (1536, 1536, 1792, 256, 0xb18d7775061ffa25), (2048, 2048, 1792, 256, 0xb18d7775061ffa25), (2049, 100, 1792, 256, 0xb18d7775061ffa25),
            (100, 2049, 1792, 256, 0xb18d7775061ffa25), (4096, 4096, 1792, 256, 0xb18d7775061ffa25), (4097, 4097, 1792, 256, 0xb18d7775061ffa25),
            (6000, 4000, 1792, 256, 0xb18d7775061ffa25), (4000, 6000, 1792, 256, 0xb18d7775061ffa25), (3, 448, 1792, 256, 0xb18d7775061ffa25),
            (55, 1344, 1792, 256, 0xb18d7775061ffa25), (734, 2573, 1792, 256, 0xb18d7775061ffa25), (1506, 962, 1792, 256, 0xb18d7775061ffa25),
            (1666, 1501, 1792, 256, 0xb18d7775061ffa25), (828, 217, 1792, 256, 0xb18d7775061ffa25), (2279, 1491, 1792, 256, 0xb18d7775061ffa25),
            (787, 2888, 1792, 256, 0xb18d7775061ffa25), (1442, 1515, 1792, 256, 0xb18d7775061ffa25), (1272, 2467, 1792, 256, 0xb18d7775061ffa25),
            (2078, 655, 1792, 256, 0xb18d7775061ffa25), (1026, 1767, 1792, 256, 0xb18d7775061ffa25), (1551, 1065, 1792, 256, 0xb18d7775061ffa25),
            (138, 756, 1792, 256, 0xb18d7775061ffa25), (2847, 83, 1792, 256, 0xb18d7775061ffa25), (2876, 2242, 1792, 256, 0xb18d7775061ffa25),
            (2933, 1159, 1792, 256, 0xb18d7775061ffa25), (426, 187, 1792, 256, 0xb18d7775061ffa25), (2820, 872, 1792, 256, 0xb18d7775061ffa25),
            (1417, 943, 1792, 256, 0xb18d7775061ffa25), (2567, 2905, 1792, 256, 0xb18d7775061ffa25), (2804, 1326, 1792, 256, 0xb18d7775061ffa25),
            (2077, 2328, 1792, 256, 0xb18d7775061ffa25), (1102, 817, 1792, 256, 0xb18d7775061ffa25), (552, 1988, 1792, 256, 0xb18d7775061ffa25),
            (2457, 1454, 1792, 256, 0xb18d7775061ffa25), (458, 1708, 1792, 256, 0xb18d7775061ffa25), (414, 215, 1792, 256, 0xb18d7775061ffa25),
            (2347, 902, 1792, 256, 0xb18d7775061ffa25), (778, 594, 1792, 256, 0xb18d7775061ffa25), (1686, 1983, 1792, 256, 0xb18d7775061ffa25),
            (25, 584, 1792, 256, 0xb18d7775061ffa25),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_NEXT: Table = Table {
        family: "llava_next",
        preprocessor: r#"{"aspect_ratio_setting": "anyres", "crop_size": {"height": 336, "width": 336}, "do_center_crop": true, "do_convert_rgb": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]], "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "LlavaNextImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaNextProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 1, "patch_size": 14, "processor_class": "LlavaNextProcessor", "vision_feature_select_strategy": "default"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 8232, 1176, 0xbd2ee55653662bdd), (1, 2, 6216, 888, 0x52703afe0054ca3d), (2, 1, 12264, 1752, 0xb69146f62443f61d),
            (2, 2, 8232, 1176, 0xbd2ee55653662bdd), (3, 7, 5880, 840, 0x3cd4c1a908c6172d), (14, 14, 8232, 1176, 0xbd2ee55653662bdd),
            (17, 900, 5544, 792, 0xc16ed6a7df56595d), (900, 17, 5054, 722, 0x3e76fa21e0c6a61b), (333, 777, 13832, 1976, 0x616f60675240797d),
            (777, 333, 13608, 1944, 0x4c29c19f80e0d0dd), (1024, 768, 16380, 2340, 0x490d1ecabb5472b9), (768, 1024, 16464, 2352, 0x965caa9e9bfe2b35),
            (4000, 3000, 16380, 2340, 0x490d1ecabb5472b9), (3000, 4000, 16464, 2352, 0x965caa9e9bfe2b35), (640, 480, 16380, 2340, 0x490d1ecabb5472b9),
            (1280, 720, 13636, 1948, 0x070c75d0d762d791), (1920, 1080, 13636, 1948, 0x070c75d0d762d791), (1080, 1920, 13776, 1968, 0x3b85f570eb29c8b5),
            (224, 224, 8232, 1176, 0xbd2ee55653662bdd), (336, 336, 8232, 1176, 0xbd2ee55653662bdd), (337, 336, 8232, 1176, 0xbd2ee55653662bdd),
            (336, 337, 8232, 1176, 0xbd2ee55653662bdd), (672, 336, 12264, 1752, 0xb69146f62443f61d), (336, 672, 12432, 1776, 0x61799b8257f0c4f5),
            (672, 672, 20496, 2928, 0x95a352790fcb6c75), (1008, 336, 16296, 2328, 0xa4b1bded2e4ba35d), (336, 1008, 16632, 2376, 0x1f1269baee6fe12d),
            (364, 364, 20496, 2928, 0x95a352790fcb6c75), (365, 364, 20496, 2928, 0x95a352790fcb6c75), (364, 365, 20496, 2928, 0x95a352790fcb6c75),
            (728, 364, 12264, 1752, 0xb69146f62443f61d), (1092, 1093, 20496, 2928, 0x95a352790fcb6c75), (1456, 1456, 20496, 2928, 0x95a352790fcb6c75),
            (1457, 1456, 20496, 2928, 0x95a352790fcb6c75), (384, 384, 20496, 2928, 0x95a352790fcb6c75), (385, 385, 20496, 2928, 0x95a352790fcb6c75),
            (512, 512, 20496, 2928, 0x95a352790fcb6c75), (513, 512, 20496, 2928, 0x95a352790fcb6c75), (1536, 1536, 20496, 2928, 0x95a352790fcb6c75),
            (2048, 2048, 20496, 2928, 0x95a352790fcb6c75), (2049, 100, 6076, 868, 0x4dda5b849572c0f9), (100, 2049, 6552, 936, 0x63dc1f4954d0880d),
            (4096, 4096, 20496, 2928, 0x95a352790fcb6c75), (4097, 4097, 20496, 2928, 0x95a352790fcb6c75), (5000, 1, 4032, 576, 0x63f1202e216a2265),
            (1, 5000, 4200, 600, 0xbf1b50daf626fe9d), (6000, 4000, 15008, 2144, 0x56678ba91ea77a85), (4000, 6000, 15120, 2160, 0x903a51fba8d0a775),
            (30, 3000, 4536, 648, 0xc50b45c75835e26d), (3000, 30, 4032, 576, 0x63f1202e216a2265), (1344, 29, 5054, 722, 0x3e76fa21e0c6a61b),
            (29, 1344, 5544, 792, 0xc16ed6a7df56595d), (448, 3, 4032, 576, 0x63f1202e216a2265), (3, 448, 4368, 624, 0x533a6c2337c71d75),
            (55, 1344, 5544, 792, 0xc16ed6a7df56595d), (1279, 979, 16380, 2340, 0x490d1ecabb5472b9), (841, 2164, 14882, 2126, 0x2fe309a15be1f167),
            (2654, 87, 5054, 722, 0x3e76fa21e0c6a61b), (438, 1811, 13608, 1944, 0x4c29c19f80e0d0dd), (2131, 2929, 15792, 2256, 0xfd22f9aab77b07d5),
            (953, 2063, 13132, 1876, 0xbe3f83e96fc3d049), (2309, 1289, 12950, 1850, 0x6fba03cf557ffb23), (2747, 6, 4032, 576, 0x63f1202e216a2265),
            (1014, 575, 13636, 1948, 0x070c75d0d762d791), (155, 602, 8400, 1200, 0x92b53696c3bc03b5), (2093, 2597, 17136, 2448, 0xcd94c153392b5695),
            (780, 2519, 15624, 2232, 0x8a521a2b7187307d), (65, 819, 7560, 1080, 0xd8df876aa74878fd), (1802, 2361, 16464, 2352, 0x965caa9e9bfe2b35),
            (2718, 1708, 14322, 2046, 0xf4708cb1f71ad277), (2785, 2412, 18438, 2634, 0xbd5234ea3b23bd13), (198, 210, 7896, 1128, 0xfc10e81e03ac79cd),
            (200, 2429, 7560, 1080, 0xd8df876aa74878fd), (2339, 1542, 15008, 2144, 0x56678ba91ea77a85), (791, 2088, 15232, 2176, 0x0d29c39a8aff46a5),
            (999, 2396, 14182, 2026, 0x94578dc279c8aeb3), (1919, 1482, 17066, 2438, 0xe3ecede91ad1d31f), (793, 56, 7098, 1014, 0x2fa01a5c75db98af),
            (329, 839, 14882, 2126, 0x2fe309a15be1f167), (1288, 1535, 17808, 2544, 0x8855d696a81989f5), (1858, 783, 13608, 1944, 0x4c29c19f80e0d0dd),
            (1050, 1620, 15120, 2160, 0x903a51fba8d0a775), (42, 2018, 5544, 792, 0xc16ed6a7df56595d), (165, 594, 9072, 1296, 0x9a020029882a6f15),
            (1741, 2061, 17808, 2544, 0x8855d696a81989f5), (1056, 220, 12208, 1744, 0x0f4e0f825884d9d5), (748, 352, 12936, 1848, 0x9edb39c95d7e9dfd),
            (836, 352, 13944, 1992, 0xbb9991bf0877eead), (924, 352, 14952, 2136, 0x4b86dd60868a489d), (704, 396, 13636, 1948, 0x070c75d0d762d791),
            (2112, 440, 12208, 1744, 0x0f4e0f825884d9d5), (396, 704, 13776, 1968, 0x3b85f570eb29c8b5), (1496, 704, 12936, 1848, 0x9edb39c95d7e9dfd),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_NEXT_384: Table = Table {
        family: "llava_next",
        preprocessor: r#"{"aspect_ratio_setting": "anyres", "crop_size": 384, "do_center_crop": true, "do_convert_rgb": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_grid_pinpoints": [[384, 384], [384, 768], [768, 384], [768, 768], [384, 1152], [1152, 384], [1152, 1152], [768, 1536], [1536, 768]], "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "LlavaNextImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaNextProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 384, "width": 384}}"#,
        processor: r#"{"image_token": "<image>", "num_additional_image_tokens": 0, "patch_size": 14, "processor_class": "LlavaNextProcessor", "vision_feature_select_strategy": "full"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 10395, 1485, 0xb4bbfd487cb4ec86), (1, 2, 7749, 1107, 0xaee529b2d7b0294c), (2, 1, 7651, 1093, 0x698546c3c706c60e),
            (2, 2, 10395, 1485, 0xb4bbfd487cb4ec86), (3, 7, 7371, 1053, 0x25bf7921cd2caf56), (14, 14, 10395, 1485, 0xb4bbfd487cb4ec86),
            (17, 900, 6237, 891, 0xea01bf48c4bbab24), (900, 17, 5677, 811, 0xef91ce70826dfbd4), (333, 777, 17451, 2493, 0x15ae377fb7ee1b76),
            (777, 333, 17199, 2457, 0xeb4621f9960a4122), (1024, 768, 32697, 4671, 0x4da9b25dcae0a788), (768, 1024, 32823, 4689, 0xe399bd6a2e54f1ea),
            (4000, 3000, 40117, 5731, 0xcccb7998ff26335c), (3000, 4000, 40257, 5751, 0xaa2a69b9007e7250), (640, 480, 20503, 2929, 0x368f4dcde53bbe8a),
            (1280, 720, 41769, 5967, 0xd572745b59a08818), (1920, 1080, 41769, 5967, 0xd572745b59a08818), (1080, 1920, 42063, 6009, 0xb1c9bb2e7a617f82),
            (224, 224, 10395, 1485, 0xb4bbfd487cb4ec86), (336, 336, 10395, 1485, 0xb4bbfd487cb4ec86), (337, 336, 10395, 1485, 0xb4bbfd487cb4ec86),
            (336, 337, 10395, 1485, 0xb4bbfd487cb4ec86), (672, 336, 15498, 2214, 0x836e7fd4673846bf), (336, 672, 15687, 2241, 0x2ca445e35789f15a),
            (672, 672, 25893, 3699, 0x0ae6044090e9b2ec), (1008, 336, 20601, 2943, 0xb3063df8d56925c8), (336, 1008, 20979, 2997, 0x9c254c93a912873e),
            (364, 364, 10395, 1485, 0xb4bbfd487cb4ec86), (365, 364, 10395, 1485, 0xb4bbfd487cb4ec86), (364, 365, 10395, 1485, 0xb4bbfd487cb4ec86),
            (728, 364, 15498, 2214, 0x836e7fd4673846bf), (1092, 1093, 51597, 7371, 0x20c6b319dd5da1f4), (1456, 1456, 51597, 7371, 0x20c6b319dd5da1f4),
            (1457, 1456, 51597, 7371, 0x20c6b319dd5da1f4), (384, 384, 10395, 1485, 0xb4bbfd487cb4ec86), (385, 385, 25893, 3699, 0x0ae6044090e9b2ec),
            (512, 512, 25893, 3699, 0x0ae6044090e9b2ec), (513, 512, 25893, 3699, 0x0ae6044090e9b2ec), (1536, 1536, 51597, 7371, 0x20c6b319dd5da1f4),
            (2048, 2048, 51597, 7371, 0x20c6b319dd5da1f4), (2049, 100, 9681, 1383, 0xd9d25305a7307d40), (100, 2049, 10395, 1485, 0xb4bbfd487cb4ec86),
            (4096, 4096, 51597, 7371, 0x20c6b319dd5da1f4), (4097, 4097, 51597, 7371, 0x20c6b319dd5da1f4), (5000, 1, 5299, 757, 0x8a51d47addeaa87e),
            (1, 5000, 5481, 783, 0xe9d6e58d21ca6cd8), (6000, 4000, 36477, 5211, 0x1b503ed54c072604), (4000, 6000, 36673, 5239, 0x7c11459be187c850),
            (30, 3000, 7371, 1053, 0x25bf7921cd2caf56), (3000, 30, 6629, 947, 0xbcda0a076efd682c), (1344, 29, 6629, 947, 0xbcda0a076efd682c),
            (29, 1344, 7371, 1053, 0x25bf7921cd2caf56), (448, 3, 5488, 784, 0x6e5e5b3bfa924115), (3, 448, 5859, 837, 0x44d83dd3af08a90e),
            (55, 1344, 8883, 1269, 0xc8b32e006387627e), (1280, 491, 37149, 5307, 0xfa64179475bd9864), (345, 338, 10395, 1485, 0xb4bbfd487cb4ec86),
            (1810, 1131, 37989, 5427, 0x0728eb0494b4afac), (2041, 528, 26467, 3781, 0x78dc05a68193768e), (413, 1060, 37611, 5373, 0x86954b20428681b6),
            (2727, 1501, 42525, 6075, 0xb5414d205f8da764), (652, 1915, 33075, 4725, 0x8480d499ae84c9fe), (1091, 1484, 39123, 5589, 0x1f22db1babf35c5e),
            (2522, 2803, 47061, 6723, 0x3b5f746ee8f7df3c), (2656, 631, 24941, 3563, 0x2f6e2f3062329394), (738, 1893, 37611, 5373, 0x86954b20428681b6),
            (591, 1646, 34587, 4941, 0xb882114c2b528406), (757, 945, 31283, 4469, 0xf6fbdffc6d4e6cfe), (432, 338, 11718, 1674, 0x4b889a99d50ac753),
            (479, 1051, 43659, 6237, 0x6972629d57cbbc96), (2354, 647, 27993, 3999, 0x9b4fa1939d2d3ce8), (2951, 1076, 35623, 5089, 0xc61acdefd595d37a),
            (1663, 2260, 39123, 5589, 0x1f22db1babf35c5e), (1748, 2026, 44793, 6399, 0xfff27bd2727ab148), (2010, 2910, 36855, 5265, 0xf23a38e4fcd31a2a),
            (117, 1292, 13419, 1917, 0x7ce13099a3fe8a36), (1926, 1635, 44709, 6387, 0x1d724d9a1595f76c), (357, 1372, 27027, 3861, 0x521b505e067c899e),
            (893, 36, 6825, 975, 0x463f8a49d8059e98), (2780, 1735, 37989, 5427, 0x0728eb0494b4afac), (2323, 2964, 41391, 5913, 0x5753904246a1f0a2),
            (120, 958, 11907, 1701, 0xb72edd8e7621b56e), (2469, 307, 15785, 2255, 0x307a5afcdb90e798), (2018, 1259, 37989, 5427, 0x0728eb0494b4afac),
            (2771, 966, 34097, 4871, 0x797e4a4a9ef0e5e0), (1584, 220, 17311, 2473, 0x0954883207d3a932), (1568, 392, 26467, 3781, 0x78dc05a68193768e),
            (1584, 396, 26467, 3781, 0x78dc05a68193768e), (1680, 420, 26467, 3781, 0x78dc05a68193768e), (1712, 428, 26467, 3781, 0x78dc05a68193768e),
            (1680, 700, 40201, 5743, 0x15472439cfa2d038), (1584, 748, 44779, 6397, 0x411c91ffeddd75b6), (1176, 784, 36477, 5211, 0x1b503ed54c072604),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const LLAVA_NEXT_DEFAULTS: Table = Table {
        family: "llava_next",
        preprocessor: r#"{"image_processor_type": "LlavaNextImageProcessor", "processor_class": "LlavaNextProcessor"}"#,
        processor: r#"{"processor_class": "LlavaNextProcessor", "patch_size": 14}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 3696, 528, 0x4b36665eb90c2a15), (1, 2, 2800, 400, 0x0d6ef26aa89a9e95), (2, 1, 5488, 784, 0x6e5e5b3bfa924115),
            (2, 2, 3696, 528, 0x4b36665eb90c2a15), (3, 7, 2576, 368, 0xb8eea9e291938675), (14, 14, 3696, 528, 0x4b36665eb90c2a15),
            (17, 900, 3136, 448, 0x0d90148dabc836e5), (900, 17, 2702, 386, 0x073939e2ff6ec0ab), (333, 777, 6314, 902, 0x18e4f40110b2f91f),
            (777, 333, 6160, 880, 0x0a2b9f258b7eb475), (1024, 768, 14140, 2020, 0x79f6c30de77e5079), (768, 1024, 14224, 2032, 0x613d6171e27a5bf5),
            (4000, 3000, 14140, 2020, 0x79f6c30de77e5079), (3000, 4000, 14224, 2032, 0x613d6171e27a5bf5), (640, 480, 14140, 2020, 0x79f6c30de77e5079),
            (1280, 720, 11396, 1628, 0x392301af1fb94251), (1920, 1080, 11396, 1628, 0x392301af1fb94251), (1080, 1920, 11536, 1648, 0x88209796f7bd7975),
            (224, 224, 3696, 528, 0x4b36665eb90c2a15), (336, 336, 3696, 528, 0x4b36665eb90c2a15), (337, 336, 3696, 528, 0x4b36665eb90c2a15),
            (336, 337, 3696, 528, 0x4b36665eb90c2a15), (672, 336, 5488, 784, 0x6e5e5b3bfa924115), (336, 672, 5600, 800, 0x2d399c41c2520a45),
            (672, 672, 18256, 2608, 0x7483ef0aa470c235), (1008, 336, 7280, 1040, 0x481c1bf56f9c5815), (336, 1008, 7504, 1072, 0xef4953b8a87d3835),
            (364, 364, 18256, 2608, 0x7483ef0aa470c235), (365, 364, 18256, 2608, 0x7483ef0aa470c235), (364, 365, 18256, 2608, 0x7483ef0aa470c235),
            (728, 364, 5488, 784, 0x6e5e5b3bfa924115), (1092, 1093, 18256, 2608, 0x7483ef0aa470c235), (1456, 1456, 18256, 2608, 0x7483ef0aa470c235),
            (1457, 1456, 18256, 2608, 0x7483ef0aa470c235), (384, 384, 18256, 2608, 0x7483ef0aa470c235), (385, 385, 18256, 2608, 0x7483ef0aa470c235),
            (512, 512, 18256, 2608, 0x7483ef0aa470c235), (513, 512, 18256, 2608, 0x7483ef0aa470c235), (1536, 1536, 18256, 2608, 0x7483ef0aa470c235),
            (2048, 2048, 18256, 2608, 0x7483ef0aa470c235), (2049, 100, 3612, 516, 0xd6116ec005db6919), (100, 2049, 4032, 576, 0x63f1202e216a2265),
            (4096, 4096, 18256, 2608, 0x7483ef0aa470c235), (4097, 4097, 18256, 2608, 0x7483ef0aa470c235), (5000, 1, 1792, 256, 0xb18d7775061ffa25),
            (1, 5000, 1904, 272, 0xddabc9ff3b0a1315), (6000, 4000, 12768, 1824, 0x60c5bc64c5536645), (4000, 6000, 12880, 1840, 0x5c50ab117fa4fd35),
            (30, 3000, 2240, 320, 0x6bea52fa0e474b65), (3000, 30, 1792, 256, 0xb18d7775061ffa25), (1344, 29, 2702, 386, 0x073939e2ff6ec0ab),
            (29, 1344, 3136, 448, 0x0d90148dabc836e5), (448, 3, 1792, 256, 0xb18d7775061ffa25), (3, 448, 2128, 304, 0xb45579724ef97335),
            (55, 1344, 3136, 448, 0x0d90148dabc836e5), (1605, 1349, 15512, 2216, 0x61c45ebdea10db0d), (254, 1249, 8512, 1216, 0x4a9c6fb4c182bbe5),
            (335, 233, 4592, 656, 0xa4f7a4e13a5eb595), (2948, 2246, 14140, 2020, 0x79f6c30de77e5079), (2626, 2249, 16198, 2314, 0x78ae1bd4f511f4d3),
            (2574, 1868, 13454, 1922, 0x6185778399933aab), (2174, 1801, 15512, 2216, 0x61c45ebdea10db0d), (2337, 693, 7952, 1136, 0x208ff9dffcba4b75),
            (2748, 1582, 11396, 1628, 0x392301af1fb94251), (516, 604, 16240, 2320, 0x5fac00e50d8acb15), (1452, 2504, 11536, 1648, 0x88209796f7bd7975),
            (639, 2097, 7980, 1140, 0x61fedc18de461ae9), (810, 82, 4522, 646, 0x06a7420973c12a1f), (1352, 1494, 16912, 2416, 0x5875407f3da03e75),
            (2810, 251, 4522, 646, 0x06a7420973c12a1f), (2082, 1648, 14826, 2118, 0x8a9a39e7ebde94df), (137, 1704, 4928, 704, 0x545d0eaabd2d0de5),
            (2054, 475, 8162, 1166, 0xbca17808344e62a7), (1915, 808, 6160, 880, 0x0a2b9f258b7eb475), (2507, 1939, 14826, 2118, 0x8a9a39e7ebde94df),
            (608, 2881, 8512, 1216, 0x4a9c6fb4c182bbe5), (987, 1001, 18256, 2608, 0x7483ef0aa470c235), (1854, 1061, 11396, 1628, 0x392301af1fb94251),
            (2823, 1524, 10710, 1530, 0x6b1956a3d559a9e3), (2486, 2527, 18256, 2608, 0x7483ef0aa470c235), (212, 2772, 4032, 576, 0x63f1202e216a2265),
            (796, 192, 9072, 1296, 0x9a020029882a6f15), (2873, 2942, 17584, 2512, 0xeb412ee7823c1ed5), (1069, 451, 6160, 880, 0x0a2b9f258b7eb475),
            (2107, 2780, 14224, 2032, 0x613d6171e27a5bf5),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const TABLES: &[&Table] = &[&LLAVA, &LLAVA_NO_CROP, &LLAVA_PAD_SQUARE, &LLAVA_SHORT_LONG, &LLAVA_MAX_HW, &LLAVA_DEFAULTS, &LLAVA_NEXT, &LLAVA_NEXT_384, &LLAVA_NEXT_DEFAULTS];
    // END GENERATED
}
