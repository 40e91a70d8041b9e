#!/usr/bin/env bash
# The README's test command: sets up .venv, lints and format-checks the tree with ruff, then runs
# the whole test suite on CPU (GPU tests are skipped without a CUDA device).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ruff check .
ruff format --check .
exec python -m pytest -q "$@"
