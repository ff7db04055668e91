//! Test support for the families whose expansions are checked against tables of transformers' own output
//! (`scripts/vision_expected.py` writes them into each family's tests): the table type, the published configs in
//! tests/fixtures/vision/, and the check every table runs.

use serde_json::Value;

use super::ImageSize;

/// The expected replacements of one config: per size, the text's length in bytes, its `<image>` count and its hash.
pub struct Table {
    pub family: &'static str,
    pub preprocessor: &'static str,
    pub processor: &'static str,
    pub cases: &'static [(u32, u32, usize, usize, u64)],
    /// Sizes transformers raises on.
    pub errors: &'static [(u32, u32)],
}

impl Table {
    /// The table's configs: (preprocessor_config.json, processor_config.json).
    pub fn configs(&self) -> (Value, Value) {
        (serde_json::from_str(self.preprocessor).unwrap(), serde_json::from_str(self.processor).unwrap())
    }

    /// Every case against `try_expand`: the same text (length, `<image>` count, hash), and an error where
    /// transformers raises.
    pub fn check(&self, try_expand: impl Fn(ImageSize) -> Result<String, String>) {
        for &(width, height, bytes, tokens, hash) in self.cases {
            let text = try_expand(ImageSize { width, height }).unwrap();
            let at = format!("{} {} {}: {width}x{height}", self.family, self.preprocessor, self.processor);
            assert_eq!(text.matches("<image>").count(), tokens, "{at}");
            assert_eq!(text.len(), bytes, "{at}");
            assert_eq!(fnv1a64(&text), hash, "{at}");
        }
        for &(width, height) in self.errors {
            assert!(try_expand(ImageSize { width, height }).is_err(), "{}: {width}x{height}", self.family);
        }
    }
}

/// The hash the tables hold (FNV-1a, 64 bits), as the script computes it.
fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// A family's published files, tests/fixtures/vision/<family>/: (preprocessor_config.json, processor_config.json).
pub fn fixture(family: &str) -> (&'static str, &'static str) {
    macro_rules! files {
        ($family:literal) => {
            (
                include_str!(concat!("../../tests/fixtures/vision/", $family, "/preprocessor_config.json")),
                include_str!(concat!("../../tests/fixtures/vision/", $family, "/processor_config.json")),
            )
        };
    }
    match family {
        "idefics3" => files!("idefics3"),
        "smolvlm" => files!("smolvlm"),
        "llava" => files!("llava"),
        "llava_next" => files!("llava_next"),
        other => panic!("no fixture {other}"),
    }
}

/// Asserts that each named table holds its family's published configs.
pub fn assert_fixtures(tables: &[(&str, &Table)]) {
    for (name, table) in tables {
        let (pre, proc) = fixture(name);
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(parse(pre), parse(table.preprocessor), "{name}");
        assert_eq!(parse(proc), parse(table.processor), "{name}");
    }
}
