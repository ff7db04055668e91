//! Templates and helpers the locators' tests share.

use minijinja::value::Value;

pub fn role(message: &Value) -> String {
    message.get_attr("role").ok().and_then(|r| r.as_str().map(String::from)).unwrap_or_default()
}

/// Qwen3's way of rendering reasoning: only for assistant turns after the last user message.
pub const DROPS_REASONING: &str = "{%- set ns = namespace(last=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last = loop.index0 %}{%- endif %}{%- endfor %}\
    {%- for m in messages %}{%- if m.role == 'assistant' %}{%- if loop.index0 > ns.last %}{{- '<a>\\n<think>' + (m.reasoning or '') + '</think>' + m.content }}{%- else %}{{- '<a>\\n' + m.content }}{%- endif %}{{- '<end>\\n' }}\
    {%- else %}{{- '<' + m.role + '>\\n' + m.content + '<end>\\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<a>\\n' }}{%- endif %}";
