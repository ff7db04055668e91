//! Training policies: which messages are trained, how turns are found, what happens to long rows.

use minijinja::value::{Value, ValueKind};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::input::conversation::Conversation;

/// How the trained text is found in the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// Keep the first `max_length` tokens.
    KeepStart,
    /// Keep the last `max_length` tokens.
    KeepEnd,
    /// Refuse the row.
    Drop,
}

/// Which render each trained turn is trained in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// One row per conversation: every turn as the full conversation renders it, even where the template rewrites
    /// the history (drops the reasoning of earlier turns).
    #[default]
    AsRendered,
    /// One row per trained message k: the conversation up to k, rendered as the template renders it when k is the
    /// last message, with only k trained.
    PerTurn,
    /// `PerTurn` for the rows whose full render leaves out text of a trained message that the message's own
    /// last-turn render trains; `AsRendered` for the others.
    Auto,
}

/// Which trained turns keep their end-of-turn tokens (`<|im_end|>`, `<|eot_id|>`, `</s>`) trained: every one
/// (`true`), none (`false`), or only the last (`"last"`, Axolotl's `train_on_eos: last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "EndOfTurnOption", into = "EndOfTurnOption")]
pub enum EndOfTurn {
    Every,
    Last,
    Never,
}

/// How [`EndOfTurn`] is written: a flag, or the word `last`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(untagged, expecting = "True, False or 'last'")]
enum EndOfTurnOption {
    Flag(bool),
    Word(Last),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Last {
    Last,
}

impl From<EndOfTurnOption> for EndOfTurn {
    fn from(option: EndOfTurnOption) -> EndOfTurn {
        match option {
            EndOfTurnOption::Flag(true) => EndOfTurn::Every,
            EndOfTurnOption::Flag(false) => EndOfTurn::Never,
            EndOfTurnOption::Word(Last::Last) => EndOfTurn::Last,
        }
    }
}

impl From<EndOfTurn> for EndOfTurnOption {
    fn from(end_of_turn: EndOfTurn) -> EndOfTurnOption {
        match end_of_turn {
            EndOfTurn::Every => EndOfTurnOption::Flag(true),
            EndOfTurn::Never => EndOfTurnOption::Flag(false),
            EndOfTurn::Last => EndOfTurnOption::Word(Last::Last),
        }
    }
}

/// The training policy: the one definition of its options, their types and defaults on the Rust side (the Python
/// side is `sftmask.Policy`, checked against this one by the tests). Read from a mapping of option names to values;
/// an unknown name or a value of the wrong type is an error naming the option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub mode: Mode,
    pub roles_to_train: Vec<String>,
    pub train_end_of_turn: EndOfTurn,
    /// Train only the last message the other rules select.
    pub train_last_turn_only: bool,
    /// Message fields (`true`/`false`, or a weight `1`/`0`) that override the role rule for that message; the
    /// first present one decides. By default `train`, then OpenAI's `weight`. One name, a list, or none.
    #[serde(deserialize_with = "names")]
    pub train_field: Vec<String>,
    #[serde(deserialize_with = "positive")]
    pub max_length: Option<usize>,
    pub truncation: Truncation,
    /// Encode control tokens spelled inside the data (`<|im_start|>` in a message) as plain text, as transformers'
    /// `sanitize_control_tokens=True` does.
    pub sanitize_control_tokens: bool,
    pub history: History,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Auto,
            roles_to_train: vec!["assistant".into()],
            train_end_of_turn: EndOfTurn::Every,
            train_last_turn_only: false,
            train_field: vec!["train".into(), "weight".into()],
            max_length: None,
            truncation: Truncation::KeepStart,
            sanitize_control_tokens: false,
            history: History::AsRendered,
        }
    }
}

/// A string, a list of strings, or none (no names).
fn names<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a name, a list of names, or None")]
    enum Names {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Names>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Names::One(name)) => vec![name],
        Some(Names::Many(names)) => names,
    })
}

/// A positive integer, or none.
fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<usize>, D::Error> {
    match Option::<usize>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom("must be a positive integer or None, got 0")),
        n => Ok(n),
    }
}

impl Policy {
    /// A policy from a mapping of option names to values (JSON-like); the options it leaves out keep `self`'s.
    pub fn with_options(&self, options: &serde_json::Value) -> Result<Policy> {
        let serde_json::Value::Object(options) = options else {
            return Err(Error::Input(format!("the policy options must be a mapping, got {options}")));
        };
        let mut merged = serde_json::to_value(self).expect("a policy is plain data");
        for (name, value) in options {
            merged[name] = value.clone();
            // One option at a time, so that the error names the option at fault.
            Policy::deserialize(&merged).map_err(|e| Error::Input(format!("option {name}: {e}")))?;
        }
        Ok(Policy::deserialize(merged).expect("checked option by option"))
    }

    /// Which messages of `conversation` are trained: by role, then the per-message field, then the last-turn rule.
    /// The prompt of a prompt-completion row is never trained.
    pub fn select(&self, conversation: &Conversation) -> Result<Vec<bool>> {
        let mut trained = Vec::with_capacity(conversation.len());
        for (index, (message, role)) in messages(conversation).zip(&conversation.roles).enumerate() {
            let mut train = index >= conversation.completion_start && self.roles_to_train.contains(role);
            let flag = self.train_field.iter().find_map(|field| {
                let flag = message.get_attr(field).unwrap_or_default();
                (!flag.is_undefined() && !flag.is_none()).then_some((field, flag))
            });
            if let Some((field, flag)) = flag {
                let flag =
                    train_flag(&flag).map_err(|e| e.context(format_args!("message {index}: field '{field}'")))?;
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
    conversation.roles.iter().map(|role| role == "assistant").collect()
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

    fn policy(options: serde_json::Value) -> Result<Policy> {
        Policy::default().with_options(&options)
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
        assert_eq!(
            err.message(),
            "option truncation: unknown variant `middle`, expected one of `keep_start`, `keep_end`, `drop`"
        );
        let err = policy(serde_json::json!({"colour": "blue"})).unwrap_err();
        assert!(err.message().starts_with("option colour: unknown field `colour`, expected one of `mode`"), "{err}");
    }

    #[test]
    fn end_of_turn_is_a_flag_or_last() {
        let end_of_turn = |value| policy(serde_json::json!({"train_end_of_turn": value})).map(|p| p.train_end_of_turn);
        assert_eq!(end_of_turn(serde_json::json!(true)).unwrap(), EndOfTurn::Every);
        assert_eq!(end_of_turn(serde_json::json!(false)).unwrap(), EndOfTurn::Never);
        assert_eq!(end_of_turn(serde_json::json!("last")).unwrap(), EndOfTurn::Last);
        let err = end_of_turn(serde_json::json!("first")).unwrap_err();
        assert_eq!(err.message(), "option train_end_of_turn: True, False or 'last'");
        let last = policy(serde_json::json!({"train_end_of_turn": "last"})).unwrap();
        assert_eq!(serde_json::to_value(&last).unwrap()["train_end_of_turn"], "last");
    }

    #[test]
    fn history_is_one_of_three_words() {
        assert_eq!(Policy::default().history, History::AsRendered);
        let p = policy(serde_json::json!({"history": "per_turn"})).unwrap();
        assert_eq!(p.history, History::PerTurn);
        let err = policy(serde_json::json!({"history": "each_turn"})).unwrap_err();
        assert!(err.message().starts_with("option history: unknown variant `each_turn`"), "{err}");
    }

    #[test]
    fn overrides_keep_the_other_options() {
        let base = policy(serde_json::json!({"max_length": 8, "truncation": "drop"})).unwrap();
        let p = base.with_options(&serde_json::json!({"mode": "turns"})).unwrap();
        assert_eq!((p.mode, p.max_length, p.truncation), (Mode::Turns, Some(8), Truncation::Drop));
    }
}
