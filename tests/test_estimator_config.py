"""Validation of the estimator's configuration: every branch names the argument."""

import pytest

from sada_dali.estimator import EstimatorConfig, SADAEstimator


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_samples=0), r"`num_samples` must be a positive integer.*got 0"),
        (dict(num_samples=True), r"`num_samples` must be a positive integer.*got True"),
        (dict(num_samples=2**31), r"`num_samples` must be a positive integer \(at most 2147483647\)"),
        (dict(num_classes=-3), r"`num_classes` must be a positive integer.*got -3"),
        (dict(num_classes=2.0), r"`num_classes` must be a positive integer.*got 2.0"),
        (dict(window=1), r"`window` must be an integer in \[2, 1024\].*got 1"),
        (dict(window=3.0), r"`window` must be an integer.*got 3.0"),
        (dict(decay=0.0), r"`decay` must be a number in \(0, 1\].*got 0.0"),
        (dict(decay=1.5), r"`decay` must be a number in \(0, 1\].*got 1.5"),
        (dict(decay="0.9"), r"`decay` must be a number.*got '0.9'"),
        (dict(variance="std"), r"`variance` must be 'sum' \(paper Eq. 6\) or 'mean', got 'std'"),
        (dict(device="gpu"), r"`device` must be 'cpu', 'cuda' or 'cuda:<index>', got 'gpu'"),
        (dict(device="cuda:x"), r"`device` must be .*got 'cuda:x'"),
        (
            dict(warmup_strength=1.5),
            r"`warmup_strength` must be None \(uniform draw\) or a number in \[0, 1\], got 1.5",
        ),
        (dict(warmup_strength=True), r"`warmup_strength` must be None.*got True"),
        (dict(seed=-1), r"`seed` must be an integer in \[0, 2\*\*64\), got -1"),
        (dict(state_dtype="bfloat16"), r"`state_dtype` must be 'float16' or 'float32', got 'bfloat16'"),
    ],
)
def test_config_rejects_invalid_argument_by_name(kwargs, match):
    args = dict(num_samples=10, num_classes=3) | kwargs
    with pytest.raises(ValueError, match=match):
        EstimatorConfig(**args)


def test_estimator_validates_through_its_config():
    with pytest.raises(ValueError, match=r"`window` must be an integer in \[2, 1024\]"):
        SADAEstimator(10, 3, window=0)


def test_config_normalises_numbers_and_reports_device_index():
    cfg = EstimatorConfig(10, 3, decay=1, warmup_strength=0, device="cuda:2")
    assert (cfg.decay, cfg.warmup_strength) == (1.0, 0.0)
    assert isinstance(cfg.decay, float) and isinstance(cfg.warmup_strength, float)
    assert cfg.device_index == 2
    assert EstimatorConfig(10, 3, device="cuda").device_index == 0
    assert EstimatorConfig(10, 3).device_index == -1
    assert cfg.to_dict()["num_classes"] == 3


def test_config_defaults_follow_the_paper():
    cfg = EstimatorConfig(10, 3)
    assert (cfg.window, cfg.decay, cfg.variance, cfg.warmup_strength, cfg.state_dtype) == (
        10,
        0.9,
        "sum",
        None,
        "float16",
    )
    with pytest.raises(AttributeError):
        cfg.window = 5
