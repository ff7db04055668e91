//! Tokenization of rendered text with the Hugging Face `tokenizers` crate, keeping byte offsets.

use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::fast_tokenize::FastByteLevel;

/// Token ids with each token's `(start, end)` byte range in the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
}

pub struct TextTokenizer {
    inner: Tokenizer,
    /// The lean path for byte-level BPE tokenizers, when this tokenizer's configuration allows it.
    fast: Option<FastByteLevel>,
}

impl TextTokenizer {
    pub fn from_json(json: &str) -> Result<TextTokenizer> {
        let mut inner =
            json.parse::<Tokenizer>().map_err(|e| Error::Config(format!("tokenizer.json could not be loaded: {e}")))?;
        // transformers turns off the truncation and padding a tokenizer.json may carry unless asked for them.
        inner
            .with_truncation(None)
            .map_err(|e| Error::Config(format!("tokenizer.json: {e}")))?
            .with_padding(None);
        let config: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Config(format!("tokenizer.json is not valid JSON: {e}")))?;
        let fast = FastByteLevel::for_config(&config, &inner);
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
