#!/usr/bin/env bash
# The test suite: builds sftmask into the current Python environment with its test dependencies, then runs the
# Rust unit tests and the Python tests. Tests that need ../shared (real tokenizers and corpus) skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip maturin
python -m pip install -q -e '.[test]'
cargo test --quiet
python -m pytest "$@"
