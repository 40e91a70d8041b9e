"""SADAEstimator(normalize="rank") against a reference with ties; "minmax" stays the default and unchanged."""

import numpy as np
import pytest
from scipy.stats import rankdata

from sada_dali._utils.rng import STREAM_WARMUP, hash_uniform
from sada_dali.estimator import EstimatorConfig, SADAEstimator

N, K = 12, 3


def with_variances(variance, seen, **kwargs) -> SADAEstimator:
    """An estimator whose state holds ``variance`` and visit counts ``seen`` (epoch 0)."""
    est = SADAEstimator(N, K, window=3, seed=7, **kwargs)
    state = est.state_dict()
    state["variance"] = np.asarray(variance, np.float32)
    state["seen"] = np.asarray(seen, np.int32)
    est.load_state_dict(state)
    return est


VARIANCE = [0.5, 0.1, 0.5, 0.0, 2.0, 0.1, 0.5, 9.0, 0.3, 0.0, 0.7, 4.0]
SEEN = [3, 5, 4, 9, 3, 3, 3, 0, 3, 1, 6, 3]  # samples 7 and 9 are not valid (fewer than 3 visits)


def test_rank_maps_valid_variances_to_average_ranks_with_ties():
    valid = np.array(SEEN) >= 3
    s = with_variances(VARIANCE, SEEN, normalize="rank").end_epoch()
    ranks = rankdata(np.array(VARIANCE)[valid], method="average")  # ascending in V, ties averaged
    expected = 1.0 - (ranks - 1.0) / (valid.sum() - 1.0)
    np.testing.assert_array_equal(s[valid], expected.astype(np.float32))
    warm = np.flatnonzero(~valid)
    np.testing.assert_array_equal(s[warm], hash_uniform(7, 1, warm, STREAM_WARMUP).astype(np.float32))
    assert s[3] == 1.0 and s[11] == 0.0 and s[0] == s[2] == s[6]


def test_minmax_is_the_default_and_unchanged():
    assert EstimatorConfig(N, K).normalize == "minmax"
    valid = np.array(SEEN) >= 3
    v = np.array(VARIANCE, np.float32)[valid]
    s = with_variances(VARIANCE, SEEN).end_epoch()
    expected = np.float32(1.0) - (v - v.min()) / (v.max() - v.min())
    np.testing.assert_array_equal(s[valid], expected)
    assert with_variances(VARIANCE, SEEN).config == with_variances(VARIANCE, SEEN, normalize="minmax").config


@pytest.mark.parametrize(
    "variance, seen",
    [([0.25] * N, [3] * N), ([0.25] + [0.0] * (N - 1), [3] + [0] * (N - 1))],
    ids=["all tied", "one valid"],
)
def test_rank_without_spread_gives_every_sample_the_warmup_strength(variance, seen):
    s = with_variances(variance, seen, normalize="rank").end_epoch()
    np.testing.assert_array_equal(s, hash_uniform(7, 1, np.arange(N), STREAM_WARMUP).astype(np.float32))


def test_rank_spreads_strengths_where_minmax_crowds_them_near_one():
    variance = np.r_[np.linspace(0.0, 0.01, N - 1), 1.0]  # one high-variance sample stretches the range
    seen = [3] * N
    minmax = with_variances(variance, seen).end_epoch()
    rank = with_variances(variance, seen, normalize="rank").end_epoch()
    assert np.median(minmax) > 0.99 and np.median(rank) == pytest.approx(0.5)


def test_a_state_saved_before_normalize_existed_loads_as_minmax_but_not_into_rank():
    state = SADAEstimator(N, K).state_dict()
    del state["config"]["normalize"]
    SADAEstimator(N, K).load_state_dict(state)
    with pytest.raises(
        ValueError, match=r"saved with normalize='minmax' but this estimator has normalize='rank'"
    ):
        SADAEstimator(N, K, normalize="rank").load_state_dict(state)


def test_normalize_rejects_other_values_by_name():
    with pytest.raises(
        ValueError, match=r"The `normalize` must be 'minmax' \(the paper's\) or 'rank' \(ours\), got 'z'"
    ):
        SADAEstimator(N, K, normalize="z")
