#!/usr/bin/env bash
# Virtualenvs with LLaMA-Factory and Axolotl from PyPI, for tests/test_trainers.py: their pins (transformers, trl,
# datasets) conflict with sftmask's test environment. Each takes 2-4 minutes and about 7 GB (torch with its CUDA
# libraries: PyPI has no CPU-only build).   bash scripts/trainers/install.sh [DIR]   (default .venv-trainers)
set -euo pipefail
dir=${1:-.venv-trainers}
python3 -m venv "$dir/llamafactory"
"$dir/llamafactory/bin/pip" install -q llamafactory==0.9.5
python3 -m venv "$dir/axolotl"
"$dir/axolotl/bin/pip" install -q axolotl==0.19.0
