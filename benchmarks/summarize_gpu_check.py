"""Summary of a ``scripts/gpu-check.sh OUT_DIR`` run: prints it and writes ``OUT_DIR/summary.json``.

Reads what the steps left in OUT_DIR (any may be missing; the script calls this after every
step): ``status.txt`` (step, exit code, seconds), ``env.log`` (the GPU and the versions, a JSON
line), ``tier1-tests.xml`` / ``tier2-tests.xml`` (pytest's JUnit reports), ``estimator.json``,
``bench.json`` and ``train-sada/metrics.json`` / ``train-no-sada/metrics.json``. The training
overhead of SADA is
``1 - (images/s with SADA) / (images/s without)``, each the median over the epochs after the
first (which includes cuDNN autotuning and the pipelines' warm-up).

Example: ``python benchmarks/summarize_gpu_check.py runs/gpu-check``
"""

from __future__ import annotations

import json
import statistics
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TEST_TIERS = ("tier1-tests", "tier2-tests")


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _steps(out: Path) -> dict:
    steps = {}
    if (out / "status.txt").is_file():
        for line in (out / "status.txt").read_text().splitlines():
            name, code, seconds = line.split()
            steps[name] = {"exit": code if code == "skipped" else int(code), "seconds": int(seconds)}
    return steps


def _env(out: Path) -> dict | None:
    try:
        lines = (out / "env.log").read_text().strip().splitlines()
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def _tests(path: Path) -> dict | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["failed"] = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return counts


def _train_rate(out: Path, name: str) -> float | None:
    history = _json(out / name / "metrics.json")
    if not history:
        return None
    rates = [epoch["images_per_s"] for epoch in history]
    return statistics.median(rates[1:] if len(rates) > 1 else rates)


def summarize(out) -> dict:
    """Collect the run's figures from ``out`` into one dict (None where a step left nothing)."""
    out = Path(out)
    bench = _json(out / "bench.json")
    estimator = _json(out / "estimator.json")
    sada, plain = _train_rate(out, "train-sada"), _train_rate(out, "train-no-sada")
    summary = {
        "steps": _steps(out),
        "env": _env(out),
        "gpu_tests": {tier: _tests(out / f"{tier}.xml") for tier in TEST_TIERS},
        "estimator": estimator["devices"] if estimator else None,
        "loader_bench": {
            r["name"]: r.get("images_per_s") or r.get("fraction_of_step") or r["status"]
            for r in bench["rows"]
        }
        if bench
        else None,
        "bench_ratios": bench.get("ratios") if bench else None,
        "train_images_per_s": {"sada": sada, "no_sada": plain},
        "sada_training_overhead": 1.0 - sada / plain if sada and plain else None,
    }
    summary["goals"] = _goals(summary, bench)
    return summary


def _goals(summary: dict, bench) -> list[dict]:
    """Issue 20's goals against this run's figures (value None: not measured in this run, and
    never from a run without a GPU: the CPU rehearsal's toy sizes measure nothing)."""
    on_gpu = bool((summary["env"] or {}).get("gpu"))
    cuda = (summary["estimator"] or {}).get("cuda") or {}
    row1 = next((r for r in (bench or {}).get("rows", []) if r["row"] == 1), {})
    figures = (
        ("update at B=256, K=1000 (kernel time), us", cuda.get("update_us"), "<=", 50.0),
        ("end_epoch at N=1.28M, ms", cuda.get("end_epoch_ms"), "<=", 5.0),
        ("row 1 / row 2", (summary["bench_ratios"] or {}).get("row1/row2"), ">=", 0.9),
        ("row 1 at 224 px, images/s", row1.get("images_per_s"), ">=", 7000.0),
        ("SADA training overhead", summary["sada_training_overhead"], "<=", 0.02),
    )
    return [
        {
            "goal": f"{name} {sign} {limit:g}",
            "value": value,
            "met": None if value is None else (value <= limit if sign == "<=" else value >= limit),
        }
        for name, value, sign, limit in ((n, v if on_gpu else None, s, lim) for n, v, s, lim in figures)
    ]


def format_summary(summary: dict) -> str:
    """The printed report, one fact per line."""
    lines = ["gpu-check summary"]
    if summary["env"]:
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in summary["env"].items()))
    for name, step in summary["steps"].items():
        killed = "  (killed at its time limit)" if step["exit"] == 124 else ""
        lines.append(f"  step {name:<16} exit {step['exit']!s:<8} {step['seconds']:>4d} s{killed}")
    for tier, tests in summary["gpu_tests"].items():
        if tests:
            lines.append(
                f"  {tier}: {tests['passed']} passed, {tests['failures'] + tests['errors']} failed, "
                f"{tests['skipped']} skipped"
            )
            lines += [f"    FAILED {name}" for name in tests["failed"]]
    for device, row in (summary["estimator"] or {}).items():
        lines.append(
            f"  estimator {device}: update {row['update_us']:.1f} us kernels "
            f"({row.get('update_host_us', row['update_us']):.1f} us host), "
            f"end_epoch {row['end_epoch_ms']:.2f} ms"
        )
        if "update_torch_us" in row:
            lines.append(
                f"  estimator {device} from torch tensors: update {row['update_torch_us']:.1f} us kernels "
                f"({row['update_torch_host_us']:.1f} us host)"
            )
    for name, value in (summary["loader_bench"] or {}).items():
        lines.append(
            f"  bench {name}: {value:.4g}" if isinstance(value, float) else f"  bench {name}: {value}"
        )
    rates = summary["train_images_per_s"]
    if rates["sada"] or rates["no_sada"]:
        lines.append(f"  train images/s: SADA {rates['sada']}, no SADA {rates['no_sada']}")
    if summary["sada_training_overhead"] is not None:
        lines.append(f"  SADA training overhead: {100 * summary['sada_training_overhead']:.1f} %")
    for goal in summary["goals"]:
        verdict = {None: "not measured", True: "met", False: "MISSED"}[goal["met"]]
        value = "" if goal["value"] is None else f": {goal['value']:.4g}"
        lines.append(f"  goal {goal['goal']}{value} -> {verdict}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(
            "usage: python benchmarks/summarize_gpu_check.py OUT_DIR (the folder gpu-check.sh wrote)",
            file=sys.stderr,
        )
        return 2
    summary = summarize(args[0])
    (Path(args[0]) / "summary.json").write_text(json.dumps(summary, indent=2))
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
