//! A fuzzing harness for the Rust core, run for a fixed time budget:
//!
//!     cargo run --release --example fuzz_core -- [SECONDS] [SEED]
//!
//! It mutates real inputs (chat templates, conversations as JSON, tokenizer files) and throws random bytes at every
//! entry point: template compilation and rendering, conversation checking, tokenizer loading, encoding. Every call
//! must return a value or an error; a panic is a bug. Panics are caught here (as the Python bindings catch them) so
//! that the run goes on, and each one is reported with the input that caused it. `cargo fuzz` would need a nightly
//! toolchain, which this project's machines do not have.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use minijinja::value::{Serde, Value};
use sftmask::config::TokenizerFiles;
use sftmask::render::template::{ChatTemplate, RenderLimits};
use sftmask::{Conversation, Masker, RenderOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&str] = &[
    "{% for m in messages %}",
    "{% endfor %}",
    "{{ m.content }}",
    "{% generation %}",
    "{% endgeneration %}",
    "{%- if x %}",
    "{% endif %}",
    "{{ raise_exception('no') }}",
    "| tojson",
    "| tojson(indent=2)",
    "{{ tools }}",
    "{% set ns = namespace(a=1) %}",
    "{{ ns.a ~ 'x' }}",
    "[::-1]",
    ".split('</think>')",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "\"role\"",
    "\"content\"",
    "null",
    "[",
    "]",
    "{",
    "}",
    "\\u0000",
    "\u{301}",
    "😀",
    "<|im_start|>",
    "<|im_end|>",
];

/// Mutates `seed` with byte flips, insertions of snippets or random bytes, deletions and truncation.
fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            1 => {
                let snippet = SNIPPETS[rng.below(SNIPPETS.len())].as_bytes();
                bytes.splice(at..at, snippet.iter().copied());
            }
            2 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => bytes.truncate(at),
            _ => {
                let random: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, random);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut rng = Rng(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0x9E3779B97F4A7C15));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = root.join("python/sftmask/demo");
    let files = TokenizerFiles::read_dir(&demo).expect("demo tokenizer");
    let masker = Masker::from_files(&files, None).expect("demo masker");
    let mut templates: Vec<String> = vec![files.chat_templates().unwrap()[0].1.clone()];
    if let Ok(dir) = std::fs::read_dir(root.join("../shared/templates")) {
        templates.extend(dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()));
    }
    let conversations: Vec<String> = std::fs::read_to_string(demo.join("conversations.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["messages"].to_string())
        .collect();
    let config = files.config.to_string();
    let limits = RenderLimits { fuel: Some(200_000), recursion_limit: 100 };

    let (mut tried, mut errors, mut panics) = (0u64, 0u64, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let kind = rng.below(4);
        let (t, c) = (rng.below(templates.len()), rng.below(conversations.len()));
        let template = mutate(&mut rng, &templates[t]);
        let messages = mutate(&mut rng, &conversations[c]);
        let tokenizer_config = mutate(&mut rng, &config);
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), sftmask::Error> {
            let messages = match serde_json::from_str::<serde_json::Value>(&messages) {
                Ok(json) => Value::from(Serde(json)),
                Err(_) => Value::from(messages.as_str()),
            };
            match kind {
                0 => {
                    let conversation = Conversation::new(&messages, None)?;
                    let template = ChatTemplate::new(&template, limits)?;
                    let context = sftmask::values::map_value([("messages", conversation.messages)]);
                    template.render(context).map(drop)
                }
                1 => masker
                    .encode(&Conversation::new(&messages, None)?.into(), &RenderOptions::default(), None)
                    .map(drop),
                2 => {
                    let config =
                        serde_json::from_str(&tokenizer_config).map_err(|e| sftmask::Error::Config(e.to_string()))?;
                    let files = TokenizerFiles { config, ..files.clone() };
                    let masker = Masker::from_files(&files, None)?;
                    masker
                        .encode(&Conversation::new(&messages, None)?.into(), &RenderOptions::default(), None)
                        .map(drop)
                }
                _ => masker.tokenizer().encode(&template).map(drop),
            }
        }));
        tried += 1;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(_)) => errors += 1,
            Err(_) => panics.push((kind, template, messages)),
        }
    }
    println!("fuzz_core: {tried} inputs in {seconds}s, {errors} returned errors, {} panicked", panics.len());
    for (kind, template, messages) in panics.iter().take(5) {
        println!("PANIC kind={kind}\n template={template:?}\n messages={messages:?}");
    }
    if !panics.is_empty() {
        std::process::exit(1);
    }
}
