#!/usr/bin/env bash
# One command for a GPU machine: bash scripts/gpu-check.sh OUT_DIR
#
# Runs the `gpu` tests, benchmarks/estimator.py, `sada-dali bench` (its GPU rows) and a short
# ResNet-50 AMP training run with and without SADA on a generated corpus; writes every JSON and
# log into OUT_DIR and prints a summary (benchmarks/summarize_gpu_check.py). Offline: it installs
# nothing and uses ${PYTHON:-python3}, which must already import torch, CuPy and DALI. Each step
# has its own time limit and a failure does not stop the next one; exit codes go to
# OUT_DIR/status.txt. About 10 minutes on one H100. Without a GPU the GPU steps report
# "skipped: no GPU"; GPU_CHECK_CPU=1 runs them in a tiny CPU mode instead, to check the script.
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash scripts/gpu-check.sh OUT_DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
py="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1 SADA_DALI_CACHE="$out/cache"
: > "$out/status.txt"

# The checkout as an importable package (setup.py maps pipelines/ and kernels/ into sada_dali).
stage="$out/.package"
rm -rf "$stage" && mkdir -p "$stage"
cp -r "$root/sada_dali" "$stage/sada_dali"
cp -r "$root/pipelines" "$stage/sada_dali/pipelines"
cp -r "$root/kernels" "$stage/sada_dali/kernels"
export PYTHONPATH="$stage${PYTHONPATH:+:$PYTHONPATH}"

gpu=$("$py" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
cpu_mode="${GPU_CHECK_CPU:-0}"

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, record its exit code
  local name=$1 limit=$2 start rc
  shift 2
  echo "== $name (limit ${limit}s)"
  start=$(date +%s)
  (cd "$root" && timeout --kill-after=10 "$limit" "$@") > "$out/$name.log" 2>&1
  rc=$?
  tail -n 3 "$out/$name.log"
  echo "$name $rc $(( $(date +%s) - start ))" >> "$out/status.txt"
}

skip() {
  echo "== $1: skipped: no GPU"
  echo "$1 skipped 0" >> "$out/status.txt"
}

step gpu-tests 150 "$py" -m pytest -q -m gpu -p no:cacheprovider --junitxml="$out/gpu-tests.xml" tests
if [ "$gpu" = 1 ]; then
  step estimator-bench 60 "$py" benchmarks/estimator.py --device auto --json "$out/estimator.json"
  step loader-bench 90 "$py" -m sada_dali.cli.main bench --rows 1,2,5 --images 256 --json "$out/bench.json"
  train=(--arch resnet50 --amp --epochs 4 --max-steps 50 --batch-size 64 --image-size 224 --device gpu)
  corpus=(800 8 256 256)  # 3200 files: 50 batches of 64 per epoch, 200 steps in all
elif [ "$cpu_mode" = 1 ]; then
  step estimator-bench 60 "$py" benchmarks/estimator.py --device cpu --num-samples 2000 --batch-size 8 --iters 3 \
    --epoch-iters 1 --json "$out/estimator.json"
  step loader-bench 120 "$py" -m sada_dali.cli.main bench --rows 3 --tiny --workers 1 --json "$out/bench.json"
  train=(--arch small_cnn --epochs 2 --max-steps 2 --batch-size 4 --image-size 32 --device cpu --workers 0 --threads 1)
  corpus=(4 2 64 48)
else
  skip estimator-bench
  skip loader-bench
fi
if [ "$gpu" = 1 ] || [ "$cpu_mode" = 1 ]; then
  # corpus: N generated photos, each hard-linked under 4 names (4N training files), val/ = train/
  step corpus 50 "$py" -c "import os, sys; from pathlib import Path; from sada_dali.data.synthetic import create_photo_corpus
src = create_photo_corpus(Path(sys.argv[1]), num_images=int(sys.argv[3]), num_classes=int(sys.argv[4]),
                          width=int(sys.argv[5]), height=int(sys.argv[6]), progress=False) / 'train'
dst = Path(sys.argv[2]) / 'train'
for image in sorted(src.rglob('*.jpg')):
    (dst / image.parent.name).mkdir(parents=True, exist_ok=True)
    for k in range(4):
        target = dst / image.parent.name / f'{k}_{image.name}'
        target.exists() or os.link(image, target)
(dst.parent / 'val').exists() or (dst.parent / 'val').symlink_to('train')" "$out/cache/photos" "$out/corpus" "${corpus[@]}"
  step train-sada 110 "$py" -m sada_dali.cli.main train --data "$out/corpus" --sada --out "$out/train-sada" "${train[@]}"
  step train-no-sada 110 "$py" -m sada_dali.cli.main train --data "$out/corpus" --no-sada --out "$out/train-no-sada" "${train[@]}"
else
  skip train-sada
  skip train-no-sada
fi
rm -rf "$stage" "$out/train-sada/checkpoint.pt" "$out/train-no-sada/checkpoint.pt"
"$py" "$root/benchmarks/summarize_gpu_check.py" "$out" | tee "$out/summary.txt"
