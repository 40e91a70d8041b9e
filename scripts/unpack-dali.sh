#!/usr/bin/env bash
# On the GPU machine: join the parts that ../shared/device/pack-dali.sh wrote (site.tar.xz.0, .1,
# ...), unpack them and check that DALI imports from there (the device README's commands).
#   usage: bash scripts/unpack-dali.sh PARTS_DIR [SITE_DIR]     (SITE_DIR default: ~/sada-site)
# Then every command there starts with: export PYTHONPATH=SITE_DIR
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bash scripts/unpack-dali.sh PARTS_DIR [SITE_DIR]" >&2
  exit 2
fi
parts=$1
site=${2:-$HOME/sada-site}
py=${PYTHON:-python3}
shopt -s nullglob
files=("$parts"/site.tar.xz.*)
if [ ${#files[@]} -eq 0 ]; then
  echo "no site.tar.xz.* parts in $parts: upload them there first" >&2
  exit 1
fi
echo "joining ${#files[@]} parts: ${files[*]##*/}"
mkdir -p "$site"
cat "${files[@]}" | "$py" -c "import sys, lzma, tarfile
tarfile.open(fileobj=lzma.open(sys.stdin.buffer), mode='r|').extractall(sys.argv[1])" "$site"
PYTHONPATH="$site" "$py" -c "import nvidia.dali as dali; print('DALI', dali.__version__, 'in', dali.__file__)"
