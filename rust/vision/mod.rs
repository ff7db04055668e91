//! Images and videos in a conversation: each placeholder the template writes becomes the token run the model's
//! processor writes for that image, read from the processor files beside the tokenizer.
//!
//! - [`media`]: a conversation's images and videos, in the order transformers collects them;
//! - [`header`]: an image's size from its file header, without decoding the pixels;
//! - [`config`]: the processor files; [`size`]: transformers' rules for image sizes;
//! - one module per family of processors ([`qwen`], [`gemma3`], [`idefics3`], [`llava`]): the text an image becomes;
//! - [`expand`]: the render with each placeholder replaced, and where the image runs lie.

pub mod config;
pub mod expand;
#[cfg(test)]
mod expected;
pub mod gemma3;
pub mod header;
pub mod idefics3;
pub mod llava;
pub mod media;
pub mod qwen;
pub mod size;

use crate::error::{Error, Result};
use config::ProcessorFiles;
use gemma3::Gemma3Processor;
use idefics3::Idefics3Processor;
use llava::LlavaProcessor;
use media::{Kind, Media};
use qwen::QwenGrid;

/// An image's size in pixels, as the processor sees it (EXIF orientation applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

/// A row's images and videos, in order, with what they became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisionRow {
    pub images: Vec<Media>,
    pub videos: Vec<Media>,
    /// Per image (video), its patch grid `[t, h, w]`, for the families that have one.
    pub image_grid_thw: Vec<[u64; 3]>,
    pub video_grid_thw: Vec<[u64; 3]>,
    /// Tokens wholly inside the image and video runs.
    pub num_image_tokens: usize,
}

/// The processors sftmask expands images for.
#[derive(Debug, Clone)]
enum Family {
    /// Qwen2-VL, Qwen2.5-VL, Qwen3-VL; `video` for the families whose video text is only pad tokens.
    Qwen {
        image: QwenGrid,
        video: Option<QwenGrid>,
    },
    Gemma3(Gemma3Processor),
    Idefics3(Idefics3Processor),
    Llava(LlavaProcessor),
}

/// A model's processor, as far as the text it writes for each image and video.
#[derive(Debug, Clone)]
pub struct Vision {
    /// The processor class (`Qwen2_5_VLProcessor`), for messages.
    name: String,
    family: Family,
}

/// What one image or video becomes: its text, the text around the placeholder that belongs to it
/// (`<|vision_start|>` ... `<|vision_end|>`), and its patch grid where the family has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub text: String,
    pub grid: Option<[u64; 3]>,
}

impl Vision {
    /// The processor the files describe; [`Error::Template`] naming it when sftmask does not expand its images.
    pub fn from_files(files: &ProcessorFiles) -> Result<Vision> {
        let class = files.processor_class().or(files.image_processor_type()).unwrap_or("unknown").to_string();
        let config = |e: String| Error::Config(format!("{class}: {e}"));
        let family = match class.as_str() {
            "Qwen2VLProcessor" | "Qwen2_5_VLProcessor" | "Qwen2VLImageProcessor" => Family::Qwen {
                image: QwenGrid::image(&files.image).map_err(config)?,
                video: Some(QwenGrid::video(&files.video).map_err(config)?),
            },
            "Qwen3VLProcessor" => Family::Qwen { image: QwenGrid::image(&files.image).map_err(config)?, video: None },
            "Gemma3Processor" | "Gemma3ImageProcessor" => {
                Family::Gemma3(Gemma3Processor::from_files(files).map_err(config)?)
            }
            "Idefics3Processor" | "SmolVLMProcessor" | "Idefics3ImageProcessor" | "SmolVLMImageProcessor" => {
                let smolvlm = class.starts_with("SmolVLM");
                Family::Idefics3(
                    Idefics3Processor::from_configs(&files.image, &files.processor, smolvlm).map_err(config)?,
                )
            }
            "LlavaProcessor" | "LlavaNextProcessor" | "LlavaNextImageProcessor" => {
                let next = class.starts_with("LlavaNext");
                Family::Llava(LlavaProcessor::from_configs(&files.image, &files.processor, next).map_err(config)?)
            }
            other => {
                return Err(Error::Template(format!(
                    "the processor {other} is not supported: sftmask expands the images of Qwen2-VL, Qwen2.5-VL, \
                     Qwen3-VL, Gemma 3, Idefics3, SmolVLM, LLaVA and LLaVA-NeXT"
                )))
            }
        };
        Ok(Vision { name: class, family })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the family's images have a patch grid (`image_grid_thw`).
    pub fn has_grids(&self) -> bool {
        matches!(self.family, Family::Qwen { .. })
    }

    /// Whether sftmask expands this family's videos.
    pub fn takes_videos(&self) -> bool {
        matches!(self.family, Family::Qwen { video: Some(_), .. })
    }

    /// The text the chat template writes for one image or video, which the processor replaces.
    pub fn placeholder(&self, kind: Kind) -> Option<&str> {
        match (&self.family, kind) {
            (Family::Qwen { .. }, Kind::Image) => Some("<|image_pad|>"),
            (Family::Qwen { .. }, Kind::Video) => Some("<|video_pad|>"),
            (Family::Gemma3(gemma), Kind::Image) => Some(&gemma.boi_token),
            (Family::Idefics3(idefics), Kind::Image) => Some(idefics.placeholder()),
            (Family::Llava(llava), Kind::Image) => Some(llava.placeholder()),
            _ => None,
        }
    }

    /// Template text right around a placeholder that belongs to its image: trained never, counted as image tokens.
    pub fn wrappers(&self) -> (&str, &str) {
        match self.family {
            Family::Qwen { .. } => ("<|vision_start|>", "<|vision_end|>"),
            _ => ("", ""),
        }
    }

    /// Fails for a kind of media the family does not take, or whose expansion sftmask does not support.
    pub fn check_kind(&self, kind: Kind) -> Result<()> {
        match kind {
            Kind::Video if !self.takes_videos() => Err(self.video_refusal()),
            _ => Ok(()),
        }
    }

    /// Why this family's videos are refused: transformers' processor takes them and sftmask does not expand them
    /// yet (Qwen3-VL's frame timestamps, SmolVLM's frame prompts), or the model takes none.
    fn video_refusal(&self) -> Error {
        match self.family {
            Family::Qwen { .. } | Family::Idefics3(_)
                if ["Qwen3", "SmolVLM"].iter().any(|p| self.name.starts_with(p)) =>
            {
                Error::Template(format!(
                    "videos for {} are not expanded yet (Qwen2-VL's and Qwen2.5-VL's are); give their frames as images",
                    self.name
                ))
            }
            _ => Error::Input(format!("{} takes no videos, only images", self.name)),
        }
    }

    /// What `item` becomes in the text.
    pub fn replacement(&self, item: &Media) -> Result<Replacement> {
        let input = |e: String| Error::Input(e);
        match (&self.family, item.kind) {
            (Family::Qwen { image, .. }, Kind::Image) => {
                let grid = image.grid(item.size, 1).map_err(input)?;
                Ok(Replacement { text: "<|image_pad|>".repeat(image.tokens(grid) as usize), grid: Some(grid) })
            }
            (Family::Qwen { video: Some(video), .. }, Kind::Video) => {
                let grid = video.grid(item.size, item.frames()).map_err(input)?;
                Ok(Replacement { text: "<|video_pad|>".repeat(video.tokens(grid) as usize), grid: Some(grid) })
            }
            (_, Kind::Video) => Err(self.video_refusal()),
            (Family::Gemma3(gemma), Kind::Image) => {
                Ok(Replacement { text: gemma.full_image_sequence.clone(), grid: None })
            }
            (Family::Idefics3(idefics), Kind::Image) => {
                Ok(Replacement { text: idefics.try_expand(item.size).map_err(input)?, grid: None })
            }
            (Family::Llava(llava), Kind::Image) => {
                Ok(Replacement { text: llava.try_expand(item.size).map_err(input)?, grid: None })
            }
        }
    }
}
