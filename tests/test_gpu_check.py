"""scripts/gpu-check.sh parses, and its summariser reads the files the steps write."""

import importlib.util
import json
import shutil
import subprocess
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


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_check_script_parses():
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu-check.sh")], check=True)


def test_summary_reports_steps_tests_benchmarks_and_the_training_overhead(tmp_path, capsys):
    (tmp_path / "status.txt").write_text("gpu-tests 1 95\nestimator-bench 0 20\nloader-bench skipped 0\n")
    (tmp_path / "gpu-tests.xml").write_text(JUNIT)
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
    assert summary["steps"]["gpu-tests"] == {"exit": 1, "seconds": 95}
    assert summary["steps"]["loader-bench"]["exit"] == "skipped" and summary["loader_bench"] is None
    assert summary["gpu_tests"]["passed"] == 3 and summary["gpu_tests"]["failed"] == [
        "tests.test_estimator_gpu::test_b"
    ]
    assert summary["train_images_per_s"] == {"sada": 940.0, "no_sada": 1000.0}  # epochs after the first
    assert summary["sada_training_overhead"] == pytest.approx(0.06)
    printed = capsys.readouterr().out
    assert "SADA training overhead: 6.0 %" in printed and "FAILED tests.test_estimator_gpu::test_b" in printed
    assert "update 21.5 us kernels (40.0 us host)" in printed
    assert "from torch tensors: update 22.5 us kernels (55.0 us host)" in printed


def test_summary_of_an_empty_folder_has_no_figures_and_a_bad_folder_is_a_usage_error(tmp_path, capsys):
    assert summarizer.main([str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["gpu_tests"] is None and summary["sada_training_overhead"] is None
    assert summarizer.main([str(tmp_path / "missing")]) == 2
    assert "usage: python benchmarks/summarize_gpu_check.py OUT_DIR" in capsys.readouterr().err
