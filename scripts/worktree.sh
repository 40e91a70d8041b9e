#!/usr/bin/env bash
# A checkout of COMMIT at DIR that runs as itself on PYTHONPATH: bash scripts/worktree.sh COMMIT DIR
#
# setup.py maps sada_dali.pipelines to pipelines/ and sada_dali.kernels to kernels/, and the
# editable install finds them in this checkout whenever sada_dali/ has no such folder. A bare
# worktree on PYTHONPATH would so load its own reader with this checkout's pipelines and kernels.
# This script adds the worktree with both links inside its sada_dali/, so that
#   (cd DIR && PYTHONPATH=DIR python benchmarks/...)
# runs COMMIT's code throughout. Remove it with: git worktree remove --force DIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: bash scripts/worktree.sh COMMIT DIR" >&2
  exit 2
fi
commit=$1 dir=$2
git worktree add --detach --force "$dir" "$commit" >/dev/null
ln -sfn ../pipelines "$dir/sada_dali/pipelines"
ln -sfn ../kernels "$dir/sada_dali/kernels"
echo "$dir: $(git -C "$dir" log --oneline -1)"
