//! Gemma 3: every image is the same run of `image_seq_length` soft tokens between its begin and end markers.

use super::config::{number, ProcessorFiles};

#[derive(Debug, Clone, PartialEq)]
pub struct Gemma3Processor {
    /// The template's placeholder for an image: the begin-of-image token.
    pub boi_token: String,
    /// What the processor writes in its place.
    pub full_image_sequence: String,
}

impl Gemma3Processor {
    pub fn from_files(files: &ProcessorFiles) -> Result<Gemma3Processor, String> {
        if files.image.get("do_pan_and_scan").and_then(serde_json::Value::as_bool) == Some(true) {
            return Err("do_pan_and_scan=True (crops of each image) is not supported".into());
        }
        let image_seq_length = number(&files.processor, "image_seq_length")?.unwrap_or(256) as usize;
        let boi_token = files.tokenizer_token("boi_token", "<start_of_image>");
        let eoi_token = files.tokenizer_token("eoi_token", "<end_of_image>");
        let image_token = files.tokenizer_token("image_token", "<image_soft_token>");
        let soft_tokens = image_token.repeat(image_seq_length);
        let full_image_sequence = format!("\n\n{boi_token}{soft_tokens}{eoi_token}\n\n");
        Ok(Gemma3Processor { boi_token, full_image_sequence })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_is_fixed_and_reads_the_tokens_and_length() {
        let files = ProcessorFiles {
            processor: serde_json::json!({"image_seq_length": 2}),
            tokenizer: serde_json::json!({"boi_token": "<boi>", "extra_special_tokens": {"eoi_token": "<eoi>"}}),
            ..Default::default()
        };
        let gemma = Gemma3Processor::from_files(&files).unwrap();
        assert_eq!(gemma.boi_token, "<boi>");
        assert_eq!(gemma.full_image_sequence, "\n\n<boi><image_soft_token><image_soft_token><eoi>\n\n");
    }
}
