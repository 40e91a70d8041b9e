"""The CUDA headers compiled with g++ and checked on the CPU.

``sada_stats.cuh``'s ``__host__ __device__`` arithmetic: the NumPy backend must agree with it bit
for bit on the scalar statistics (same float32 operations in the same order), and the hash must
equal ``_random.hash_uniform`` exactly. ``sada_device.cuh``'s claim and row prologue (the start of
both update kernels), run one thread per CUDA thread with real warps (``tests/sada_device_shim.cpp``):
which rows they skip and count, and the row maximum and log-sum-exp they hand on.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sada_dali._utils.rng import STREAM_WARMUP, hash_uniform
from sada_dali.estimator import _numpy_backend as twin
from sada_dali.estimator._entaugment_numpy import entropy_strength
from sada_dali.kernels import KERNEL_DIR

SHIM = Path(__file__).with_name("sada_stats_shim.cpp")
DEVICE_SHIM = Path(__file__).with_name("sada_device_shim.cpp")
F32 = np.ctypeslib.ndpointer(np.float32, flags="C")
F64 = np.ctypeslib.ndpointer(np.float64, flags="C")
I32 = np.ctypeslib.ndpointer(np.int32, flags="C")
I64 = np.ctypeslib.ndpointer(np.int64, flags="C")
U64, INT, FLT = ctypes.c_uint64, ctypes.c_int, ctypes.c_float


def compile_shim(tmp_path_factory, source: Path, *flags: str) -> ctypes.CDLL:
    """``source`` built by g++ as a shared library (contraction off, as the kernels are built)."""
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    out = tmp_path_factory.mktemp("shim") / source.with_suffix(".so").name
    command = ["g++", "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-std=c++14", *flags]
    subprocess.run([*command, f"-I{KERNEL_DIR}", str(source), "-o", str(out)], check=True)
    return ctypes.CDLL(str(out))


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    lib = compile_shim(tmp_path_factory, SHIM)
    signatures = {
        "shim_hash_uniform": [U64, U64, I64, INT, U64, F64],
        "shim_warmup": [U64, U64, I64, INT, INT, FLT, F32],
        "shim_window_variance": [F32, I32, INT, INT, INT, F32],
        "shim_ema": [F32, F32, INT, FLT, F32],
        "shim_strength": [F32, INT, FLT, FLT, F32],
        "shim_is_finite": [F32, INT, I32],
        "shim_kl_rows": [F32, F32, INT, INT, F32, F32],
        "shim_entropy_rows": [F32, INT, INT, FLT, F32],
    }
    for name, args in signatures.items():
        getattr(lib, name).argtypes = args
        getattr(lib, name).restype = None
    return lib


@pytest.mark.parametrize("seed,epoch", [(0, 0), (7, 3), (2**63 + 5, 2**40), (2**64 - 1, 1)])
def test_host_hash_equals_python_hash_uniform_bit_for_bit(lib, seed, epoch):
    idx = np.concatenate([np.arange(500), [2**31 - 1, 2**40, 1_281_166]]).astype(np.int64)
    for stream in (1, STREAM_WARMUP, 5):
        out = np.empty(idx.size, np.float64)
        lib.shim_hash_uniform(seed, epoch, idx, idx.size, stream, out)
        np.testing.assert_array_equal(out, hash_uniform(seed, epoch, idx, stream))


@pytest.mark.parametrize("constant", [None, 0.25])
def test_host_warmup_strength_equals_numpy_twin(lib, constant):
    idx = np.arange(300, dtype=np.int64)
    out = np.empty(idx.size, np.float32)
    lib.shim_warmup(11, 2, idx, idx.size, int(constant is not None), constant or 0.0, out)
    np.testing.assert_array_equal(out, twin.warmup_strengths(11, 2, idx, constant))
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("mean_mode", [False, True])
def test_host_window_variance_equals_numpy_twin_and_float64_reference(lib, mean_mode):
    rng = np.random.default_rng(0)
    d = np.abs(rng.normal(size=(64, 10)) * rng.uniform(1e-4, 10, size=(64, 1))).astype(np.float32)
    held = rng.integers(2, 11, size=64).astype(np.int32)
    out = np.empty(64, np.float32)
    lib.shim_window_variance(d, held, 64, 10, int(mean_mode), out)
    np.testing.assert_array_equal(out, twin.window_variance(d, held, mean_mode))
    ref = [
        ((r[:h].astype(np.float64) - r[:h].astype(np.float64).mean()) ** 2).sum() / (h if mean_mode else 1)
        for r, h in zip(d, held)
    ]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-12)


def test_host_ema_equals_numpy_twin_and_paper_formula(lib):
    rng = np.random.default_rng(1)
    v_old, v_t = rng.uniform(0, 5, (2, 200)).astype(np.float32)
    out = np.empty(200, np.float32)
    lib.shim_ema(v_old, v_t, 200, 0.9, out)
    np.testing.assert_array_equal(out, twin.ema(v_old, v_t, 0.9))
    np.testing.assert_allclose(out, 0.9 * v_t.astype(np.float64) + 0.1 * v_old, rtol=1e-6)


def test_host_strength_map_equals_numpy_twin_and_hits_both_ends(lib):
    v = np.array([0.5, 3.25, 1.0, 2.0, 0.7], np.float32)
    out = np.empty(5, np.float32)
    lib.shim_strength(v, 5, 0.5, 3.25, out)
    np.testing.assert_array_equal(out, twin.strength_map(v, np.float32(0.5), np.float32(3.25)))
    assert out[0] == 1.0 and out[1] == 0.0
    np.testing.assert_allclose(out, 1 - (v - 0.5) / 2.75, rtol=1e-6)


def test_host_finiteness_check_rejects_inf_and_nan_only(lib):
    x = np.array([0, -1e38, 3.4028235e38, -3.4028235e38, np.inf, -np.inf, np.nan], np.float32)
    out = np.empty(x.size, np.int32)
    lib.shim_is_finite(x, x.size, out)
    assert out.tolist() == [1, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_host_kl_row_matches_numpy_twin_and_float64_reference(lib, scale):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(16, 37)) * scale).astype(np.float32)
    prev = (rng.normal(size=(16, 37)) * scale).astype(np.float32)
    log_q = twin.log_softmax(prev)
    d, stored = np.empty(16, np.float32), np.empty((16, 37), np.float32)
    lib.shim_kl_rows(x, log_q, 16, 37, d, stored)
    log_p = twin.log_softmax(x)
    np.testing.assert_allclose(d, twin.kl_divergence(log_p, log_q), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stored, np.maximum(log_p, -16.0), rtol=1e-6, atol=1e-6)
    x64 = x.astype(np.float64)
    lp64 = x64 - x64.max(1, keepdims=True)
    lp64 -= np.log(np.exp(lp64).sum(1, keepdims=True))
    ref = np.abs((np.exp(lp64) * (lp64 - np.maximum(log_q, -16.0))).sum(1))
    np.testing.assert_allclose(d, ref, rtol=1e-4, atol=1e-5)
    assert np.all(np.isfinite(d)) and stored.min() >= -16.0


@pytest.mark.parametrize("scale", [0.1, 3.0, 1e3])
def test_host_entropy_row_matches_numpy_twin_and_clamps_to_both_ends(lib, scale):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(16, 37)) * scale).astype(np.float32)
    x[0], x[1] = 0.0, np.r_[1e4, np.zeros(36)]  # uniform: H = ln K; one-hot: H = 0
    log_k = np.float32(np.log(37))
    out = np.empty(16, np.float32)
    lib.shim_entropy_rows(x, 16, 37, log_k, out)
    np.testing.assert_allclose(out, entropy_strength(x, log_k), rtol=0, atol=1e-6)
    assert out[1] == entropy_strength(x[1:2], log_k)[0] == 1.0
    assert 0.0 <= out[0] <= 1e-6 and ((out >= 0) & (out <= 1)).all()


@pytest.fixture(scope="module")
def device_lib(tmp_path_factory):
    lib = compile_shim(tmp_path_factory, DEVICE_SHIM, "-pthread")
    lib.shim_claim.argtypes = [I64, INT, ctypes.c_longlong, I32, ctypes.c_longlong]
    lib.shim_claim.restype = None
    U64S = np.ctypeslib.ndpointer(np.uint64, flags="C")
    lib.shim_row_prologue.argtypes = [F32, I64, INT, INT, ctypes.c_longlong, I32, U64S, ctypes.c_longlong]
    lib.shim_row_prologue.argtypes += [I32, F32, F32]
    lib.shim_row_prologue.restype = INT
    return lib


def prologue_batch(rng, batch: int, num_classes: int, num_samples: int):
    """Logits and indices with repeated indices, indices outside [0, N) and non-finite logits."""
    x = (rng.normal(size=(batch, num_classes)) * rng.uniform(0.1, 30, size=(batch, 1))).astype(np.float32)
    indices = rng.integers(0, num_samples, size=batch).astype(np.int64)
    indices[[1, 7, batch - 2]] = [-1, num_samples, -(2**40)]
    indices[[4, 9, 20, batch - 1]] = indices[3]  # the last of the four copies wins
    x[[5, 9, batch - 1], [0, num_classes - 1, num_classes // 2]] = [np.nan, np.inf, -np.inf]
    x[12, : num_classes // 2] = -3.0e38  # finite extremes
    return x, indices


@pytest.mark.parametrize("num_classes", [1, 31, 37, 1000])
@pytest.mark.parametrize("first", [0, 2])
def test_host_row_prologue_skips_and_counts_as_the_numpy_twin_and_hands_on_max_and_log_z(
    device_lib, num_classes, first
):
    batch, num_samples = 41, 30  # 41 warps: 6 blocks of 8 warps, the last one part-filled
    x, indices = prologue_batch(np.random.default_rng(num_classes), batch, num_classes, num_samples)
    owner = np.full(num_samples, -1, np.int32)
    device_lib.shim_claim(indices, batch, num_samples, owner, first)
    counted = np.arange(batch) >= first  # rows before `first` are padding
    live = counted & (indices >= 0) & (indices < num_samples)
    last = {int(i): row for row, i in enumerate(indices) if live[row]}
    np.testing.assert_array_equal(owner, [last.get(i, -1) for i in range(num_samples)])

    counters = np.zeros(2, np.uint64)
    passed = np.full(batch, 7, np.int32)
    row_max, log_z = np.zeros(batch, np.float32), np.zeros(batch, np.float32)
    args = (x, indices, batch, num_classes, num_samples, owner, counters, first, passed, row_max, log_z)
    assert device_lib.shim_row_prologue(*args) == 0
    winner = live & np.array([last.get(int(i)) == row for row, i in enumerate(indices)])
    finite = np.isfinite(x).all(axis=1)
    assert passed.tolist() == (winner & finite).astype(int).tolist()
    assert counters.tolist() == [int((winner & ~finite).sum()), int((counted & ~live).sum())]
    assert (owner == -1).all()  # every claim released, by a skipped row or at the end of the row
    ok = passed == 1
    np.testing.assert_array_equal(row_max[ok], x[ok].max(axis=1))
    shifted = x[ok].astype(np.float64) - x[ok].max(axis=1, keepdims=True)
    np.testing.assert_allclose(log_z[ok], np.log(np.exp(shifted).sum(axis=1)), rtol=1e-6, atol=1e-6)
    log_p = x[ok] - row_max[ok, None] - log_z[ok, None]
    np.testing.assert_allclose(log_p, twin.log_softmax(x[ok]), rtol=1e-6, atol=1e-5)
