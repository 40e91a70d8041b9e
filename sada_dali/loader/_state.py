"""The saved state of a :class:`~sada_dali.loader.SADALoader`: :class:`LoaderState`.

A state is small: the epoch, the number of batches already read in it, the strengths that
epoch started with, the files the decoder rejected (never read again), and a fingerprint of
everything that decides which samples a shard reads and which choices they get (checked on
load by :mod:`sada_dali.loader._state_checks`). Everything else is recomputed, because every
per-sample choice is a pure function of (seed, epoch, index) (see :mod:`sada_dali._utils.rng`).
"""

from __future__ import annotations

from .._utils.weights_only import to_numpy_state, to_torch_state
from ._state_checks import LOADER_STATE_FORMAT, check_loader_state, listing_digest

__all__ = ["LoaderState"]


class LoaderState:
    """Saves and restores the state of one loader: its sampler's epoch, its runner's position and
    its epoch state (strengths, skipped and bad files).

    Parameters
    ----------
    listing : sada_dali.data.listing.Listing
        The loader's dataset (its digest, and the names of the bad files).
    sampler : sada_dali.sampler.ShardSampler
        The loader's shard sampler (epoch, seed, shard layout, batch size).
    epoch : sada_dali.loader._epoch_state.EpochState
        The strengths in use and pending, the skip ledger and the files flagged bad.
    runner : sada_dali.loader._epoch.EpochRunner
        The epoch runner (the epoch and batch it reads).
    fingerprint : dict
        The loader's other settings a state must match (``LoaderOptions.fingerprint()``).
    ledger : sada_dali.loader._feed.FeedLedger, optional
        The feed ledger of an estimator the loader owns (``estimator=True``): its estimator's
        state, and whether its epoch awaits ``end_epoch()``, are saved and restored with the loader's.
    """

    def __init__(self, listing, sampler, epoch, runner, *, fingerprint: dict, ledger=None):
        self.listing, self.sampler, self.epoch, self.runner = listing, sampler, epoch, runner
        self.fingerprint, self.ledger = dict(fingerprint), ledger
        self.train = bool(self.fingerprint["train"])
        self.resume = None  # a loaded state that no epoch start applied yet
        self._digest = None

    def config(self) -> dict:
        """The fingerprint a saved state must match (dataset digest, size, seed, shard layout...)."""
        if self._digest is None:
            self._digest = listing_digest(self.listing)
        s = self.sampler
        return {
            "num_samples": s.num_samples,
            "listing": self._digest,
            "seed": s.seed,
            "num_shards": s.num_shards,
            "shard_id": s.shard_id,
            "batch_size": s.batch_size,
            "drop_last": s.drop_last,
            **self.fingerprint,
        }

    def loaded(self):
        """The loaded state not applied yet (``epoch``, ``position``, ``strengths``...), or None; it
        is discarded once the sampler's epoch moved since it was loaded."""
        if self.resume is not None and self.resume["epoch_changes"] != self.sampler.epoch_changes:
            self.resume = None
        return self.resume

    def take(self, epoch: int) -> tuple[int, object]:
        """``(position, strengths)`` of ``epoch``, starting now: the loaded ones when the loaded state is
        of that epoch, else ``(0, None)``; either way the loaded state is applied (dropped)."""
        resume, self.resume = self.loaded(), None
        if resume is None or resume["epoch"] != epoch:
            return 0, None
        return resume["position"], resume["strengths"]

    def position(self) -> tuple[int, int]:
        """``(epoch, position)`` a saved state resumes at (see ``SADALoader.state_dict``)."""
        runner, sampler = self.runner, self.sampler
        if self.loaded() is not None:  # loaded, not read yet
            return self.resume["epoch"], self.resume["position"]
        if runner.in_epoch and runner.batch < len(sampler):
            return runner.running, runner.batch
        if runner.in_epoch:  # every batch was yielded; the end has not been seen yet
            return (runner.running + 1 if sampler.epoch == runner.running else sampler.epoch), 0
        return sampler.epoch, 0

    def save(self) -> dict:
        """The state :meth:`SADALoader.state_dict` returns."""
        state = self.epoch
        epoch, position = self.position()
        strengths = state.strengths.copy() if self.train else None
        if self.loaded() is not None:
            strengths = self.resume["strengths"]
        pending = state.pending
        bad = state.bad_indices()
        return to_torch_state(
            {
                "format": LOADER_STATE_FORMAT,
                "config": self.config(),
                "epoch": epoch,
                "position": position,
                "strengths": strengths,
                "pending_strengths": None if pending is None else pending.copy(),
                "num_skipped": state.num_skipped,
                "skipped_files": list(state.skipped_files),
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
        state = self.epoch
        self.sampler.set_epoch(checked["epoch"])
        self.resume = {**checked, "epoch_changes": self.sampler.epoch_changes}
        if self.train and checked["pending_strengths"] is not None:
            state.set_strengths(checked["pending_strengths"])
        state.set_skipped(checked["num_skipped"], checked["skipped_files"])
        state.mark_bad(checked["bad_indices"])
