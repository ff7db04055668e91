//! The masker: renders a conversation with its chat template, tokenizes it, and labels the trained tokens.

use std::path::Path;

use minijinja::value::Value;

use crate::config::TokenizerFiles;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::spans::{labels, trained_tokens};
use crate::template::{ChatTemplate, RenderLimits, Rendered};
use crate::tokenize::TextTokenizer;

/// Template variables beyond the conversation itself, as given to `apply_chat_template`.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub add_generation_prompt: bool,
    /// Extra keyword arguments (`enable_thinking=False`, ...), overriding special tokens of the same name.
    pub template_kwargs: Vec<(String, Value)>,
}

/// One encoded conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    pub input_ids: Vec<u32>,
    /// The token id where trained, `-100` elsewhere.
    pub labels: Vec<i32>,
}

impl Encoded {
    pub fn num_trained_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != crate::spans::IGNORE_INDEX).count()
    }
}

pub struct Masker {
    /// Named templates; a single template is named `default`.
    templates: Vec<(String, ChatTemplate)>,
    tokenizer: TextTokenizer,
    special_tokens: Vec<(String, Value)>,
}

impl Masker {
    /// Loads a tokenizer directory. `chat_template` replaces the directory's own template(s).
    pub fn from_dir(dir: &Path, chat_template: Option<&str>) -> Result<Masker> {
        Masker::from_files(&TokenizerFiles::read_dir(dir)?, chat_template)
    }

    pub fn from_files(files: &TokenizerFiles, chat_template: Option<&str>) -> Result<Masker> {
        let sources = match chat_template {
            Some(text) => vec![("default".to_string(), text.to_string())],
            None => files.chat_templates()?,
        };
        let limits = RenderLimits::default();
        let templates = sources
            .into_iter()
            .map(|(name, source)| {
                let template = ChatTemplate::new(&source, limits).map_err(|e| e.context(format_args!("chat template '{name}'")))?;
                Ok((name, template))
            })
            .collect::<Result<Vec<_>>>()?;
        let special_tokens = files.special_tokens().into_iter().map(|(name, token)| (name, Value::from(token))).collect();
        Ok(Masker { templates, tokenizer: TextTokenizer::from_json(&files.tokenizer_json)?, special_tokens })
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn template_names(&self) -> Vec<&str> {
        self.templates.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The template transformers' `get_chat_template` would pick: `tool_use` when there are tools and such a
    /// template exists, otherwise `default`.
    pub fn template_for(&self, has_tools: bool) -> Result<&ChatTemplate> {
        let find = |wanted: &str| self.templates.iter().find(|(name, _)| name == wanted).map(|(_, t)| t);
        if self.templates.len() == 1 {
            return Ok(&self.templates[0].1);
        }
        if self.templates.is_empty() {
            return Err(Error::Template(
                "this tokenizer has no chat template: pass chat_template= (the template text or a file path)".into(),
            ));
        }
        has_tools
            .then(|| find("tool_use"))
            .flatten()
            .or_else(|| find("default"))
            .ok_or_else(|| Error::Template("this tokenizer has several chat templates and none is named 'default'".into()))
    }

    /// The variables the template sees, as transformers passes them.
    fn context(&self, conversation: &Conversation, options: &RenderOptions) -> Value {
        let mut vars: Vec<(String, Value)> = vec![
            ("messages".into(), conversation.messages.clone()),
            ("tools".into(), conversation.tools.clone().unwrap_or(Value::from(()))),
            ("documents".into(), Value::from(())),
            ("add_generation_prompt".into(), Value::from(options.add_generation_prompt)),
        ];
        vars.extend(self.special_tokens.iter().cloned());
        vars.extend(options.template_kwargs.iter().cloned());
        // Later entries win, as `{**special_tokens_map, **kwargs}` does.
        crate::conversation::map_value(vars)
    }

    pub fn render(&self, conversation: &Conversation, options: &RenderOptions) -> Result<Rendered> {
        let template = self.template_for(conversation.tools.is_some())?;
        template.render(self.context(conversation, options))
    }

    /// Renders, tokenizes and labels: tokens overlapping a `{% generation %}` span are trained.
    pub fn encode(&self, conversation: &Conversation, options: &RenderOptions) -> Result<Encoded> {
        let template = self.template_for(conversation.tools.is_some())?;
        if !template.has_generation_tags() {
            return Err(Error::Template(
                "the chat template has no {% generation %} tags, so the assistant's tokens cannot be located; \
                 pass a training template (chat_template=) that marks them"
                    .into(),
            ));
        }
        let rendered = template.render(self.context(conversation, options))?;
        let tokens = self.tokenizer.encode(&rendered.text)?;
        let trained = trained_tokens(&tokens.offsets, &rendered.generation_spans);
        let labels = labels(&tokens.ids, &trained);
        Ok(Encoded { input_ids: tokens.ids, labels })
    }
}
