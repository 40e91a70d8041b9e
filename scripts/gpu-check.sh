#!/usr/bin/env bash
# The GPU checks, in tiers, most valuable first: bash scripts/gpu-check.sh OUT_DIR [--tier N[,M...]]
#
#   1  the `gpu` estimator tests (CUDA kernels, NCCL) and benchmarks/estimator.py      <= 100 s
#   2  the `gpu` pipeline, loader, augment and recovery tests                           <= 110 s
#   3  `sada-dali bench --rows 1,2,5` on a generated corpus of 4096 files               <= 115 s
#   4  ResNet-50 AMP training, 100 steps with SADA and 100 without (the overhead)       <= 120 s
#
# Each step has its own time limit (a step killed at it leaves its log) and a failure does not
# stop the next one. With the 10 s environment step the limits add up to 455 s; with the
# staging and the summaries the whole script ends within 8 minutes (480 s) whatever happens.
# Every log and JSON lands in OUT_DIR as the steps go: status.txt (step, exit code, seconds;
# 124 = killed at the limit) and summary.json / summary.txt, rewritten after every step.
# Offline: it installs nothing and uses ${PYTHON:-python3}, which must import torch, CuPy and
# DALI. Without a GPU the GPU steps report "skipped: no GPU", and GPU_CHECK_CPU=1 runs the same
# command lines on the CPU at toy sizes instead (a rehearsal of the script, not a measurement).
set -uo pipefail
usage() {
  echo "usage: bash scripts/gpu-check.sh OUT_DIR [--tier N]   (N in 1..4, or a list such as 2,4; default: all)" >&2
  exit 2
}
[ $# -eq 1 ] || [ $# -eq 3 ] || usage
tiers="1 2 3 4"
if [ $# -eq 3 ]; then
  [ "$2" = "--tier" ] && [[ "$3" =~ ^[1-4](,[1-4])*$ ]] || usage
  tiers=${3//,/ }
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
py="${PYTHON:-python3}"
work="$(mktemp -d)"  # corpus, cache and the staged package: never shipped back with OUT_DIR
trap 'rm -rf "$work"' EXIT
export PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1 SADA_DALI_CACHE="$work/cache"
touch "$out/status.txt"

# The checkout as an importable package (setup.py maps pipelines/ and kernels/ into sada_dali).
mkdir -p "$work/package"
cp -r "$root/sada_dali" "$work/package/sada_dali"
cp -r "$root/pipelines" "$work/package/sada_dali/pipelines"
cp -r "$root/kernels" "$work/package/sada_dali/kernels"
export PYTHONPATH="$work/package${PYTHONPATH:+:$PYTHONPATH}"

# The test files of tiers 1 and 2: together every file with a `gpu` test (tests/test_gpu_check.py checks).
tier1_tests=(tests/test_estimator_gpu.py tests/test_entaugment_gpu.py tests/test_distributed.py)
tier2_tests=(tests/test_pipeline_gpu.py tests/test_recovery_gpu.py tests/test_loader.py tests/test_loader_defaults.py tests/test_augment.py tests/test_pixel_reproducibility.py)

gpu=$("$py" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
cpu_mode="${GPU_CHECK_CPU:-0}"
if [ "$gpu" = 1 ]; then
  estimator=(--device cuda)
  rows=1,2,5
  bench=(--batch-size 128 --image-size 224 --repeats 5)
  corpus=(--photos 512 --links 8 --width 500 --height 375)  # 4096 files of ~110 KB
  train=(--arch resnet50 --amp --epochs 4 --max-steps 25 --batch-size 64 --image-size 224 --device gpu)
elif [ "$cpu_mode" = 1 ]; then
  estimator=(--device cpu --num-samples 20000 --iters 3 --epoch-iters 1)
  rows=1,2,3,5  # rows 1, 2 and 5 report "skipped: no GPU"; row 3 reads the same corpus on the CPU
  bench=(--batch-size 4 --image-size 32 --repeats 1 --workers 1)
  corpus=(--photos 16 --links 2 --width 64 --height 48)
  train=(--arch small_cnn --epochs 2 --max-steps 2 --batch-size 4 --image-size 32 --device cpu --workers 0 --threads 1)
fi
runs_gpu_steps() { [ "$gpu" = 1 ] || [ "$cpu_mode" = 1 ]; }

summarize() { "$py" "$root/benchmarks/summarize_gpu_check.py" "$out" > "$out/summary.txt" 2>&1; }

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, record its exit code
  local name=$1 limit=$2 start rc
  shift 2
  echo "== $name (limit ${limit}s)"
  start=$(date +%s)
  (cd "$root" && timeout --kill-after=5 "$limit" "$@") > "$out/$name.log" 2>&1
  rc=$?
  tail -n 3 "$out/$name.log"
  echo "$name $rc $(($(date +%s) - start))" >> "$out/status.txt"
  summarize
}

gpu_step() {  # gpu_step NAME SECONDS COMMAND...: a step that needs a GPU (or the CPU rehearsal)
  if runs_gpu_steps; then
    step "$@"
  else
    echo "== $1: skipped: no GPU"
    echo "$1 skipped 0" >> "$out/status.txt"
  fi
}

pytest_step() {  # pytest_step NAME SECONDS FILES...: the `gpu` tests of FILES, one line per test
  local name=$1 limit=$2
  shift 2
  step "$name" "$limit" "$py" -m pytest -v -m gpu -p no:cacheprovider --durations=10 \
    --junitxml="$out/$name.xml" "$@"
}

make_corpus() {  # shared by tiers 3 and 4: written once per run
  [ -e "$work/corpus/val" ] && return
  gpu_step corpus 20 "$py" benchmarks/gpu_check_corpus.py "$work/corpus" "${corpus[@]}" --processes "$(nproc)"
}

step env 10 "$py" -c "import platform, subprocess, json, torch, cupy, nvidia.dali as dali
smi = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
                     capture_output=True, text=True).stdout.strip() if torch.cuda.is_available() else None
print(json.dumps({'gpu': smi, 'python': platform.python_version(), 'torch': torch.__version__,
                  'cupy': cupy.__version__, 'dali': dali.__version__}))"
for tier in $tiers; do
  case $tier in
    1)
      pytest_step tier1-tests 65 "${tier1_tests[@]}"
      gpu_step estimator-bench 35 "$py" benchmarks/estimator.py "${estimator[@]}" --json "$out/estimator.json"
      ;;
    2)
      pytest_step tier2-tests 110 "${tier2_tests[@]}"
      ;;
    3)
      make_corpus
      gpu_step loader-bench 95 "$py" -m sada_dali.cli.main bench --rows "$rows" --data "$work/corpus" \
        "${bench[@]}" --json "$out/bench.json"
      ;;
    4)
      make_corpus
      for mode in sada no-sada; do
        gpu_step "train-$mode" 60 "$py" -m sada_dali.cli.main train --data "$work/corpus" "--$mode" \
          --out "$out/train-$mode" "${train[@]}"
        rm -f "$out/train-$mode/checkpoint.pt"
      done
      ;;
  esac
done
summarize
cat "$out/summary.txt"
