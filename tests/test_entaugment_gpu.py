"""GPU paths of EntAugmentEstimator and of SADA's rank normalisation against NumPy (skipped without a GPU)."""

import numpy as np
import pytest

from sada_dali.estimator import EntAugmentEstimator, SADAEstimator

pytestmark = pytest.mark.gpu


def _host(x):
    import cupy

    return cupy.asnumpy(x)


@pytest.mark.parametrize("logits_dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_entaugment_cuda_matches_numpy_with_duplicates_unseen_and_nan_rows(logits_dtype, index_dtype):
    rng = np.random.default_rng(0)
    kw = dict(warmup_epochs=2, seed=5)
    gpu, cpu = EntAugmentEstimator(300, 37, device="cuda", **kw), EntAugmentEstimator(300, 37, **kw)
    np.testing.assert_array_equal(_host(gpu.strengths), cpu.strengths)
    for _epoch in range(4):
        order = np.concatenate([rng.permutation(280), rng.integers(0, 280, 20)]).astype(index_dtype)
        for start in range(0, order.size, 64):
            idx = order[start : start + 64]
            x = (rng.normal(size=(idx.size, 37)) * rng.uniform(0.1, 8)).astype(logits_dtype)
            x[rng.random(idx.size) < 0.03, 3] = np.nan
            gpu.update(idx, x)
            cpu.update(idx, x)
        s_gpu, s_cpu = _host(gpu.end_epoch()), cpu.end_epoch()
        np.testing.assert_allclose(s_gpu, s_cpu, rtol=0, atol=2e-5)
        unseen = ~cpu.valid
        np.testing.assert_array_equal(s_gpu[unseen], s_cpu[unseen])  # the warm-up draw, bit for bit
    np.testing.assert_array_equal(_host(gpu.valid), cpu.valid)
    assert not cpu.valid[280:].any() and gpu.num_skipped == cpu.num_skipped > 0
    np.testing.assert_allclose(gpu.state_dict()["latest"], cpu.state_dict()["latest"], rtol=0, atol=2e-5)


def test_entaugment_cuda_update_does_not_synchronise():
    import torch

    gpu = EntAugmentEstimator(100, 10, device="cuda")
    idx, x = torch.arange(50, device="cuda"), torch.randn(50, 10, device="cuda", dtype=torch.float16)
    gpu.update(idx, x)  # compiles or loads the kernels
    torch.cuda.synchronize()
    torch.cuda._sleep(200_000_000)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            gpu.update(idx, x)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert not torch.cuda.current_stream().query()
    torch.cuda.synchronize()


def test_entaugment_cuda_skips_out_of_range_indices_and_raises_at_the_next_sync():
    gpu = EntAugmentEstimator(10, 3, device="cuda")
    gpu.update(np.array([1, 12, 2]), np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"The `indices` of 1 batch row\(s\) were outside \[0, 10\)"):
        gpu.end_epoch()
    assert _host(gpu.valid).tolist() == [False, True, True] + [False] * 7


def test_entaugment_cuda_state_round_trips_through_the_cpu_exactly():
    rng = np.random.default_rng(1)
    gpu = EntAugmentEstimator(64, 5, device="cuda", seed=2)
    gpu.update(rng.permutation(64)[:40], rng.normal(size=(40, 5)).astype(np.float32))
    gpu.end_epoch()
    cpu = EntAugmentEstimator(64, 5, seed=2)
    cpu.load_state_dict(gpu.state_dict())
    back = EntAugmentEstimator(64, 5, device="cuda", seed=2)
    back.load_state_dict(cpu.state_dict())
    np.testing.assert_array_equal(_host(back.end_epoch()), cpu.end_epoch())
    np.testing.assert_array_equal(_host(back.latest), cpu.latest)


def test_rank_normalisation_on_the_gpu_is_bit_identical_to_numpy():
    rng = np.random.default_rng(2)
    n = 5000
    state = SADAEstimator(n, 4, normalize="rank").state_dict()
    state["variance"] = rng.choice(np.linspace(0, 1, 300, dtype=np.float32), n)  # many ties
    state["seen"] = rng.integers(0, 6, n).astype(np.int32)
    gpu, cpu = SADAEstimator(n, 4, device="cuda", normalize="rank"), SADAEstimator(n, 4, normalize="rank")
    gpu.load_state_dict(state)
    cpu.load_state_dict(state)
    np.testing.assert_array_equal(_host(gpu.end_epoch()), cpu.end_epoch())


def test_rank_normalisation_on_the_gpu_matches_numpy_over_real_updates():
    rng = np.random.default_rng(3)
    gpu = SADAEstimator(200, 11, window=3, device="cuda", normalize="rank", state_dtype="float32")
    cpu = SADAEstimator(200, 11, window=3, normalize="rank", state_dtype="float32")
    for _ in range(5):
        x = rng.normal(size=(200, 11)).astype(np.float32)
        gpu.update(np.arange(200), x)
        cpu.update(np.arange(200), x)
        s_gpu, s_cpu = _host(gpu.end_epoch()), cpu.end_epoch()
        assert np.mean(s_gpu == s_cpu) > 0.9  # variances differ in the last bits, so a few ranks swap
        np.testing.assert_allclose(np.sort(s_gpu), np.sort(s_cpu), atol=1e-6)


def test_both_kernel_modules_are_compiled_once_per_device():
    a, b = EntAugmentEstimator(10, 3, device="cuda"), EntAugmentEstimator(20, 5, device="cuda")
    c = SADAEstimator(10, 3, device="cuda")
    assert a._backend._kernels is b._backend._kernels and len(a._backend._kernels) == 7
    assert c._backend._kernels is not a._backend._kernels
