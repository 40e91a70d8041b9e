"""Argument checks shared by every layer: integers, devices and strength arrays.

Nothing here imports DALI or torch at import time (``resolve_device_id`` imports torch only
when it must ask for the current CUDA device).
"""

from __future__ import annotations

import numpy as np

from .arrays import as_host_array

__all__ = ["DEVICES", "check_int", "check_device", "resolve_device_id", "validate_strengths"]

DEVICES = ("gpu", "cpu")


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as a Python int, or a ValueError naming ``name`` when it is not an integer >= ``minimum``.

    Parameters
    ----------
    value : object
        The argument; Python and NumPy integers pass, bools do not.
    name : str
        The argument's name, as the user wrote it.
    minimum : int
        The smallest value allowed.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The `{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_device(device: str) -> str:
    """Return ``device`` if it is "gpu" or "cpu", else raise a ValueError naming the fix."""
    if device not in DEVICES:
        raise ValueError(f"The `device` must be 'gpu' or 'cpu', got {device!r}.")
    return device


def resolve_device_id(device: str, device_id=None):
    """The CUDA device a pipeline on ``device`` runs on: None on "cpu", else ``device_id``
    or torch's current device (so every rank builds on its own GPU after ``set_device``).

    Raises
    ------
    ValueError
        If ``device_id`` is not a non-negative integer.
    """
    if check_device(device) == "cpu":
        return None
    if device_id is None:
        import torch

        return torch.cuda.current_device()
    if isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0:
        raise ValueError(
            f"The `device_id` must be a non-negative integer (a CUDA device ordinal) or None for "
            f"the current device, got {device_id!r}."
        )
    return device_id


def validate_strengths(values, num_samples: int, *, name: str = "strengths") -> np.ndarray:
    """Check a strength array and return it as a float32 host array.

    Parameters
    ----------
    values : array-like
        (N,) strengths from any trainer: torch, CuPy, NumPy or any DLPack producer. Device
        arrays are checked on the device and copied to the host once.
    num_samples : int
        The expected length N.
    name : str
        The argument's name for error messages.

    Returns
    -------
    numpy.ndarray
        (N,) float32.

    Raises
    ------
    ValueError
        On a wrong shape, a non-finite value, or a value outside [0, 1].
    TypeError
        If ``values`` is not a numeric array.
    """
    arr = as_host_array(values, name=name)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"The `{name}` must be a numeric array, got dtype {arr.dtype}.")
    if arr.shape != (num_samples,):
        raise ValueError(
            f"The `{name}` must have shape ({num_samples},) (one per sample), got {tuple(arr.shape)}."
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"The `{name}` must be finite, got {arr[bad]} at index {bad}.")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        bad = int(np.flatnonzero((arr < 0) | (arr > 1))[0])
        raise ValueError(f"The `{name}` must lie in [0, 1], got {arr[bad]} at index {bad}.")
    return arr
