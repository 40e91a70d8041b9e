"""The saved state of a :class:`~sada_dali.loader.SADALoader` and its checks on load.

A state is small: the epoch, the number of batches already read in it, the strengths that
epoch started with, and a fingerprint of everything that decides which samples a shard
reads and which choices they get. Everything else is recomputed, because every per-sample
choice is a pure function of (seed, epoch, index) (see :mod:`sada_dali._random`).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

import numpy as np

from .strength import validate_strengths

__all__ = ["LOADER_STATE_FORMAT", "listing_digest", "check_loader_state"]

LOADER_STATE_FORMAT = "sada_dali.SADALoader/1"
_KEYS = ("format", "config", "epoch", "position", "strengths", "pending_strengths", "num_skipped",
         "skipped_files")


def listing_digest(listing) -> str:
    """SHA-256 of a listing's files (relative to their common folder) and labels.

    Relative paths keep the digest valid when the dataset moves to another mount point;
    any added, removed, renamed or relabelled file changes it.
    """
    files = listing.files
    prefix = os.path.commonprefix([min(files), max(files)])
    cut = prefix.rfind(os.sep) + 1
    digest = hashlib.sha256("\n".join(f[cut:] for f in files).encode("utf-8", "surrogateescape"))
    digest.update(np.ascontiguousarray(listing.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _check_count(state, key: str, upper: int | None = None) -> int:
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0 or (
            upper is not None and value >= upper):
        bound = "a non-negative integer" if upper is None else f"an integer in [0, {upper})"
        raise ValueError(f"The loader `state_dict['{key}']` must be {bound}, got {value!r}.")
    return int(value)


def _check_strengths(state, key: str, num_samples: int, train: bool):
    value = state[key]
    if value is None:
        if train and key == "strengths":
            raise ValueError("The loader `state_dict['strengths']` is None but this is a training loader; "
                             "pass the state_dict() of a training loader.")
        return None
    return validate_strengths(value, num_samples, name=f"state_dict['{key}']").copy()


def check_loader_state(state, config: dict, *, num_batches: int) -> dict:
    """Validate a loader state against the receiving loader; return its checked fields.

    Parameters
    ----------
    state : Mapping
        A dict from :meth:`SADALoader.state_dict`.
    config : dict
        The receiving loader's fingerprint (the ``config`` it would save).
    num_batches : int
        Batches per epoch of the receiving loader (bounds ``position``).

    Returns
    -------
    dict
        ``epoch``, ``position``, ``num_skipped`` (int), ``strengths`` and
        ``pending_strengths`` ((N,) float32 or None), ``skipped_files`` (list of str).

    Raises
    ------
    TypeError
        If ``state`` is not a mapping.
    ValueError
        On another format, a missing key, a fingerprint mismatch (the error names the key,
        e.g. ``seed`` or ``num_shards``) or an out-of-range value.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"The loader `state_dict` must be a dict from SADALoader.state_dict(), "
                        f"got {type(state).__name__}.")
    if state.get("format") != LOADER_STATE_FORMAT:
        raise ValueError(f"The loader `state_dict` must have format {LOADER_STATE_FORMAT!r}, "
                         f"got {state.get('format')!r}.")
    missing = [key for key in _KEYS if key not in state]
    if missing:
        raise ValueError(f"The loader `state_dict` lacks the key(s) {missing}; pass an unmodified "
                         "SADALoader.state_dict().")
    saved = state["config"] if isinstance(state["config"], Mapping) else {}
    for key, mine in config.items():
        if saved.get(key) != mine:
            raise ValueError(f"The loader `state_dict` was saved with {key}={saved.get(key)!r} but this loader "
                             f"has {key}={mine!r}; create the loader with the saved dataset and settings.")
    train = bool(config.get("train", True))
    num_samples = int(config["num_samples"])
    skipped = state["skipped_files"]
    if not isinstance(skipped, (list, tuple)) or not all(isinstance(f, str) for f in skipped):
        raise ValueError(f"The loader `state_dict['skipped_files']` must be a list of paths, got {skipped!r}.")
    return {"epoch": _check_count(state, "epoch"), "position": _check_count(state, "position", num_batches),
            "num_skipped": _check_count(state, "num_skipped"), "skipped_files": list(skipped),
            "strengths": _check_strengths(state, "strengths", num_samples, train),
            "pending_strengths": _check_strengths(state, "pending_strengths", num_samples, train)}
