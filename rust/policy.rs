//! Training policies: which messages are trained, how turns are found, what happens to long rows.

use minijinja::value::{Value, ValueKind};

use crate::conversation::Conversation;
use crate::error::{Error, Result};

/// How the trained text is found in the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The template's `{% generation %}` blocks when it has them and the policy trains every assistant message;
    /// otherwise each trained message's turn, located in the render.
    Auto,
    /// Only the template's `{% generation %}` blocks.
    Generation,
    /// Always locate each trained message's turn, even when the template has `{% generation %}` blocks.
    Turns,
}

/// What to do with a row longer than `max_length` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// Keep the first `max_length` tokens.
    KeepStart,
    /// Keep the last `max_length` tokens.
    KeepEnd,
    /// Refuse the row.
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    pub roles_to_train: Vec<String>,
    /// Whether the end-of-turn token(s) closing a trained turn (`<|im_end|>`, `<|eot_id|>`, `</s>`) are trained.
    pub train_end_of_turn: bool,
    /// Train only the last message the other rules select.
    pub train_last_turn_only: bool,
    /// Message fields (`true`/`false`, or a weight `1`/`0`) that override the role rule for that message; the
    /// first present one decides. By default `train`, then OpenAI's `weight`.
    pub train_field: Vec<String>,
    pub max_length: Option<usize>,
    pub truncation: Truncation,
    /// Encode control tokens spelled inside the data (`<|im_start|>` in a message) as plain text, as transformers'
    /// `sanitize_control_tokens=True` does.
    pub sanitize_control_tokens: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Auto,
            roles_to_train: vec!["assistant".into()],
            train_end_of_turn: true,
            train_last_turn_only: false,
            train_field: vec!["train".into(), "weight".into()],
            max_length: None,
            truncation: Truncation::KeepStart,
            sanitize_control_tokens: false,
        }
    }
}

impl Policy {
    /// `self` with the options of `overrides` (a mapping of option names to values) applied.
    pub fn with_overrides(&self, overrides: &Value) -> Result<Policy> {
        let mut policy = self.clone();
        if overrides.is_none() || overrides.is_undefined() {
            return Ok(policy);
        }
        let keys = overrides.try_iter().map_err(|_| Error::Input("the policy options must be a mapping".into()))?;
        for key in keys {
            let name = key.as_str().unwrap_or_default().to_string();
            let value = overrides.get_item(&key).unwrap_or_default();
            policy.set(&name, &value).map_err(|e| e.context(format_args!("option {name}")))?;
        }
        Ok(policy)
    }

    fn set(&mut self, name: &str, value: &Value) -> Result<()> {
        match name {
            "mode" => {
                self.mode = match string(value)? {
                    "auto" => Mode::Auto,
                    "generation" => Mode::Generation,
                    "turns" => Mode::Turns,
                    other => return Err(invalid(format!("must be 'auto', 'generation' or 'turns', got '{other}'"))),
                }
            }
            "truncation" => {
                self.truncation = match string(value)? {
                    "keep_start" => Truncation::KeepStart,
                    "keep_end" => Truncation::KeepEnd,
                    "drop" => Truncation::Drop,
                    other => return Err(invalid(format!("must be 'keep_start', 'keep_end' or 'drop', got '{other}'"))),
                }
            }
            "roles_to_train" => {
                if value.kind() != ValueKind::Seq {
                    return Err(invalid(format!("must be a list of role names, got {}", value.kind())));
                }
                let roles = value.try_iter().map_err(|e| invalid(e.to_string()))?;
                self.roles_to_train = roles.map(|role| string(&role).map(String::from)).collect::<Result<_>>()?;
            }
            "train_end_of_turn" => self.train_end_of_turn = boolean(value)?,
            "train_last_turn_only" => self.train_last_turn_only = boolean(value)?,
            "sanitize_control_tokens" => self.sanitize_control_tokens = boolean(value)?,
            "train_field" => {
                self.train_field = match value.kind() {
                    ValueKind::None => Vec::new(),
                    ValueKind::Seq => {
                        let fields = value.try_iter().map_err(|e| invalid(e.to_string()))?;
                        fields.map(|field| string(&field).map(String::from)).collect::<Result<_>>()?
                    }
                    _ => vec![string(value)?.to_string()],
                }
            }
            "max_length" => {
                self.max_length = if value.is_none() {
                    None
                } else {
                    match i64::try_from(value.clone()) {
                        Ok(n) if n > 0 && value.kind() == ValueKind::Number => Some(n as usize),
                        _ => return Err(invalid(format!("must be a positive integer or None, got {value}"))),
                    }
                }
            }
            other => {
                return Err(Error::Input(format!(
                    "is unknown; the policy options are mode, roles_to_train, train_end_of_turn, \
                     train_last_turn_only, train_field, max_length, truncation and sanitize_control_tokens \
                     (got '{other}')"
                )))
            }
        }
        Ok(())
    }

    /// Which messages of `conversation` are trained: by role, then the per-message field, then the last-turn rule.
    /// The prompt of a prompt-completion row is never trained.
    pub fn select(&self, conversation: &Conversation) -> Result<Vec<bool>> {
        let mut trained = Vec::with_capacity(conversation.len());
        for (index, message) in messages(conversation).enumerate() {
            let role = message.get_attr("role").ok().and_then(|r| r.as_str().map(String::from)).unwrap_or_default();
            let mut train = index >= conversation.completion_start && self.roles_to_train.contains(&role);
            let flag = self.train_field.iter().find_map(|field| {
                let flag = message.get_attr(field).unwrap_or_default();
                (!flag.is_undefined() && !flag.is_none()).then_some((field, flag))
            });
            if let Some((field, flag)) = flag {
                let flag = train_flag(&flag).map_err(|e| e.context(format_args!("message {index}: field '{field}'")))?;
                train = flag && index >= conversation.completion_start;
            }
            trained.push(train);
        }
        if self.train_last_turn_only {
            if let Some(last) = trained.iter().rposition(|&t| t) {
                trained.iter_mut().take(last).for_each(|t| *t = false);
            }
        }
        Ok(trained)
    }

    /// A short description of what selects trained messages, for errors about rows with nothing to train.
    pub fn describe_selection(&self) -> String {
        let mut text = format!("roles_to_train={:?}", self.roles_to_train);
        match self.train_field.as_slice() {
            [] => {}
            [field] => text.push_str(&format!(", train_field='{field}'")),
            fields => text.push_str(&format!(", train_field={fields:?}")),
        }
        if self.train_last_turn_only {
            text.push_str(", train_last_turn_only");
        }
        text
    }
}

/// Whether each message is an assistant message: the selection `{% generation %}` blocks stand for.
pub fn assistant_messages(conversation: &Conversation) -> Vec<bool> {
    messages(conversation).map(|m| m.get_attr("role").ok().as_ref().and_then(Value::as_str) == Some("assistant")).collect()
}

fn messages(conversation: &Conversation) -> impl Iterator<Item = Value> + '_ {
    conversation.messages.try_iter().into_iter().flatten()
}

/// `true`/`false`, or a weight of `1`/`0` as Axolotl's and LLaMA-Factory's datasets write it.
fn train_flag(value: &Value) -> Result<bool> {
    match value.kind() {
        ValueKind::Bool => Ok(value.is_true()),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(0.0) => Ok(false),
            Ok(1.0) => Ok(true),
            _ => Err(Error::Input(format!(
                "must be true/false or a weight of 0 or 1, got {value} (labels select tokens; they cannot scale the loss)"
            ))),
        },
        kind => Err(Error::Input(format!("must be true/false or a weight of 0 or 1, got a {kind}"))),
    }
}

fn string(value: &Value) -> Result<&str> {
    value.as_str().ok_or_else(|| invalid(format!("must be a string, got {}", value.kind())))
}

fn boolean(value: &Value) -> Result<bool> {
    match value.kind() {
        ValueKind::Bool => Ok(value.is_true()),
        kind => Err(invalid(format!("must be True or False, got a {kind}"))),
    }
}

fn invalid(message: String) -> Error {
    Error::Input(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Serde;

    fn conversation(json: serde_json::Value) -> Conversation {
        Conversation::new(&Value::from(Serde(json)), None).unwrap()
    }

    fn chat() -> Conversation {
        conversation(serde_json::json!([
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "u2"},
            {"role": "assistant", "content": "a2"},
        ]))
    }

    fn policy(overrides: serde_json::Value) -> Result<Policy> {
        Policy::default().with_overrides(&Value::from(Serde(overrides)))
    }

    #[test]
    fn default_trains_every_assistant_message() {
        assert_eq!(Policy::default().select(&chat()).unwrap(), [false, false, true, false, true]);
        assert_eq!(assistant_messages(&chat()), [false, false, true, false, true]);
    }

    #[test]
    fn roles_to_train_and_last_turn_only() {
        let p = policy(serde_json::json!({"roles_to_train": ["user", "assistant"]})).unwrap();
        assert_eq!(p.select(&chat()).unwrap(), [false, true, true, true, true]);
        let p = policy(serde_json::json!({"train_last_turn_only": true})).unwrap();
        assert_eq!(p.select(&chat()).unwrap(), [false, false, false, false, true]);
    }

    #[test]
    fn per_message_field_overrides_the_role() {
        let c = conversation(serde_json::json!([
            {"role": "user", "content": "u", "train": true},
            {"role": "assistant", "content": "a", "train": false},
            {"role": "assistant", "content": "b", "weight": 0},
            {"role": "assistant", "content": "c", "train": null},
        ]));
        // By default `train`, then OpenAI's `weight`, decide.
        assert_eq!(Policy::default().select(&c).unwrap(), [true, false, false, true]);
        let p = policy(serde_json::json!({"train_field": "train"})).unwrap();
        assert_eq!(p.select(&c).unwrap(), [true, false, true, true]);
        let p = policy(serde_json::json!({"train_field": "weight"})).unwrap();
        assert_eq!(p.select(&c).unwrap(), [false, true, false, true]);
        let p = policy(serde_json::json!({"train_field": null})).unwrap();
        assert_eq!(p.select(&c).unwrap(), [false, true, true, true]);
    }

    #[test]
    fn bad_weights_and_options_are_input_errors() {
        let c = conversation(serde_json::json!([{"role": "assistant", "content": "a", "train": 0.5}]));
        let err = Policy::default().select(&c).unwrap_err();
        assert!(err.message().starts_with("message 0: field 'train': must be true/false"), "{err}");
        for bad in [
            serde_json::json!({"mode": "magic"}),
            serde_json::json!({"truncation": "middle"}),
            serde_json::json!({"max_length": 0}),
            serde_json::json!({"max_length": 2.5}),
            serde_json::json!({"roles_to_train": "assistant"}),
            serde_json::json!({"train_end_of_turn": 1}),
            serde_json::json!({"colour": "blue"}),
        ] {
            assert!(matches!(policy(bad.clone()), Err(Error::Input(_))), "{bad}");
        }
        let err = policy(serde_json::json!({"truncation": "middle"})).unwrap_err();
        assert_eq!(err.message(), "option truncation: must be 'keep_start', 'keep_end' or 'drop', got 'middle'");
    }

    #[test]
    fn overrides_keep_the_other_options() {
        let base = policy(serde_json::json!({"max_length": 8, "truncation": "drop"})).unwrap();
        let p = base.with_overrides(&Value::from(Serde(serde_json::json!({"mode": "turns"})))).unwrap();
        assert_eq!((p.mode, p.max_length, p.truncation), (Mode::Turns, Some(8), Truncation::Drop));
    }
}
