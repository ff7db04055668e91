//! The text tokenizer: the Hugging Face `tokenizers` pipeline as transformers builds it, or sftmask's fast path.

use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::tokenize::fast::FastTokenizer;
use crate::tokenize::tokens::Tokens;

/// Rewrites a parsed `tokenizer.json` as transformers 5 rebuilds it for the tokenizer class that
/// `tokenizer_config.json` names, where that differs from the file; returns whether it changed anything.
///
/// transformers 5 keeps only the vocabulary and merges of a `LlamaTokenizer` (Llama 2, Mistral v0.1, ...) and
/// builds the rest itself: no normalizer, and a `Metaspace` pre-tokenizer that prefixes "▁" to text that does not
/// start with a space (`prepend_scheme` "always" under `legacy`, "first" otherwise: only at the start of the
/// whole text; "never" without `add_prefix_space`). The file's own `Prepend("▁")` normalizer would prefix every
/// piece after a special token, even one starting with a space ("</s> x": [2, 28705, 1318] instead of [2, 1318]).
/// TRL tokenizes with transformers, so its ids are the reference. A file that mentions `"ByteLevel"` (DeepSeek-V3
/// declares `LlamaTokenizerFast` for a byte-level tokenizer) is loaded as it is, as transformers' `AutoTokenizer`
/// does.
fn as_transformers_builds_it(json: &str, config: &mut serde_json::Value, tokenizer_config: &serde_json::Value) -> bool {
    use serde_json::{json, Value};
    let class = tokenizer_config.get("tokenizer_class").and_then(Value::as_str);
    let is_bpe = config.pointer("/model/type").and_then(Value::as_str) == Some("BPE");
    if !matches!(class, Some("LlamaTokenizer" | "LlamaTokenizerFast")) || !is_bpe || json.contains("\"ByteLevel\"") {
        return false;
    }
    // `LlamaTokenizer.__init__`: `add_prefix_space` defaults to true, `legacy` to false.
    let add_prefix_space = tokenizer_config.get("add_prefix_space").and_then(Value::as_bool).unwrap_or(true);
    let legacy = tokenizer_config.get("legacy").and_then(Value::as_bool).unwrap_or(false);
    let prepend_scheme = match (add_prefix_space, legacy) {
        (false, _) => "never",
        (true, true) => "always",
        (true, false) => "first",
    };
    let model = config.get_mut("model").and_then(Value::as_object_mut).expect("checked: an object with a type");
    // `BPE(vocab, merges, fuse_unk=True, byte_fallback=True, dropout=None)`: every other option at its default.
    model.retain(|key, _| matches!(key.as_str(), "type" | "vocab" | "merges"));
    model.insert("fuse_unk".into(), json!(true));
    model.insert("byte_fallback".into(), json!(true));
    config["normalizer"] = Value::Null;
    config["pre_tokenizer"] =
        json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": prepend_scheme, "split": false});
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": "▁"}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if add_prefix_space {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    config["decoder"] = json!({"type": "Sequence", "decoders": decoders});
    true
}

pub struct TextTokenizer {
    inner: Tokenizer,
    /// The lean path for BPE tokenizers, when this tokenizer's configuration allows it.
    fast: Option<FastTokenizer>,
}

impl TextTokenizer {
    pub fn from_json(json: &str) -> Result<TextTokenizer> {
        TextTokenizer::from_files(json, &serde_json::Value::Null)
    }

    /// Loads `tokenizer.json` as transformers' `AutoTokenizer` loads it beside `tokenizer_config.json` (`config`).
    pub fn from_files(json: &str, tokenizer_config: &serde_json::Value) -> Result<TextTokenizer> {
        let mut config: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Config(format!("tokenizer.json is not valid JSON: {e}")))?;
        let rebuilt = as_transformers_builds_it(json, &mut config, tokenizer_config);
        let json = if rebuilt { std::borrow::Cow::Owned(config.to_string()) } else { std::borrow::Cow::Borrowed(json) };
        let mut inner =
            json.parse::<Tokenizer>().map_err(|e| Error::Config(format!("tokenizer.json could not be loaded: {e}")))?;
        // transformers turns off the truncation and padding a tokenizer.json may carry unless asked for them.
        inner.with_truncation(None).map_err(|e| Error::Config(format!("tokenizer.json: {e}")))?.with_padding(None);
        let fast = FastTokenizer::for_config(&config, &inner);
        Ok(TextTokenizer { inner, fast })
    }

    /// Encodes `text` as transformers does under a chat template: no special tokens added around it (the template
    /// writes them itself), special tokens spelled in the text recognised as such.
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        if let Some(tokens) = self.fast.as_ref().and_then(|fast| fast.encode(&self.inner, text)) {
            return tokens.map_err(|e| Error::Tokenizer(e.to_string()));
        }
        self.encode_full(text)
    }

    /// Encodes through the whole `tokenizers` pipeline, the reference for the fast path.
    pub fn encode_full(&self, text: &str) -> Result<Tokens> {
        let encoding = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Tokens { ids: encoding.get_ids().to_vec(), offsets: encoding.get_offsets().to_vec() })
    }

    /// Encodes plain text as the tokenizer does by default, adding its special tokens (a BOS, for Llama).
    pub fn encode_plain(&self, text: &str) -> Result<Tokens> {
        let encoding = self.inner.encode(text, true).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Tokens { ids: encoding.get_ids().to_vec(), offsets: encoding.get_offsets().to_vec() })
    }

    /// Encodes `text` as plain text, matching none of the added tokens (special or not): normalizer,
    /// pre-tokenizer and model only, as transformers' `_encode_without_added_tokens` does.
    pub fn encode_without_added_tokens(&self, text: &str) -> Result<Tokens> {
        use tokenizers::{Model, Normalizer, OffsetType, PreTokenizedString, PreTokenizer};
        let error = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
        let mut pieces = PreTokenizedString::from(text);
        if let Some(normalizer) = self.inner.get_normalizer() {
            pieces.normalize(|s| normalizer.normalize(s)).map_err(error)?;
        }
        if let Some(pre_tokenizer) = self.inner.get_pre_tokenizer() {
            pre_tokenizer.pre_tokenize(&mut pieces).map_err(error)?;
        }
        let model = self.inner.get_model();
        pieces.tokenize(|s| model.tokenize(s.get())).map_err(error)?;
        let encoding = pieces.into_encoding(None, 0, OffsetType::Byte).map_err(error)?;
        Ok(Tokens { ids: encoding.get_ids().to_vec(), offsets: encoding.get_offsets().to_vec() })
    }

    /// The tokenizer's added tokens and whether each is special.
    pub fn added_tokens(&self) -> Vec<(String, bool)> {
        self.inner.get_added_tokens_decoder().into_values().map(|t| (t.content, t.special)).collect()
    }

    /// The text of the tokenizer's special added tokens (`<|im_end|>`, `</s>`, ...), longest first.
    pub fn special_tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> =
            self.inner.get_added_tokens_decoder().into_values().filter(|t| t.special).map(|t| t.content).collect();
        tokens.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        tokens
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner.decode(ids, skip_special_tokens).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_tokenizer_ids_as_transformers_gives_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tokenizers/llama2");
        let Ok(json) = std::fs::read_to_string(dir.join("tokenizer.json")) else { return };
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap()).unwrap();
        let tokenizer = TextTokenizer::from_files(&json, &config).unwrap();
        assert!(tokenizer.has_fast_path());
        // transformers 5's `AutoTokenizer`: the "▁" prefix only where the text does not start with a space.
        for (text, ids) in [("</s> x", vec![2, 1318]), (" lead", vec![1736]), ("lead", vec![1736])] {
            assert_eq!(tokenizer.encode(text).unwrap().ids, ids, "{text:?}");
            assert_eq!(tokenizer.encode_full(text).unwrap().ids, ids, "{text:?}");
        }
        // Without the config, the file as it is: a "▁" before every piece.
        let raw = TextTokenizer::from_json(&json).unwrap();
        assert_eq!(raw.encode("</s> x").unwrap().ids, [2, 28705, 1318]);
    }
}
