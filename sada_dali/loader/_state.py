"""The saved state of a :class:`~sada_dali.loader.SADALoader` and its checks on load.

A state is small: the epoch, the number of batches already read in it, the strengths that
epoch started with, the files the decoder rejected (never read again), and a fingerprint of everything that
decides which samples a shard reads and which choices they get. Everything else is
recomputed, because every per-sample
choice is a pure function of (seed, epoch, index) (see :mod:`sada_dali._utils.rng`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping

import numpy as np

from .._utils.checks import check_state_count, check_state_keys, validate_strengths
from .._utils.weights_only import to_numpy_state, to_torch_state

__all__ = ["LOADER_STATE_FORMAT", "listing_digest", "check_loader_state", "restore_removed", "LoaderState"]

LOADER_STATE_FORMAT = "sada_dali.SADALoader/1"
_KEYS = (
    "format",
    "config",
    "epoch",
    "position",
    "strengths",
    "pending_strengths",
    "num_skipped",
    "skipped_files",
)


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


class LoaderState:
    """Saves and restores the state of one loader's sampler, reader, strength table and runner.

    Parameters
    ----------
    sampler : sada_dali.sampler.ShardSampler
        The loader's shard sampler (epoch, seed, shard layout, batch size).
    reader : sada_dali.data._reader.SampleReader
        The loader's reader (its listing, op count, bins and crop ranges).
    table : sada_dali.strength.StrengthTable
        The strengths in use this epoch.
    runner : sada_dali.loader._epoch.EpochRunner
        The epoch runner (position, pending strengths, skipped files).
    train : bool
        Whether the loader is a training one.
    ledger : sada_dali.loader._feed.FeedLedger, optional
        The feed ledger of an estimator the loader owns (``estimator=True``): its estimator's
        state, and whether its epoch awaits ``end_epoch()``, are saved and restored with the loader's.
    """

    def __init__(self, sampler, reader, table, runner, *, train: bool, ledger=None):
        self.sampler, self.reader, self.table, self.runner, self.train = sampler, reader, table, runner, train
        self.ledger = ledger
        self._digest = None

    @property
    def listing(self):
        return self.runner.listing

    def config(self) -> dict:
        """The fingerprint a saved state must match (dataset digest, size, seed, shard layout...)."""
        if self._digest is None:
            self._digest = listing_digest(self.listing)
        s, reader = self.sampler, self.reader
        return {
            "num_samples": s.num_samples,
            "listing": self._digest,
            "seed": s.seed,
            "num_shards": s.num_shards,
            "shard_id": s.shard_id,
            "batch_size": s.batch_size,
            "drop_last": s.drop_last,
            "train": self.train,
            "num_ops": reader.num_ops,
            "num_magnitude_bins": reader.num_magnitude_bins,
            "random_area": tuple(map(float, reader.crop.random_area)),
            "random_aspect_ratio": tuple(map(float, reader.crop.random_aspect_ratio)),
        }

    def save(self) -> dict:
        """The state :meth:`SADALoader.state_dict` returns."""
        runner = self.runner
        epoch, position = runner.position()
        strengths = self.table.array.copy() if self.train else None
        if runner.loaded() is not None:
            strengths = runner.resume["strengths"]
        pending = runner.pending if isinstance(runner.pending, np.ndarray) else None
        bad = self.reader.listing.bad_indices()
        return to_torch_state(
            {
                "format": LOADER_STATE_FORMAT,
                "config": self.config(),
                "epoch": epoch,
                "position": position,
                "strengths": strengths,
                "pending_strengths": None if pending is None else pending.copy(),
                "num_skipped": runner.num_skipped,
                "skipped_files": list(runner.skipped_files),
                "bad_files": [self.listing.files[i] for i in bad],
                "bad_indices": [int(i) for i in bad],
                "bad_labels": [int(self.listing.labels[i]) for i in bad],
                "estimator": None if self.ledger is None else self.ledger.save(),
            }
        )

    def load(self, state_dict) -> None:
        """Check ``state_dict`` and make the next pass read the rest of its epoch (see
        :meth:`SADALoader.load_state_dict`); nothing changes when the check fails."""
        state_dict = to_numpy_state(state_dict)
        checked = check_loader_state(
            state_dict, self.config(), num_batches=len(self.sampler), listing=self.listing
        )
        saved = state_dict.get("estimator")
        if (saved is None) != (self.ledger is None):
            mine = "owns no estimator" if self.ledger is None else "owns one (estimator=True)"
            raise ValueError(
                f"The loader `state_dict['estimator']` is {'None' if saved is None else 'a state'} but "
                f"this loader {mine}; create the loader with the `estimator` setting it was saved with."
            )
        if saved is not None:
            self.ledger.load(saved)  # checked by the estimator before anything changes
        runner = self.runner
        self.sampler.set_epoch(checked["epoch"])
        runner.resume = {**checked, "epoch_changes": self.sampler.epoch_changes}
        if checked["pending_strengths"] is not None:
            runner.pending = checked["pending_strengths"]
        runner.set_skipped(checked["num_skipped"], checked["skipped_files"])
        self.reader.listing.mark_bad(checked["bad_indices"])
