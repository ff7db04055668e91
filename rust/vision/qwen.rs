//! Qwen2-VL, Qwen2.5-VL and Qwen3-VL: an image is resized to a grid of patches and each merged patch (merge x merge
//! patches) is one `<|image_pad|>`; a video's frames are taken `temporal_patch_size` at a time.

use serde_json::Value;

use super::config::{number, size_field};
use super::ImageSize;

/// One of the Qwen-VL image or video processors, as its config sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct QwenGrid {
    pub patch_size: u64,
    pub merge_size: u64,
    pub temporal_patch_size: u64,
    pub min_pixels: u64,
    pub max_pixels: u64,
}

impl QwenGrid {
    /// The image processor's settings, with transformers' defaults: `Qwen2VLImageProcessor`'s, whose `size`
    /// (`shortest_edge` / `longest_edge`, in pixels) older configs give as `min_pixels` / `max_pixels`.
    pub fn image(config: &Value) -> Result<QwenGrid, String> {
        QwenGrid::read(config, 56 * 56, 28 * 28 * 1280)
    }

    /// The video processor's settings, with `Qwen2VLVideoProcessor`'s defaults.
    pub fn video(config: &Value) -> Result<QwenGrid, String> {
        if config.get("cap_pixels_per_frame").and_then(Value::as_bool) == Some(true) {
            return Err("cap_pixels_per_frame=True in the video processor's config is not supported".into());
        }
        QwenGrid::read(config, 128 * 28 * 28, 28 * 28 * 768)
    }

    fn read(config: &Value, min_pixels: u64, max_pixels: u64) -> Result<QwenGrid, String> {
        if config.get("do_resize").and_then(Value::as_bool) == Some(false) {
            return Err("do_resize=False in the processor's config is not supported".into());
        }
        let min_pixels = number(config, "min_pixels")?.or(size_field(config, "shortest_edge")?).unwrap_or(min_pixels);
        let max_pixels = number(config, "max_pixels")?.or(size_field(config, "longest_edge")?).unwrap_or(max_pixels);
        Ok(QwenGrid {
            patch_size: number(config, "patch_size")?.unwrap_or(14),
            merge_size: number(config, "merge_size")?.unwrap_or(2),
            temporal_patch_size: number(config, "temporal_patch_size")?.unwrap_or(2),
            min_pixels,
            max_pixels,
        })
    }

    /// The grid `[t, h, w]` in patches of an image (`frames` 1) or of a video's `frames` frames, each of `size`:
    /// `image_grid_thw` / `video_grid_thw`.
    pub fn grid(&self, size: ImageSize, frames: u64) -> Result<[u64; 3], String> {
        let factor = self.patch_size * self.merge_size;
        let (height, width) =
            smart_resize(size.height as u64, size.width as u64, factor, self.min_pixels, self.max_pixels)?;
        // Frames are padded to a multiple of temporal_patch_size by repeating the last one.
        let t = frames.div_ceil(self.temporal_patch_size);
        Ok([t, height / self.patch_size, width / self.patch_size])
    }

    /// The number of pad tokens a grid stands for.
    pub fn tokens(&self, grid: [u64; 3]) -> u64 {
        grid.iter().product::<u64>() / (self.merge_size * self.merge_size)
    }
}

/// transformers' `smart_resize`: both sides rounded to multiples of `factor`, the area brought within
/// `[min_pixels, max_pixels]` keeping the aspect ratio. Python's `round` rounds halves to even.
fn smart_resize(height: u64, width: u64, factor: u64, min_pixels: u64, max_pixels: u64) -> Result<(u64, u64), String> {
    let (h, w, f) = (height as f64, width as f64, factor as f64);
    if height == 0 || width == 0 {
        return Err("the image is empty (0 pixels wide or high)".into());
    }
    if h.max(w) / h.min(w) > 200.0 {
        return Err(format!("absolute aspect ratio must be smaller than 200, got {}", h.max(w) / h.min(w)));
    }
    let mut h_bar = (h / f).round_ties_even() as u64 * factor;
    let mut w_bar = (w / f).round_ties_even() as u64 * factor;
    if h_bar * w_bar > max_pixels {
        let beta = (h * w / max_pixels as f64).sqrt();
        h_bar = factor.max((h / beta / f).floor() as u64 * factor);
        w_bar = factor.max((w / beta / f).floor() as u64 * factor);
    } else if h_bar * w_bar < min_pixels {
        let beta = (min_pixels as f64 / (h * w)).sqrt();
        h_bar = (h * beta / f).ceil() as u64 * factor;
        w_bar = (w * beta / f).ceil() as u64 * factor;
    }
    Ok((h_bar, w_bar))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32) -> ImageSize {
        ImageSize { width, height }
    }

    #[test]
    fn qwen2_5_vl_defaults() {
        let grid = QwenGrid::image(&serde_json::json!({})).unwrap();
        // 640x480: 480/28 = 17.14 -> 17*28 = 476 = 34 patches; 640/28 = 22.86 -> 23*28 = 644 = 46 patches.
        assert_eq!(grid.grid(size(640, 480), 1).unwrap(), [1, 34, 46]);
        assert_eq!(grid.tokens([1, 34, 46]), 391);
        // Tiny images grow to min_pixels: 1x1 -> 56x56 = 4x4 patches.
        assert_eq!(grid.grid(size(1, 1), 1).unwrap(), [1, 4, 4]);
    }

    #[test]
    fn halves_round_to_even_as_python_does() {
        let grid = QwenGrid::image(&serde_json::json!({})).unwrap();
        // 42/28 = 1.5 rounds to 2, 70/28 = 2.5 rounds to 2.
        assert_eq!(grid.grid(size(70, 42), 1).unwrap()[1..], [4, 4]);
    }

    #[test]
    fn large_images_shrink_below_max_pixels_and_videos_pad_frames() {
        let grid = QwenGrid::image(&serde_json::json!({"min_pixels": 3136, "max_pixels": 12845056})).unwrap();
        let [_, h, w] = grid.grid(size(4000, 3000), 1).unwrap();
        assert!(h * w * 14 * 14 <= 12845056);
        let video = QwenGrid::video(&serde_json::json!({})).unwrap();
        assert_eq!(video.grid(size(640, 480), 5).unwrap()[0], 3);
    }

    #[test]
    fn extreme_aspect_ratios_and_empty_images_are_refused() {
        let grid = QwenGrid::image(&serde_json::json!({})).unwrap();
        assert!(grid.grid(size(1, 300), 1).unwrap_err().contains("aspect ratio"));
        assert!(grid.grid(size(0, 3), 1).is_err());
    }
}
