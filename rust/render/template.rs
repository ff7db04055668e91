//! A Jinja environment that renders Hugging Face chat templates exactly as transformers does.
//!
//! transformers renders with Jinja2's `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`, the
//! loop-controls extension, its own `tojson` (Python's `json.dumps`), `raise_exception`, `strftime_now`, and a
//! `{% generation %}` tag that records which characters the assistant produced. minijinja with the Python-method
//! compatibility layer covers the language; this module adds the rest.

use std::ops::Range;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, ErrorKind, OutputSpanKind, State, UndefinedBehavior};

use crate::error::{Error, Result};
use crate::render::loops::{self, Event, Located};
use crate::render::python_format::{json_dumps, python_str, JsonOptions};

const TEMPLATE_NAME: &str = "chat_template";
/// The same template with its loops instrumented ([`crate::render::loops`]).
const INSTRUMENTED_NAME: &str = "chat_template_instrumented";
/// The filter that `{% generation %}` blocks are rewritten into; its output spans are the trained spans.
const GENERATION_FILTER: &str = "sftmask_generation";

/// Limits that keep a hostile or broken template from hanging or exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct RenderLimits {
    /// minijinja fuel: about one unit per instruction and per 64 bytes of data created.
    pub fuel: Option<u64>,
    pub recursion_limit: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        // About 20 M instructions or 1.3 GB of data: ten times what a 10,000-turn conversation or a 1 MB message
        // needs, while a runaway loop or a string doubling itself stops within a second or two.
        RenderLimits { fuel: Some(20_000_000), recursion_limit: 500 }
    }
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    has_generation_tags: bool,
    /// Whether the instrumented twin compiled (it does whenever the template does, barring exotic syntax).
    instrumented: bool,
    /// For each loop (by id), the name of a template made of the source after it, when that source reads no
    /// variable the template sets (only what the caller passes): its output is then the same whatever the messages
    /// before it, and one render of it stands for all.
    after_loop: Vec<Option<String>>,
}

/// A render of the instrumented template: the plain text, where each loop event happened in it, and where the
/// content markers of marked messages ([`crate::render::contents`]) showed: `(message index, position)`.
#[derive(Debug, Clone)]
pub struct LoopTrace {
    pub text: String,
    pub events: Vec<Located>,
    pub contents: Vec<(usize, usize)>,
}

/// One piece of rendered output and the template source that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpan {
    pub output: Range<usize>,
    /// Byte range of the template source (after the `{% generation %}` rewrite) that produced the output.
    pub source: Range<usize>,
}

/// A rendered text with the pieces of template source that produced it, in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub text: String,
    /// Empty unless the render was asked to record them. Pieces are non-empty and contiguous.
    pub spans: Vec<TraceSpan>,
}

/// A rendered conversation: the text, and the byte ranges produced inside `{% generation %}` blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub generation_spans: Vec<Range<usize>>,
}

impl ChatTemplate {
    pub fn new(source: &str, limits: RenderLimits) -> Result<ChatTemplate> {
        let (source, has_generation_tags) = rewrite_generation_tags(source);
        let mut env = Environment::new();
        env.set_syntax(SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().expect("valid syntax"));
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_debug(false);
        env.set_fuel(limits.fuel);
        env.set_recursion_limit(limits.recursion_limit);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_formatter(|out, state, value| {
            let mut text = String::new();
            python_str(&mut text, value, data_budget(state))
                .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))?;
            out.write_str(&text).map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "write failed"))
        });
        env.add_filter("tojson", tojson);
        env.add_filter(GENERATION_FILTER, |body: Value| body);
        env.add_filter(loops::ITERATION_FILTER, |_body: Value, loop_id: u32, item: Value| {
            loops::record(Event::Iteration { loop_id, item })
        });
        env.add_filter(loops::END_FILTER, |_body: Value, loop_id: u32| loops::record(Event::End { loop_id }));
        // Jinja2's tests: `none` is not iterable; strings and mappings are sequences (they have a length and items).
        env.add_test("iterable", |v: &Value| !v.is_none() && minijinja::tests::is_iterable(v));
        env.add_test("sequence", |v: &Value| {
            v.is_undefined() || v.as_str().is_some() || matches!(v.kind(), ValueKind::Seq | ValueKind::Map)
        });
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        let (instrumented_source, loop_ends) = loops::instrument(&source);
        let instrumented = env.add_template_owned(INSTRUMENTED_NAME, instrumented_source).is_ok();
        env.add_template_owned(TEMPLATE_NAME, source.clone()).map_err(template_error)?;
        let after_loop = after_loop_templates(&mut env, &source, &loop_ends);
        Ok(ChatTemplate { env, has_generation_tags, instrumented, after_loop })
    }

    pub fn has_generation_tags(&self) -> bool {
        self.has_generation_tags
    }

    /// The variables the template reads without setting them, the environment's functions (`namespace`, `range`,
    /// ...) aside: what a caller can pass it.
    pub fn variables(&self) -> Vec<String> {
        let Ok(template) = self.env.get_template(TEMPLATE_NAME) else { return Vec::new() };
        let globals: Vec<&str> = self.env.globals().map(|(name, _)| name).collect();
        template.undeclared_variables(false).into_iter().filter(|name| !globals.contains(&name.as_str())).collect()
    }

    /// Renders with `context` as the template's variables.
    pub fn render(&self, context: Value) -> Result<Rendered> {
        let template = self.env.get_template(TEMPLATE_NAME).map_err(template_error)?;
        if !self.has_generation_tags {
            let text = template.render(context).map_err(template_error)?;
            return Ok(Rendered { text, generation_spans: Vec::new() });
        }
        let (text, spans) = template.render_with_spans(context).map_err(template_error)?;
        let source = template.source();
        let generation_spans = spans
            .iter()
            .filter(|span| {
                span.kind() == OutputSpanKind::Expression
                    && source.get(span.source_range()).is_some_and(|s| s.starts_with(GENERATION_FILTER))
            })
            .map(|span| span.output_range())
            .collect();
        Ok(Rendered { text, generation_spans })
    }

    /// Renders and, when `traced`, records which template source produced each piece of the output.
    pub fn render_traced(&self, context: Value, traced: bool) -> Result<Trace> {
        let template = self.env.get_template(TEMPLATE_NAME).map_err(template_error)?;
        if !traced {
            return Ok(Trace { text: template.render(context).map_err(template_error)?, spans: Vec::new() });
        }
        let (text, spans) = template.render_with_spans(context).map_err(template_error)?;
        let spans =
            spans.iter().map(|span| TraceSpan { output: span.output_range(), source: span.source_range() }).collect();
        Ok(Trace { text, spans })
    }
}

impl ChatTemplate {
    /// Renders the instrumented template. `Ok(None)` when there is none, or when its markers did not come through
    /// intact (the caller then locates turns without it).
    pub fn render_loops(&self, context: Value) -> Result<Option<LoopTrace>> {
        if !self.instrumented {
            return Ok(None);
        }
        let template = self.env.get_template(INSTRUMENTED_NAME).map_err(template_error)?;
        let (output, events) = loops::with_log(|| template.render(context));
        let output = output.map_err(template_error)?;
        Ok(loops::strip(&output, events).map(|s| LoopTrace { text: s.text, events: s.events, contents: s.contents }))
    }
}

impl ChatTemplate {
    /// The output of what follows loop `loop_id` when it reads only the caller's variables (see `after_loop`).
    pub fn render_after_loop(&self, loop_id: u32, context: Value) -> Option<Result<String>> {
        let name = self.after_loop.get(loop_id as usize)?.as_deref()?;
        let template = self.env.get_template(name).ok()?;
        Some(template.render(context).map_err(template_error))
    }
}

/// Adds a template for the source after each loop whose variables all come from the caller: the variables it reads
/// are among those the whole template reads without setting them (so not `ns`, `loop_messages`, ...), and not
/// `messages`. Returns each loop's template name.
fn after_loop_templates(
    env: &mut Environment<'static>,
    source: &str,
    loop_ends: &[Option<(usize, String)>],
) -> Vec<Option<String>> {
    let Ok(whole) = env.get_template(TEMPLATE_NAME).map(|t| t.undeclared_variables(false)) else {
        return Vec::new();
    };
    let assigned = AssignedNames::new(source);
    let mut names = Vec::with_capacity(loop_ends.len());
    for (id, end) in loop_ends.iter().enumerate() {
        let name = format!("{TEMPLATE_NAME}_after_loop_{id}");
        let qualifies = end.as_ref().is_some_and(|(end, right)| {
            env.add_template_owned(name.clone(), loops::source_after(source, *end, right)).is_ok()
                && env.get_template(&name).is_ok_and(|after| {
                    let reads = after.undeclared_variables(false);
                    let from_caller = |v: &String| whole.contains(v) && !assigned.is_match_at_word(v);
                    !reads.contains("messages") && reads.iter().all(from_caller)
                })
        });
        names.push(qualifies.then_some(name));
    }
    names
}

/// The text of the tags that can assign a variable (`set`, `for`, `with`, `macro`, imports): a name that shows in
/// none of them is never assigned by the template. Conservative: a name that only shows in a `for` tag's iterable
/// counts as assigned too.
struct AssignedNames(String);

impl AssignedNames {
    fn new(source: &str) -> AssignedNames {
        let tag = regex::Regex::new(r"(?s)\{%[-+]?\s*(?:set|for|with|macro|import|from)\b(.*?)[-+]?%\}")
            .expect("valid regex");
        AssignedNames(tag.captures_iter(source).map(|c| c[1].to_string()).collect::<Vec<_>>().join("\n"))
    }

    fn is_match_at_word(&self, name: &str) -> bool {
        regex::Regex::new(&format!(r"\b{}\b", regex::escape(name))).is_ok_and(|word| word.is_match(&self.0))
    }
}

/// Rewrites `{% generation %}...{% endgeneration %}` into a filter block whose output minijinja attributes to the
/// filter, plus a `with` block because Jinja2 renders the generation body as a macro with its own scope.
/// Whitespace-control markers stay on the outermost tags, so trimming is unchanged.
fn rewrite_generation_tags(source: &str) -> (String, bool) {
    let tag = regex::Regex::new(r"\{%([-+]?)\s*(end)?generation\s*([-+]?)%\}").expect("valid regex");
    let mut found = false;
    let rewritten = tag.replace_all(source, |caps: &regex::Captures| {
        found = true;
        let (left, right) = (&caps[1], &caps[3]);
        if caps.get(2).is_some() {
            format!("{{%{left} endwith %}}{{% endfilter {right}%}}")
        } else {
            format!("{{%{left} filter {GENERATION_FILTER} %}}{{% with {right}%}}")
        }
    });
    (rewritten.into_owned(), found)
}

fn template_error(err: minijinja::Error) -> Error {
    let mut message = match (err.kind(), err.detail()) {
        // `raise_exception` messages are the template author's words: keep them as they are.
        (ErrorKind::InvalidOperation, Some(detail)) => detail.to_string(),
        _ => err.to_string(),
    };
    if let Some(line) = err.line() {
        if !message.contains("line") {
            message.push_str(&format!(" (chat template line {line})"));
        }
    }
    Error::Template(message)
}

/// The longest text one value may print as. Values can share parts, so a small value can print as exabytes;
/// no chat template needs a single value longer than this.
const MAX_VALUE_TEXT: usize = 64 << 20;

/// Bytes one value may print as: what the remaining fuel pays for (one unit per 64 bytes), at most
/// [`MAX_VALUE_TEXT`].
fn data_budget(state: &State) -> usize {
    state
        .fuel_levels()
        .map_or(MAX_VALUE_TEXT, |(_, remaining)| (remaining as usize).saturating_mul(64))
        .min(MAX_VALUE_TEXT)
}

fn raise_exception(state: &State, message: Value) -> std::result::Result<Value, minijinja::Error> {
    let mut text = String::new();
    python_str(&mut text, &message, data_budget(state))
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))?;
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, text))
}

fn strftime_now(format: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // chrono reports an unknown directive as a formatting error; Python would print it literally.
    if write!(out, "{}", chrono::Local::now().format(format)).is_err() {
        return format.to_string();
    }
    out
}

/// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
fn tojson(
    state: &State,
    value: Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> std::result::Result<Value, minijinja::Error> {
    let names = ["ensure_ascii", "indent", "separators", "sort_keys"];
    if args.len() > names.len() {
        return Err(minijinja::Error::new(ErrorKind::TooManyArguments, "tojson takes at most 4 arguments"));
    }
    let mut params: Vec<Option<Value>> = vec![None; names.len()];
    for (slot, arg) in params.iter_mut().zip(args.iter()) {
        *slot = Some(arg.clone());
    }
    for (slot, name) in params.iter_mut().zip(names) {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            *slot = Some(v);
        }
    }
    kwargs.assert_all_used()?;
    let is_set = |v: &Option<Value>| v.as_ref().is_some_and(|v| !v.is_none() && !v.is_undefined());
    let indent = match &params[1] {
        Some(v) if is_set(&params[1]) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(i64::try_from(v.clone()).unwrap_or(0).max(0) as usize),
        }),
        _ => None,
    };
    let mut options =
        JsonOptions { ensure_ascii: params[0].as_ref().is_some_and(|v| v.is_true()), ..Default::default() }
            .with_indent(indent);
    if is_set(&params[2]) {
        let seps: Vec<Value> = params[2].as_ref().unwrap().try_iter()?.collect();
        match seps.as_slice() {
            [item, key] if item.as_str().is_some() && key.as_str().is_some() => {
                options.item_separator = item.as_str().unwrap().to_string();
                options.key_separator = key.as_str().unwrap().to_string();
            }
            _ => return Err(minijinja::Error::new(ErrorKind::InvalidOperation, "separators must be two strings")),
        }
    }
    options.sort_keys = params[3].as_ref().is_some_and(|v| v.is_true());
    options.max_len = data_budget(state);
    let text = json_dumps(&value, &options).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))?;
    state.consume_fuel((text.len() / 64) as u64)?;
    Ok(Value::from(text))
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // spans are lists of ranges, often of one
mod tests {
    use super::*;
    use minijinja::context;

    fn render(source: &str, ctx: Value) -> Result<Rendered> {
        ChatTemplate::new(source, RenderLimits::default())?.render(ctx)
    }

    #[test]
    fn generation_blocks_become_spans() {
        let source = "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}</s>{% endgeneration %}{% else %}{{ m.content }}{% endif %}{{ '\\n' }}{% endfor %}";
        let messages = Value::from(minijinja::value::Serde(serde_json::json!([
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
            {"role": "user", "content": "more"}, {"role": "assistant", "content": "ok"}
        ])));
        let out = render(source, context!(messages)).unwrap();
        assert_eq!(out.text, "<user>hi\n<assistant>yo</s>\n<user>more\n<assistant>ok</s>\n");
        let spans: Vec<&str> = out.generation_spans.iter().map(|r| &out.text[r.clone()]).collect();
        assert_eq!(spans, ["yo</s>", "ok</s>"]);
    }

    #[test]
    fn traced_renders_attribute_output_to_template_source() {
        let source = "{% for m in messages %}[{{ m }}]{% endfor %}";
        let template = ChatTemplate::new(source, RenderLimits::default()).unwrap();
        let trace = template.render_traced(context!(messages => vec!["a", "bc"]), true).unwrap();
        assert_eq!(trace.text, "[a][bc]");
        let pieces: Vec<(&str, &str)> =
            trace.spans.iter().map(|s| (&trace.text[s.output.clone()], &source[s.source.clone()])).collect();
        assert_eq!(pieces, [("[", "["), ("a", "m"), ("]", "]"), ("[", "["), ("bc", "m"), ("]", "]")]);
        assert!(template.render_traced(context!(messages => vec!["a"]), false).unwrap().spans.is_empty());
    }

    #[test]
    fn generation_body_has_its_own_scope_like_jinja2() {
        let out = render("{% set x = 1 %}{% generation %}{% set x = 2 %}{{ x }}{% endgeneration %}{{ x }}", context!())
            .unwrap();
        assert_eq!(out.text, "21");
    }

    #[test]
    fn whitespace_control_on_generation_tags_is_kept() {
        let source = "A\n    {%- generation %}\n    {{- 'B' }}\n    {%- endgeneration %}\nC";
        let out = render(source, context!()).unwrap();
        assert_eq!(out.text, "ABC");
        assert_eq!(out.generation_spans, [1..2]);
    }

    #[test]
    fn values_print_like_python() {
        let out =
            render("{{ true }} {{ none }} {{ [1, 'a'] }} {{ {'k': false} }} {{ 1.0 }} {{ missing }}|", context!())
                .unwrap();
        assert_eq!(out.text, "True None [1, 'a'] {'k': False} 1.0 |");
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        let value = Value::from(minijinja::value::Serde(serde_json::json!({"name": "f", "x": "<é>", "n": [1, 2.5]})));
        let out = render("{{ v | tojson }}|{{ v | tojson(indent=2) }}", context!(v => value)).unwrap();
        assert_eq!(
            out.text,
            "{\"name\": \"f\", \"x\": \"<é>\", \"n\": [1, 2.5]}|{\n  \"name\": \"f\",\n  \"x\": \"<é>\",\n  \"n\": [\n    1,\n    2.5\n  ]\n}"
        );
    }

    #[test]
    fn raise_exception_keeps_the_message() {
        let err = render("{{ raise_exception('roles must alternate') }}", context!()).unwrap_err();
        assert!(matches!(&err, Error::Template(m) if m.starts_with("roles must alternate")), "{err:?}");
    }

    #[test]
    fn type_tests_answer_as_jinja2_does() {
        let out = render(
            "{{ none is iterable }} {{ missing is iterable }} {{ 'a' is iterable }} {{ 'a' is sequence }} \
             {{ {'k': 1} is sequence }} {{ none is sequence }} {{ 1 is sequence }} {{ [1] is sequence }}",
            context!(),
        )
        .unwrap();
        assert_eq!(out.text, "False True True True True False False True");
    }

    #[test]
    fn python_string_methods_work() {
        let out = render("{{ ' a b '.strip().split(' ') }} {{ 'xy'.startswith('x') }}", context!()).unwrap();
        assert_eq!(out.text, "['a', 'b'] True");
    }

    #[test]
    fn syntax_errors_are_template_errors() {
        assert!(matches!(ChatTemplate::new("{% for %}", RenderLimits::default()), Err(Error::Template(_))));
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let limits = RenderLimits { fuel: Some(100_000), recursion_limit: 100 };
        let template = ChatTemplate::new("{% for i in range(100000000) %}x{% endfor %}", limits).unwrap();
        assert!(matches!(template.render(context!()), Err(Error::Template(_))));
    }
}
