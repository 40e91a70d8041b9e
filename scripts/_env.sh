# Sourced by scripts/demo.sh and scripts/test.sh: creates .venv (once) and installs
# sada-dali with its test extra into it. Needs only python3 (>= 3.10) with venv and pip.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.sada-installed
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ scripts/constraints.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -c scripts/constraints.txt -e ".[test]"
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
