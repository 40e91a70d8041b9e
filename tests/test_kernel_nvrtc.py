"""The kernels compiled by NVRTC exactly as CuPy compiles them, on the CPU (no GPU, no driver).

NVRTC comes from the ``nvidia-cuda-nvrtc-cu12`` wheel (the ``test`` extra) and, when present,
the CUDA 13 ``nvidia-cuda-nvrtc`` wheel. Options: CuPy's own (include folders, the appended
``-ftz=true``, the target) around the backend's; every kernel the backend can launch must come
out, for sm_80 (A100) and sm_90 (H100), without register spills.
"""

import re

import pytest
from _nvrtc import Nvrtc, cupy_nvrtc_options, find_nvrtc

from sada_dali.estimator._kernels import (
    CLAIM_KERNELS,
    ENT_KERNEL_NAMES,
    ENT_UPDATE_KERNELS,
    KERNEL_NAMES,
    MODULES,
    OPTIONS,
    UPDATE_KERNELS,
)
from sada_dali.kernels import read_source

LIBS = find_nvrtc()
ARCHS = (80, 90)


@pytest.fixture(scope="module", params=[12, 13])
def nvrtc(request):
    major = request.param
    if major not in LIBS:
        if major == 12:
            pytest.fail(
                "libnvrtc.so.12 not found: install the test extra (pip install -e '.[test]', "
                "which brings nvidia-cuda-nvrtc-cu12)."
            )
        pytest.skip(f"no libnvrtc.so.{major} installed")
    return Nvrtc(LIBS[major])


@pytest.fixture(scope="module", params=sorted(MODULES))
def builds(nvrtc, request):
    """(kernel names, arch -> (ok, log, cubin)) of one module compiled with CuPy's options plus
    ptxas' verbose report."""
    source = read_source(request.param)
    compiled = {
        arch: nvrtc.compile(source, (*cupy_nvrtc_options(arch), "--ptxas-options=-v")) for arch in ARCHS
    }
    return MODULES[request.param], compiled


@pytest.mark.parametrize("arch", ARCHS)
def test_nvrtc_compiles_every_kernel_the_backend_launches(builds, arch):
    names, compiled = builds
    ok, log, cubin = compiled[arch]
    assert ok, log
    entries = re.findall(r"Compiling entry function '(\w+)' for 'sm_(\d+)'", log)
    assert sorted(name for name, _ in entries) == sorted(names)
    assert {int(a) for _, a in entries} == {arch}
    assert all(name.encode() in cubin for name in names)


@pytest.mark.parametrize("arch", ARCHS)
def test_nvrtc_build_has_no_register_spills_or_stack(builds, arch):
    names, compiled = builds
    ok, log, _ = compiled[arch]
    assert ok, log
    frames = re.findall(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", log)
    assert len(frames) == len(names)
    assert all(values == ("0", "0", "0") for values in frames), log


def test_nvrtc_reports_a_compile_error(nvrtc):
    ok, log, cubin = nvrtc.compile(
        read_source("sada_stats.cu") + "\nint broken = ;\n", cupy_nvrtc_options(80)
    )
    assert not ok and "error" in log and cubin == b""


def test_nvrtc_options_are_cupys_with_ftz_after_ours():
    options = cupy_nvrtc_options(90)
    assert options[-3:] == ("-ftz=true", "-arch=sm_90", "--device-as-default-execution-space")
    assert all(options.index(o) < options.index("-ftz=true") for o in OPTIONS)
    assert any(o.startswith("-I") and o.rstrip("/").endswith("include") for o in options)


def test_nvrtc_kernel_table_covers_every_dtype_the_backend_accepts():
    assert set(CLAIM_KERNELS) == {"int32", "int64"}
    assert set(UPDATE_KERNELS) == {
        (x, i, s) for x in ("float16", "float32") for i in ("int32", "int64") for s in ("float16", "float32")
    }
    assert len(set(KERNEL_NAMES)) == len(KERNEL_NAMES) == 12
    assert set(ENT_UPDATE_KERNELS) == {(x, i) for x in ("float16", "float32") for i in ("int32", "int64")}
    assert len(set(ENT_KERNEL_NAMES)) == len(ENT_KERNEL_NAMES) == 7
