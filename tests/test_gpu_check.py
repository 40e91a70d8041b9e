"""scripts/gpu-check.sh parses, and its summariser reads the files the steps write."""

import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
spec = importlib.util.spec_from_file_location(
    "summarize_gpu_check", ROOT / "benchmarks" / "summarize_gpu_check.py"
)
summarizer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(summarizer)

JUNIT = """<?xml version="1.0"?><testsuites>
<testsuite name="pytest" tests="5" failures="1" errors="0" skipped="1">
<testcase classname="tests.test_estimator_gpu" name="test_a"/>
<testcase classname="tests.test_estimator_gpu" name="test_b">
<failure message="boom"/></testcase></testsuite></testsuites>"""


SCRIPT = ROOT / "scripts" / "gpu-check.sh"
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
def test_gpu_check_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@needs_bash
@pytest.mark.parametrize(
    "args", [[], ["out", "--tier"], ["out", "--tier", "5"], ["out", "--tier", "1,"], ["out", "--tiers", "1"]]
)
def test_gpu_check_refuses_bad_arguments_with_its_usage(tmp_path, args):
    done = subprocess.run(["bash", str(SCRIPT), *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: bash scripts/gpu-check.sh OUT_DIR [--tier N]" in done.stderr
    assert not (tmp_path / "out").exists()


def test_gpu_check_tiers_run_every_test_file_that_has_gpu_tests():
    text = SCRIPT.read_text()
    listed = re.findall(r"^tier[12]_tests=\((.*)\)$", text, flags=re.M)
    tiers = [set(line.split()) for line in listed]
    marked = {
        f"tests/{path.name}"
        for path in (ROOT / "tests").glob("test_*.py")
        if re.search(r"pytest\.mark\.gpu\b", path.read_text())
    }
    assert len(tiers) == 2 and not tiers[0] & tiers[1]
    assert tiers[0] | tiers[1] == marked
    assert tiers[0] == {
        "tests/test_estimator_gpu.py",
        "tests/test_entaugment_gpu.py",
        "tests/test_distributed.py",
    }


def test_summary_reports_steps_tests_benchmarks_and_the_training_overhead(tmp_path, capsys):
    (tmp_path / "status.txt").write_text(
        "env 0 3\ntier1-tests 1 95\nestimator-bench 0 20\nloader-bench 124 95\ntrain-sada skipped 0\n"
    )
    (tmp_path / "env.log").write_text(
        'warning: noise\n{"gpu": "NVIDIA H200, 580.1, 143771 MiB", "dali": "2.4.0"}\n'
    )
    (tmp_path / "tier1-tests.xml").write_text(JUNIT)
    (tmp_path / "bench.json").write_text(
        json.dumps(
            {
                "rows": [
                    {"row": 1, "name": "SADA DALI, GPU", "status": "ok", "images_per_s": 7500.0},
                    {
                        "row": 2,
                        "name": "DALI trivial_augment_wide, GPU",
                        "status": "ok",
                        "images_per_s": 8000.0,
                    },
                ],
                "ratios": {"row1/row2": 0.9375},
            }
        )
    )
    (tmp_path / "estimator.json").write_text(
        json.dumps(
            {
                "devices": {
                    "cuda": {
                        "update_us": 21.5,
                        "update_host_us": 40.0,
                        "update_torch_us": 22.5,
                        "update_torch_host_us": 55.0,
                        "end_epoch_ms": 0.3,
                    }
                }
            }
        )
    )
    for name, rates in (
        ("train-sada", [100.0, 900.0, 950.0, 940.0]),
        ("train-no-sada", [120.0, 1000.0, 1000.0]),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps([{"images_per_s": r} for r in rates]))
    assert summarizer.main([str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"]["tier1-tests"] == {"exit": 1, "seconds": 95}
    assert summary["steps"]["train-sada"]["exit"] == "skipped"
    assert summary["env"]["gpu"].startswith("NVIDIA H200")
    assert summary["gpu_tests"]["tier2-tests"] is None
    assert summary["gpu_tests"]["tier1-tests"]["passed"] == 3 and summary["gpu_tests"]["tier1-tests"][
        "failed"
    ] == ["tests.test_estimator_gpu::test_b"]
    assert summary["loader_bench"] == {"SADA DALI, GPU": 7500.0, "DALI trivial_augment_wide, GPU": 8000.0}
    assert [goal["met"] for goal in summary["goals"]] == [True, True, True, True, False]
    assert summary["train_images_per_s"] == {"sada": 940.0, "no_sada": 1000.0}  # epochs after the first
    assert summary["sada_training_overhead"] == pytest.approx(0.06)
    printed = capsys.readouterr().out
    assert "SADA training overhead: 6.0 %" in printed and "FAILED tests.test_estimator_gpu::test_b" in printed
    assert "step loader-bench     exit 124        95 s  (killed at its time limit)" in printed
    assert "goal SADA training overhead <= 0.02: 0.06 -> MISSED" in printed
    assert "goal row 1 at 224 px, images/s >= 7000: 7500 -> met" in printed
    assert "update 21.5 us kernels (40.0 us host)" in printed
    assert "from torch tensors: update 22.5 us kernels (55.0 us host)" in printed


def test_summary_of_an_empty_folder_has_no_figures_and_a_bad_folder_is_a_usage_error(tmp_path, capsys):
    assert summarizer.main([str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["gpu_tests"] == {"tier1-tests": None, "tier2-tests": None}
    assert summary["sada_training_overhead"] is None and summary["env"] is None
    assert [goal["met"] for goal in summary["goals"]] == [None] * 5
    assert "goal end_epoch at N=1.28M, ms <= 5 -> not measured" in capsys.readouterr().out
    assert summarizer.main([str(tmp_path / "missing")]) == 2
    assert "usage: python benchmarks/summarize_gpu_check.py OUT_DIR" in capsys.readouterr().err


@needs_bash
def test_unpack_dali_joins_the_parts_in_order_and_imports_dali_from_the_site(tmp_path):
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:xz") as tar:
        for name, text in (
            ("nvidia/dali/__init__.py", "__version__ = '0.0-packed'\n"),
            ("big.txt", "x" * 5000),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    data, parts = packed.getvalue(), tmp_path / "dali"
    parts.mkdir()
    for k in range(3):
        (parts / f"site.tar.xz.{k}").write_bytes(data[k * len(data) // 3 : (k + 1) * len(data) // 3])
    script = ROOT / "scripts" / "unpack-dali.sh"
    python = tmp_path / "python"  # without site-packages, so that this environment's DALI stays out
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(python), "HOME": str(tmp_path)}
    done = subprocess.run(["bash", str(script), str(parts)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "joining 3 parts: site.tar.xz.0 site.tar.xz.1 site.tar.xz.2" in done.stdout
    assert f"DALI 0.0-packed in {tmp_path / 'sada-site'}" in done.stdout
    empty = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True, env=env)
    assert empty.returncode == 1 and f"no site.tar.xz.* parts in {tmp_path}" in empty.stderr
