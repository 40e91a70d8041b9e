"""The CUDA backend against its NumPy twin (skipped without a GPU)."""
import numpy as np
import pytest

from sada_dali._random import STREAM_WARMUP, hash_uniform
from sada_dali.estimator import SADAEstimator

pytestmark = pytest.mark.gpu


def _host(x):
    import cupy

    return cupy.asnumpy(x)


def _assert_same_state(gpu, cpu, rtol=1e-3):
    g, c = gpu.state_dict(), cpu.state_dict()
    np.testing.assert_array_equal(g["seen"], c["seen"])
    np.testing.assert_allclose(g["ring"], c["ring"], rtol=rtol, atol=1e-5)
    np.testing.assert_allclose(g["variance"], c["variance"], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(g["log_prev"].astype(np.float32), c["log_prev"].astype(np.float32), rtol=1e-2, atol=1e-3)
    np.testing.assert_array_equal(_host(gpu.valid), cpu.valid)
    assert g["num_skipped"] == c["num_skipped"]


@pytest.mark.parametrize("state_dtype", ["float16", "float32"])
@pytest.mark.parametrize("variance", ["sum", "mean"])
def test_cuda_backend_matches_numpy_over_epochs_with_duplicates_and_nan_rows(state_dtype, variance):
    # Logits and sums agree to ~1e-7; with float16 storage that rarely flips one rounding of a
    # stored log-probability, which moves d by p_c * one float16 ulp: hence the looser bound.
    tol = 1e-3 if state_dtype == "float32" else 1e-2
    rng = np.random.default_rng(0)
    kw = dict(window=4, variance=variance, state_dtype=state_dtype, seed=5)
    gpu, cpu = SADAEstimator(300, 37, device="cuda", **kw), SADAEstimator(300, 37, **kw)
    np.testing.assert_array_equal(_host(gpu.strengths), cpu.strengths)
    for epoch in range(1, 6):
        order = np.concatenate([rng.permutation(300)[:280], rng.integers(0, 300, 20)])
        for start in range(0, order.size, 64):
            idx = order[start:start + 64]
            x = (rng.normal(size=(idx.size, 37)) * rng.uniform(0.5, 8)).astype(np.float32)
            x[rng.random(idx.size) < 0.02, 3] = np.nan
            gpu.update(idx, x)
            cpu.update(idx, x)
        s_gpu, s_cpu = _host(gpu.end_epoch()), cpu.end_epoch()
        np.testing.assert_allclose(s_gpu, s_cpu, atol=tol)
        warm = ~cpu.valid
        np.testing.assert_array_equal(s_gpu[warm], s_cpu[warm])
    _assert_same_state(gpu, cpu, rtol=tol)
    assert cpu.num_skipped > 0


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float32"])
def test_cuda_backend_takes_torch_cuda_logits_on_the_current_stream(dtype_name):
    import torch

    rng = np.random.default_rng(1)
    gpu, cpu = SADAEstimator(64, 10, device="cuda", window=3), SADAEstimator(64, 10, window=3)
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        for step in range(6):
            idx = torch.from_numpy(rng.permutation(64)[:48]).to("cuda", torch.int32 if step % 2 else torch.int64)
            x = (torch.randn(48, 10, device="cuda") * 3).to(getattr(torch, dtype_name))
            gpu.update(idx, x)
            cpu.update(idx.cpu(), x.cpu())
        s = gpu.end_epoch()
    torch.cuda.synchronize()
    np.testing.assert_allclose(_host(s), cpu.end_epoch(), atol=1e-2)
    _assert_same_state(gpu, cpu, rtol=1e-2)


def test_cuda_state_dict_round_trips_through_the_cpu_exactly():
    rng = np.random.default_rng(2)
    gpu = SADAEstimator(50, 8, device="cuda", window=3)
    for _ in range(4):
        gpu.update(rng.permutation(50)[:40], rng.normal(size=(40, 8)).astype(np.float32))
    gpu.end_epoch()
    state = gpu.state_dict()
    cpu = SADAEstimator(50, 8, window=3)
    cpu.load_state_dict(state)
    back = SADAEstimator(50, 8, device="cuda", window=3)
    back.load_state_dict(cpu.state_dict())
    for key, value in back.state_dict().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, state[key])
    assert back.epoch == 1 and type(back.strengths).__module__.startswith("cupy")


def test_cuda_out_of_range_indices_are_skipped_and_raise_at_the_next_sync():
    gpu = SADAEstimator(10, 3, device="cuda")
    gpu.update(np.array([0, 10, 2, -1]), np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"`indices` of 2 batch row\(s\) were outside \[0, 10\)"):
        gpu.end_epoch()
    assert gpu.epoch == 0 and gpu.num_skipped == 0
    assert gpu.state_dict()["seen"].tolist() == [1, 0, 1] + [0] * 7
    gpu.update(np.array([11]), np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"`indices`"):
        gpu.num_skipped


def test_cuda_warmup_draws_equal_the_host_hash_bit_for_bit():
    gpu = SADAEstimator(4096, 2, device="cuda", seed=2**63 + 9)
    for epoch in range(3):
        expected = hash_uniform(2**63 + 9, epoch, np.arange(4096), STREAM_WARMUP).astype(np.float32)
        np.testing.assert_array_equal(_host(gpu.strengths), expected)
        gpu.end_epoch()


def test_cuda_update_rejects_bad_metadata_before_launching():
    import cupy

    gpu = SADAEstimator(10, 3, device="cuda")
    with pytest.raises(ValueError, match=r"`logits` must have shape \(batch, 3\)"):
        gpu.update(cupy.arange(2), cupy.zeros((2, 4), cupy.float32))
    with pytest.raises(TypeError, match=r"`indices` must be an integer array"):
        gpu.update(cupy.zeros(2, cupy.float32), cupy.zeros((2, 3), cupy.float32))
    assert gpu.state_dict()["seen"].sum() == 0
