//! Prompt-completion rows (`prompt` + `completion`, as TRL's datasets have them): only the completion is trained.

use minijinja::value::{Value, ValueKind};

use crate::error::{Error, Result};
use crate::input::conversation::{normalize_messages, parse_tools, Conversation, PlainText, Row};
use crate::input::formats::{Format, RoleMap};
use crate::values::map_value;

impl Row {
    /// A row whose `prompt` and `completion` are each a string or a list of messages. Two strings are plain text,
    /// encoded without a chat template. Otherwise a string prompt stands for one user message and a string
    /// completion for one assistant message, and the conversation is the prompt's messages followed by the
    /// completion's.
    /// A missing (`None`) prompt is empty: no messages beside a list of messages, `""` beside a string.
    pub fn from_prompt_completion(prompt: &Value, completion: &Value, tools: Option<&Value>) -> Result<Row> {
        Row::prompt_completion_with_roles(prompt, completion, tools, &RoleMap::default())
    }

    /// [`Row::from_prompt_completion`] with the role names of messages mapped by `roles`.
    pub fn prompt_completion_with_roles(
        prompt: &Value,
        completion: &Value,
        tools: Option<&Value>,
        roles: &RoleMap,
    ) -> Result<Row> {
        let completion_kind = part_kind(completion, "completion")?;
        let empty = match completion_kind {
            ValueKind::String => Value::from(""),
            _ => Value::from(Vec::<Value>::new()),
        };
        let prompt = if prompt.is_none() || prompt.is_undefined() { &empty } else { prompt };
        let prompt_kind = part_kind(prompt, "prompt")?;
        if prompt_kind == ValueKind::String && completion_kind == ValueKind::String {
            if tools.is_some_and(|t| !t.is_none() && !t.is_undefined()) {
                return Err(Error::Input(
                    "tools need a chat template: give the prompt or completion as messages".into(),
                ));
            }
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            return Ok(Row::Plain(PlainText { prompt: text(prompt), completion: text(completion) }));
        }
        let prompt = as_messages(prompt, "user");
        let completion = as_messages(completion, "assistant");
        let completion_start = prompt.len();
        if completion.is_empty() {
            return Err(Error::Input("the completion is empty: it has no messages".into()));
        }
        let messages = Value::from(prompt.into_iter().chain(completion).collect::<Vec<_>>());
        let (messages, roles) = normalize_messages(&messages, roles).map_err(|e| e.context("prompt + completion"))?;
        let tools = parse_tools(tools)?;
        let format = Format::PromptCompletion;
        Ok(Row::Chat(Conversation { messages, roles, tools, completion_start, format, ..Default::default() }))
    }
}

fn part_kind(part: &Value, name: &str) -> Result<ValueKind> {
    match part.kind() {
        kind @ (ValueKind::String | ValueKind::Seq) => Ok(kind),
        ValueKind::None | ValueKind::Undefined => Err(Error::Input(format!("the {name} is missing (null)"))),
        kind => Err(Error::Input(format!("{name} must be a string or a list of messages, got {kind}"))),
    }
}

fn as_messages(part: &Value, role: &str) -> Vec<Value> {
    match part.as_str() {
        Some(text) => vec![map_value([("role", Value::from(role)), ("content", Value::from(text))])],
        None => part.try_iter().into_iter().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Serde;

    fn value(json: serde_json::Value) -> Value {
        Value::from(Serde(json))
    }

    fn chat(row: Row) -> Conversation {
        match row {
            Row::Chat(conversation) => conversation,
            Row::Plain(plain) => panic!("a chat, not {plain:?}"),
        }
    }

    fn plain(row: Row) -> PlainText {
        match row {
            Row::Plain(plain) => plain,
            Row::Chat(chat) => panic!("plain text, not {chat:?}"),
        }
    }

    #[test]
    fn two_strings_are_plain_text() {
        let c = plain(Row::from_prompt_completion(&value("Q: 2+2?".into()), &value(" 4".into()), None).unwrap());
        assert_eq!(c, PlainText { prompt: "Q: 2+2?".into(), completion: " 4".into() });
    }

    #[test]
    fn messages_are_concatenated_and_the_prompt_marked() {
        let prompt = value(serde_json::json!([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]));
        let completion = value(serde_json::json!([{"role": "assistant", "content": "a"}]));
        let c = chat(Row::from_prompt_completion(&prompt, &completion, None).unwrap());
        assert_eq!((c.len(), c.completion_start), (3, 2));
        assert_eq!(c.roles, ["system", "user", "assistant"]);
    }

    #[test]
    fn a_string_beside_messages_becomes_a_message() {
        let completion = value(serde_json::json!([{"role": "assistant", "content": "a"}]));
        let c = chat(Row::from_prompt_completion(&value("q".into()), &completion, None).unwrap());
        let first = c.messages.get_item(&Value::from(0)).unwrap();
        assert_eq!(first.get_attr("role").unwrap().as_str(), Some("user"));
        assert_eq!(c.completion_start, 1);
        let c = chat(Row::from_prompt_completion(&value(serde_json::json!([])), &value("a".into()), None).unwrap());
        assert_eq!((c.len(), c.completion_start), (1, 0));
    }

    #[test]
    fn a_missing_prompt_is_empty() {
        let none = Value::from(());
        let completion = value(serde_json::json!([{"role": "assistant", "content": "a"}]));
        let c = chat(Row::from_prompt_completion(&none, &completion, None).unwrap());
        assert_eq!((c.len(), c.completion_start), (1, 0));
        let c = plain(Row::from_prompt_completion(&none, &value("a".into()), None).unwrap());
        assert_eq!(c, PlainText { prompt: String::new(), completion: "a".into() });
        let c = chat(Row::from_prompt_completion(&Value::UNDEFINED, &completion, None).unwrap());
        assert_eq!((c.len(), c.completion_start), (1, 0));
        let err = Row::from_prompt_completion(&value("q".into()), &none, None).unwrap_err();
        assert_eq!(err.message(), "the completion is missing (null)");
    }

    #[test]
    fn malformed_rows_are_input_errors() {
        let empty = value(serde_json::json!([]));
        assert!(matches!(Row::from_prompt_completion(&value("q".into()), &empty, None), Err(Error::Input(_))));
        assert!(matches!(
            Row::from_prompt_completion(&value(3.into()), &value("a".into()), None),
            Err(Error::Input(_))
        ));
        let bad = value(serde_json::json!([{"content": "no role"}]));
        let err = Row::from_prompt_completion(&value("q".into()), &bad, None).unwrap_err();
        assert_eq!(err.message(), "prompt + completion: message 1: field 'role' is missing");
    }
}
