"""EntAugmentEstimator on the CPU: the entropy rule against a float64 reference, warm-up, state, bad input."""

import numpy as np
import pytest

from sada_dali._utils.rng import STREAM_WARMUP, hash_uniform
from sada_dali.estimator import EntAugmentConfig, EntAugmentEstimator

N, K = 50, 7


def reference_strength(logits: np.ndarray) -> np.ndarray:
    """``1 - H(softmax(z)) / ln K`` in float64, H in nats."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    h = -(np.exp(log_p) * log_p).sum(axis=1)
    return 1.0 - h / np.log(logits.shape[1])


def warmup(seed: int, epoch: int, indices) -> np.ndarray:
    return hash_uniform(seed, epoch, np.asarray(indices), STREAM_WARMUP).astype(np.float32)


def test_strengths_match_a_float64_reference_with_repeated_unseen_and_nan_rows():
    rng = np.random.default_rng(0)
    est = EntAugmentEstimator(N, K, seed=3)
    expected = np.full(N, np.nan)
    for _ in range(4):
        idx = rng.integers(0, N - 10, 24)  # the last 10 samples are never seen; duplicates within a batch
        x = rng.normal(0.0, rng.uniform(0.1, 6.0), (24, K)).astype(np.float32)
        x[3, 2] = np.nan
        est.update(idx, x)
        for row in range(24):  # in order: the last finite occurrence of an index wins
            if row != 3:
                expected[idx[row]] = reference_strength(x[row : row + 1])[0]
    seen = ~np.isnan(expected)
    s = est.end_epoch()
    assert s.dtype == np.float32 and s.shape == (N,)
    np.testing.assert_allclose(s[seen], expected[seen], rtol=0, atol=2e-6)
    np.testing.assert_array_equal(s[~seen], warmup(3, 1, np.flatnonzero(~seen)))
    np.testing.assert_array_equal(est.valid, seen)
    assert est.num_skipped == 4 and est.epoch == 1


def test_confident_rows_get_full_strength_and_uniform_rows_none():
    est = EntAugmentEstimator(3, 4)
    est.update(np.array([0, 1, 2]), np.array([[80.0, 0, 0, 0], [1.0, 1, 1, 1], [2.0, 0, 0, 0]]))
    s = est.end_epoch()
    assert s[0] == 1.0 and s[1] == 0.0 and 0.0 < s[2] < 1.0


def test_warmup_epochs_use_the_warmup_draw_for_every_sample_then_the_latest_entropy():
    est = EntAugmentEstimator(N, K, warmup_epochs=2, seed=1)
    np.testing.assert_array_equal(est.strengths, warmup(1, 0, np.arange(N)))
    x = np.random.default_rng(1).normal(size=(N, K)).astype(np.float32)
    est.update(np.arange(N), x)
    np.testing.assert_array_equal(est.end_epoch(), warmup(1, 1, np.arange(N)))  # epoch 1: still warm-up
    latest = est.latest
    np.testing.assert_allclose(latest, reference_strength(x), atol=2e-6)
    np.testing.assert_array_equal(est.end_epoch(), latest)  # epoch 2: the stored strengths
    assert not est.strengths.flags.writeable


def test_state_round_trip_restores_strengths_latest_epoch_and_skips():
    rng = np.random.default_rng(2)
    est = EntAugmentEstimator(N, K, warmup_epochs=1, seed=4)
    x = rng.normal(size=(20, K)).astype(np.float32)
    x[0, 0] = np.inf
    est.update(rng.permutation(N)[:20], x)
    est.end_epoch()
    saved = est.state_dict()
    assert set(saved) == {"format", "config", "epoch", "num_skipped", "latest", "strengths"}
    assert saved["format"] == "sada_dali.EntAugmentEstimator/1" and saved["latest"].dtype == np.float32
    fresh = EntAugmentEstimator(N, K, warmup_epochs=1, seed=4)
    fresh.load_state_dict(saved)
    assert (fresh.epoch, fresh.num_skipped) == (1, 1)
    np.testing.assert_array_equal(fresh.latest, est.latest)
    np.testing.assert_array_equal(fresh.strengths, est.strengths)
    np.testing.assert_array_equal(fresh.end_epoch(), est.end_epoch())
    assert est.nbytes == N * 8


def _saved(**changes):
    est = EntAugmentEstimator(N, K)
    state = est.state_dict()
    state.update(changes)
    return est, state


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (
            dict(format="sada_dali.SADAEstimator/1"),
            ValueError,
            r"must have format 'sada_dali.EntAugmentEstimator/1'",
        ),
        (
            dict(latest=np.zeros(N, np.float64)),
            ValueError,
            r"`state_dict\['latest'\]` must be a float32 array",
        ),
        (
            dict(latest=np.full(N, 0.5, np.float32) * np.r_[1, 3, [1] * (N - 2)].astype(np.float32)),
            ValueError,
            r"`state_dict\['latest'\]` must lie in \[0, 1\] \(or be -1.0 for a sample not seen yet\), "
            r"got 1.5 at index 1",
        ),
        (
            dict(latest=np.full(N, np.nan, np.float32)),
            ValueError,
            r"`state_dict\['latest'\]` must lie in \[0, 1\]",
        ),
        (
            dict(config={"num_samples": N, "num_classes": K, "warmup_epochs": 3}),
            ValueError,
            r"saved with warmup_epochs=3 but this estimator has warmup_epochs=0",
        ),
        (dict(epoch=-1), ValueError, r"`state_dict\['epoch'\]` must be a non-negative integer, got -1"),
    ],
)
def test_load_state_dict_rejects_a_bad_state_and_keeps_the_live_one(changes, error, match):
    est, state = _saved(**changes)
    before = est.latest
    with pytest.raises(error, match=match):
        est.load_state_dict(state)
    np.testing.assert_array_equal(est.latest, before)


def test_load_state_dict_rejects_a_non_mapping_and_a_missing_key():
    est = EntAugmentEstimator(N, K)
    with pytest.raises(TypeError, match=r"must be a dict from EntAugmentEstimator.state_dict\(\), got list"):
        est.load_state_dict([])
    state = est.state_dict()
    del state["latest"]
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['latest'\]"):
        est.load_state_dict(state)


@pytest.mark.parametrize(
    "indices, logits, error, match",
    [
        (np.zeros((2, 1), np.int64), np.zeros((2, K)), ValueError, r"The `indices` must be 1-D"),
        (np.zeros(2), np.zeros((2, K)), TypeError, r"The `indices` must be an integer array"),
        (
            np.zeros(2, np.int64),
            np.zeros((2, K + 1)),
            ValueError,
            rf"The `logits` must have shape \(batch, {K}\)",
        ),
        (np.zeros(2, np.int64), np.zeros((2, K), np.int32), TypeError, r"The `logits` must be float16"),
        (np.zeros(3, np.int64), np.zeros((2, K)), ValueError, r"must have the same batch length"),
        (
            np.array([0, N]),
            np.zeros((2, K)),
            ValueError,
            rf"The `indices` must lie in \[0, {N}\), got {N} at batch row 1",
        ),
    ],
)
def test_update_rejects_bad_batches_before_any_state_changes(indices, logits, error, match):
    est = EntAugmentEstimator(N, K)
    with pytest.raises(error, match=match):
        est.update(indices, logits)
    assert not est.valid.any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_samples=0), r"`num_samples` must be a positive integer.*got 0"),
        (
            dict(num_classes=1),
            r"`num_classes` must be an integer in \[2, 2147483647\] \(the entropy is divided by ln K\), "
            r"got 1",
        ),
        (dict(num_classes=3.0), r"`num_classes` must be an integer in \[2, .*got 3.0"),
        (dict(warmup_epochs=-1), r"`warmup_epochs` must be an integer >= 0, got -1"),
        (dict(warmup_epochs=True), r"`warmup_epochs` must be an integer >= 0, got True"),
        (dict(device="gpu"), r"`device` must be 'cpu', 'cuda' or 'cuda:<index>', got 'gpu'"),
        (dict(seed=-2), r"`seed` must be an integer in \[0, 2\*\*64\), got -2"),
    ],
)
def test_config_rejects_invalid_arguments_by_name(kwargs, match):
    args = dict(num_samples=N, num_classes=K) | kwargs
    with pytest.raises(ValueError, match=match):
        EntAugmentConfig(**args)
    with pytest.raises(ValueError, match=match):
        EntAugmentEstimator(args.pop("num_samples"), args.pop("num_classes"), **args)
