//! Checking and normalizing a conversation before it reaches the template, as transformers does.
//!
//! transformers drops every message key whose value is `None` (OpenAI-style `content: null`, `tool_calls: null`)
//! and copies the reasoning of a message under the names templates read (`reasoning_content`, `thinking`). Arrow
//! and `datasets` store absent fields as nulls, so the first rule also makes a row read from a table render like
//! the same conversation given as Python dicts.

use minijinja::value::{Value, ValueKind};

use crate::error::{Error, Result};
use crate::input::formats::{Format, RoleMap};
use crate::values::{map_value, parse_json};

/// Names a message's reasoning is passed under, in transformers' order of preference.
const REASONING_FIELDS: [&str; 3] = ["reasoning_content", "thinking", "reasoning"];

/// Roles chat templates commonly render; any other role is checked to have been rendered at all.
const KNOWN_ROLES: [&str; 7] = ["system", "developer", "user", "assistant", "tool", "function", "ipython"];

/// A row ready to encode: a chat for the chat template, or plain text encoded without one.
#[derive(Debug, Clone)]
pub enum Row {
    Chat(Conversation),
    Plain(PlainText),
}

impl Row {
    /// The dataset format the row was read in.
    pub fn format(&self) -> Format {
        match self {
            Row::Chat(conversation) => conversation.format,
            Row::Plain(_) => Format::PromptCompletion,
        }
    }

    /// The conversation of a chat row; None for plain text.
    pub fn into_chat(self) -> Option<Conversation> {
        match self {
            Row::Chat(conversation) => Some(conversation),
            Row::Plain(_) => None,
        }
    }
}

impl From<Conversation> for Row {
    fn from(conversation: Conversation) -> Row {
        Row::Chat(conversation)
    }
}

/// A conversation ready to render: normalized messages, each message's role, and parsed tools.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub messages: Value,
    /// The role of each message, as mapped at normalization.
    pub roles: Vec<String>,
    pub tools: Option<Value>,
    /// In a prompt-completion row, the index of the first completion message: the messages before it are the
    /// prompt and are never trained. 0 for a plain conversation.
    pub completion_start: usize,
    /// Template variables of this row (its `chat_template_kwargs`), over those of the call.
    pub template_kwargs: Vec<(String, Value)>,
    /// The dataset format the row was read in.
    pub format: Format,
}

/// A prompt and its completion as plain text: `prompt + completion` is encoded and only the completion trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainText {
    pub prompt: String,
    pub completion: String,
}

impl Conversation {
    /// Checks and normalizes `messages` (a sequence of mappings) and `tools` (a sequence, a JSON string, or none).
    pub fn new(messages: &Value, tools: Option<&Value>) -> Result<Conversation> {
        Conversation::with_roles(messages, tools, &RoleMap::default())
    }

    /// [`Conversation::new`] with role names mapped by `roles` (ShareGPT's `human`/`gpt`, ...).
    pub fn with_roles(messages: &Value, tools: Option<&Value>, roles: &RoleMap) -> Result<Conversation> {
        let (messages, roles) = normalize_messages(messages, roles)?;
        Ok(Conversation { messages, roles, tools: parse_tools(tools)?, ..Default::default() })
    }

    pub fn len(&self) -> usize {
        self.roles.len()
    }

    /// Fails on a message whose role is none of the usual ones and whose content the template left out of the
    /// render `text`: a misspelt role (`"asistant"`) that a template skips would otherwise vanish silently.
    pub fn check_roles_rendered(&self, text: &str) -> Result<()> {
        for (index, (message, role)) in self.messages.try_iter().into_iter().flatten().zip(&self.roles).enumerate() {
            let content =
                message.get_attr("content").ok().filter(|c| c.kind() == ValueKind::String).unwrap_or_default();
            let content = content.as_str().unwrap_or_default();
            if !KNOWN_ROLES.contains(&role.as_str()) && !content.is_empty() && !text.contains(content) {
                return Err(Error::Input(format!(
                    "message {index}: unknown role '{role}': the chat template leaves this message out of the render"
                )));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The conversation up to message `len` (exclusive), with the same tools and template variables.
    pub fn prefix(&self, len: usize) -> Conversation {
        let messages: Vec<Value> = self.messages.try_iter().into_iter().flatten().take(len).collect();
        Conversation { messages: Value::from(messages), roles: self.roles[..len].to_vec(), ..self.clone() }
    }

    /// The reasoning message `index` carries, trimmed: its first reasoning field (`reasoning_content`, `thinking`,
    /// `reasoning`) with text, or the text before the first `</think>` in its content (after a `<think>`). What
    /// templates that rewrite history drop from earlier turns.
    pub fn reasoning(&self, index: usize) -> Option<String> {
        let message = self.messages.get_item_by_index(index).ok()?;
        let text = |name: &str| message.get_attr(name).ok().filter(|v| v.as_str().is_some());
        let field = REASONING_FIELDS
            .iter()
            .filter_map(|name| text(name))
            .find(|v| !v.as_str().unwrap_or_default().trim().is_empty());
        let reasoning = match (field, text("content")) {
            (Some(field), _) => field.as_str()?.trim().to_string(),
            (None, Some(content)) => {
                // As Qwen3's template reads it: after the last `<think>` before the first `</think>`.
                let (before, _) = content.as_str()?.split_once("</think>")?;
                before.rsplit_once("<think>").map_or(before, |(_, reasoning)| reasoning).trim().to_string()
            }
            (None, None) => return None,
        };
        (!reasoning.is_empty()).then_some(reasoning)
    }
}

/// The messages normalized, and the role of each.
pub(crate) fn normalize_messages(messages: &Value, roles: &RoleMap) -> Result<(Value, Vec<String>)> {
    let messages = match messages.kind() {
        ValueKind::String => {
            parse_json(messages.as_str().unwrap_or_default(), "messages (a list of messages, or its JSON text)")?
        }
        _ => messages.clone(),
    };
    if messages.kind() != ValueKind::Seq {
        return Err(Error::Input(format!("messages must be a list of messages, got {}", messages.kind())));
    }
    let count = messages.len().unwrap_or(0);
    if count == 0 {
        return Err(Error::Input("the conversation is empty: it has no messages".into()));
    }
    let mut normalized = Vec::with_capacity(count);
    let mut message_roles = Vec::with_capacity(count);
    for (index, message) in messages.try_iter().map_err(|e| Error::Input(e.to_string()))?.enumerate() {
        let (message, role) =
            normalize_message(&message, roles).map_err(|e| e.context(format_args!("message {index}")))?;
        normalized.push(message);
        message_roles.push(role);
    }
    Ok((Value::from(normalized), message_roles))
}

/// Whether a message's entries name a field (with a value other than None).
fn has_field(fields: &[(Value, Value)], name: &str) -> bool {
    fields.iter().any(|(k, _)| k.as_str() == Some(name))
}

fn normalize_message(message: &Value, roles: &RoleMap) -> Result<(Value, String)> {
    if message.kind() != ValueKind::Map {
        return Err(Error::Input(format!(
            "a message must be a mapping with 'role' and 'content', got {}",
            message.kind()
        )));
    }
    let mut fields: Vec<(Value, Value)> = Vec::new();
    for key in message.try_iter().map_err(|e| Error::Input(e.to_string()))? {
        let value = message.get_item(&key).unwrap_or_default();
        if !value.is_none() && !value.is_undefined() {
            fields.push((key, value));
        }
    }
    // ShareGPT writes `from` and `value` where OpenAI writes `role` and `content`.
    let sharegpt = !has_field(&fields, "role") && has_field(&fields, "from");
    if sharegpt {
        let has_content = has_field(&fields, "content");
        for (key, _) in fields.iter_mut() {
            match key.as_str() {
                Some("from") => *key = Value::from("role"),
                Some("value") if !has_content => *key = Value::from("content"),
                _ => {}
            }
        }
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
    let role = match field("role") {
        None => return Err(Error::Input("field 'role' is missing".into())),
        Some(role) if role.kind() != ValueKind::String => {
            return Err(Error::Input(format!("field 'role' must be a string, got {}", role.kind())))
        }
        Some(role) => role.as_str().unwrap_or_default().to_string(),
    };
    let mapped = roles.role(&role, sharegpt).to_string();
    if mapped != role {
        let value = Value::from(mapped.as_str());
        fields.iter_mut().filter(|(k, _)| k.as_str() == Some("role")).for_each(|(_, v)| *v = value.clone());
    }
    let role = mapped;
    let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
    if let Some(content) = field("content") {
        if !matches!(content.kind(), ValueKind::String | ValueKind::Seq) {
            return Err(Error::Input(format!(
                "field 'content' must be a string or a list of content parts, got {}",
                content.kind()
            )));
        }
    }
    let reasoning = REASONING_FIELDS.iter().find_map(|name| field(name)).cloned();
    if let Some(reasoning) = reasoning {
        // transformers: {"thinking": reasoning, **message, "reasoning_content": reasoning}
        let mut aliased: Vec<(Value, Value)> = Vec::with_capacity(fields.len() + 2);
        if field("thinking").is_none() {
            aliased.push((Value::from("thinking"), reasoning.clone()));
        }
        let mut has_reasoning_content = false;
        for (key, value) in fields {
            if key.as_str() == Some("reasoning_content") {
                has_reasoning_content = true;
                aliased.push((key, reasoning.clone()));
            } else if key.as_str() == Some("thinking") {
                // `thinking` keeps its own value but moves to the front, where the dict literal puts it.
                aliased.insert(0, (key, value));
            } else {
                aliased.push((key, value));
            }
        }
        if !has_reasoning_content {
            aliased.push((Value::from("reasoning_content"), reasoning));
        }
        fields = aliased;
    }
    Ok((map_value(fields), role))
}

pub(crate) fn parse_tools(tools: Option<&Value>) -> Result<Option<Value>> {
    let Some(tools) = tools.filter(|t| !t.is_none() && !t.is_undefined()) else {
        return Ok(None);
    };
    let tools = match tools.kind() {
        ValueKind::String => parse_json(tools.as_str().unwrap_or_default(), "tools")?,
        _ => tools.clone(),
    };
    if tools.is_none() {
        return Ok(None);
    }
    if tools.kind() != ValueKind::Seq {
        return Err(Error::Input(format!("tools must be a list of tool schemas, got {}", tools.kind())));
    }
    for (index, tool) in tools.try_iter().map_err(|e| Error::Input(e.to_string()))?.enumerate() {
        if tool.kind() != ValueKind::Map {
            return Err(Error::Input(format!("tool {index} must be a JSON schema mapping, got {}", tool.kind())));
        }
    }
    Ok(Some(tools))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(json: serde_json::Value) -> Result<Conversation> {
        Conversation::new(&Value::from(minijinja::value::Serde(json)), None)
    }

    fn keys(message: &Value) -> Vec<String> {
        message.try_iter().unwrap().map(|k| k.to_string()).collect()
    }

    #[test]
    fn none_fields_are_dropped() {
        let c =
            conv(serde_json::json!([{"role": "assistant", "content": null, "tool_calls": null, "name": "x"}])).unwrap();
        let message = c.messages.get_item(&Value::from(0)).unwrap();
        assert_eq!(keys(&message), ["role", "name"]);
    }

    #[test]
    fn reasoning_is_aliased_like_transformers() {
        let c = conv(serde_json::json!([{"role": "assistant", "content": "a", "reasoning": "r"}])).unwrap();
        let message = c.messages.get_item(&Value::from(0)).unwrap();
        assert_eq!(keys(&message), ["thinking", "role", "content", "reasoning", "reasoning_content"]);
        assert_eq!(message.get_attr("reasoning_content").unwrap().as_str(), Some("r"));
        assert_eq!(message.get_attr("thinking").unwrap().as_str(), Some("r"));
    }

    #[test]
    fn reasoning_comes_from_a_field_or_before_a_closing_think_tag() {
        let c = conv(serde_json::json!([
            {"role": "assistant", "content": "a", "reasoning_content": "  r  "},
            {"role": "assistant", "content": "<think>\nsteps\n</think>\n\nanswer"},
            {"role": "assistant", "content": "a", "thinking": " "},
            {"role": "user", "content": "u"},
        ]))
        .unwrap();
        let reasoning: Vec<Option<String>> = (0..5).map(|k| c.reasoning(k)).collect();
        assert_eq!(reasoning, [Some("r".into()), Some("steps".into()), None, None, None]);
        let prefix = c.prefix(2);
        assert_eq!((prefix.len(), prefix.messages.len()), (2, Some(2)));
    }

    #[test]
    fn malformed_messages_are_input_errors() {
        let cases = [
            serde_json::json!([]),
            serde_json::json!([{"content": "no role"}]),
            serde_json::json!([{"role": 1, "content": "x"}]),
            serde_json::json!([{"role": "user", "content": 5}]),
            serde_json::json!(["not a mapping"]),
            serde_json::json!({"role": "user"}),
        ];
        for case in cases {
            assert!(matches!(conv(case.clone()), Err(Error::Input(_))), "{case}");
        }
        let err = conv(serde_json::json!([{"role": "user", "content": "ok"}, {"content": "x"}])).unwrap_err();
        assert_eq!(err.message(), "message 1: field 'role' is missing");
    }

    #[test]
    fn tools_as_json_text_are_parsed() {
        let tools = Value::from(r#"[{"type": "function", "function": {"name": "f"}}]"#);
        let messages = Value::from(minijinja::value::Serde(serde_json::json!([{"role": "user", "content": "x"}])));
        let c = Conversation::new(&messages, Some(&tools)).unwrap();
        assert_eq!(c.tools.unwrap().len(), Some(1));
        assert!(matches!(Conversation::new(&messages, Some(&Value::from("{oops"))), Err(Error::Input(_))));
    }
}
