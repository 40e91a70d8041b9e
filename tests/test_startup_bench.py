"""``benchmarks/startup.py`` runs end to end and reports every case (its figures are not checked)."""

import json
import os

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


@pytest.mark.slow
def test_the_startup_benchmark_reports_every_case_and_ratio(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import startup

    out = tmp_path / "startup.json"
    argv = ["--repeats", "1", "--num-images", "8", "--batch-size", "4", "--image-size", "32"]
    assert startup.main([*argv, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["median_s"]) == {"sada", "native_ta", "native_plain"}
    assert set(result["median_s"]["sada"]) == {"cold", "warm", "rebuild"}
    assert all(value > 0 for case in result["median_s"].values() for value in case.values())
    assert set(result["ratio_sada_to_native_ta"]) == {"cold", "warm"}
    printed = capsys.readouterr().out
    assert "sada / native_ta" in printed and "native_plain" in printed
