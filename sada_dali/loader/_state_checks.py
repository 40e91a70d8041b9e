"""The checks of a saved :class:`~sada_dali.loader.SADALoader` state against the loader that loads it.

A state carries a fingerprint of everything that decides which samples a shard reads and which
choices they get (:func:`listing_digest` of the dataset, the seed, the shard layout...):
:func:`check_loader_state` refuses one that does not match, naming the key, before anything
changes. :func:`restore_removed` puts back the files a state flagged bad that were removed since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping

import numpy as np

from .._utils.checks import check_state_count, check_state_keys, validate_strengths

__all__ = ["LOADER_STATE_FORMAT", "listing_digest", "check_loader_state", "restore_removed"]

LOADER_STATE_FORMAT = "sada_dali.SADALoader/1"
_KEYS = tuple("format config epoch position strengths pending_strengths num_skipped skipped_files".split())


def _common_cut(files) -> int:
    """Length of the files' common folder (with its separator): ``f[cut:]`` is relative to it."""
    return os.path.commonprefix([min(files), max(files)]).rfind(os.sep) + 1


def listing_digest(listing) -> str:
    """SHA-256 of a listing's files (relative to their common folder), labels and, for tar
    shards, each image's shard, offset and size.

    Relative paths keep the digest valid when the dataset moves to another mount point;
    any added, removed, renamed or relabelled file changes it.
    """
    files = listing.files
    cut = _common_cut(files)
    digest = hashlib.sha256("\n".join(f[cut:] for f in files).encode("utf-8", "surrogateescape"))
    digest.update(np.ascontiguousarray(listing.labels, dtype=np.int64).tobytes())
    if getattr(listing, "locations", None) is not None:  # tar shards: the index covers where each image lies
        digest.update(np.ascontiguousarray(listing.locations, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _indices_of(listing, paths) -> list[int]:
    """Sample indices of ``paths``, matched by their longest suffix that is a file's path relative
    to the listing's common folder (so a dataset moved to another mount point still matches)."""
    if not paths:
        return []
    cut = _common_cut(listing.files)
    by_name = {f[cut:]: i for i, f in enumerate(listing.files)}
    indices = []
    for path in paths:
        parts = path.split(os.sep)
        suffixes = (os.sep.join(parts[k:]) for k in range(len(parts)))
        index = next((by_name[name] for name in suffixes if name in by_name), None)
        if index is None:
            raise ValueError(
                f"The loader `state_dict['bad_files']` names {path!r}, which is not in this "
                "loader's dataset; pass the state_dict() of a loader over the same dataset."
            )
        indices.append(index)
    return indices


def restore_removed(listing, state):
    """``listing`` with the files a saved state flagged bad and that are gone since put back at
    their saved indices, or None when no such file is missing (or putting them back does not
    give the saved listing).

    A bad file is never read, so removing it (as docs/faults.md allows) must not shift the other
    samples' indices: the state saves each bad file's index and label (``bad_indices``,
    ``bad_labels``), and the result is accepted only if its :func:`listing_digest` is the saved one.
    """
    if not isinstance(state, Mapping) or not isinstance(state.get("config"), Mapping):
        return None
    saved = state["config"]
    paths, indices, labels = (
        list(state.get(key) or []) for key in ("bad_files", "bad_indices", "bad_labels")
    )
    if not paths or not len(paths) == len(indices) == len(labels):
        return None
    cut = _common_cut(listing.files)
    depth = listing.files[0][cut:].count(os.sep) + 1
    present = {f[cut:] for f in listing.files}
    missing = {}
    for path, index, label in zip(paths, indices, labels):
        name = os.sep.join(str(path).split(os.sep)[-depth:])
        if name not in present:
            missing[int(index)] = (listing.files[0][:cut] + name, int(label))
    total = len(listing) + len(missing)
    if not missing or saved.get("num_samples") != total or not all(0 <= i < total for i in missing):
        return None
    kept = iter(zip(listing.files, listing.labels))
    files, labels = zip(*(missing[index] if index in missing else next(kept) for index in range(total)))
    restored = dataclasses.replace(listing, files=files, labels=np.array(labels, dtype=np.int64))
    return restored if listing_digest(restored) == saved.get("listing") else None


def _check_strengths(state, key: str, num_samples: int, train: bool):
    value = state[key]
    if value is None:
        if train and key == "strengths":
            raise ValueError(
                "The loader `state_dict['strengths']` is None but this is a training loader; "
                "pass the state_dict() of a training loader."
            )
        return None
    return validate_strengths(value, num_samples, name=f"state_dict['{key}']").copy()


def check_loader_state(state, config: dict, *, num_batches: int, listing) -> dict:
    """Validate a loader state against the receiving loader; return its checked fields.

    Parameters
    ----------
    state : Mapping
        A dict from :meth:`SADALoader.state_dict`.
    config : dict
        The receiving loader's fingerprint (the ``config`` it would save).
    num_batches : int
        Batches per epoch of the receiving loader (bounds ``position``).
    listing : sada_dali.data.source.Listing
        The receiving loader's files, which the optional ``bad_files`` must be among.

    Returns
    -------
    dict
        ``epoch``, ``position``, ``num_skipped`` (int), ``strengths`` and
        ``pending_strengths`` ((N,) float32 or None), ``skipped_files`` (list of str, each
        path once, in the order first saved) and
        ``bad_indices`` (list of int; empty for a state saved without ``bad_files``).

    Raises
    ------
    TypeError
        If ``state`` is not a mapping.
    ValueError
        On another format, a missing key, a fingerprint mismatch (the error names the key,
        e.g. ``seed`` or ``num_shards``; ``shard_id`` may differ; ``train`` is checked first) or
        an out-of-range value.
    """
    check_state_keys(state, owner="SADALoader", fmt=LOADER_STATE_FORMAT, keys=_KEYS, prefix="loader ")
    saved = state["config"] if isinstance(state["config"], Mapping) else {}
    if saved.get("train") in (True, False) and saved["train"] != config["train"]:
        # before the other keys: a training state differs from a validation loader in
        # `drop_last` too (its default follows `train`), but `train` is the cause
        kind = "a training" if saved.get("train") else "a validation"
        raise ValueError(
            f"The loader `state_dict` was saved with train={saved.get('train')!r} but this loader has "
            f"train={config['train']!r}; {kind} loader's state resumes only {kind} loader: create this "
            f"one with train={saved.get('train')!r}, or load the state into a loader like the one that "
            "saved it."
        )
    for key, mine in config.items():
        # every rank is at the same epoch and position with the same strengths, so the state
        # one rank saved (scripts checkpoint on rank 0 only) resumes every rank of the layout
        if key != "shard_id" and saved.get(key) != mine:
            raise ValueError(
                f"The loader `state_dict` was saved with {key}={saved.get(key)!r} but this loader "
                f"has {key}={mine!r}; create the loader with the saved dataset and settings."
            )
    train = bool(config.get("train", True))
    num_samples = int(config["num_samples"])
    for key in ("skipped_files", "bad_files"):
        paths = state.get(key, [])
        if not isinstance(paths, (list, tuple)) or not all(isinstance(f, str) for f in paths):
            raise ValueError(f"The loader `state_dict['{key}']` must be a list of paths, got {paths!r}.")
    return {
        "epoch": check_state_count(state, "epoch", prefix="loader "),
        "position": check_state_count(state, "position", upper=num_batches, prefix="loader "),
        "num_skipped": check_state_count(state, "num_skipped", prefix="loader "),
        "skipped_files": list(dict.fromkeys(state["skipped_files"])),  # once each (older states repeat them)
        "bad_indices": _indices_of(listing, state.get("bad_files", [])),
        "strengths": _check_strengths(state, "strengths", num_samples, train),
        "pending_strengths": _check_strengths(state, "pending_strengths", num_samples, train),
    }
