//! Idefics3 (`Idefics3Processor`) and SmolVLM (`SmolVLMProcessor`): an image becomes a grid of square crops, each
//! `<fake_token_around_image><row_r_col_c>` and `image_seq_len` `<image>`, a newline after each row, then a blank
//! line and the whole image downscaled to one crop, `<fake_token_around_image><global-img>` + `<image>` ×
//! `image_seq_len` + `<fake_token_around_image>`. An image that fits one crop (or any image when
//! `do_image_splitting` is off) is that global view alone.
//!
//! The grid is the one transformers 5.25's image processor cuts (`_preprocess`), not the one its
//! `get_number_of_image_patches` estimates (they differ without the resize):
//!
//! 1. `do_resize` with `size.longest_edge`: the long edge to `longest_edge` — upscaling small images too, so a 1x1
//!    image is a full grid — and the short edge `int(longest_edge / aspect_ratio)`, bumped to even; then, when an
//!    edge is over 4096, down to 4096 (`MAX_IMAGE_SIZE`). With `size.height` and `size.width`: exactly that size.
//! 2. `do_image_splitting`: the long edge up to a multiple of the crop size (`max_image_size.longest_edge`), the
//!    short edge scaled along (`int()`) then up to a multiple too: rows and columns are the multiples.

use serde_json::Value;

use super::config::{count, flag, image_config};
use super::size::SizeDict;
use super::ImageSize;

/// transformers' `MAX_IMAGE_SIZE` ("4k resolution as absolute maximum"): the resize leaves no edge longer.
const MAX_IMAGE_SIZE: u64 = 4096;
/// The image processors' class defaults (Idefics3 and SmolVLM alike): `size = {"longest_edge": 4 * 364}`,
/// `max_image_size = {"longest_edge": 364}`.
const DEFAULT_LONGEST_EDGE: u64 = 4 * 364;
const DEFAULT_CROP: u64 = 364;
/// The processors' `image_seq_len` default.
const DEFAULT_IMAGE_SEQ_LEN: u64 = 169;

/// The text `Idefics3Processor` / `SmolVLMProcessor` writes for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Idefics3Processor {
    /// `size` when `do_resize`.
    resize: Option<SizeDict>,
    /// `do_image_splitting`.
    split: bool,
    /// `max_image_size["longest_edge"]`: the crops' edge.
    crop: u64,
    /// `<image>` × `image_seq_len`: one crop's image tokens.
    crop_tokens: String,
    image_token: String,
    fake_token: String,
    global_token: String,
}

impl Idefics3Processor {
    /// `smolvlm`: the files name `SmolVLMProcessor` rather than `Idefics3Processor`. In transformers 5.25 both write
    /// the same text for an image: SmolVLM reads its token strings from the tokenizer's attributes (`image_token`,
    /// `fake_image_token`, `global_image_token`), whose defaults are Idefics3's fixed strings, and both default
    /// `image_seq_len` to 169 and share the image processor. Kept so that the callers need not change if they part.
    pub fn from_configs(preprocessor: &Value, processor: &Value, smolvlm: bool) -> Result<Self, String> {
        let _ = smolvlm;
        let image = image_config(preprocessor, processor);
        // `size` goes through get_size_dict like any image processor's (an int is a square unless
        // default_to_square is off); only longest_edge or height + width resize here.
        let default_size = serde_json::json!({"longest_edge": DEFAULT_LONGEST_EDGE});
        let size = SizeDict::parse(image.get("size"), &default_size, flag(image, "default_to_square", true), "size")?;
        let resize = flag(image, "do_resize", true).then_some(size);
        if let Some(size) = resize {
            if nonzero(size.longest_edge).is_none() && size.height_width().is_none() {
                return Err("size must have longest_edge, or height and width".into());
            }
        }
        let crop = max_image_size(image)?;
        let image_seq_len = count(processor, "image_seq_len", DEFAULT_IMAGE_SEQ_LEN)?;
        let image_token = "<image>".to_string();
        Ok(Idefics3Processor {
            resize,
            split: flag(image, "do_image_splitting", true),
            crop,
            crop_tokens: image_token.repeat(image_seq_len as usize),
            image_token,
            fake_token: "<fake_token_around_image>".into(),
            global_token: "<global-img>".into(),
        })
    }

    /// The placeholder the chat template writes for an image, which the processor replaces: `<image>`.
    pub fn placeholder(&self) -> &str {
        &self.image_token
    }

    /// The text the processor puts in place of the placeholder for an image of this size. For the sizes
    /// transformers raises on ([`Self::try_expand`]'s errors), the global view alone.
    pub fn expand(&self, size: ImageSize) -> String {
        let (rows, cols) = self.grid(size).unwrap_or((0, 0));
        self.prompt(rows, cols)
    }

    /// [`Self::expand`], or why transformers raises on an image of this size: no pixels, or a resize to 0 pixels.
    pub fn try_expand(&self, size: ImageSize) -> Result<String, String> {
        let (rows, cols) = self.grid(size)?;
        Ok(self.prompt(rows, cols))
    }

    /// The rows and columns of crops the image processor cuts an image of this size into; (0, 0) for none (the
    /// global view alone).
    pub fn grid(&self, size: ImageSize) -> Result<(u64, u64), String> {
        let (mut height, mut width) = (u64::from(size.height), u64::from(size.width));
        if height == 0 || width == 0 {
            return Err(format!("an image of {}x{} pixels", size.width, size.height));
        }
        if let Some(resize) = &self.resize {
            (height, width) = match (nonzero(resize.longest_edge), resize.height_width()) {
                (Some(longest_edge), _) => resize_longest_edge(height, width, longest_edge),
                (None, Some(exact)) => exact,
                (None, None) => unreachable!("from_configs checks the size"),
            };
        }
        if !self.split {
            return Ok((0, 0));
        }
        let (height, width) = resize_for_vision_encoder(height, width, self.crop);
        if height == 0 || width == 0 {
            // A 1-pixel edge scaled by `int(h * (1 / h))` < 1 (h = 4732 = 13 * 364, without the resize): the resize's
            // size has a 0, which transformers refuses ("size must be a dictionary with key 'longest_edge' or ...").
            return Err(format!("a {}x{} image resizes to {width}x{height} pixels", size.width, size.height));
        }
        // split_images: crops only when an edge is over the crop size; both edges are multiples of it here.
        if height > self.crop || width > self.crop {
            Ok(((height - self.crop) / self.crop + 1, (width - self.crop) / self.crop + 1))
        } else {
            Ok((0, 0))
        }
    }

    /// `replace_image_token` / `get_image_prompt_string`: the crops row by row, each row ended by "\n", then "\n"
    /// and the global view; the global view alone when there are no crops.
    fn prompt(&self, rows: u64, cols: u64) -> String {
        let (fake, global, crop_tokens) = (&self.fake_token, &self.global_token, &self.crop_tokens);
        let mut text = String::new();
        if rows != 0 || cols != 0 {
            for row in 1..=rows {
                for col in 1..=cols {
                    text += &format!("{fake}<row_{row}_col_{col}>{crop_tokens}");
                }
                text.push('\n');
            }
            text.push('\n');
        }
        text + &format!("{fake}{global}{crop_tokens}{fake}")
    }
}

/// Python's truthiness of a size field: 0 counts as unset.
fn nonzero(value: Option<u64>) -> Option<u64> {
    value.filter(|&v| v != 0)
}

/// `max_image_size["longest_edge"]`, which transformers indexes as is (no size-dict conversion).
fn max_image_size(config: &Value) -> Result<u64, String> {
    let edge = match config.get("max_image_size") {
        None | Some(Value::Null) => return Ok(DEFAULT_CROP),
        Some(Value::Object(map)) => map.get("longest_edge").and_then(Value::as_u64),
        Some(_) => None,
    };
    match edge {
        Some(edge) if edge > 0 => Ok(edge),
        _ => Err("max_image_size must be {\"longest_edge\": a positive number of pixels}".into()),
    }
}

/// `get_resize_output_image_size`: `_resize_output_size_rescale_to_max_len` then
/// `_resize_output_size_scale_below_upper_bound`. Returns (height, width).
fn resize_longest_edge(height: u64, width: u64, longest_edge: u64) -> (u64, u64) {
    let (height, width) = rescale_to_max_len(height, width, longest_edge);
    scale_below_upper_bound(height, width, MAX_IMAGE_SIZE)
}

/// The long edge to `max_len`, up or down; the short edge `int()` of the same scale, bumped to even when odd (the
/// vision encoder wants even sizes), at least 1.
fn rescale_to_max_len(height: u64, width: u64, max_len: u64) -> (u64, u64) {
    let aspect_ratio = width as f64 / height as f64;
    let even = |edge: u64| edge + edge % 2;
    let (height, width) = if width >= height {
        (even((max_len as f64 / aspect_ratio) as u64), max_len)
    } else {
        (max_len, even((max_len as f64 * aspect_ratio) as u64))
    };
    (height.max(1), width.max(1))
}

/// Down to `max_len` when the long edge is over it (no even bump here), at least 1.
fn scale_below_upper_bound(height: u64, width: u64, max_len: u64) -> (u64, u64) {
    let aspect_ratio = width as f64 / height as f64;
    let (height, width) = if width >= height && width > max_len {
        ((max_len as f64 / aspect_ratio) as u64, max_len)
    } else if height > width && height > max_len {
        (max_len, (max_len as f64 * aspect_ratio) as u64)
    } else {
        (height, width)
    };
    (height.max(1), width.max(1))
}

/// `resize_for_vision_encoder`: the long edge up to a multiple of `crop`, the short edge scaled by the same aspect
/// ratio (`int()`, which can land one pixel under the exact value) and then up to a multiple. Python's float
/// `math.ceil(edge / crop)` and `int(width / aspect_ratio)`, operation for operation.
fn resize_for_vision_encoder(height: u64, width: u64, crop: u64) -> (u64, u64) {
    let aspect_ratio = width as f64 / height as f64;
    let up = |edge: u64| (edge as f64 / crop as f64).ceil() as u64 * crop;
    if width >= height {
        let width = up(width);
        (up((width as f64 / aspect_ratio) as u64), width)
    } else {
        let height = up(height);
        (height, up((height as f64 * aspect_ratio) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::expected::{assert_fixtures, fixture, Table};

    fn build(table: &Table) -> Idefics3Processor {
        let (pre, proc) = table.configs();
        Idefics3Processor::from_configs(&pre, &proc, table.family == "smolvlm").unwrap()
    }

    #[test]
    fn the_fixtures_are_the_tables_configs() {
        assert_fixtures(&[("idefics3", &IDEFICS3), ("smolvlm", &SMOLVLM)]);
    }

    #[test]
    fn every_size_matches_transformers_exactly() {
        for table in TABLES {
            let idefics = build(table);
            assert_eq!(idefics.placeholder(), "<image>");
            table.check(|size| idefics.try_expand(size));
        }
    }

    #[test]
    fn spelled_out_replacements() {
        for &(table, width, height, expected) in SPELLED_OUT {
            assert_eq!(build(table).expand(ImageSize { width, height }), expected, "{width}x{height}");
        }
    }

    #[test]
    fn published_grids() {
        let build = |family: &str| {
            let (pre, proc) = fixture(family);
            let (pre, proc) = (serde_json::from_str(pre).unwrap(), serde_json::from_str(proc).unwrap());
            Idefics3Processor::from_configs(&pre, &proc, family == "smolvlm").unwrap()
        };
        let (idefics, smol) = (build("idefics3"), build("smolvlm"));
        let grid = |p: &Idefics3Processor, width, height| p.grid(ImageSize { width, height }).unwrap();
        // Upscaled to 1456 (2048) on the long edge: a 1x1 image is a full 4x4 grid.
        assert_eq!(grid(&idefics, 1, 1), (4, 4));
        assert_eq!(grid(&smol, 1, 1), (4, 4));
        // 333x777: 624x1456 after the resize (int(1456 * 333 / 777) = 624), 728x1456 in crops of 364.
        assert_eq!(grid(&idefics, 333, 777), (4, 2));
        // 1024x768: 1456x1092, already multiples of 364.
        assert_eq!(grid(&idefics, 1024, 768), (3, 4));
        let text = idefics.expand(ImageSize { width: 1, height: 1 });
        assert_eq!(text.matches("<image>").count(), 17 * 169);
        assert!(text.starts_with("<fake_token_around_image><row_1_col_1><image>"));
        let global = format!("<fake_token_around_image><global-img>{}<fake_token_around_image>", "<image>".repeat(169));
        assert!(text.ends_with(&format!("<row_4_col_4>{}\n\n{global}", "<image>".repeat(169))));
    }

    #[test]
    fn bad_configs_are_errors() {
        let err = |pre: Value| Idefics3Processor::from_configs(&pre, &serde_json::json!({}), false).unwrap_err();
        assert!(err(serde_json::json!({"size": {"shortest_edge": 3}})).contains("longest_edge"));
        assert!(err(serde_json::json!({"max_image_size": 364})).contains("max_image_size"));
        assert!(err(serde_json::json!({"max_image_size": {"longest_edge": 0}})).contains("max_image_size"));
        let seq =
            Idefics3Processor::from_configs(&serde_json::json!({}), &serde_json::json!({"image_seq_len": null}), true);
        assert!(seq.unwrap_err().contains("image_seq_len"));
    }

    #[test]
    fn images_without_pixels_are_errors() {
        let idefics = Idefics3Processor::from_configs(&serde_json::json!({}), &serde_json::json!({}), false).unwrap();
        assert!(idefics.try_expand(ImageSize { width: 0, height: 10 }).is_err());
    }

    // BEGIN GENERATED by scripts/vision_expected.py: do not edit, rerun it.
    #[rustfmt::skip]
    const IDEFICS3: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 364}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1456}}"#,
        processor: r#"{"image_seq_len": 169, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 20786, 2873, 0x8f13216a2b3a260d), (1, 2, 11018, 1521, 0x3d47324ac484d165), (2, 1, 11016, 1521, 0xad5b4af12723e041),
            (2, 2, 20786, 2873, 0x8f13216a2b3a260d), (3, 7, 11018, 1521, 0x3d47324ac484d165), (14, 14, 20786, 2873, 0x8f13216a2b3a260d),
            (17, 900, 6134, 845, 0xc6d9ac02102bcd65), (900, 17, 6131, 845, 0x19f87976a594e8e1), (333, 777, 11018, 1521, 0x3d47324ac484d165),
            (777, 333, 11016, 1521, 0xad5b4af12723e041), (1024, 768, 15901, 2197, 0x7c9221a10ec978c1), (768, 1024, 15902, 2197, 0x5f4ce12d42124acd),
            (4000, 3000, 15901, 2197, 0x7c9221a10ec978c1), (3000, 4000, 15902, 2197, 0x5f4ce12d42124acd), (640, 480, 15901, 2197, 0x7c9221a10ec978c1),
            (1280, 720, 15901, 2197, 0x7c9221a10ec978c1), (1920, 1080, 15901, 2197, 0x7c9221a10ec978c1), (1080, 1920, 15902, 2197, 0x5f4ce12d42124acd),
            (224, 224, 20786, 2873, 0x8f13216a2b3a260d), (336, 336, 20786, 2873, 0x8f13216a2b3a260d), (337, 336, 20786, 2873, 0x8f13216a2b3a260d),
            (336, 337, 20786, 2873, 0x8f13216a2b3a260d), (672, 336, 11016, 1521, 0xad5b4af12723e041), (336, 672, 11018, 1521, 0x3d47324ac484d165),
            (672, 672, 20786, 2873, 0x8f13216a2b3a260d), (1008, 336, 11016, 1521, 0xad5b4af12723e041), (336, 1008, 11018, 1521, 0x3d47324ac484d165),
            (364, 364, 20786, 2873, 0x8f13216a2b3a260d), (365, 364, 20786, 2873, 0x8f13216a2b3a260d), (364, 365, 20786, 2873, 0x8f13216a2b3a260d),
            (728, 364, 11016, 1521, 0xad5b4af12723e041), (1092, 1093, 20786, 2873, 0x8f13216a2b3a260d), (1456, 1456, 20786, 2873, 0x8f13216a2b3a260d),
            (1457, 1456, 20786, 2873, 0x8f13216a2b3a260d), (384, 384, 20786, 2873, 0x8f13216a2b3a260d), (385, 385, 20786, 2873, 0x8f13216a2b3a260d),
            (512, 512, 20786, 2873, 0x8f13216a2b3a260d), (513, 512, 20786, 2873, 0x8f13216a2b3a260d), (1536, 1536, 20786, 2873, 0x8f13216a2b3a260d),
            (2048, 2048, 20786, 2873, 0x8f13216a2b3a260d), (2049, 100, 6131, 845, 0x19f87976a594e8e1), (100, 2049, 6134, 845, 0xc6d9ac02102bcd65),
            (4096, 4096, 20786, 2873, 0x8f13216a2b3a260d), (4097, 4097, 20786, 2873, 0x8f13216a2b3a260d), (5000, 1, 6131, 845, 0x19f87976a594e8e1),
            (1, 5000, 6134, 845, 0xc6d9ac02102bcd65), (6000, 4000, 15901, 2197, 0x7c9221a10ec978c1), (4000, 6000, 15902, 2197, 0x5f4ce12d42124acd),
            (30, 3000, 6134, 845, 0xc6d9ac02102bcd65), (3000, 30, 6131, 845, 0x19f87976a594e8e1), (1344, 29, 6131, 845, 0x19f87976a594e8e1),
            (29, 1344, 6134, 845, 0xc6d9ac02102bcd65), (448, 3, 6131, 845, 0x19f87976a594e8e1), (3, 448, 6134, 845, 0xc6d9ac02102bcd65),
            (55, 1344, 6134, 845, 0xc6d9ac02102bcd65), (1077, 1560, 15902, 2197, 0x5f4ce12d42124acd), (632, 2383, 11018, 1521, 0x3d47324ac484d165),
            (1995, 134, 6131, 845, 0x19f87976a594e8e1), (1122, 544, 11016, 1521, 0xad5b4af12723e041), (2899, 2168, 15901, 2197, 0x7c9221a10ec978c1),
            (2218, 2699, 20786, 2873, 0x8f13216a2b3a260d), (1905, 984, 15901, 2197, 0x7c9221a10ec978c1), (1693, 907, 15901, 2197, 0x7c9221a10ec978c1),
            (117, 1663, 6134, 845, 0xc6d9ac02102bcd65), (2582, 535, 6131, 845, 0x19f87976a594e8e1), (99, 1985, 6134, 845, 0xc6d9ac02102bcd65),
            (743, 731, 20786, 2873, 0x8f13216a2b3a260d), (814, 941, 20786, 2873, 0x8f13216a2b3a260d), (2591, 2898, 20786, 2873, 0x8f13216a2b3a260d),
            (1572, 96, 6131, 845, 0x19f87976a594e8e1), (1792, 1394, 20786, 2873, 0x8f13216a2b3a260d), (199, 2615, 6134, 845, 0xc6d9ac02102bcd65),
            (1615, 57, 6131, 845, 0x19f87976a594e8e1), (2734, 509, 6131, 845, 0x19f87976a594e8e1), (2028, 2378, 20786, 2873, 0x8f13216a2b3a260d),
            (608, 2467, 6134, 845, 0xc6d9ac02102bcd65), (2939, 1662, 15901, 2197, 0x7c9221a10ec978c1), (421, 2033, 6134, 845, 0xc6d9ac02102bcd65),
            (1424, 601, 11016, 1521, 0xad5b4af12723e041), (281, 1916, 6134, 845, 0xc6d9ac02102bcd65), (752, 1978, 11018, 1521, 0x3d47324ac484d165),
            (2724, 2198, 20786, 2873, 0x8f13216a2b3a260d), (1521, 2164, 15902, 2197, 0x5f4ce12d42124acd), (337, 1158, 11018, 1521, 0x3d47324ac484d165),
            (1501, 1955, 20786, 2873, 0x8f13216a2b3a260d), (3, 1, 11016, 1521, 0xad5b4af12723e041), (1450, 1, 6131, 845, 0x19f87976a594e8e1),
            (1894, 2, 6131, 845, 0x19f87976a594e8e1), (2891, 2, 6131, 845, 0x19f87976a594e8e1), (2329, 3, 6131, 845, 0x19f87976a594e8e1),
            (3326, 3, 6131, 845, 0x19f87976a594e8e1),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const SMOLVLM: Table = Table {
        family: "smolvlm",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "SmolVLMImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 512}, "processor_class": "SmolVLMProcessor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 2048}, "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 512}}}"#,
        processor: r#"{"image_seq_len": 64, "processor_class": "SmolVLMProcessor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 8291, 1088, 0x99fe43694db565e8), (1, 2, 4403, 576, 0xb51fc419922eecc4), (2, 1, 4401, 576, 0x395405999febefb8),
            (2, 2, 8291, 1088, 0x99fe43694db565e8), (3, 7, 4403, 576, 0xb51fc419922eecc4), (14, 14, 8291, 1088, 0x99fe43694db565e8),
            (17, 900, 2459, 320, 0xff3022c0fcd4f82c), (900, 17, 2456, 320, 0x43424d592b697dbc), (333, 777, 4403, 576, 0xb51fc419922eecc4),
            (777, 333, 4401, 576, 0x395405999febefb8), (1024, 768, 6346, 832, 0x4da128d8bd6d33a4), (768, 1024, 6347, 832, 0x0b0203a0530faf24),
            (4000, 3000, 6346, 832, 0x4da128d8bd6d33a4), (3000, 4000, 6347, 832, 0x0b0203a0530faf24), (640, 480, 6346, 832, 0x4da128d8bd6d33a4),
            (1280, 720, 6346, 832, 0x4da128d8bd6d33a4), (1920, 1080, 6346, 832, 0x4da128d8bd6d33a4), (1080, 1920, 6347, 832, 0x0b0203a0530faf24),
            (224, 224, 8291, 1088, 0x99fe43694db565e8), (336, 336, 8291, 1088, 0x99fe43694db565e8), (337, 336, 8291, 1088, 0x99fe43694db565e8),
            (336, 337, 8291, 1088, 0x99fe43694db565e8), (672, 336, 4401, 576, 0x395405999febefb8), (336, 672, 4403, 576, 0xb51fc419922eecc4),
            (672, 672, 8291, 1088, 0x99fe43694db565e8), (1008, 336, 4401, 576, 0x395405999febefb8), (336, 1008, 4403, 576, 0xb51fc419922eecc4),
            (364, 364, 8291, 1088, 0x99fe43694db565e8), (365, 364, 8291, 1088, 0x99fe43694db565e8), (364, 365, 8291, 1088, 0x99fe43694db565e8),
            (728, 364, 4401, 576, 0x395405999febefb8), (1092, 1093, 8291, 1088, 0x99fe43694db565e8), (1456, 1456, 8291, 1088, 0x99fe43694db565e8),
            (1457, 1456, 8291, 1088, 0x99fe43694db565e8), (384, 384, 8291, 1088, 0x99fe43694db565e8), (385, 385, 8291, 1088, 0x99fe43694db565e8),
            (512, 512, 8291, 1088, 0x99fe43694db565e8), (513, 512, 8291, 1088, 0x99fe43694db565e8), (1536, 1536, 8291, 1088, 0x99fe43694db565e8),
            (2048, 2048, 8291, 1088, 0x99fe43694db565e8), (2049, 100, 2456, 320, 0x43424d592b697dbc), (100, 2049, 2459, 320, 0xff3022c0fcd4f82c),
            (4096, 4096, 8291, 1088, 0x99fe43694db565e8), (4097, 4097, 8291, 1088, 0x99fe43694db565e8), (5000, 1, 2456, 320, 0x43424d592b697dbc),
            (1, 5000, 2459, 320, 0xff3022c0fcd4f82c), (6000, 4000, 6346, 832, 0x4da128d8bd6d33a4), (4000, 6000, 6347, 832, 0x0b0203a0530faf24),
            (30, 3000, 2459, 320, 0xff3022c0fcd4f82c), (3000, 30, 2456, 320, 0x43424d592b697dbc), (1344, 29, 2456, 320, 0x43424d592b697dbc),
            (29, 1344, 2459, 320, 0xff3022c0fcd4f82c), (448, 3, 2456, 320, 0x43424d592b697dbc), (3, 448, 2459, 320, 0xff3022c0fcd4f82c),
            (55, 1344, 2459, 320, 0xff3022c0fcd4f82c), (1901, 2433, 8291, 1088, 0x99fe43694db565e8), (1290, 2985, 4403, 576, 0xb51fc419922eecc4),
            (231, 2998, 2459, 320, 0xff3022c0fcd4f82c), (2630, 500, 2456, 320, 0x43424d592b697dbc), (746, 977, 8291, 1088, 0x99fe43694db565e8),
            (1769, 627, 4401, 576, 0x395405999febefb8), (402, 807, 4403, 576, 0xb51fc419922eecc4), (1252, 1605, 8291, 1088, 0x99fe43694db565e8),
            (2844, 1935, 6346, 832, 0x4da128d8bd6d33a4), (1247, 169, 2456, 320, 0x43424d592b697dbc), (2082, 632, 4401, 576, 0x395405999febefb8),
            (751, 1501, 4403, 576, 0xb51fc419922eecc4), (737, 1079, 6347, 832, 0x0b0203a0530faf24), (1401, 2271, 6347, 832, 0x0b0203a0530faf24),
            (2823, 2126, 8291, 1088, 0x99fe43694db565e8), (2700, 1582, 6346, 832, 0x4da128d8bd6d33a4), (126, 1061, 2459, 320, 0xff3022c0fcd4f82c),
            (1264, 1649, 8291, 1088, 0x99fe43694db565e8), (2097, 491, 2456, 320, 0x43424d592b697dbc), (1145, 2387, 4403, 576, 0xb51fc419922eecc4),
            (2354, 626, 4401, 576, 0x395405999febefb8), (1492, 1843, 8291, 1088, 0x99fe43694db565e8), (2361, 1502, 6346, 832, 0x4da128d8bd6d33a4),
            (1770, 2680, 6347, 832, 0x0b0203a0530faf24), (2429, 585, 2456, 320, 0x43424d592b697dbc), (699, 2350, 4403, 576, 0xb51fc419922eecc4),
            (2181, 1808, 8291, 1088, 0x99fe43694db565e8), (871, 1934, 4403, 576, 0xb51fc419922eecc4), (2150, 728, 4401, 576, 0x395405999febefb8),
            (462, 2151, 2459, 320, 0xff3022c0fcd4f82c), (5, 1, 2456, 320, 0x43424d592b697dbc), (1633, 1, 2456, 320, 0x43424d592b697dbc),
            (1149, 2, 2456, 320, 0x43424d592b697dbc), (2829, 2, 2456, 320, 0x43424d592b697dbc), (3826, 2, 2456, 320, 0x43424d592b697dbc),
            (1692, 3, 2456, 320, 0x43424d592b697dbc),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_DEFAULTS: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"image_processor_type": "Idefics3ImageProcessor", "processor_class": "Idefics3Processor"}"#,
        processor: r#"{"processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 20786, 2873, 0x8f13216a2b3a260d), (1, 2, 11018, 1521, 0x3d47324ac484d165), (2, 1, 11016, 1521, 0xad5b4af12723e041),
            (2, 2, 20786, 2873, 0x8f13216a2b3a260d), (3, 7, 11018, 1521, 0x3d47324ac484d165), (14, 14, 20786, 2873, 0x8f13216a2b3a260d),
            (17, 900, 6134, 845, 0xc6d9ac02102bcd65), (900, 17, 6131, 845, 0x19f87976a594e8e1), (333, 777, 11018, 1521, 0x3d47324ac484d165),
            (777, 333, 11016, 1521, 0xad5b4af12723e041), (1024, 768, 15901, 2197, 0x7c9221a10ec978c1), (768, 1024, 15902, 2197, 0x5f4ce12d42124acd),
            (4000, 3000, 15901, 2197, 0x7c9221a10ec978c1), (3000, 4000, 15902, 2197, 0x5f4ce12d42124acd), (640, 480, 15901, 2197, 0x7c9221a10ec978c1),
            (1280, 720, 15901, 2197, 0x7c9221a10ec978c1), (1920, 1080, 15901, 2197, 0x7c9221a10ec978c1), (1080, 1920, 15902, 2197, 0x5f4ce12d42124acd),
            (224, 224, 20786, 2873, 0x8f13216a2b3a260d), (336, 336, 20786, 2873, 0x8f13216a2b3a260d), (337, 336, 20786, 2873, 0x8f13216a2b3a260d),
            (336, 337, 20786, 2873, 0x8f13216a2b3a260d), (672, 336, 11016, 1521, 0xad5b4af12723e041), (336, 672, 11018, 1521, 0x3d47324ac484d165),
            (672, 672, 20786, 2873, 0x8f13216a2b3a260d), (1008, 336, 11016, 1521, 0xad5b4af12723e041), (336, 1008, 11018, 1521, 0x3d47324ac484d165),
            (364, 364, 20786, 2873, 0x8f13216a2b3a260d), (365, 364, 20786, 2873, 0x8f13216a2b3a260d), (364, 365, 20786, 2873, 0x8f13216a2b3a260d),
            (728, 364, 11016, 1521, 0xad5b4af12723e041), (1092, 1093, 20786, 2873, 0x8f13216a2b3a260d), (1456, 1456, 20786, 2873, 0x8f13216a2b3a260d),
            (1457, 1456, 20786, 2873, 0x8f13216a2b3a260d), (384, 384, 20786, 2873, 0x8f13216a2b3a260d), (385, 385, 20786, 2873, 0x8f13216a2b3a260d),
            (512, 512, 20786, 2873, 0x8f13216a2b3a260d), (513, 512, 20786, 2873, 0x8f13216a2b3a260d), (1536, 1536, 20786, 2873, 0x8f13216a2b3a260d),
            (2048, 2048, 20786, 2873, 0x8f13216a2b3a260d), (2049, 100, 6131, 845, 0x19f87976a594e8e1), (100, 2049, 6134, 845, 0xc6d9ac02102bcd65),
            (4096, 4096, 20786, 2873, 0x8f13216a2b3a260d), (4097, 4097, 20786, 2873, 0x8f13216a2b3a260d), (5000, 1, 6131, 845, 0x19f87976a594e8e1),
            (1, 5000, 6134, 845, 0xc6d9ac02102bcd65), (6000, 4000, 15901, 2197, 0x7c9221a10ec978c1), (4000, 6000, 15902, 2197, 0x5f4ce12d42124acd),
            (30, 3000, 6134, 845, 0xc6d9ac02102bcd65), (3000, 30, 6131, 845, 0x19f87976a594e8e1), (1344, 29, 6131, 845, 0x19f87976a594e8e1),
            (29, 1344, 6134, 845, 0xc6d9ac02102bcd65), (448, 3, 6131, 845, 0x19f87976a594e8e1), (3, 448, 6134, 845, 0xc6d9ac02102bcd65),
            (55, 1344, 6134, 845, 0xc6d9ac02102bcd65), (969, 1867, 15902, 2197, 0x5f4ce12d42124acd), (79, 2850, 6134, 845, 0xc6d9ac02102bcd65),
            (2991, 2347, 20786, 2873, 0x8f13216a2b3a260d), (1345, 1891, 15902, 2197, 0x5f4ce12d42124acd), (1334, 2268, 15902, 2197, 0x5f4ce12d42124acd),
            (2950, 264, 6131, 845, 0x19f87976a594e8e1), (244, 2471, 6134, 845, 0xc6d9ac02102bcd65), (920, 405, 11016, 1521, 0xad5b4af12723e041),
            (1403, 2048, 15902, 2197, 0x5f4ce12d42124acd), (996, 52, 6131, 845, 0x19f87976a594e8e1), (2104, 841, 11016, 1521, 0xad5b4af12723e041),
            (2124, 1111, 15901, 2197, 0x7c9221a10ec978c1), (1264, 2378, 15902, 2197, 0x5f4ce12d42124acd), (106, 368, 11018, 1521, 0x3d47324ac484d165),
            (1885, 2154, 20786, 2873, 0x8f13216a2b3a260d), (2037, 207, 6131, 845, 0x19f87976a594e8e1), (2529, 22, 6131, 845, 0x19f87976a594e8e1),
            (1856, 1064, 15901, 2197, 0x7c9221a10ec978c1), (2067, 2460, 20786, 2873, 0x8f13216a2b3a260d), (776, 1807, 11018, 1521, 0x3d47324ac484d165),
            (369, 1398, 11018, 1521, 0x3d47324ac484d165), (1866, 315, 6131, 845, 0x19f87976a594e8e1), (623, 2588, 6134, 845, 0xc6d9ac02102bcd65),
            (1730, 1696, 20786, 2873, 0x8f13216a2b3a260d), (2007, 2617, 20786, 2873, 0x8f13216a2b3a260d), (527, 2048, 11018, 1521, 0x3d47324ac484d165),
            (622, 644, 20786, 2873, 0x8f13216a2b3a260d), (1787, 2409, 15902, 2197, 0x5f4ce12d42124acd), (1742, 273, 6131, 845, 0x19f87976a594e8e1),
            (1638, 1826, 20786, 2873, 0x8f13216a2b3a260d),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_UNSPLIT: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": false, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 364}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1456}}"#,
        processor: r#"{"image_seq_len": 3, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 83, 3, 0x29e085b66b0a779f), (1, 2, 83, 3, 0x29e085b66b0a779f), (2, 1, 83, 3, 0x29e085b66b0a779f),
            (2, 2, 83, 3, 0x29e085b66b0a779f), (3, 7, 83, 3, 0x29e085b66b0a779f), (14, 14, 83, 3, 0x29e085b66b0a779f),
            (17, 900, 83, 3, 0x29e085b66b0a779f), (900, 17, 83, 3, 0x29e085b66b0a779f), (333, 777, 83, 3, 0x29e085b66b0a779f),
            (777, 333, 83, 3, 0x29e085b66b0a779f), (1024, 768, 83, 3, 0x29e085b66b0a779f), (768, 1024, 83, 3, 0x29e085b66b0a779f),
            (4000, 3000, 83, 3, 0x29e085b66b0a779f), (3000, 4000, 83, 3, 0x29e085b66b0a779f), (640, 480, 83, 3, 0x29e085b66b0a779f),
            (1280, 720, 83, 3, 0x29e085b66b0a779f), (1920, 1080, 83, 3, 0x29e085b66b0a779f), (1080, 1920, 83, 3, 0x29e085b66b0a779f),
            (224, 224, 83, 3, 0x29e085b66b0a779f), (336, 336, 83, 3, 0x29e085b66b0a779f), (337, 336, 83, 3, 0x29e085b66b0a779f),
            (336, 337, 83, 3, 0x29e085b66b0a779f), (672, 336, 83, 3, 0x29e085b66b0a779f), (336, 672, 83, 3, 0x29e085b66b0a779f),
            (672, 672, 83, 3, 0x29e085b66b0a779f), (1008, 336, 83, 3, 0x29e085b66b0a779f), (336, 1008, 83, 3, 0x29e085b66b0a779f),
            (364, 364, 83, 3, 0x29e085b66b0a779f), (365, 364, 83, 3, 0x29e085b66b0a779f), (364, 365, 83, 3, 0x29e085b66b0a779f),
            (728, 364, 83, 3, 0x29e085b66b0a779f), (1092, 1093, 83, 3, 0x29e085b66b0a779f), (1456, 1456, 83, 3, 0x29e085b66b0a779f),
            (1457, 1456, 83, 3, 0x29e085b66b0a779f), (384, 384, 83, 3, 0x29e085b66b0a779f), (385, 385, 83, 3, 0x29e085b66b0a779f),
            (512, 512, 83, 3, 0x29e085b66b0a779f), (513, 512, 83, 3, 0x29e085b66b0a779f), (1536, 1536, 83, 3, 0x29e085b66b0a779f),
            (2048, 2048, 83, 3, 0x29e085b66b0a779f), (2049, 100, 83, 3, 0x29e085b66b0a779f), (100, 2049, 83, 3, 0x29e085b66b0a779f),
            (4096, 4096, 83, 3, 0x29e085b66b0a779f), (4097, 4097, 83, 3, 0x29e085b66b0a779f), (5000, 1, 83, 3, 0x29e085b66b0a779f),
            (1, 5000, 83, 3, 0x29e085b66b0a779f), (6000, 4000, 83, 3, 0x29e085b66b0a779f), (4000, 6000, 83, 3, 0x29e085b66b0a779f),
            (30, 3000, 83, 3, 0x29e085b66b0a779f), (3000, 30, 83, 3, 0x29e085b66b0a779f), (1344, 29, 83, 3, 0x29e085b66b0a779f),
            (29, 1344, 83, 3, 0x29e085b66b0a779f), (448, 3, 83, 3, 0x29e085b66b0a779f), (3, 448, 83, 3, 0x29e085b66b0a779f),
            (55, 1344, 83, 3, 0x29e085b66b0a779f), (1443, 2162, 83, 3, 0x29e085b66b0a779f), (84, 1799, 83, 3, 0x29e085b66b0a779f),
            (790, 162, 83, 3, 0x29e085b66b0a779f), (863, 1027, 83, 3, 0x29e085b66b0a779f), (702, 2030, 83, 3, 0x29e085b66b0a779f),
            (765, 568, 83, 3, 0x29e085b66b0a779f), (315, 114, 83, 3, 0x29e085b66b0a779f), (1938, 925, 83, 3, 0x29e085b66b0a779f),
            (1720, 1387, 83, 3, 0x29e085b66b0a779f), (1784, 217, 83, 3, 0x29e085b66b0a779f), (204, 2540, 83, 3, 0x29e085b66b0a779f),
            (1049, 556, 83, 3, 0x29e085b66b0a779f), (1690, 1797, 83, 3, 0x29e085b66b0a779f), (2598, 1965, 83, 3, 0x29e085b66b0a779f),
            (1290, 2758, 83, 3, 0x29e085b66b0a779f), (1808, 2341, 83, 3, 0x29e085b66b0a779f), (2625, 1991, 83, 3, 0x29e085b66b0a779f),
            (2942, 2059, 83, 3, 0x29e085b66b0a779f), (1790, 1222, 83, 3, 0x29e085b66b0a779f), (2042, 1291, 83, 3, 0x29e085b66b0a779f),
            (2770, 1279, 83, 3, 0x29e085b66b0a779f), (1239, 1526, 83, 3, 0x29e085b66b0a779f), (782, 2686, 83, 3, 0x29e085b66b0a779f),
            (527, 1380, 83, 3, 0x29e085b66b0a779f), (2600, 1103, 83, 3, 0x29e085b66b0a779f), (942, 571, 83, 3, 0x29e085b66b0a779f),
            (1303, 562, 83, 3, 0x29e085b66b0a779f), (1452, 1060, 83, 3, 0x29e085b66b0a779f), (1623, 1254, 83, 3, 0x29e085b66b0a779f),
            (2840, 1106, 83, 3, 0x29e085b66b0a779f),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_NO_RESIZE: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": false, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 364}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1456}}"#,
        processor: r#"{"image_seq_len": 1, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 69, 1, 0xf776643f5cc19a35), (1, 2, 69, 1, 0xf776643f5cc19a35), (2, 1, 69, 1, 0xf776643f5cc19a35),
            (2, 2, 69, 1, 0xf776643f5cc19a35), (3, 7, 69, 1, 0xf776643f5cc19a35), (14, 14, 69, 1, 0xf776643f5cc19a35),
            (17, 900, 208, 4, 0xa3d119740bf13111), (900, 17, 206, 4, 0xe70cbc1b0eef38b5), (333, 777, 343, 7, 0x211360b215e281cc),
            (777, 333, 342, 7, 0x7e2e432339c369bc), (1024, 768, 478, 10, 0x4796a4a4514d9b56), (768, 1024, 478, 10, 0x4796a4a4514d9b56),
            (4000, 3000, 4552, 100, 0x2ad882210c316701), (3000, 4000, 4554, 100, 0x693c880bbe67e46f), (640, 480, 252, 5, 0xb9dfbb61ab8fef95),
            (1280, 720, 613, 13, 0xd1036325a957b1a9), (1920, 1080, 1154, 25, 0xb65bdfd7e2b03b3d), (1080, 1920, 1156, 25, 0x9bf322d872f0d999),
            (224, 224, 69, 1, 0xf776643f5cc19a35), (336, 336, 69, 1, 0xf776643f5cc19a35), (337, 336, 69, 1, 0xf776643f5cc19a35),
            (336, 337, 69, 1, 0xf776643f5cc19a35), (672, 336, 161, 3, 0xa167c8a42d535d74), (336, 672, 162, 3, 0xc2839ee7a9607a2e),
            (672, 672, 252, 5, 0xb9dfbb61ab8fef95), (1008, 336, 206, 4, 0xe70cbc1b0eef38b5), (336, 1008, 208, 4, 0xa3d119740bf13111),
            (364, 364, 69, 1, 0xf776643f5cc19a35), (365, 364, 252, 5, 0xb9dfbb61ab8fef95), (364, 365, 252, 5, 0xb9dfbb61ab8fef95),
            (728, 364, 161, 3, 0xa167c8a42d535d74), (1092, 1093, 794, 17, 0x1ab8e9385eb67e15), (1456, 1456, 794, 17, 0x1ab8e9385eb67e15),
            (1457, 1456, 1200, 26, 0x9590add7fee77978), (384, 384, 252, 5, 0xb9dfbb61ab8fef95), (385, 385, 252, 5, 0xb9dfbb61ab8fef95),
            (512, 512, 252, 5, 0xb9dfbb61ab8fef95), (513, 512, 252, 5, 0xb9dfbb61ab8fef95), (1536, 1536, 1200, 26, 0x9590add7fee77978),
            (2048, 2048, 1696, 37, 0x63b2145fda073f05), (2049, 100, 341, 7, 0xda627d922301c8a0), (100, 2049, 346, 7, 0xed4eb13f302ae42e),
            (4096, 4096, 6634, 145, 0x3adb8224bb381365), (4097, 4097, 6634, 145, 0x3adb8224bb381365), (5000, 1, 706, 15, 0xf3ac9b4b494a6c8b),
            (1, 5000, 719, 15, 0x98f6b90f925e37db), (6000, 4000, 9409, 205, 0x58936dd4198e031c), (4000, 6000, 9414, 205, 0xc6594f946e15f320),
            (30, 3000, 484, 10, 0x593aa766b2a9cb3c), (3000, 30, 476, 10, 0x3ac181293f57830c), (1344, 29, 251, 5, 0xbbf3df6ea549daa9),
            (29, 1344, 254, 5, 0x43cd8537e49416ad), (448, 3, 161, 3, 0xa167c8a42d535d74), (3, 448, 162, 3, 0xc2839ee7a9607a2e),
            (55, 1344, 254, 5, 0x43cd8537e49416ad), (2556, 1864, 2236, 49, 0xe71538f9678b0d15), (765, 1656, 750, 16, 0x9bc00e9770923ee9),
            (2367, 1170, 1334, 29, 0x34b652dccff3bdb5), (2350, 1646, 1650, 36, 0xc637a046ec509969), (322, 1954, 346, 7, 0xed4eb13f302ae42e),
            (305, 94, 69, 1, 0xf776643f5cc19a35), (1456, 2460, 1652, 36, 0x6fa899be7a1c49f5), (2726, 2323, 2597, 57, 0x859a1e092693981d),
            (882, 660, 478, 10, 0x4796a4a4514d9b56), (202, 929, 208, 4, 0xa3d119740bf13111), (2893, 1657, 1875, 41, 0x79e8dff02387e7fd),
            (1702, 2779, 1878, 41, 0x9e79e882d12d13b5), (2952, 2659, 3724, 82, 0x00f42ecfb9ece43c), (2926, 1856, 2506, 55, 0x860f005f48a56bbe),
            (1288, 862, 613, 13, 0xd1036325a957b1a9), (2956, 593, 882, 19, 0xf819edfab2a9ae7e), (1163, 711, 613, 13, 0xd1036325a957b1a9),
            (1637, 2318, 1652, 36, 0x6fa899be7a1c49f5), (17, 1623, 300, 6, 0xdf3c28fd093aee80), (2109, 2236, 2282, 50, 0x214757082ee4d266),
            (395, 2440, 707, 15, 0x5cead3702959a3fc), (241, 776, 208, 4, 0xa3d119740bf13111), (1922, 2932, 2509, 55, 0xb4093455c46930b0),
            (2351, 2474, 2282, 50, 0x214757082ee4d266), (2347, 2692, 2598, 57, 0x44779fab5f953c6d), (2498, 1837, 1966, 43, 0xc2e0a95120565398),
            (1690, 2652, 2238, 49, 0x972d4f1756094dfd), (572, 1553, 525, 11, 0xd4f431eb38cb9984), (732, 91, 206, 4, 0xe70cbc1b0eef38b5),
            (1434, 2329, 1652, 36, 0x6fa899be7a1c49f5), (1820, 365, 296, 6, 0x54b3d6165e33f654), (3276, 729, 882, 19, 0xf819edfab2a9ae7e),
            (3640, 365, 522, 11, 0x8f4230b28dd1d7c3), (3640, 3277, 4138, 91, 0x6144f673bb7ff103), (2913, 4732, 4795, 105, 0xa6903a813965e66d),
            (3277, 5096, 5799, 127, 0x8463c5cdb0310c43), (4732, 1, 660, 14, 0x33befa512f419908), (1, 4733, 719, 15, 0x98f6b90f925e37db),
            (2, 4732, 672, 14, 0x55c5dd901098bc5c),
        ],
        // sizes transformers raises on
        errors: &[(1, 4732)],
    };

    #[rustfmt::skip]
    const SMOLVLM_NO_RESIZE: Table = Table {
        family: "smolvlm",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": false, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "SmolVLMImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 512}, "processor_class": "SmolVLMProcessor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 2048}, "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 512}}}"#,
        processor: r#"{"image_seq_len": 1, "processor_class": "SmolVLMProcessor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 69, 1, 0xf776643f5cc19a35), (1, 2, 69, 1, 0xf776643f5cc19a35), (2, 1, 69, 1, 0xf776643f5cc19a35),
            (2, 2, 69, 1, 0xf776643f5cc19a35), (3, 7, 69, 1, 0xf776643f5cc19a35), (14, 14, 69, 1, 0xf776643f5cc19a35),
            (17, 900, 162, 3, 0xc2839ee7a9607a2e), (900, 17, 161, 3, 0xa167c8a42d535d74), (333, 777, 162, 3, 0xc2839ee7a9607a2e),
            (777, 333, 161, 3, 0xa167c8a42d535d74), (1024, 768, 252, 5, 0xb9dfbb61ab8fef95), (768, 1024, 252, 5, 0xb9dfbb61ab8fef95),
            (4000, 3000, 2236, 49, 0xe71538f9678b0d15), (3000, 4000, 2238, 49, 0x972d4f1756094dfd), (640, 480, 252, 5, 0xb9dfbb61ab8fef95),
            (1280, 720, 342, 7, 0x7e2e432339c369bc), (1920, 1080, 613, 13, 0xd1036325a957b1a9), (1080, 1920, 614, 13, 0xc909f91c187cd275),
            (224, 224, 69, 1, 0xf776643f5cc19a35), (336, 336, 69, 1, 0xf776643f5cc19a35), (337, 336, 69, 1, 0xf776643f5cc19a35),
            (336, 337, 69, 1, 0xf776643f5cc19a35), (672, 336, 161, 3, 0xa167c8a42d535d74), (336, 672, 162, 3, 0xc2839ee7a9607a2e),
            (672, 672, 252, 5, 0xb9dfbb61ab8fef95), (1008, 336, 161, 3, 0xa167c8a42d535d74), (336, 1008, 162, 3, 0xc2839ee7a9607a2e),
            (364, 364, 69, 1, 0xf776643f5cc19a35), (365, 364, 69, 1, 0xf776643f5cc19a35), (364, 365, 69, 1, 0xf776643f5cc19a35),
            (728, 364, 161, 3, 0xa167c8a42d535d74), (1092, 1093, 478, 10, 0x4796a4a4514d9b56), (1456, 1456, 478, 10, 0x4796a4a4514d9b56),
            (1457, 1456, 478, 10, 0x4796a4a4514d9b56), (384, 384, 69, 1, 0xf776643f5cc19a35), (385, 385, 69, 1, 0xf776643f5cc19a35),
            (512, 512, 69, 1, 0xf776643f5cc19a35), (513, 512, 252, 5, 0xb9dfbb61ab8fef95), (1536, 1536, 478, 10, 0x4796a4a4514d9b56),
            (2048, 2048, 794, 17, 0x1ab8e9385eb67e15), (2049, 100, 296, 6, 0x54b3d6165e33f654), (100, 2049, 300, 6, 0xdf3c28fd093aee80),
            (4096, 4096, 2958, 65, 0x4a4d6d6064eabb1d), (4097, 4097, 3724, 82, 0x00f42ecfb9ece43c), (5000, 1, 522, 11, 0x8f4230b28dd1d7c3),
            (1, 5000, 531, 11, 0xa87b4faf261b9407), (6000, 4000, 4422, 97, 0x0ee3d8be1710f3b5), (4000, 6000, 4426, 97, 0x34ca3567db797f15),
            (30, 3000, 346, 7, 0xed4eb13f302ae42e), (3000, 30, 341, 7, 0xda627d922301c8a0), (1344, 29, 206, 4, 0xe70cbc1b0eef38b5),
            (29, 1344, 208, 4, 0xa3d119740bf13111), (448, 3, 69, 1, 0xf776643f5cc19a35), (3, 448, 69, 1, 0xf776643f5cc19a35),
            (55, 1344, 208, 4, 0xa3d119740bf13111), (33, 1636, 254, 5, 0x43cd8537e49416ad), (2519, 232, 296, 6, 0x54b3d6165e33f654),
            (530, 2765, 616, 13, 0x277463236e319905), (2037, 136, 251, 5, 0xbbf3df6ea549daa9), (2105, 1101, 748, 16, 0xc8549ffeced0e899),
            (1697, 760, 432, 9, 0xcb15add115fff269), (213, 2226, 300, 6, 0xdf3c28fd093aee80), (218, 2515, 300, 6, 0xdf3c28fd093aee80),
            (1654, 2745, 1156, 25, 0x9bf322d872f0d999), (533, 664, 252, 5, 0xb9dfbb61ab8fef95), (2187, 2751, 1426, 31, 0x8bed7b87c374a616),
            (96, 1574, 254, 5, 0x43cd8537e49416ad), (1712, 529, 432, 9, 0xcb15add115fff269), (1671, 1255, 794, 17, 0x1ab8e9385eb67e15),
            (2611, 152, 341, 7, 0xda627d922301c8a0), (2390, 2240, 1200, 26, 0x9590add7fee77978), (1404, 2852, 886, 19, 0x0cdb2f14a70f0cb4),
            (2066, 1823, 1200, 26, 0x9590add7fee77978), (470, 882, 252, 5, 0xb9dfbb61ab8fef95), (2098, 2395, 1200, 26, 0x9590add7fee77978),
            (906, 2922, 616, 13, 0x277463236e319905), (2825, 156, 341, 7, 0xda627d922301c8a0), (583, 1691, 434, 9, 0xd2a77890c897cc8d),
            (2103, 971, 748, 16, 0xc8549ffeced0e899), (976, 120, 161, 3, 0xa167c8a42d535d74), (1715, 1191, 613, 13, 0xd1036325a957b1a9),
            (1100, 2525, 750, 16, 0x9bc00e9770923ee9), (587, 2450, 525, 11, 0xd4f431eb38cb9984), (2560, 591, 522, 11, 0x2fa4e43c1d6b1176),
            (449, 675, 252, 5, 0xb9dfbb61ab8fef95), (1000, 600, 252, 5, 0xb9dfbb61ab8fef95), (513, 20, 161, 3, 0xa167c8a42d535d74),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_EXACT_SIZE: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 300}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": [700, 1100]}"#,
        processor: r#"{"image_seq_len": 169, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 15901, 2197, 0x7c9221a10ec978c1), (1, 2, 15901, 2197, 0x7c9221a10ec978c1), (2, 1, 15901, 2197, 0x7c9221a10ec978c1),
            (2, 2, 15901, 2197, 0x7c9221a10ec978c1), (3, 7, 15901, 2197, 0x7c9221a10ec978c1), (14, 14, 15901, 2197, 0x7c9221a10ec978c1),
            (17, 900, 15901, 2197, 0x7c9221a10ec978c1), (900, 17, 15901, 2197, 0x7c9221a10ec978c1), (333, 777, 15901, 2197, 0x7c9221a10ec978c1),
            (777, 333, 15901, 2197, 0x7c9221a10ec978c1), (1024, 768, 15901, 2197, 0x7c9221a10ec978c1), (768, 1024, 15901, 2197, 0x7c9221a10ec978c1),
            (4000, 3000, 15901, 2197, 0x7c9221a10ec978c1), (3000, 4000, 15901, 2197, 0x7c9221a10ec978c1), (640, 480, 15901, 2197, 0x7c9221a10ec978c1),
            (1280, 720, 15901, 2197, 0x7c9221a10ec978c1), (1920, 1080, 15901, 2197, 0x7c9221a10ec978c1), (1080, 1920, 15901, 2197, 0x7c9221a10ec978c1),
            (224, 224, 15901, 2197, 0x7c9221a10ec978c1), (336, 336, 15901, 2197, 0x7c9221a10ec978c1), (337, 336, 15901, 2197, 0x7c9221a10ec978c1),
            (336, 337, 15901, 2197, 0x7c9221a10ec978c1), (672, 336, 15901, 2197, 0x7c9221a10ec978c1), (336, 672, 15901, 2197, 0x7c9221a10ec978c1),
            (672, 672, 15901, 2197, 0x7c9221a10ec978c1), (1008, 336, 15901, 2197, 0x7c9221a10ec978c1), (336, 1008, 15901, 2197, 0x7c9221a10ec978c1),
            (364, 364, 15901, 2197, 0x7c9221a10ec978c1), (365, 364, 15901, 2197, 0x7c9221a10ec978c1), (364, 365, 15901, 2197, 0x7c9221a10ec978c1),
            (728, 364, 15901, 2197, 0x7c9221a10ec978c1), (1092, 1093, 15901, 2197, 0x7c9221a10ec978c1), (1456, 1456, 15901, 2197, 0x7c9221a10ec978c1),
            (1457, 1456, 15901, 2197, 0x7c9221a10ec978c1), (384, 384, 15901, 2197, 0x7c9221a10ec978c1), (385, 385, 15901, 2197, 0x7c9221a10ec978c1),
            (512, 512, 15901, 2197, 0x7c9221a10ec978c1), (513, 512, 15901, 2197, 0x7c9221a10ec978c1), (1536, 1536, 15901, 2197, 0x7c9221a10ec978c1),
            (2048, 2048, 15901, 2197, 0x7c9221a10ec978c1), (2049, 100, 15901, 2197, 0x7c9221a10ec978c1), (100, 2049, 15901, 2197, 0x7c9221a10ec978c1),
            (4096, 4096, 15901, 2197, 0x7c9221a10ec978c1), (4097, 4097, 15901, 2197, 0x7c9221a10ec978c1), (5000, 1, 15901, 2197, 0x7c9221a10ec978c1),
            (1, 5000, 15901, 2197, 0x7c9221a10ec978c1), (6000, 4000, 15901, 2197, 0x7c9221a10ec978c1), (4000, 6000, 15901, 2197, 0x7c9221a10ec978c1),
            (30, 3000, 15901, 2197, 0x7c9221a10ec978c1), (3000, 30, 15901, 2197, 0x7c9221a10ec978c1), (1344, 29, 15901, 2197, 0x7c9221a10ec978c1),
            (29, 1344, 15901, 2197, 0x7c9221a10ec978c1), (448, 3, 15901, 2197, 0x7c9221a10ec978c1), (3, 448, 15901, 2197, 0x7c9221a10ec978c1),
            (55, 1344, 15901, 2197, 0x7c9221a10ec978c1), (1385, 1841, 15901, 2197, 0x7c9221a10ec978c1), (1303, 1518, 15901, 2197, 0x7c9221a10ec978c1),
            (2241, 2598, 15901, 2197, 0x7c9221a10ec978c1), (507, 1491, 15901, 2197, 0x7c9221a10ec978c1), (99, 615, 15901, 2197, 0x7c9221a10ec978c1),
            (608, 1614, 15901, 2197, 0x7c9221a10ec978c1), (351, 2114, 15901, 2197, 0x7c9221a10ec978c1), (2877, 915, 15901, 2197, 0x7c9221a10ec978c1),
            (543, 503, 15901, 2197, 0x7c9221a10ec978c1), (1703, 224, 15901, 2197, 0x7c9221a10ec978c1), (1862, 2532, 15901, 2197, 0x7c9221a10ec978c1),
            (1232, 1366, 15901, 2197, 0x7c9221a10ec978c1), (1084, 365, 15901, 2197, 0x7c9221a10ec978c1), (203, 2958, 15901, 2197, 0x7c9221a10ec978c1),
            (2836, 1803, 15901, 2197, 0x7c9221a10ec978c1), (1654, 82, 15901, 2197, 0x7c9221a10ec978c1), (1939, 819, 15901, 2197, 0x7c9221a10ec978c1),
            (56, 2043, 15901, 2197, 0x7c9221a10ec978c1), (1953, 2422, 15901, 2197, 0x7c9221a10ec978c1), (585, 2650, 15901, 2197, 0x7c9221a10ec978c1),
            (2613, 430, 15901, 2197, 0x7c9221a10ec978c1), (778, 1172, 15901, 2197, 0x7c9221a10ec978c1), (2357, 1377, 15901, 2197, 0x7c9221a10ec978c1),
            (2165, 446, 15901, 2197, 0x7c9221a10ec978c1), (2779, 2314, 15901, 2197, 0x7c9221a10ec978c1), (2438, 2868, 15901, 2197, 0x7c9221a10ec978c1),
            (308, 817, 15901, 2197, 0x7c9221a10ec978c1), (1470, 628, 15901, 2197, 0x7c9221a10ec978c1), (1292, 2377, 15901, 2197, 0x7c9221a10ec978c1),
            (1119, 1874, 15901, 2197, 0x7c9221a10ec978c1),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_ODD_CROP: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 351}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1053}}"#,
        processor: r#"{"image_seq_len": 1, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 794, 17, 0x1ab8e9385eb67e15), (1, 2, 343, 7, 0x211360b215e281cc), (2, 1, 342, 7, 0x7e2e432339c369bc),
            (2, 2, 794, 17, 0x1ab8e9385eb67e15), (3, 7, 343, 7, 0x211360b215e281cc), (14, 14, 794, 17, 0x1ab8e9385eb67e15),
            (17, 900, 208, 4, 0xa3d119740bf13111), (900, 17, 206, 4, 0xe70cbc1b0eef38b5), (333, 777, 343, 7, 0x211360b215e281cc),
            (777, 333, 342, 7, 0x7e2e432339c369bc), (1024, 768, 478, 10, 0x4796a4a4514d9b56), (768, 1024, 478, 10, 0x4796a4a4514d9b56),
            (4000, 3000, 478, 10, 0x4796a4a4514d9b56), (3000, 4000, 478, 10, 0x4796a4a4514d9b56), (640, 480, 478, 10, 0x4796a4a4514d9b56),
            (1280, 720, 342, 7, 0x7e2e432339c369bc), (1920, 1080, 342, 7, 0x7e2e432339c369bc), (1080, 1920, 343, 7, 0x211360b215e281cc),
            (224, 224, 794, 17, 0x1ab8e9385eb67e15), (336, 336, 794, 17, 0x1ab8e9385eb67e15), (337, 336, 478, 10, 0x4796a4a4514d9b56),
            (336, 337, 478, 10, 0x4796a4a4514d9b56), (672, 336, 342, 7, 0x7e2e432339c369bc), (336, 672, 343, 7, 0x211360b215e281cc),
            (672, 672, 794, 17, 0x1ab8e9385eb67e15), (1008, 336, 342, 7, 0x7e2e432339c369bc), (336, 1008, 343, 7, 0x211360b215e281cc),
            (364, 364, 794, 17, 0x1ab8e9385eb67e15), (365, 364, 478, 10, 0x4796a4a4514d9b56), (364, 365, 478, 10, 0x4796a4a4514d9b56),
            (728, 364, 342, 7, 0x7e2e432339c369bc), (1092, 1093, 478, 10, 0x4796a4a4514d9b56), (1456, 1456, 794, 17, 0x1ab8e9385eb67e15),
            (1457, 1456, 478, 10, 0x4796a4a4514d9b56), (384, 384, 794, 17, 0x1ab8e9385eb67e15), (385, 385, 794, 17, 0x1ab8e9385eb67e15),
            (512, 512, 794, 17, 0x1ab8e9385eb67e15), (513, 512, 478, 10, 0x4796a4a4514d9b56), (1536, 1536, 794, 17, 0x1ab8e9385eb67e15),
            (2048, 2048, 794, 17, 0x1ab8e9385eb67e15), (2049, 100, 206, 4, 0xe70cbc1b0eef38b5), (100, 2049, 208, 4, 0xa3d119740bf13111),
            (4096, 4096, 794, 17, 0x1ab8e9385eb67e15), (4097, 4097, 794, 17, 0x1ab8e9385eb67e15), (5000, 1, 206, 4, 0xe70cbc1b0eef38b5),
            (1, 5000, 208, 4, 0xa3d119740bf13111), (6000, 4000, 342, 7, 0x7e2e432339c369bc), (4000, 6000, 343, 7, 0x211360b215e281cc),
            (30, 3000, 208, 4, 0xa3d119740bf13111), (3000, 30, 206, 4, 0xe70cbc1b0eef38b5), (1344, 29, 206, 4, 0xe70cbc1b0eef38b5),
            (29, 1344, 208, 4, 0xa3d119740bf13111), (448, 3, 206, 4, 0xe70cbc1b0eef38b5), (3, 448, 208, 4, 0xa3d119740bf13111),
            (55, 1344, 208, 4, 0xa3d119740bf13111), (757, 90, 206, 4, 0xe70cbc1b0eef38b5), (2994, 1631, 342, 7, 0x7e2e432339c369bc),
            (44, 2018, 208, 4, 0xa3d119740bf13111), (1334, 1782, 478, 10, 0x4796a4a4514d9b56), (747, 1676, 343, 7, 0x211360b215e281cc),
            (810, 709, 478, 10, 0x4796a4a4514d9b56), (1351, 166, 206, 4, 0xe70cbc1b0eef38b5), (2821, 2130, 478, 10, 0x4796a4a4514d9b56),
            (1051, 456, 342, 7, 0x7e2e432339c369bc), (1777, 2531, 478, 10, 0x4796a4a4514d9b56), (567, 1728, 208, 4, 0xa3d119740bf13111),
            (2454, 2140, 478, 10, 0x4796a4a4514d9b56), (14, 1928, 208, 4, 0xa3d119740bf13111), (2781, 2890, 478, 10, 0x4796a4a4514d9b56),
            (2410, 1342, 342, 7, 0x7e2e432339c369bc), (243, 212, 478, 10, 0x4796a4a4514d9b56), (2069, 968, 342, 7, 0x7e2e432339c369bc),
            (2399, 1154, 342, 7, 0x7e2e432339c369bc), (922, 1222, 478, 10, 0x4796a4a4514d9b56), (1819, 251, 206, 4, 0xe70cbc1b0eef38b5),
            (1317, 1294, 478, 10, 0x4796a4a4514d9b56), (109, 1451, 208, 4, 0xa3d119740bf13111), (1796, 1320, 478, 10, 0x4796a4a4514d9b56),
            (2741, 2608, 478, 10, 0x4796a4a4514d9b56), (2570, 2893, 478, 10, 0x4796a4a4514d9b56), (2080, 1176, 342, 7, 0x7e2e432339c369bc),
            (360, 1161, 208, 4, 0xa3d119740bf13111), (2023, 727, 342, 7, 0x7e2e432339c369bc), (2489, 2085, 478, 10, 0x4796a4a4514d9b56),
            (1641, 47, 206, 4, 0xe70cbc1b0eef38b5), (3, 1, 342, 7, 0x7e2e432339c369bc), (6, 2, 342, 7, 0x7e2e432339c369bc),
            (1, 3, 343, 7, 0x211360b215e281cc), (3, 3, 794, 17, 0x1ab8e9385eb67e15), (556, 2, 206, 4, 0xe70cbc1b0eef38b5),
            (1904, 2, 206, 4, 0xe70cbc1b0eef38b5), (1749, 3, 206, 4, 0xe70cbc1b0eef38b5), (2746, 3, 206, 4, 0xe70cbc1b0eef38b5),
            (1176, 4, 206, 4, 0xe70cbc1b0eef38b5),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    #[rustfmt::skip]
    const IDEFICS3_CLAMPED: Table = Table {
        family: "idefics3",
        preprocessor: r#"{"do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor", "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 364}, "processor_class": "Idefics3Processor", "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 5000}}"#,
        processor: r#"{"image_seq_len": 1, "processor_class": "Idefics3Processor"}"#,
        // (width, height, bytes, image tokens, FNV-1a 64 of the replacement)
        cases: &[
            (1, 1, 6634, 145, 0x3adb8224bb381365), (1, 2, 3340, 73, 0xd8e89567430b967f), (2, 1, 3334, 73, 0x4430d79411069453),
            (2, 2, 6634, 145, 0x3adb8224bb381365), (3, 7, 3340, 73, 0xd8e89567430b967f), (14, 14, 6634, 145, 0x3adb8224bb381365),
            (17, 900, 625, 13, 0xff470f23ff5e22a4), (900, 17, 614, 13, 0x0fd7193d8122a200), (333, 777, 3340, 73, 0xd8e89567430b967f),
            (777, 333, 3334, 73, 0x4430d79411069453), (1024, 768, 4966, 109, 0x3111253f8aa070d8), (768, 1024, 4969, 109, 0x08613cb2ce21dc8c),
            (4000, 3000, 4966, 109, 0x3111253f8aa070d8), (3000, 4000, 4969, 109, 0x08613cb2ce21dc8c), (640, 480, 4966, 109, 0x3111253f8aa070d8),
            (1280, 720, 3878, 85, 0x2cecb02f793c54a2), (1920, 1080, 3878, 85, 0x2cecb02f793c54a2), (1080, 1920, 3883, 85, 0x839e085e7a34bd30),
            (224, 224, 6634, 145, 0x3adb8224bb381365), (336, 336, 6634, 145, 0x3adb8224bb381365), (337, 336, 6634, 145, 0x3adb8224bb381365),
            (336, 337, 6634, 145, 0x3adb8224bb381365), (672, 336, 3334, 73, 0x4430d79411069453), (336, 672, 3340, 73, 0xd8e89567430b967f),
            (672, 672, 6634, 145, 0x3adb8224bb381365), (1008, 336, 2246, 49, 0xb277b76b4a18b111), (336, 1008, 2254, 49, 0x9738958c8c97c06d),
            (364, 364, 6634, 145, 0x3adb8224bb381365), (365, 364, 6634, 145, 0x3adb8224bb381365), (364, 365, 6634, 145, 0x3adb8224bb381365),
            (728, 364, 3334, 73, 0x4430d79411069453), (1092, 1093, 6634, 145, 0x3adb8224bb381365), (1456, 1456, 6634, 145, 0x3adb8224bb381365),
            (1457, 1456, 6634, 145, 0x3adb8224bb381365), (384, 384, 6634, 145, 0x3adb8224bb381365), (385, 385, 6634, 145, 0x3adb8224bb381365),
            (512, 512, 6634, 145, 0x3adb8224bb381365), (513, 512, 6634, 145, 0x3adb8224bb381365), (1536, 1536, 6634, 145, 0x3adb8224bb381365),
            (2048, 2048, 6634, 145, 0x3adb8224bb381365), (2049, 100, 614, 13, 0x0fd7193d8122a200), (100, 2049, 625, 13, 0xff470f23ff5e22a4),
            (4096, 4096, 6634, 145, 0x3adb8224bb381365), (4097, 4097, 6634, 145, 0x3adb8224bb381365), (5000, 1, 614, 13, 0x0fd7193d8122a200),
            (1, 5000, 625, 13, 0xff470f23ff5e22a4), (6000, 4000, 4422, 97, 0x0ee3d8be1710f3b5), (4000, 6000, 4426, 97, 0x34ca3567db797f15),
            (30, 3000, 625, 13, 0xff470f23ff5e22a4), (3000, 30, 614, 13, 0x0fd7193d8122a200), (1344, 29, 614, 13, 0x0fd7193d8122a200),
            (29, 1344, 625, 13, 0xff470f23ff5e22a4), (448, 3, 614, 13, 0x0fd7193d8122a200), (3, 448, 625, 13, 0xff470f23ff5e22a4),
            (55, 1344, 625, 13, 0xff470f23ff5e22a4), (2315, 2112, 6078, 133, 0x151bad687284380e), (190, 2378, 625, 13, 0xff470f23ff5e22a4),
            (2458, 1037, 3334, 73, 0x4430d79411069453), (651, 307, 3334, 73, 0x4430d79411069453), (840, 368, 3334, 73, 0x4430d79411069453),
            (2529, 2070, 5522, 121, 0xd363b958dad84513), (1293, 1384, 6634, 145, 0x3adb8224bb381365), (1708, 861, 3878, 85, 0x2cecb02f793c54a2),
            (1687, 598, 2790, 61, 0xf6147a1dad6ad43c), (600, 462, 5522, 121, 0xd363b958dad84513), (2918, 482, 1158, 25, 0x2169df8353227ae7),
            (1730, 1843, 6634, 145, 0x3adb8224bb381365), (982, 1146, 6079, 133, 0xa9857cd2b0b62ca4), (1886, 2133, 6079, 133, 0xa9857cd2b0b62ca4),
            (614, 929, 4426, 97, 0x34ca3567db797f15), (789, 894, 6079, 133, 0xa9857cd2b0b62ca4), (2958, 928, 2246, 49, 0xb277b76b4a18b111),
            (2658, 318, 1158, 25, 0x2169df8353227ae7), (537, 1810, 2254, 49, 0x9738958c8c97c06d), (2785, 1046, 2790, 61, 0xf6147a1dad6ad43c),
            (2766, 922, 2246, 49, 0xb277b76b4a18b111), (1904, 380, 1702, 37, 0x06253ee1816cf7ae), (2167, 2738, 5524, 121, 0xb183baae7fff1503),
            (2270, 264, 1158, 25, 0x2169df8353227ae7), (1642, 957, 3878, 85, 0x2cecb02f793c54a2), (2135, 2262, 6634, 145, 0x3adb8224bb381365),
            (429, 1408, 2254, 49, 0x9738958c8c97c06d), (1149, 2793, 2797, 61, 0x6c6f7dccefa1afe4), (2874, 1718, 4422, 97, 0x0ee3d8be1710f3b5),
            (1284, 1189, 6634, 145, 0x3adb8224bb381365),
        ],
        // sizes transformers raises on
        errors: &[],
    };

    /// (table, width, height, the replacement in full)
    #[rustfmt::skip]
    const SPELLED_OUT: &[(&Table, u32, u32, &str)] = &[
        (&IDEFICS3_UNSPLIT, 640, 480, "<fake_token_around_image><global-img><image><image><image><fake_token_around_image>"),
        (&SMOLVLM_NO_RESIZE, 1000, 600, "<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n<fake_token_around_image><row_2_col_1><image><fake_token_around_image><row_2_col_2><image>\n\n<fake_token_around_image><global-img><image><fake_token_around_image>"),
        (&SMOLVLM_NO_RESIZE, 512, 512, "<fake_token_around_image><global-img><image><fake_token_around_image>"),
        (&SMOLVLM_NO_RESIZE, 513, 20, "<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n\n<fake_token_around_image><global-img><image><fake_token_around_image>"),
    ];

    #[rustfmt::skip]
    const TABLES: &[&Table] = &[&IDEFICS3, &SMOLVLM, &IDEFICS3_DEFAULTS, &IDEFICS3_UNSPLIT, &IDEFICS3_NO_RESIZE, &SMOLVLM_NO_RESIZE, &IDEFICS3_EXACT_SIZE, &IDEFICS3_ODD_CROP, &IDEFICS3_CLAMPED];
    // END GENERATED
}
