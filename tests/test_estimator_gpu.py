"""The CUDA backend against its NumPy twin (skipped without a GPU)."""

import numpy as np
import pytest

from sada_dali._utils.rng import STREAM_WARMUP, hash_uniform
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
    # float16 log-probabilities in [-16, 0] agree up to one ulp (at most 2**-6) where float32 sums
    # land near a rounding tie; those must be rare
    g_log, c_log = g["log_prev"].astype(np.float32), c["log_prev"].astype(np.float32)
    np.testing.assert_allclose(
        g_log, c_log, rtol=0, atol=1e-3 if g["log_prev"].dtype == np.float32 else 2**-6
    )
    assert np.mean(g_log != c_log) < 0.01  # rounding toward zero would differ in about half the entries
    np.testing.assert_array_equal(_host(gpu.valid), cpu.valid)
    assert g["num_skipped"] == c["num_skipped"]


@pytest.mark.parametrize("state_dtype", ["float16", "float32"])
@pytest.mark.parametrize("variance", ["sum", "mean"])
def test_cuda_backend_matches_numpy_over_epochs_with_duplicates_and_nan_rows(state_dtype, variance):
    tol = 1e-3
    rng = np.random.default_rng(0)
    kw = dict(window=4, variance=variance, state_dtype=state_dtype, seed=5)
    gpu, cpu = SADAEstimator(300, 37, device="cuda", **kw), SADAEstimator(300, 37, **kw)
    np.testing.assert_array_equal(_host(gpu.strengths), cpu.strengths)
    for _epoch in range(1, 6):
        order = np.concatenate([rng.permutation(300)[:280], rng.integers(0, 300, 20)])
        for start in range(0, order.size, 64):
            idx = order[start : start + 64]
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
            idx = torch.from_numpy(rng.permutation(64)[:48]).to(
                "cuda", torch.int32 if step % 2 else torch.int64
            )
            x = (torch.randn(48, 10, device="cuda") * 3).to(getattr(torch, dtype_name))
            gpu.update(idx, x)
            cpu.update(idx.cpu(), x.cpu())
        s = gpu.end_epoch()
    np.testing.assert_allclose(_host(s), cpu.end_epoch(), atol=1e-3)
    _assert_same_state(gpu, cpu)


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
        _ = gpu.num_skipped


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


def _batches(rng, n, k, steps, *, batch, dtype="float32"):
    """``steps`` batches as (host indices, host logits, CUDA indices, CUDA logits), ready on the device.

    Built up front: a pageable host-to-device copy would wait for a stream kept busy by a test.
    """
    import torch

    out = []
    for _ in range(steps):
        idx = rng.permutation(n)[:batch]
        x = (rng.normal(size=(batch, k)) * rng.uniform(0.5, 6)).astype(dtype)
        out.append((idx, x, torch.from_numpy(idx).cuda(), torch.from_numpy(x).cuda()))
    torch.cuda.synchronize()
    return out


def _feed_both(gpu, cpu, batches):
    for idx, x, g_idx, g_x in batches:
        gpu.update(g_idx, g_x)
        cpu.update(idx, x)


@pytest.mark.parametrize("k", [1000, 64])
@pytest.mark.parametrize(
    "logits_dtype,state_dtype", [("float16", "float32"), ("float16", "float16"), ("float32", "float16")]
)
def test_cuda_matches_numpy_at_imagenet_k_and_a_multiple_of_32(k, logits_dtype, state_dtype):
    rng = np.random.default_rng(k)
    gpu = SADAEstimator(200, k, device="cuda", window=4, state_dtype=state_dtype)
    cpu = SADAEstimator(200, k, window=4, state_dtype=state_dtype)
    for _ in range(4):
        _feed_both(gpu, cpu, _batches(rng, 200, k, 4, batch=50, dtype=logits_dtype))
        np.testing.assert_allclose(_host(gpu.end_epoch()), cpu.end_epoch(), atol=1e-3)
    _assert_same_state(gpu, cpu)


def test_reads_after_updates_on_a_busy_side_stream_wait_for_them_without_a_host_sync():
    import torch

    rng = np.random.default_rng(4)
    gpu, cpu = SADAEstimator(64, 10, device="cuda", window=3), SADAEstimator(64, 10, window=3)
    side = torch.cuda.Stream()
    for epoch in range(3):
        batches = _batches(rng, 64, 10, 3, batch=48)
        with torch.cuda.stream(side):
            torch.cuda._sleep(50_000_000)  # ~25 ms: an unordered read would see the old state
            _feed_both(gpu, cpu, batches)
        if epoch == 2:
            np.testing.assert_array_equal(_host(gpu.valid), cpu.valid)
            np.testing.assert_allclose(_host(gpu.variance), cpu.variance, rtol=1e-3, atol=1e-6)
        with torch.cuda.stream(side):
            torch.cuda._sleep(50_000_000)
        strengths = gpu.end_epoch()  # on CuPy's current stream, ordered after the side stream
        np.testing.assert_allclose(_host(strengths), cpu.end_epoch(), atol=1e-3)
    assert cpu.valid.any()


def test_updates_alternating_between_streams_apply_in_call_order():
    import torch

    rng = np.random.default_rng(5)
    gpu, cpu = SADAEstimator(32, 8, device="cuda", window=4), SADAEstimator(32, 8, window=4)
    streams = [torch.cuda.Stream(), torch.cuda.Stream()]
    for step, batch in enumerate(_batches(rng, 32, 8, 12, batch=32)):  # every index in every call
        with torch.cuda.stream(streams[step % 2]):
            if step % 2 == 0:
                torch.cuda._sleep(20_000_000)  # without ordering, the next call would run first
            _feed_both(gpu, cpu, [batch])
    _assert_same_state(gpu, cpu)


def test_update_does_not_synchronise():
    import torch

    gpu = SADAEstimator(100, 10, device="cuda")
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
    assert not torch.cuda.current_stream().query()  # a synchronising update would have drained the sleep
    torch.cuda.synchronize()


def test_kernels_are_compiled_and_looked_up_once_per_device():
    a, b = SADAEstimator(10, 3, device="cuda"), SADAEstimator(20, 5, device="cuda")
    assert a._backend._kernels is b._backend._kernels and len(a._backend._kernels) == 12


def test_load_state_dict_copies_into_the_live_buffers_without_staging():
    import cupy

    gpu = SADAEstimator(4000, 500, device="cuda", window=3)
    cpu = SADAEstimator(4000, 500, window=3)
    rng = np.random.default_rng(6)
    _feed_both(gpu, cpu, _batches(rng, 4000, 500, 6, batch=2000))
    state = cpu.state_dict()
    pointers = {
        name: getattr(gpu._backend, name).data.ptr for name in ("log_prev", "ring", "variance", "seen")
    }
    pool, pinned = cupy.get_default_memory_pool(), cupy.get_default_pinned_memory_pool()
    pool.free_all_blocks()
    held, pinned_blocks = pool.total_bytes(), pinned.n_free_blocks()
    gpu.load_state_dict(state)
    assert {name: getattr(gpu._backend, name).data.ptr for name in pointers} == pointers
    assert pool.total_bytes() - held < 4000 * 500 * 2 // 4  # no full-size device temporary
    assert pinned.n_free_blocks() == pinned_blocks  # no pinned staging buffer kept by CuPy's pool
    for key, value in gpu.state_dict().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_negative_zero_variance_gives_the_same_strengths_as_the_cpu():
    cpu = SADAEstimator(6, 3, window=3)
    state = cpu.state_dict()
    state["seen"][:] = 5
    state["variance"] = np.array([-0.0, 1.0, 2.0, 0.5, 0.25, 4.0], np.float32)
    gpu = SADAEstimator(6, 3, device="cuda", window=3)
    gpu.load_state_dict(state)
    cpu.load_state_dict(state)
    np.testing.assert_array_equal(_host(gpu.end_epoch()), cpu.end_epoch())
    assert _host(gpu.strengths)[0] == 1.0


def test_padding_rows_are_neither_applied_nor_counted_on_the_gpu():
    import torch

    gpu = SADAEstimator(10, 3, device="cuda")
    idx = torch.tensor([10, 10, 10, 2, 12], device="cuda")  # 3 padding rows, then 2 real ones
    x = torch.ones(5, 3, device="cuda")
    x[:3] = float("nan")
    gpu._update_padded(idx, x, torch.tensor([3], device="cuda"))
    with pytest.raises(ValueError, match=r"`indices` of 1 batch row\(s\) were outside \[0, 10\)"):
        gpu.end_epoch()
    assert gpu.num_skipped == 0 and gpu.state_dict()["seen"].tolist() == [0, 0, 1] + [0] * 7


def test_arrays_on_another_device_are_rejected_naming_the_argument():
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    gpu = SADAEstimator(10, 3, device="cuda:0")
    with pytest.raises(ValueError, match=r"The `logits` must be on cuda:0 .* got an array on cuda:1"):
        gpu.update(torch.arange(2, device="cuda:0"), torch.zeros(2, 3, device="cuda:1"))
    with pytest.raises(ValueError, match=r"The `indices` must be on cuda:0 .* got an array on cuda:1"):
        gpu.update(torch.arange(2, device="cuda:1"), torch.zeros(2, 3, device="cuda:0"))


def test_batches_beyond_int32_rows_are_rejected_before_launching():
    import cupy

    gpu = SADAEstimator(10, 3, device="cuda")
    rows = 2**31
    idx = cupy.broadcast_to(cupy.zeros(1, cupy.int32), (rows,))  # no memory behind the rows
    x = cupy.broadcast_to(cupy.zeros((1, 3), cupy.float32), (rows, 3))
    with pytest.raises(
        ValueError, match=r"The `indices` hold 2147483648 rows; one update takes at most 2147483647"
    ):
        gpu.update(idx, x)


@pytest.mark.slow
def test_rows_past_2_to_the_27_are_applied():
    import cupy

    rows = 2**27 + 5  # row * 32 passes 2**32: a 32-bit thread id would wrap here
    gpu = SADAEstimator(1 << 20, 2, device="cuda", window=2)
    idx = cupy.arange(rows, dtype=cupy.int32) % (1 << 20)
    x = cupy.zeros((rows, 2), cupy.float16)
    gpu.update(idx, x)
    seen = gpu.state_dict()["seen"]
    assert seen.sum() == 1 << 20 and seen.max() == 1  # every index once: its last row won
    del idx, x


def test_an_estimator_on_a_gpu_that_is_not_current_matches_numpy():
    import cupy

    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs")
    rng = np.random.default_rng(3)
    with cupy.cuda.Device(0):
        gpu = SADAEstimator(50, 7, device="cuda:1", window=3)
        cpu = SADAEstimator(50, 7, window=3)
        for _ in range(3):
            idx, x = rng.permutation(50)[:20], rng.normal(size=(20, 7)).astype(np.float32)
            with cupy.cuda.Device(1):
                gpu.update(cupy.asarray(idx), cupy.asarray(x))
            cpu.update(idx, x)
        np.testing.assert_array_equal(_host(gpu.end_epoch()), cpu.end_epoch())
