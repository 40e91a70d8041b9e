"""Checks of a saved estimator state before it replaces the live one."""

from __future__ import annotations

import numpy as np

from .._utils.checks import check_state_count, check_state_keys, validate_strengths

__all__ = ["STATE_FORMAT", "STATE_ARRAYS", "check_state"]

STATE_FORMAT = "sada_dali.SADAEstimator/1"
STATE_ARRAYS = ("seen", "ring", "variance", "log_prev", "strengths")
_FLT_MAX = float(np.finfo(np.float32).max)


def _expected(config) -> dict:
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


def check_state(state, config) -> dict:
    """Validate ``state`` against ``config``; return its arrays as NumPy arrays.

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
    keys = ("config", "epoch", "num_skipped", *STATE_ARRAYS)
    check_state_keys(state, owner="SADAEstimator", fmt=STATE_FORMAT, keys=keys)
    saved, mine = dict(state["config"]), config.to_dict()
    for key in mine:
        if key != "device" and saved.get(key) != mine[key]:
            raise ValueError(
                f"The `state_dict` was saved with {key}={saved.get(key)!r} but this estimator has "
                f"{key}={mine[key]!r}; create the estimator with the saved settings."
            )
    out = {key: check_state_count(state, key) for key in ("epoch", "num_skipped")}
    for name, (shape, dtype) in _expected(config).items():
        arr = np.asarray(state[name])
        if arr.shape != shape or arr.dtype != dtype:
            raise ValueError(
                f"The `state_dict['{name}']` must be a {np.dtype(dtype).name} array of shape {shape}, "
                f"got {arr.dtype.name} {arr.shape}."
            )
        out[name] = arr
    _check_range("seen", out["seen"], 0, np.iinfo(np.int32).max)
    _check_range("ring", out["ring"], 0.0, _FLT_MAX)
    _check_range("variance", out["variance"], 0.0, _FLT_MAX)
    _check_range("log_prev", out["log_prev"], -16.0, 0.0)
    validate_strengths(out["strengths"], config.num_samples, name="state_dict['strengths']")
    for name in ("ring", "variance"):  # -0.0 + 0.0 == +0.0: the GPU's min/max orders float bit patterns
        out[name] = out[name] + np.float32(0.0)
    return out
