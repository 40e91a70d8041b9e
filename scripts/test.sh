#!/usr/bin/env bash
# The README's test command: sets up .venv and runs the whole test suite on CPU.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec python -m pytest -q "$@"
