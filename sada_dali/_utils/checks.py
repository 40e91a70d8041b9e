"""Argument checks shared by every layer: integers, devices, strength arrays and saved states.

Nothing here imports DALI or torch at import time (``resolve_device_id`` imports torch only
when it must ask for the current CUDA device).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .arrays import as_host_array

__all__ = [
    "DEVICES",
    "check_int",
    "check_bool",
    "check_fraction",
    "check_image_size",
    "check_device",
    "resolve_device_id",
    "validate_strengths",
    "check_normalize",
    "check_state_keys",
    "check_state_count",
]

DEVICES = ("gpu", "cpu")


def check_int(value, name: str, minimum: int, *, maximum: int | None = None, hint: str = "") -> int:
    """``value`` as a Python int, or a ValueError naming ``name`` when it is not an integer in range.

    Parameters
    ----------
    value : object
        The argument; Python and NumPy integers pass, bools do not.
    name : str
        The argument's name, as the user wrote it.
    minimum : int
        The smallest value allowed.
    maximum : int, optional
        The largest value allowed (default: no bound).
    hint : str
        A sentence appended to the error (what the value means, or how to fix it).
    """
    too_big = maximum is not None and isinstance(value, (int, np.integer)) and value > maximum
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum or too_big:
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(
            f"The `{name}` must be an integer {bound}, got {value!r}." + (f" {hint}" if hint else "")
        )
    return int(value)


def check_bool(value, name: str, *, hint: str = "") -> bool:
    """``value`` as a Python bool, or a TypeError naming ``name`` when it is not a bool.

    Parameters
    ----------
    value : object
        The argument; Python and NumPy bools pass, anything else (``"no"``, ``0``, None) does not.
    name : str
        The argument's name, as the user wrote it.
    hint : str
        A sentence appended to the error (how to fix it).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"The `{name}` must be a bool (True or False), got {value!r}." + (f" {hint}" if hint else "")
        )
    return bool(value)


def check_fraction(value, name: str, *, hint: str = "") -> float:
    """``value`` as a Python float, or a ValueError naming ``name`` when it is not a number in [0, 1].

    Parameters
    ----------
    value : object
        The argument; Python and NumPy integers and floats pass, bools and NaN do not.
    name : str
        The argument's name, as the user wrote it.
    hint : str
        A sentence appended to the error (what the value means, or how to fix it).
    """
    number = isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, (bool, np.bool_)) or not number or not 0.0 <= float(value) <= 1.0:
        raise ValueError(
            f"The `{name}` must be a number in [0, 1], got {value!r}." + (f" {hint}" if hint else "")
        )
    return float(value)


def check_image_size(image_size, name: str = "image_size") -> int:
    """The output side S of a square ``image_size``, or a ValueError naming the argument.

    Parameters
    ----------
    image_size : int or pair of int
        A positive integer S (Python or NumPy; not a bool), or a pair ``(H, W)`` as timm and
        torchvision take it, accepted only when square (``(S, S)`` is S): the pipelines emit
        S x S images.
    name : str
        The argument's name, as the user wrote it.

    Returns
    -------
    int
        S.

    Raises
    ------
    ValueError
        If ``image_size`` is not a positive integer, nor a pair of equal positive integers.
    """
    if isinstance(image_size, (tuple, list)) or (isinstance(image_size, np.ndarray) and image_size.ndim == 1):
        pair = list(image_size)
        if len(pair) != 2:
            raise ValueError(
                f"The `{name}` must be one positive integer S (S x S images) or a square pair (S, S), "
                f"got {image_size!r} ({len(pair)} values)."
            )
        height, width = (check_int(side, f"{name}[{i}]", 1) for i, side in enumerate(pair))
        if height != width:
            raise ValueError(
                f"The `{name}` must be square: the loader emits S x S images, got (H, W) = "
                f"({height}, {width}); pass one integer, e.g. `{name}={max(height, width)}`, and "
                "resize or crop the batches afterwards for a non-square input."
            )
        return height
    return check_int(image_size, name, 1, hint="It is the side S of the S x S output images, e.g. 224.")


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


def check_state_keys(state, *, owner: str, fmt: str, keys, prefix: str = "") -> None:
    """Check that a saved state is a mapping of format ``fmt`` holding every key of ``keys``.

    Parameters
    ----------
    state : object
        What the user passed to ``load_state_dict``.
    owner : str
        The class whose ``state_dict()`` made it (``"SADALoader"``), named in the errors.
    fmt : str
        The expected ``state["format"]``.
    keys : iterable of str
        Keys the state must hold.
    prefix : str
        Words before ```state_dict``` in the errors (``"loader "``).

    Raises
    ------
    TypeError
        If ``state`` is not a mapping.
    ValueError
        On another format or a missing key.
    """
    if not isinstance(state, Mapping):
        raise TypeError(
            f"The {prefix}`state_dict` must be a dict from {owner}.state_dict(), got {type(state).__name__}."
        )
    if state.get("format") != fmt:
        raise ValueError(f"The {prefix}`state_dict` must have format {fmt!r}, got {state.get('format')!r}.")
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(
            f"The {prefix}`state_dict` lacks the key(s) {missing}; pass an unmodified {owner}.state_dict()."
        )


def check_state_count(state, key: str, *, upper: int | None = None, prefix: str = "") -> int:
    """``state[key]`` as an int, or a ValueError unless it is an integer in [0, ``upper``).

    ``upper=None`` allows any non-negative integer; ``prefix`` as in :func:`check_state_keys`.
    """
    value = state[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < 0
        or (upper is not None and value >= upper)
    ):
        bound = "a non-negative integer" if upper is None else f"an integer in [0, {upper})"
        raise ValueError(f"The {prefix}`state_dict['{key}']` must be {bound}, got {value!r}.")
    return int(value)


def check_normalize(normalize, fp16) -> bool:
    """Return ``normalize`` as a bool; raise a ValueError if it asks for uint8 images with ``fp16``."""
    if not normalize and fp16:
        raise ValueError(
            "The `fp16` option applies to normalised images, but `normalize=False` yields uint8 ones; "
            "drop fp16=True (the wrapper that normalises chooses the float type)."
        )
    return bool(normalize)
