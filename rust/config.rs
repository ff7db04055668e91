//! Reading a Hugging Face tokenizer directory: `tokenizer.json`, `tokenizer_config.json`, `chat_template.jinja`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::vision::config::ProcessorFiles;

/// The special tokens transformers passes to every chat template (its `special_tokens_map`), in its order.
const SPECIAL_TOKEN_NAMES: [&str; 7] =
    ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// The text content of a tokenizer's files, before anything is compiled.
#[derive(Debug, Clone)]
pub struct TokenizerFiles {
    pub tokenizer_json: String,
    /// `tokenizer_config.json`, or an empty object when the directory has none.
    pub config: serde_json::Value,
    /// `chat_template.jinja`, which newer transformers versions save instead of a `chat_template` config entry
    /// (or the template of an older processor's `chat_template.json`).
    pub chat_template_file: Option<String>,
    /// A vision-language model's processor files; None for a text-only model.
    pub processor: Option<ProcessorFiles>,
}

/// The template of a processor's `chat_template.json` (`{"chat_template": "..."}`), as older transformers saved it.
fn processor_chat_template(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(value.get("chat_template")?.as_str()?.to_string())
}

impl TokenizerFiles {
    pub fn read_dir(dir: &Path) -> Result<TokenizerFiles> {
        let read = |name: &str| -> Result<Option<String>> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
            }
        };
        let tokenizer_json = read("tokenizer.json")?.ok_or_else(|| {
            Error::Config(format!("{} has no tokenizer.json (only fast tokenizers are supported)", dir.display()))
        })?;
        let config = match read("tokenizer_config.json")? {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                Error::Config(format!("tokenizer_config.json in {} is not valid JSON: {e}", dir.display()))
            })?,
            None => serde_json::Value::Object(Default::default()),
        };
        let chat_template_file = match read("chat_template.jinja")? {
            Some(text) => Some(text),
            None => read("chat_template.json")?.as_deref().and_then(processor_chat_template),
        };
        let processor = ProcessorFiles::read_dir(dir, &config)?;
        Ok(TokenizerFiles { tokenizer_json, config, chat_template_file, processor })
    }

    /// `(name, token)` for each special token the config sets, as transformers' `special_tokens_map`.
    pub fn special_tokens(&self) -> Vec<(String, String)> {
        SPECIAL_TOKEN_NAMES
            .iter()
            .filter_map(|name| {
                let token = match self.config.get(*name)? {
                    serde_json::Value::String(s) => s.clone(),
                    // Older configs store AddedToken objects: {"content": "<s>", "__type": "AddedToken", ...}
                    serde_json::Value::Object(o) => o.get("content")?.as_str()?.to_string(),
                    _ => return None,
                };
                Some((name.to_string(), token))
            })
            .collect()
    }

    /// The chat templates by name. A single template is named `default`; a config may list several
    /// (`[{"name": "default", "template": ...}, {"name": "tool_use", ...}]`).
    pub fn chat_templates(&self) -> Result<Vec<(String, String)>> {
        if let Some(text) = &self.chat_template_file {
            return Ok(vec![("default".into(), text.clone())]);
        }
        match self.config.get("chat_template") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::String(s)) => Ok(vec![("default".into(), s.clone())]),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let name = item.get("name").and_then(|v| v.as_str());
                    let template = item.get("template").and_then(|v| v.as_str());
                    match (name, template) {
                        (Some(n), Some(t)) => Ok((n.to_string(), t.to_string())),
                        _ => Err(Error::Config("chat_template list entries need 'name' and 'template'".into())),
                    }
                })
                .collect(),
            Some(other) => Err(Error::Config(format!("chat_template must be a string or a list, got {other}"))),
        }
    }
}
