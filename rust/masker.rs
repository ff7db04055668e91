//! The masker: renders a conversation with its chat template, tokenizes it, and labels the trained tokens.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;
use std::path::Path;

use minijinja::value::Value;

use crate::config::TokenizerFiles;
use crate::error::{Error, Result};
use crate::input::conversation::{Conversation, PlainText, Row};
use crate::labels::encoded::{kept, truncate, Encoded};
use crate::labels::eot::without_end_of_turn;
use crate::labels::loop_locator::{LoopLocator, Renders};
use crate::labels::spans::{labels, trained_tokens};
use crate::labels::turns::TurnLocator;
use crate::policy::{assistant_messages, EndOfTurn, History, Mode, Policy};
use crate::render::template::{ChatTemplate, RenderLimits, Rendered};
use crate::tokenize::sanitize::Sanitizer;
use crate::tokenize::{TextTokenizer, Tokens};
use crate::vision::expand::expand;
use crate::vision::media::{self, Kind};
use crate::vision::{Vision, VisionRow};

/// Template variables beyond the conversation itself, as given to `apply_chat_template`.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub add_generation_prompt: bool,
    /// Extra keyword arguments (`enable_thinking=False`, ...), overriding special tokens of the same name.
    pub template_kwargs: Vec<(String, Value)>,
}

impl RenderOptions {
    /// These options with a row's own template variables over them.
    fn for_row(&self, conversation: &Conversation) -> Cow<'_, RenderOptions> {
        if conversation.template_kwargs.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut options = self.clone();
        options.template_kwargs.extend(conversation.template_kwargs.iter().cloned());
        Cow::Owned(options)
    }
}

/// A trained message's index and the byte ranges of its turn in the render.
pub type LocatedTurn = (usize, Vec<Range<usize>>);

/// A row's encodings under the policy's `history`.
#[derive(Debug)]
pub struct Expansion {
    /// The rows written: one as rendered (message None), or one per trained message, with that message's index.
    pub rows: Vec<(Option<usize>, Encoded)>,
    /// Tokens of the row rendered once: what `history="as_rendered"` writes.
    pub tokens_as_rendered: usize,
    /// Trained text the rows written leave out.
    pub lost: Lost,
}

impl Expansion {
    fn as_rendered(encoded: Encoded, lost: Lost) -> Expansion {
        Expansion { tokens_as_rendered: encoded.input_ids.len(), rows: vec![(None, encoded)], lost }
    }
}

/// Trained messages whose reasoning a render leaves out, and the tokens their own last-turn renders would train
/// beyond it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    pub messages: usize,
    pub tokens: usize,
}

/// A located turn's text and its number of tokens.
struct TurnText {
    text: String,
    tokens: usize,
}

/// Per token, whether it lies wholly inside one of the (sorted) `runs`.
fn tokens_in(offsets: &[(usize, usize)], runs: &[Range<usize>]) -> Vec<bool> {
    let mut run = 0;
    offsets
        .iter()
        .map(|&(start, end)| {
            while run < runs.len() && runs[run].end <= start {
                run += 1;
            }
            run < runs.len() && runs[run].start <= start && end <= runs[run].end && start < end
        })
        .collect()
}

/// Fails a truncated row whose cut went through image tokens: its images would no longer match its ids.
fn check_runs_whole(in_runs: &[bool], policy: &Policy) -> Result<()> {
    let keep = kept(in_runs.len(), policy.max_length, policy.truncation);
    if in_runs[..keep.start].contains(&true) || in_runs[keep.end..].contains(&true) {
        return Err(Error::Untrainable(format!(
            "max_length={} cuts into the row's image tokens, which must stay whole with their images",
            policy.max_length.unwrap_or(0)
        )));
    }
    Ok(())
}

/// The special token of the tokenizer config named `name` (`bos_token`), among those passed to templates.
fn special_token<'a>(special_tokens: &'a [(String, Value)], name: &str) -> Option<&'a str> {
    special_tokens.iter().find(|(n, _)| n == name).and_then(|(_, token)| token.as_str())
}

/// A selection of `len` messages with only message `k`.
fn only(k: usize, len: usize) -> Vec<bool> {
    (0..len).map(|i| i == k).collect()
}

/// A chat template of the tokenizer (`default`, `tool_use`, ...), with what `sanitize_control_tokens` marks in the
/// data it renders.
struct NamedTemplate {
    name: String,
    template: ChatTemplate,
    sanitizer: Sanitizer,
}

pub struct Masker {
    /// The templates; a single template is named `default`.
    templates: Vec<NamedTemplate>,
    tokenizer: TextTokenizer,
    special_tokens: Vec<(String, Value)>,
    /// The tokenizer's special tokens, longest first: what `train_end_of_turn=False` leaves untrained.
    end_of_turn_tokens: Vec<String>,
    /// The tokenizer's added tokens: where a generation prompt may be cut when a turn starts with part of it.
    added_tokens: Vec<String>,
    /// A vision-language model's processor: None for a text-only model, an error for a processor whose images
    /// sftmask does not expand (raised by the rows that hold images).
    vision: Option<Result<Vision>>,
    /// The BOS token, when renders are tokenized as a vision-language processor's `apply_chat_template` does: with
    /// the tokenizer's special tokens added unless the render starts with it (None: never added).
    processor_bos: Option<String>,
    policy: Policy,
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
        let tokenizer = TextTokenizer::from_files(&files.tokenizer_json, &files.config)?;
        let added_tokens = tokenizer.added_tokens();
        let templates = sources
            .into_iter()
            .map(|(name, source)| {
                let template = ChatTemplate::new(&source, limits)
                    .map_err(|e| e.context(format_args!("chat template '{name}'")))?;
                let sanitizer = Sanitizer::new(&source, &added_tokens);
                Ok(NamedTemplate { name, template, sanitizer })
            })
            .collect::<Result<Vec<_>>>()?;
        let special_tokens: Vec<(String, Value)> =
            files.special_tokens().into_iter().map(|(name, token)| (name, Value::from(token))).collect();
        let end_of_turn_tokens = tokenizer.special_tokens();
        let added_tokens = added_tokens.into_iter().map(|(content, _)| content).collect();
        let vision = files.processor.as_ref().map(Vision::from_files);
        // Only a vision-language processor tokenizes with the tokenizer's special tokens: text models skip the probe.
        let processor_bos = match &vision {
            Some(Ok(_)) if tokenizer.encode_plain("a")?.ids.len() > tokenizer.encode("a")?.ids.len() => {
                Some(special_token(&special_tokens, "bos_token").unwrap_or_default().to_string())
            }
            _ => None,
        };
        let policy = Policy::default();
        Ok(Masker {
            templates,
            tokenizer,
            special_tokens,
            end_of_turn_tokens,
            added_tokens,
            vision,
            processor_bos,
            policy,
        })
    }

    /// The same masker with `policy` as the policy of every call that does not bring its own.
    pub fn with_policy(mut self, policy: Policy) -> Masker {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The vision-language processor whose image expansion rows with images get; an error when there is none or
    /// sftmask does not support it.
    pub fn vision(&self) -> Result<&Vision> {
        match &self.vision {
            Some(Ok(vision)) => Ok(vision),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::Template(
                "the row holds images, and the tokenizer directory has no processor files (preprocessor_config.json): \
                 images need the vision-language model's processor to be expanded into their tokens"
                    .into(),
            )),
        }
    }

    pub fn template_names(&self) -> Vec<&str> {
        self.templates.iter().map(|t| t.name.as_str()).collect()
    }

    /// The variables any of the templates reads without setting them, sorted.
    pub fn template_variables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.templates.iter().flat_map(|t| t.template.variables()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The template transformers' `get_chat_template` would pick: `tool_use` when there are tools and such a
    /// template exists, otherwise `default`.
    pub fn template_for(&self, has_tools: bool) -> Result<&ChatTemplate> {
        Ok(&self.named_template_for(has_tools)?.template)
    }

    fn named_template_for(&self, has_tools: bool) -> Result<&NamedTemplate> {
        let find = |wanted: &str| self.templates.iter().find(|t| t.name == wanted);
        if self.templates.len() == 1 {
            return Ok(&self.templates[0]);
        }
        if self.templates.is_empty() {
            return Err(Error::Template(
                "this tokenizer has no chat template: pass chat_template= (the template text or a file path)".into(),
            ));
        }
        has_tools.then(|| find("tool_use")).flatten().or_else(|| find("default")).ok_or_else(|| {
            Error::Template("this tokenizer has several chat templates and none is named 'default'".into())
        })
    }

    /// The variables the template sees, as transformers passes them.
    fn context(&self, conversation: &Conversation, options: &RenderOptions) -> Value {
        self.context_for(conversation.messages.clone(), conversation, options.add_generation_prompt, options)
    }

    /// The variables for rendering `messages` (the conversation's or a part of them) with the conversation's tools.
    fn context_for(
        &self,
        messages: Value,
        conversation: &Conversation,
        add_generation_prompt: bool,
        options: &RenderOptions,
    ) -> Value {
        let mut vars: Vec<(String, Value)> = vec![
            ("messages".into(), messages),
            ("tools".into(), conversation.tools.clone().unwrap_or(Value::from(()))),
            ("documents".into(), Value::from(())),
            ("add_generation_prompt".into(), Value::from(add_generation_prompt)),
        ];
        vars.extend(self.special_tokens.iter().cloned());
        vars.extend(options.template_kwargs.iter().cloned());
        // Later entries win, as `{**special_tokens_map, **kwargs}` does.
        crate::values::map_value(vars)
    }

    /// Renders a conversation, with its own template variables over those of `options`.
    pub fn render(&self, conversation: &Conversation, options: &RenderOptions) -> Result<Rendered> {
        let template = self.template_for(conversation.tools.is_some())?;
        template.render(self.context(conversation, &options.for_row(conversation)))
    }

    /// Renders, tokenizes and labels one row under `policy` (the masker's when None): the trained text is what
    /// the template's `{% generation %}` blocks mark or, per the policy's mode, each trained message's turn. A chat
    /// row's own template variables go over those of `options`. One row as rendered, whatever `history` says.
    pub fn encode(&self, row: &Row, options: &RenderOptions, policy: Option<&Policy>) -> Result<Encoded> {
        let policy = policy.unwrap_or(&self.policy);
        match row {
            Row::Plain(_) if policy.sanitize_control_tokens => Err(Error::Input(
                "sanitize_control_tokens applies to chat rows; plain-text prompt-completion rows are tokenized as \
                 the tokenizer does by default"
                    .into(),
            )),
            Row::Plain(plain) => {
                let (text, spans) = self.plain_text(plain, policy);
                let tokens = self.tokenizer.encode_plain(&text)?;
                self.labelled(&text, spans, tokens, policy, &[])
            }
            Row::Chat(conversation) => {
                let options = options.for_row(conversation);
                self.encode_chat(conversation, &options, policy, &policy.select(conversation)?)
            }
        }
    }

    /// Encodes one row as the policy's `history` says: the row as rendered, or one row per trained turn.
    pub fn encode_history(&self, row: &Row, options: &RenderOptions, policy: Option<&Policy>) -> Result<Expansion> {
        let policy = policy.unwrap_or(&self.policy);
        let Row::Chat(conversation) = row else {
            return Ok(Expansion::as_rendered(self.encode(row, options, Some(policy))?, Lost::default()));
        };
        let options = options.for_row(conversation);
        let selected = policy.select(conversation)?;
        let full = self.encode_chat(conversation, &options, policy, &selected)?;
        let lost = match policy.history {
            History::PerTurn => None,
            History::AsRendered | History::Auto => Some(self.left_out(conversation, &options, &selected)?),
        };
        match lost {
            Some(lost) if policy.history == History::AsRendered || lost.messages == 0 => {
                Ok(Expansion::as_rendered(full, lost))
            }
            _ => {
                let tokens_as_rendered = full.input_ids.len();
                let rows = (0..selected.len())
                    .filter(|&k| selected[k])
                    .map(|k| {
                        let prefix = conversation.prefix(k + 1);
                        let encoded = self.encode_chat(&prefix, &options, policy, &only(k, k + 1));
                        Ok((Some(k), encoded.map_err(|e| e.context(format_args!("the row of message {k}")))?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Expansion { rows, tokens_as_rendered, lost: Lost::default() })
            }
        }
    }

    /// The trained text the full render of `conversation` leaves out: the selected messages, but the last, whose
    /// reasoning shows in the turn their own last-turn render trains and not in their turn of the full render (both
    /// located as `mode="turns"` locates them), and the tokens the former trains beyond the latter.
    fn left_out(&self, conversation: &Conversation, options: &RenderOptions, selected: &[bool]) -> Result<Lost> {
        let reasoning: Vec<Option<String>> = (0..selected.len())
            .map(|k| (selected[k] && k + 1 < selected.len()).then(|| conversation.reasoning(k)).flatten())
            .collect();
        let mut lost = Lost::default();
        let checked: Vec<bool> = reasoning.iter().map(Option::is_some).collect();
        if !checked.contains(&true) {
            return Ok(lost); // the usual row: nothing a template drops from history
        }
        for (k, rendered) in self.turn_texts(conversation, options, &checked)? {
            let reasoning = reasoning[k].as_deref().unwrap_or_default();
            if rendered.text.contains(reasoning) {
                continue; // kept: no need to render the prefix
            }
            let own = self.turn_texts(&conversation.prefix(k + 1), options, &only(k, k + 1))?;
            let Some((_, own)) = own.first() else { continue };
            if own.text.contains(reasoning) {
                lost.messages += 1;
                lost.tokens += own.tokens.saturating_sub(rendered.tokens);
            }
        }
        Ok(lost)
    }

    /// Each selected message's index and its located turn in the render of `conversation`: text and tokens.
    fn turn_texts(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        selected: &[bool],
    ) -> Result<Vec<(usize, TurnText)>> {
        let template = self.template_for(conversation.tools.is_some())?;
        let (text, turns) = self.locate_turns(template, conversation, options, selected)?;
        let offsets = self.tokenizer.encode(&text)?.offsets;
        let turn = |ranges: Vec<Range<usize>>| TurnText {
            tokens: trained_tokens(&offsets, &ranges).iter().filter(|&&t| t).count(),
            text: ranges.into_iter().map(|range| &text[range]).collect(),
        };
        Ok(turns.into_iter().map(|(k, ranges)| (k, turn(ranges))).collect())
    }

    /// [`Masker::encode`] of a chat whose trained messages are `selected`.
    fn encode_chat(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        policy: &Policy,
        selected: &[bool],
    ) -> Result<Encoded> {
        // Only a content given as parts can hold an image: other rows skip the look.
        let media = match media::has_parts(&conversation.messages) {
            true => media::media(&conversation.messages)?,
            false => Vec::new(),
        };
        if !media.is_empty() {
            return self.encode_with_media(conversation, options, policy, selected, media);
        }
        let (text, spans, tokens) = if policy.sanitize_control_tokens {
            self.sanitized_chat_spans(conversation, options, policy, selected)?
        } else {
            let (text, spans) = self.chat_spans(conversation, options, policy, selected)?;
            let tokens = self.tokenize_render(&text)?;
            (text, spans, tokens)
        };
        conversation.check_roles_rendered(&text)?;
        self.labelled(&text, spans, tokens, policy, &[])
    }

    /// Tokenizes a chat render: as a tokenizer's `apply_chat_template` does (no special tokens added) or, for a
    /// vision-language model, as its processor's does (the tokenizer's BOS added unless the render starts with it).
    fn tokenize_render(&self, text: &str) -> Result<Tokens> {
        match &self.processor_bos {
            Some(bos) if bos.is_empty() || !text.starts_with(bos.as_str()) => self.tokenizer.encode_plain(text),
            _ => self.tokenizer.encode(text),
        }
    }

    /// [`Masker::encode_chat`] of a chat with images or videos: each placeholder expanded as the model's processor
    /// expands it, and never trained.
    fn encode_with_media(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        policy: &Policy,
        selected: &[bool],
        media: Vec<media::Media>,
    ) -> Result<Encoded> {
        if policy.sanitize_control_tokens {
            return Err(Error::Input("sanitize_control_tokens does not apply to rows with images yet".into()));
        }
        let vision = self.vision()?;
        let (text, spans) = self.chat_spans(conversation, options, policy, selected)?;
        conversation.check_roles_rendered(&text)?;
        let expanded = expand(vision, &text, &media)?;
        let spans = expanded.spans(spans);
        let tokens = self.tokenize_render(&expanded.text)?;
        let in_runs = tokens_in(&tokens.offsets, &expanded.runs);
        let mut encoded = self.labelled(&expanded.text, spans, tokens, policy, &expanded.runs)?;
        let (images, videos) = media.into_iter().partition(|m| m.kind == Kind::Image);
        encoded.vision = Some(Box::new(VisionRow {
            images,
            videos,
            image_grid_thw: expanded.image_grids,
            video_grid_thw: expanded.video_grids,
            num_image_tokens: in_runs.iter().filter(|&&inside| inside).count(),
        }));
        if encoded.truncated {
            check_runs_whole(&in_runs, policy)?;
        }
        Ok(encoded)
    }

    /// The labels of `tokens` whose text in `text` lies in the trained `spans`, with the end-of-turn rule and
    /// truncation applied; a token that overlaps one of the image `runs` is never trained.
    fn labelled(
        &self,
        text: &str,
        mut spans: Vec<Range<usize>>,
        tokens: Tokens,
        policy: &Policy,
        runs: &[Range<usize>],
    ) -> Result<Encoded> {
        let untrained_ends = match policy.train_end_of_turn {
            EndOfTurn::Every => 0,
            EndOfTurn::Last => spans.len().saturating_sub(1),
            EndOfTurn::Never => spans.len(),
        };
        for span in &mut spans[..untrained_ends] {
            *span = without_end_of_turn(text, span.clone(), &self.end_of_turn_tokens);
        }
        let mut trained = trained_tokens(&tokens.offsets, &spans);
        if !runs.is_empty() {
            let touched = trained_tokens(&tokens.offsets, runs);
            trained.iter_mut().zip(touched).for_each(|(trained, touched)| *trained &= !touched);
        }
        let mut encoded =
            Encoded { labels: labels(&tokens.ids, &trained), input_ids: tokens.ids, truncated: false, vision: None };
        let cut = truncate(&mut encoded, policy.max_length, policy.truncation)?;
        encoded.truncated = cut;
        if encoded.num_trained_tokens() == 0 {
            return Err(Error::Untrainable(if cut {
                format!("no trained token is left after truncation to max_length={}", policy.max_length.unwrap_or(0))
            } else {
                "the trained text holds no token".into()
            }));
        }
        Ok(encoded)
    }

    /// The text to tokenize and its trained byte ranges, for a chat.
    fn chat_spans(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        policy: &Policy,
        selected: &[bool],
    ) -> Result<(String, Vec<Range<usize>>)> {
        let template = self.template_for(conversation.tools.is_some())?;
        if !selected.contains(&true) {
            return Err(Error::Untrainable(format!("no message is trained ({})", policy.describe_selection())));
        }
        // Generation blocks mark the assistant's output: they stand for a selection of every assistant message.
        let tags_fit = selected == assistant_messages(conversation).as_slice();
        let use_tags = match policy.mode {
            Mode::Auto => template.has_generation_tags() && tags_fit,
            Mode::Turns => false,
            Mode::Generation if !template.has_generation_tags() => {
                return Err(Error::Template(
                    "mode='generation' needs a chat template with {% generation %} tags, and this one has none; \
                     use mode='auto' to locate the assistant's turns"
                        .into(),
                ))
            }
            Mode::Generation if !tags_fit => {
                return Err(Error::Input(
                    "mode='generation' trains exactly what the {% generation %} blocks mark, so it cannot apply \
                     roles_to_train, train_last_turn_only, a per-message train field, a prompt-completion split or \
                     history's per-turn rows; use mode='auto'"
                        .into(),
                ))
            }
            Mode::Generation => true,
        };
        if use_tags {
            let rendered = template.render(self.context(conversation, options))?;
            return Ok((rendered.text, rendered.generation_spans));
        }
        let (text, turns) = self.locate_turns(template, conversation, options, selected)?;
        Ok((text, turns.into_iter().flat_map(|(_, ranges)| ranges).collect()))
    }

    /// The render of a chat and, for each message the policy trains, the byte ranges of its turn as located
    /// without `{% generation %}` tags (`mode="turns"`), whatever the template holds: which message each trained
    /// range came from, for tests and for showing the labels.
    pub fn located_turns(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        policy: Option<&Policy>,
    ) -> Result<(String, Vec<LocatedTurn>)> {
        let policy = policy.unwrap_or(&self.policy);
        let options = options.for_row(conversation);
        let template = self.template_for(conversation.tools.is_some())?;
        let selected = policy.select(conversation)?;
        self.locate_turns(template, conversation, &options, &selected)
    }

    /// [`Masker::chat_spans`] on the data with its control tokens marked, encoded with them as plain text.
    fn sanitized_chat_spans(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        policy: &Policy,
        selected: &[bool],
    ) -> Result<(String, Vec<Range<usize>>, Tokens)> {
        let sanitizer = &self.named_template_for(conversation.tools.is_some())?.sanitizer;
        let marked = Conversation {
            messages: sanitizer.mark(&conversation.messages),
            tools: conversation.tools.as_ref().map(|tools| sanitizer.mark(tools)),
            ..conversation.clone()
        };
        let template_kwargs = options.template_kwargs.iter().map(|(k, v)| (k.clone(), sanitizer.mark(v))).collect();
        let options = RenderOptions { template_kwargs, ..options.clone() };
        let (text, spans) = self.chat_spans(&marked, &options, policy, selected)?;
        let sanitized = sanitizer.encode(&self.tokenizer, &text)?;
        let spans = spans.into_iter().map(|span| sanitized.unmark(span)).collect();
        Ok((sanitized.text, spans, sanitized.tokens))
    }

    /// Renders the chat and finds the turn of each selected message in it: `(message index, its ranges)`, in order.
    fn locate_turns(
        &self,
        template: &ChatTemplate,
        conversation: &Conversation,
        options: &RenderOptions,
        selected: &[bool],
    ) -> Result<(String, Vec<LocatedTurn>)> {
        let full = template.render_traced(self.context(conversation, options), false)?.text;
        let context = |messages: &[Value], prompt: bool| {
            self.context_for(Value::from(messages.to_vec()), conversation, prompt, options)
        };
        let render = |traced: bool| {
            move |messages: &[Value], prompt: bool| template.render_traced(context(messages, prompt), traced)
        };
        let (text_only, traced) = (render(false), render(true));
        let render_loops = |messages: &[Value], prompt: bool| template.render_loops(context(messages, prompt));
        let render_after_loop = |loop_id: u32, prompt: bool| template.render_after_loop(loop_id, context(&[], prompt));
        let messages: Vec<Value> = conversation.messages.try_iter().map_err(|e| Error::Input(e.to_string()))?.collect();
        let renders = Renders { loops: &render_loops, traced: &traced, after_loop: &render_after_loop };
        let prompt = options.add_generation_prompt;
        let roles = &conversation.roles;
        let fast = LoopLocator::new(&messages, roles, selected, &full, prompt, renders, &self.added_tokens)?;
        // The prefix-probing locator, for the turns the loop locator cannot place; built when first needed.
        let locator = OnceCell::new();
        let locator = || {
            locator.get_or_init(|| {
                TurnLocator::new(messages.clone(), roles, full.clone(), prompt, &text_only, &traced, &self.added_tokens)
            })
        };
        let mut turns: Vec<LocatedTurn> = Vec::new();
        let mut previous_end = 0;
        for k in (0..selected.len()).filter(|&k| selected[k]) {
            let context = || format!("message {k} ({})", conversation.roles[k]);
            let located = fast.as_ref().map(|fast| fast.turn(k)).transpose().map_err(|e| e.context(context()))?;
            let turn = match located.flatten() {
                Some(turn) => turn,
                None => vec![locator().turn(k).map_err(|e| e.context(context()))?],
            };
            if turn.first().is_some_and(|first| first.start < previous_end) {
                return Err(Error::Template(format!(
                    "{}: its turn overlaps the turn of an earlier message",
                    context()
                )));
            }
            previous_end = turn.last().map_or(previous_end, |last| last.end);
            turns.push((k, turn));
        }
        Ok((full, turns))
    }

    /// `prompt + completion`, with the tokenizer's EOS appended to a completion that lacks it when the end of the
    /// turn is trained (as TRL does), and the completion trained.
    fn plain_text(&self, plain: &PlainText, policy: &Policy) -> (String, Vec<Range<usize>>) {
        let mut text = format!("{}{}", plain.prompt, plain.completion);
        if policy.train_end_of_turn != EndOfTurn::Never {
            let eos = special_token(&self.special_tokens, "eos_token");
            if let Some(eos) = eos.filter(|eos| !plain.completion.ends_with(eos)) {
                text.push_str(eos);
            }
        }
        let completion = plain.prompt.len()..text.len();
        (text, std::iter::once(completion).collect())
    }
}
