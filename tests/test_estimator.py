"""The NumPy estimator against a float64, per-sample reference of paper Eqs. 5-7."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from sada_dali._utils.rng import STREAM_WARMUP, hash_uniform
from sada_dali.estimator import SADAEstimator, warmup_strengths


class Reference:
    """Float64, one sample at a time: the pinned semantics written as plainly as possible."""

    def __init__(self, n, window=10, decay=0.9, variance="sum", state_dtype="float32"):
        self.window, self.decay, self.mean, self.dtype = window, decay, variance == "mean", state_dtype
        self.prev, self.ring = {}, {i: [] for i in range(n)}
        self.V, self.valid, self.skipped = np.zeros(n), np.zeros(n, bool), 0

    def update(self, indices, logits):
        last = {int(i): row for row, i in enumerate(indices)}
        for i, row in last.items():
            x = np.asarray(logits[row], np.float64)
            if not np.isfinite(x).all():
                self.skipped += 1
                continue
            lp = x - x.max()
            lp -= np.log(np.exp(lp).sum())
            if i in self.prev:
                d = abs(np.sum(np.exp(lp) * (lp - np.maximum(self.prev[i], -16.0))))
                self.ring[i] = (self.ring[i] + [d])[-self.window :]
                if len(self.ring[i]) >= 2:
                    w = np.array(self.ring[i])
                    v_t = ((w - w.mean()) ** 2).sum() / (len(w) if self.mean else 1)
                    self.V[i] = self.decay * v_t + (1 - self.decay) * self.V[i]
                    self.valid[i] = True
            self.prev[i] = np.maximum(lp, -16.0).astype(self.dtype).astype(np.float64)

    def strengths(self, seed, epoch, warmup=None):
        n = self.V.size
        s = (
            np.full(n, warmup)
            if warmup is not None
            else hash_uniform(seed, epoch, np.arange(n), STREAM_WARMUP)
        )
        v = self.V[self.valid]
        if v.size and v.max() > v.min():
            s[self.valid] = 1 - (v - v.min()) / (v.max() - v.min())
        return s


def run_epochs(est, ref, rng, epochs, batch_sizes=(1, 7, 13), scale=3.0, k=10):
    n = est.config.num_samples
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)[: n - 3]  # a few samples miss each epoch
        order = np.concatenate([order, order[:2]])  # and a few repeat, sometimes within one batch
        pos, b = 0, 0
        while pos < order.size:
            idx = order[pos : pos + batch_sizes[b % len(batch_sizes)]]
            logits = (rng.normal(size=(idx.size, k)) * scale * rng.uniform(0.1, 1.0)).astype(np.float32)
            est.update(idx, logits)
            ref.update(idx, logits)
            pos, b = pos + idx.size, b + 1
        s = est.end_epoch()
        np.testing.assert_array_equal(est.valid, ref.valid)
        np.testing.assert_allclose(est.variance, ref.V, rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(
            s, ref.strengths(est.config.seed, epoch, est.config.warmup_strength), atol=2e-4
        )
        assert est.epoch == epoch and s.dtype == np.float32 and s.min() >= 0 and s.max() <= 1


@pytest.mark.parametrize("variance", ["sum", "mean"])
def test_estimator_matches_float64_reference_over_epochs(variance):
    rng = np.random.default_rng(0)
    est = SADAEstimator(30, 10, window=4, variance=variance, state_dtype="float32", seed=3)
    ref = Reference(30, window=4, variance=variance)
    run_epochs(est, ref, rng, epochs=7)
    assert est.valid.sum() >= 25 and est.num_skipped == 0


def test_estimator_with_float16_state_stays_close_to_reference():
    rng = np.random.default_rng(1)
    est = SADAEstimator(20, 10, window=3, decay=0.5)
    ref = Reference(20, window=3, decay=0.5, state_dtype="float16")
    run_epochs(est, ref, rng, epochs=5, batch_sizes=(13,))
    assert est.state_dict()["log_prev"].dtype == np.float16


def test_estimator_handles_large_magnitude_logits():
    rng = np.random.default_rng(2)
    est = SADAEstimator(12, 10, window=3, state_dtype="float32", warmup_strength=0.5)
    ref = Reference(12, window=3)
    run_epochs(est, ref, rng, epochs=4, batch_sizes=(7,), scale=1e4)
    state = est.state_dict()
    assert est.valid.sum() >= 8 and np.isfinite(est.variance).all()
    assert (
        state["log_prev"].min() == -16.0 and 0 < state["ring"].max() <= 16.0
    )  # |KL| is bounded by the floor


def test_estimator_accepts_torch_fp16_bf16_and_int32_inputs_like_numpy():
    rng = np.random.default_rng(3)
    a = SADAEstimator(8, 5, window=3)
    b = SADAEstimator(8, 5, window=3)
    for dtype in [torch.bfloat16, torch.float16, torch.bfloat16, torch.float32]:
        idx = rng.permutation(8)
        t = torch.from_numpy(rng.normal(size=(8, 5)).astype(np.float32) * 4).to(dtype)
        a.update(torch.from_numpy(idx.astype(np.int32)), t)
        b.update(idx.astype(np.int64), t.float().numpy())
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.valid.all() and (a.variance > 0).all()


def test_update_keeps_the_last_occurrence_of_a_repeated_index():
    rng = np.random.default_rng(4)
    a, b = SADAEstimator(4, 6, window=3), SADAEstimator(4, 6, window=3)
    for _ in range(4):
        x = rng.normal(size=(3, 6)).astype(np.float32)
        a.update(np.array([2, 1, 2]), x)
        b.update(np.array([1, 2]), x[1:])
    np.testing.assert_array_equal(a.state_dict()["log_prev"], b.state_dict()["log_prev"])
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.valid.tolist() == [False, True, True, False]


def test_update_skips_and_counts_rows_with_nan_or_inf_logits():
    rng = np.random.default_rng(5)
    est, ref = SADAEstimator(6, 4, window=3, state_dtype="float32"), Reference(6, window=3)
    for step in range(5):
        x = rng.normal(size=(6, 4)).astype(np.float32)
        x[step % 6, 1] = [np.nan, np.inf, -np.inf][step % 3]
        before = est.state_dict()
        est.update(np.arange(6), x)
        ref.update(np.arange(6), x)
        bad = step % 6
        assert est.state_dict()["seen"][bad] == before["seen"][bad]
        np.testing.assert_array_equal(est.state_dict()["log_prev"][bad], before["log_prev"][bad])
    assert est.num_skipped == ref.skipped == 5
    s = est.end_epoch()
    assert np.isfinite(est.variance).all()
    np.testing.assert_allclose(s, ref.strengths(0, 1), atol=2e-4)


@pytest.mark.parametrize(
    "indices,logits,error,match",
    [
        (
            np.zeros((2, 1), np.int64),
            np.zeros((2, 3), np.float32),
            ValueError,
            r"`indices` must be 1-D.*got shape \(2, 1\)",
        ),
        (
            np.zeros(2, np.float32),
            np.zeros((2, 3), np.float32),
            TypeError,
            r"`indices` must be an integer array.*float32",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros((2, 4), np.float32),
            ValueError,
            r"`logits` must have shape \(batch, 3\).*\(2, 4\)",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros(3, np.float32),
            ValueError,
            r"`logits` must have shape \(batch, 3\).*\(3,\)",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros((2, 3), np.int32),
            TypeError,
            r"`logits` must be float16, bfloat16.*int32",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros((3, 3), np.float32),
            ValueError,
            r"same batch length, got 2 indices and 3",
        ),
        (
            np.array([0, 10]),
            np.zeros((2, 3), np.float32),
            ValueError,
            r"`indices` must lie in \[0, 10\), got 10 at batch row 1",
        ),
        (
            np.array([-1, 0]),
            np.zeros((2, 3), np.float32),
            ValueError,
            r"`indices` must lie in \[0, 10\), got -1 at batch row 0",
        ),
    ],
)
def test_update_rejects_bad_batches_without_touching_state(indices, logits, error, match):
    est = SADAEstimator(10, 3)
    est.update(np.arange(10), np.ones((10, 3), np.float32))
    before = est.state_dict()
    with pytest.raises(error, match=match):
        est.update(indices, logits)
    after = est.state_dict()
    for key in ("seen", "log_prev", "ring", "variance"):
        np.testing.assert_array_equal(after[key], before[key])


def test_empty_batch_changes_nothing():
    est = SADAEstimator(5, 3)
    est.update(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    assert est.state_dict()["seen"].sum() == 0


def test_default_warmup_is_a_seeded_uniform_draw_that_changes_each_epoch():
    a, b, c = SADAEstimator(500, 3, seed=1), SADAEstimator(500, 3, seed=1), SADAEstimator(500, 3, seed=2)
    np.testing.assert_array_equal(
        a.strengths, hash_uniform(1, 0, np.arange(500), STREAM_WARMUP).astype(np.float32)
    )
    np.testing.assert_array_equal(a.strengths, b.strengths)
    assert not np.array_equal(a.strengths, c.strengths)
    first = a.strengths
    second = a.end_epoch()
    np.testing.assert_array_equal(
        second, hash_uniform(1, 1, np.arange(500), STREAM_WARMUP).astype(np.float32)
    )
    assert not np.array_equal(first, second) and a.strengths is second
    assert 0.4 < second.mean() < 0.6 and second.min() >= 0 and second.max() < 1


def test_warmup_strengths_are_the_draw_the_estimator_and_the_cli_baseline_share():
    est = SADAEstimator(50, 3, seed=4)
    np.testing.assert_array_equal(warmup_strengths(4, 0, np.arange(50)), est.strengths)
    np.testing.assert_array_equal(warmup_strengths(4, 1, range(50)), est.end_epoch())
    assert warmup_strengths(4, 0, [3, 1], constant=0.25).tolist() == [0.25, 0.25]


def test_constant_warmup_strength_is_used_until_variances_spread():
    est = SADAEstimator(4, 3, warmup_strength=0.3, window=2)
    assert np.all(est.strengths == np.float32(0.3))
    x = np.array([[0.0, 1.0, 2.0]] * 4, np.float32)
    for shift in (0.0, 1.0, 3.0):  # identical sequences: V is equal for all samples
        est.update(np.arange(4), np.roll(x, int(shift), axis=1))
    assert est.valid.all() and np.ptp(est.variance) == 0 and est.variance[0] > 0
    assert np.all(est.end_epoch() == np.float32(0.3))


def test_strengths_map_valid_variances_to_the_unit_interval_and_warm_up_the_rest():
    est = SADAEstimator(5, 3, warmup_strength=0.25, window=3, state_dtype="float32")
    rng = np.random.default_rng(6)
    for _ in range(3):
        est.update(np.arange(3), rng.normal(size=(3, 3)).astype(np.float32) * [[0.5], [2.0], [6.0]])
    s = est.end_epoch()
    v = est.variance[:3]
    np.testing.assert_allclose(s[:3], 1 - (v - v.min()) / np.ptp(v), atol=1e-6)
    assert sorted(s[:3].tolist())[::2] == [0.0, 1.0] and s[3:].tolist() == [0.25, 0.25]
    with pytest.raises(ValueError, match="read-only"):
        s[0] = 0.5


def test_state_dict_round_trip_is_exact_and_training_continues_identically():
    rng = np.random.default_rng(7)
    a = SADAEstimator(9, 4, window=3)
    for _ in range(4):
        a.update(rng.permutation(9)[:6], rng.normal(size=(6, 4)).astype(np.float32))
    a.end_epoch()
    state = a.state_dict()
    b = SADAEstimator(9, 4, window=3)
    b.load_state_dict(state)
    assert b.epoch == 1 and b.num_skipped == 0
    np.testing.assert_array_equal(b.strengths, a.strengths)
    for _ in range(3):
        idx, x = rng.permutation(9)[:5], rng.normal(size=(5, 4)).astype(np.float32)
        a.update(idx, x)
        b.update(idx, x)
    np.testing.assert_array_equal(a.end_epoch(), b.end_epoch())
    for key, value in a.state_dict().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, b.state_dict()[key])
    assert not np.array_equal(state["seen"], a.state_dict()["seen"])  # the saved dict is a copy


def _bad_state(key, value):
    state = SADAEstimator(4, 3).state_dict()
    if value is None:
        del state[key]
    elif key == "config":
        state["config"] = dict(state["config"], window=5)
    else:
        state[key] = value
    return state


@pytest.mark.parametrize(
    "state,error,match",
    [
        ([1, 2], TypeError, r"`state_dict` must be a dict.*got list"),
        (
            _bad_state("format", "other/1"),
            ValueError,
            r"`state_dict` must have format 'sada_dali.SADAEstimator/1'",
        ),
        (_bad_state("ring", None), ValueError, r"`state_dict` lacks the key\(s\) \['ring'\]"),
        (_bad_state("config", 1), ValueError, r"saved with window=5 but this estimator has window=10"),
        (
            _bad_state("epoch", -1),
            ValueError,
            r"`state_dict\['epoch'\]` must be a non-negative integer, got -1",
        ),
        (
            _bad_state("variance", np.zeros(5, np.float32)),
            ValueError,
            r"`state_dict\['variance'\]` must be a float32 array of shape \(4,\)",
        ),
        (
            _bad_state("variance", np.array([0, np.nan, 0, 0], np.float32)),
            ValueError,
            r"`state_dict\['variance'\]` must lie in",
        ),
        (
            _bad_state("log_prev", np.ones((4, 3), np.float16)),
            ValueError,
            r"`state_dict\['log_prev'\]` must lie in \[-16.0, 0.0\]",
        ),
        (
            _bad_state("strengths", np.full(4, 2.0, np.float32)),
            ValueError,
            r"`state_dict\['strengths'\]` must lie in \[0, 1\]",
        ),
    ],
)
def test_load_state_dict_rejects_bad_states_and_keeps_the_live_one(state, error, match):
    est = SADAEstimator(4, 3)
    est.update(np.arange(4), np.ones((4, 3), np.float32))
    with pytest.raises(error, match=match):
        est.load_state_dict(state)
    assert est.state_dict()["seen"].tolist() == [1, 1, 1, 1]


def test_cpu_estimator_imports_neither_cupy_nor_torch():
    code = (
        "import sys, numpy as np, sada_dali; e = sada_dali.SADAEstimator(3, 2); "
        "e.update(np.arange(3), np.ones((3, 2), np.float32)); e.end_epoch(); "
        "print(sorted(m for m in ('cupy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nbytes_counts_every_state_array():
    est = SADAEstimator(10, 4, window=3)
    assert est.nbytes == 10 * 4 * 2 + 10 * 3 * 4 + 10 * 4 * 3  # float16 log-probs, ring, V, seen, strengths
    assert SADAEstimator(10, 4, window=3, state_dtype="float32").nbytes == est.nbytes + 10 * 4 * 2


def test_benchmark_script_reports_state_size_and_timings(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "estimator.py"
    spec = importlib.util.spec_from_file_location("bench_estimator", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "r.json"
    bench.main(
        [
            "--device",
            "cpu",
            "--num-samples",
            "300",
            "--num-classes",
            "5",
            "--batch-size",
            "8",
            "--window",
            "3",
            "--iters",
            "2",
            "--epoch-iters",
            "1",
            "--json",
            str(out),
        ]
    )
    row = json.loads(out.read_text())["devices"]["cpu"]
    assert row["state_bytes"] == SADAEstimator(300, 5, window=3).nbytes
    assert row["update_us"] > 0 and row["end_epoch_ms"] > 0


def test_negative_zero_variance_in_a_loaded_state_becomes_positive_zero():
    est = SADAEstimator(6, 3, window=3)
    state = est.state_dict()
    state["seen"][:] = 5
    state["variance"] = np.array([-0.0, 1.0, 2.0, 0.5, 0.25, 4.0], np.float32)
    state["ring"][0, 0] = -0.0
    est.load_state_dict(state)
    saved = est.state_dict()
    assert not np.signbit(saved["variance"]).any() and not np.signbit(saved["ring"]).any()
    s = est.end_epoch()
    assert s[0] == 1.0 and s[5] == 0.0  # the -0.0 sample is the minimum: strongest augmentation


def test_update_padded_ignores_the_leading_padding_rows_entirely():
    padded, plain = SADAEstimator(10, 3, window=3), SADAEstimator(10, 3, window=3)
    rng = np.random.default_rng(3)
    for _ in range(4):
        x = rng.normal(size=(4, 3)).astype(np.float32)
        junk = np.full((3, 3), np.nan, np.float32)  # never counted as skipped
        padded._update_padded(np.array([99, -1, 3, 1, 2, 3, 4]), np.concatenate([junk, x]), np.array([3]))
        plain.update(np.array([1, 2, 3, 4]), x)
    np.testing.assert_array_equal(padded.state_dict()["variance"], plain.state_dict()["variance"])
    assert (
        padded.num_skipped == 0
        and padded.state_dict()["seen"].tolist() == plain.state_dict()["seen"].tolist()
    )
