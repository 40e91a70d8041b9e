"""Packaging: the lazy top-level import and the installed layout."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import sada_dali


def test_import_loads_neither_torch_dali_nor_cupy():
    code = (
        "import sys, sada_dali; sada_dali.OPS; "
        "print(sorted(m for m in ('torch', 'nvidia.dali', 'cupy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="module 'sada_dali' has no attribute 'Loader'"):
        sada_dali.Loader  # noqa: B018
    assert {"SADALoader", "SADAEstimator", "OPS", "augment"} <= set(dir(sada_dali))


@pytest.mark.slow
def test_wheel_installs_pipelines_and_kernels_only_under_sada_dali(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(Path(__file__).resolve().parents[1]),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("sada_dali-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"sada_dali"}
    assert {
        "sada_dali/kernels/sada_stats.cu",
        "sada_dali/kernels/sada_stats.cuh",
        "sada_dali/pipelines/train.py",
    } <= set(names)
