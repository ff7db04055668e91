//! Dataset formats: which columns (or JSON fields) hold a row's conversation, and how a row of each format becomes
//! messages. Every entry point reads rows through here (Arrow tables, JSON Lines, Python rows and columns), so a
//! format is recognised, and its roles named, the same way whatever the data came in.
//!
//! A table's format is found from its column names, a JSON object's or a Python row's from its fields, trying the
//! formats in the order of [`Format::ALL`]: the first whose required columns are all present wins, so a `messages`
//! column wins over `prompt` and `completion` beside it. A format can also be forced.

use minijinja::value::Value;

use crate::error::{Error, Result};

/// The column of per-row template variables (`{"enable_thinking": false}`), as TRL names it.
pub const TEMPLATE_KWARGS_COLUMN: &str = "chat_template_kwargs";
/// The column of a vision-language row's images, as TRL's datasets have it (`datasets` Images: `{bytes, path}`).
pub const IMAGES_COLUMN: &str = "images";

/// The formats recognised by their columns, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `messages`: OpenAI / Hugging Face chat messages (`role`, `content`, `tool_calls`, ...), and `tools`.
    #[default]
    Messages,
    /// `conversations`: ShareGPT (`from`/`value`, roles `human`/`gpt`/...) or messages under that name; an
    /// optional `system` column and `tools`.
    Conversations,
    /// Alpaca: `instruction`, an optional `input`, `output`; optional `system` and `history` (`[[query, response],
    /// ...]`, earlier turns).
    Alpaca,
    /// `prompt` (optional) and `completion`, as TRL's prompt-completion datasets: only the completion is trained.
    PromptCompletion,
}

/// A part of a row, each read from a column (or field) of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The messages (`messages`, or `conversations`).
    Messages,
    Tools,
    Prompt,
    Completion,
    Instruction,
    Input,
    Output,
    System,
    History,
    TemplateKwargs,
    /// A vision-language row's images, for its image parts that carry none (TRL's datasets).
    Images,
}

/// The names of the configurable columns (or JSON fields) rows are read from.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "python", derive(pyo3::FromPyObject), pyo3(from_item_all))]
pub struct ColumnNames {
    pub messages: String,
    pub tools: String,
    pub prompt: String,
    pub completion: String,
}

impl Default for ColumnNames {
    fn default() -> ColumnNames {
        let name = String::from;
        ColumnNames {
            messages: name("messages"),
            tools: name("tools"),
            prompt: name("prompt"),
            completion: name("completion"),
        }
    }
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Messages, Format::Conversations, Format::Alpaca, Format::PromptCompletion];

    pub fn name(self) -> &'static str {
        match self {
            Format::Messages => "messages",
            Format::Conversations => "conversations",
            Format::Alpaca => "alpaca",
            Format::PromptCompletion => "prompt_completion",
        }
    }

    pub fn from_name(name: &str) -> Result<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            Error::Input(format!("format must be one of {}, got '{name}'", names.join(", ")))
        })
    }

    /// The columns this format reads: each part, its column name, and whether the format needs it.
    pub fn columns(self, names: &ColumnNames) -> Vec<(Part, &str, bool)> {
        let kwargs = (Part::TemplateKwargs, TEMPLATE_KWARGS_COLUMN, false);
        let images = (Part::Images, IMAGES_COLUMN, false);
        match self {
            Format::Messages => {
                vec![(Part::Messages, &names.messages, true), (Part::Tools, &names.tools, false), kwargs, images]
            }
            Format::Conversations => vec![
                (Part::Messages, "conversations", true),
                (Part::System, "system", false),
                (Part::Tools, &names.tools, false),
                kwargs,
                images,
            ],
            Format::Alpaca => vec![
                (Part::Instruction, "instruction", true),
                (Part::Input, "input", false),
                (Part::Output, "output", true),
                (Part::System, "system", false),
                (Part::History, "history", false),
                kwargs,
            ],
            Format::PromptCompletion => vec![
                (Part::Prompt, &names.prompt, false),
                (Part::Completion, &names.completion, true),
                (Part::Tools, &names.tools, false),
                kwargs,
                images,
            ],
        }
    }

    /// The format of a table or row whose columns are `present`: `forced`, checked to have its required columns,
    /// or the first format whose required columns are all there. `what` is "column" (a table) or "field" (a row).
    pub fn detect(forced: Option<Format>, names: &ColumnNames, present: &[&str], what: &str) -> Result<Format> {
        let has = |name: &str| present.contains(&name);
        let complete =
            |format: Format| format.columns(names).into_iter().find(|&(_, name, required)| required && !has(name));
        if let Some(format) = forced {
            return match complete(format) {
                None => Ok(format),
                Some((_, missing, _)) => Err(Error::Input(format!(
                    "format '{}' needs a '{missing}' {what}; the {what}s are: {}",
                    format.name(),
                    present.join(", ")
                ))),
            };
        }
        Format::ALL.into_iter().find(|&f| complete(f).is_none()).ok_or_else(|| no_format(names, present, what))
    }
}

/// The error for a table or row in no known format: the formats, and the columns it has.
pub(crate) fn no_format(names: &ColumnNames, present: &[&str], what: &str) -> Error {
    let found = match present {
        [] => format!("it has no {what}s"),
        _ => format!("the {what}s are: {}", present.join(", ")),
    };
    let formats = format!("'conversations' (ShareGPT), 'instruction' and 'output' (Alpaca); {found}");
    Error::Input(if what == "column" {
        format!(
            "column '{}' not found, nor a '{}' column of prompt-completion rows, nor {formats}",
            names.messages, names.completion
        )
    } else {
        format!(
            "expected a mapping with a '{}' field (OpenAI / Hugging Face messages), or '{}' (prompt-completion), \
             or {formats}",
            names.messages, names.completion
        )
    })
}

/// Role names as datasets write them, and the role chat templates know them by.
const ROLE_ALIASES: [(&str, &str); 7] = [
    ("human", "user"),
    ("gpt", "assistant"),
    ("model", "assistant"),
    ("bot", "assistant"),
    ("observation", "tool"),
    ("function", "tool"),
    ("ipython", "tool"),
];

/// Roles a message written with `role` keeps as written: chat templates render them themselves (Llama 3.1's
/// `ipython`, OpenAI's legacy `function`), and transformers passes them on unchanged.
const TEMPLATE_ROLES: [&str; 7] = ["system", "developer", "user", "assistant", "tool", "function", "ipython"];

/// How role names are mapped: the user's own entries first, then [`ROLE_ALIASES`]. A message written with `role`
/// keeps a role templates know ([`TEMPLATE_ROLES`]) unless the user maps it; a ShareGPT message (`from`) has every
/// alias mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap(pub Vec<(String, String)>);

impl RoleMap {
    pub fn role<'a>(&'a self, role: &'a str, sharegpt: bool) -> &'a str {
        if let Some((_, to)) = self.0.iter().find(|(from, _)| from == role) {
            return to;
        }
        if !sharegpt && TEMPLATE_ROLES.contains(&role) {
            return role;
        }
        ROLE_ALIASES.iter().find(|(from, _)| *from == role).map_or(role, |(_, to)| to)
    }
}

/// How rows are read: the format (detected when `None`), the column names, role names, and nulls.
#[derive(Debug, Clone, Default)]
pub struct RowOptions {
    pub format: Option<Format>,
    pub columns: ColumnNames,
    pub roles: RoleMap,
    /// Keep null fields of Arrow structs as `None` instead of dropping them as absent.
    pub keep_nulls: bool,
}

impl RowOptions {
    /// The format of a table (or a row) whose columns (or fields) are `present`, and the present ones it reads.
    /// `what` is "column" or "field", for the error.
    pub fn columns_to_read(&self, present: &[&str], what: &str) -> Result<(Format, Vec<(Part, &str)>)> {
        let format = Format::detect(self.format, &self.columns, present, what)?;
        let columns = format.columns(&self.columns).into_iter().filter(|(_, name, _)| present.contains(name));
        Ok((format, columns.map(|(part, name, _)| (part, name)).collect()))
    }
}

impl ColumnNames {
    /// Every column some format reads with these names: what file readers load, leaving the others on disk.
    pub fn every_format_column(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for format in Format::ALL {
            for (_, name, _) in format.columns(self) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }
}

/// A text value's string, for the parts that must be text (`instruction`, `input`, `output`, `system`).
pub(crate) fn text_part<'a>(value: &'a Value, name: &str) -> Result<Option<&'a str>> {
    if value.is_none() || value.is_undefined() {
        return Ok(None);
    }
    value
        .as_str()
        .map(Some)
        .ok_or_else(|| Error::Input(format!("field '{name}' must be a string, got {}", value.kind())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(present: &[&str]) -> Result<Format> {
        Format::detect(None, &ColumnNames::default(), present, "column")
    }

    #[test]
    fn formats_are_found_by_their_columns_in_order() {
        assert_eq!(detect(&["messages", "prompt", "completion"]).unwrap(), Format::Messages);
        assert_eq!(detect(&["conversations", "system"]).unwrap(), Format::Conversations);
        assert_eq!(detect(&["instruction", "input", "output"]).unwrap(), Format::Alpaca);
        assert_eq!(detect(&["instruction", "output"]).unwrap(), Format::Alpaca);
        assert_eq!(detect(&["completion"]).unwrap(), Format::PromptCompletion);
        let err = detect(&["text", "id"]).unwrap_err();
        assert!(err.message().starts_with("column 'messages' not found, nor a 'completion' column"), "{err}");
        assert!(err.message().ends_with("(Alpaca); the columns are: text, id"), "{err}");
    }

    #[test]
    fn a_forced_format_needs_its_columns() {
        let names = ColumnNames::default();
        let forced = Format::detect(Some(Format::Alpaca), &names, &["messages", "instruction", "output"], "column");
        assert_eq!(forced.unwrap(), Format::Alpaca);
        let err = Format::detect(Some(Format::Alpaca), &names, &["messages"], "field").unwrap_err();
        assert_eq!(err.message(), "format 'alpaca' needs a 'instruction' field; the fields are: messages");
        let err = Format::from_name("sharegpt").unwrap_err();
        assert_eq!(
            err.message(),
            "format must be one of messages, conversations, alpaca, prompt_completion, got 'sharegpt'"
        );
    }

    #[test]
    fn roles_are_mapped_keeping_those_templates_know() {
        let roles = RoleMap::default();
        assert_eq!(roles.role("human", false), "user");
        assert_eq!(roles.role("gpt", true), "assistant");
        assert_eq!(roles.role("ipython", false), "ipython");
        assert_eq!(roles.role("ipython", true), "tool");
        assert_eq!(roles.role("observation", false), "tool");
        assert_eq!(roles.role("narrator", true), "narrator");
        let custom = RoleMap(vec![("narrator".into(), "system".into()), ("gpt".into(), "bot".into())]);
        assert_eq!(custom.role("narrator", false), "system");
        assert_eq!(custom.role("gpt", true), "bot");
    }
}
