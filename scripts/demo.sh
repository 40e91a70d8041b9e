#!/usr/bin/env bash
# The README's main-job command: sets up .venv, then runs `sada-dali demo` (SADA vs a
# TrivialAugment-style baseline on scikit-learn's bundled digits). Extra arguments pass through.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec python -m sada_dali.cli.main demo "$@"
