"""Checks of a saved estimator state before it replaces the live one (both estimators share them)."""

from __future__ import annotations

from dataclasses import MISSING, fields

import numpy as np

from .._utils.checks import check_state_count, check_state_keys, validate_strengths

__all__ = [
    "STATE_FORMAT",
    "STATE_ARRAYS",
    "ENT_STATE_FORMAT",
    "ENT_STATE_ARRAYS",
    "UNSEEN",
    "check_state",
    "check_entaugment_state",
]

STATE_FORMAT = "sada_dali.SADAEstimator/1"
STATE_ARRAYS = ("seen", "ring", "variance", "log_prev", "strengths")
ENT_STATE_FORMAT = "sada_dali.EntAugmentEstimator/1"
ENT_STATE_ARRAYS = ("latest", "strengths")
UNSEEN = -1.0  # EntAugment's `latest` of a sample whose logits were never seen
_FLT_MAX = float(np.finfo(np.float32).max)


def _expected_sada(config) -> dict:
    n, k, w = config.num_samples, config.num_classes, config.window
    return {
        "seen": ((n,), np.int32),
        "ring": ((n, w), np.float32),
        "variance": ((n,), np.float32),
        "log_prev": ((n, k), np.dtype(config.state_dtype)),
        "strengths": ((n,), np.float32),
    }


def _check_range(name: str, arr: np.ndarray, low: float, high: float) -> None:
    ok = (arr >= low) & (arr <= high)  # False for NaN
    if not ok.all():
        bad = np.unravel_index(int(np.flatnonzero(~ok.ravel())[0]), arr.shape)
        raise ValueError(f"The `state_dict['{name}']` must lie in [{low}, {high}], got {arr[bad]} at {bad}.")


def _check_common(state, config, *, fmt: str, owner: str, expected: dict) -> dict:
    """The checks every saved state shares: mapping, format, keys, configuration, counters, arrays.

    ``expected`` maps each array name to its (shape, dtype). A key the saved configuration lacks
    (a field added later, such as ``normalize``) must equal the field's default.
    """
    check_state_keys(state, owner=owner, fmt=fmt, keys=("config", "epoch", "num_skipped", *expected))
    defaults = {f.name: f.default for f in fields(config) if f.default is not MISSING}
    saved, mine = dict(state["config"]), config.to_dict()
    for key in mine:
        value = saved.get(key, defaults.get(key))
        if key != "device" and value != mine[key]:
            raise ValueError(
                f"The `state_dict` was saved with {key}={value!r} but this estimator has "
                f"{key}={mine[key]!r}; create the estimator with the saved settings."
            )
    out = {key: check_state_count(state, key) for key in ("epoch", "num_skipped")}
    for name, (shape, dtype) in expected.items():
        arr = np.asarray(state[name])
        if arr.shape != shape or arr.dtype != dtype:
            raise ValueError(
                f"The `state_dict['{name}']` must be a {np.dtype(dtype).name} array of shape {shape}, "
                f"got {arr.dtype.name} {arr.shape}."
            )
        out[name] = arr
    validate_strengths(out["strengths"], config.num_samples, name="state_dict['strengths']")
    return out


def check_state(state, config) -> dict:
    """Validate a :class:`SADAEstimator` ``state`` against ``config``; return its arrays as NumPy arrays.

    Parameters
    ----------
    state : Mapping
        A dict from :meth:`SADAEstimator.state_dict`.
    config : EstimatorConfig
        The receiving estimator's configuration; all fields but ``device`` must match.

    Returns
    -------
    dict
        ``STATE_ARRAYS`` names to NumPy arrays (``ring`` and ``variance`` with -0.0 made +0.0),
        plus ``epoch`` and ``num_skipped`` ints.

    Raises
    ------
    TypeError
        If ``state`` is not a mapping.
    ValueError
        On a wrong format, a missing key, a configuration mismatch, or an array with the
        wrong shape, dtype or values.
    """
    out = _check_common(
        state, config, fmt=STATE_FORMAT, owner="SADAEstimator", expected=_expected_sada(config)
    )
    _check_range("seen", out["seen"], 0, np.iinfo(np.int32).max)
    _check_range("ring", out["ring"], 0.0, _FLT_MAX)
    _check_range("variance", out["variance"], 0.0, _FLT_MAX)
    _check_range("log_prev", out["log_prev"], -16.0, 0.0)
    for name in ("ring", "variance"):  # -0.0 + 0.0 == +0.0: the GPU's min/max orders float bit patterns
        out[name] = out[name] + np.float32(0.0)
    return out


def check_entaugment_state(state, config) -> dict:
    """Validate an :class:`EntAugmentEstimator` ``state`` against ``config`` (see :func:`check_state`).

    ``latest`` must hold, per sample, a strength in [0, 1] or ``UNSEEN`` (-1).
    """
    n = config.num_samples
    expected = {"latest": ((n,), np.float32), "strengths": ((n,), np.float32)}
    out = _check_common(state, config, fmt=ENT_STATE_FORMAT, owner="EntAugmentEstimator", expected=expected)
    latest = out["latest"]
    ok = ((latest >= 0.0) & (latest <= 1.0)) | (latest == np.float32(UNSEEN))  # False for NaN
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"The `state_dict['latest']` must lie in [0, 1] (or be {UNSEEN} for a sample not seen yet), "
            f"got {latest[bad]} at index {bad}."
        )
    out["latest"] = latest + np.float32(0.0)
    return out
