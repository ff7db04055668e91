#!/usr/bin/env bash
# Fuzzes the Rust core for a fixed time budget (seconds, default 300) and prints how many inputs were tried.
# Exits non-zero if any input made the core panic. See examples/fuzz_core.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --example fuzz_core -- "${1:-300}" "${2:-11400714819323198485}"
