"""Epoch order and sharding: which samples a shard reads, in which order, each epoch.

The order of epoch ``e`` is ``argsort(hash_uniform(seed, e, arange(N), STREAM_PERM))``, a
pure function of ``(seed, epoch)``: every shard of every process computes the same
permutation without communicating, and a resumed run reproduces it exactly.
"""

from __future__ import annotations

import math

import numpy as np

from ._utils.checks import check_int
from ._utils.rng import STREAM_PERM, hash_uniform

__all__ = ["ShardSampler"]


class ShardSampler:
    """Deterministic per-epoch order of one shard, like ``DistributedSampler`` + ``drop_last``.

    Parameters
    ----------
    num_samples : int
        Dataset size N.
    batch_size : int
        Samples per batch of this shard.
    num_shards, shard_id : int
        Shard ``k`` takes positions ``k, k + num_shards, ...`` of the epoch's permutation.
    seed : int
        Run seed.
    shuffle : bool
        ``False`` keeps the listing order (validation).
    drop_last : bool
        ``True``: each shard gets ``N // num_shards`` samples (the permutation's tail is
        dropped; a different tail every epoch) and a partial last batch is dropped.
        ``False``: each shard gets ``ceil(N / num_shards)`` samples, padded by wrapping
        around to the permutation's start (so a few samples appear twice across shards), and
        the last batch may be partial.
    pad : bool
        With ``drop_last=False`` only. ``False`` does not pad shards: shard ``k`` gets exactly
        positions ``k, k + num_shards, ...`` below N (every sample once over all shards, as
        validation needs), so :attr:`shard_size` differs by at most one between shards. Every
        shard still has ``ceil(ceil(N / num_shards) / batch_size)`` batches, as DALI's
        ``LastBatchPolicy.PARTIAL`` gives them, so per-batch collectives stay in step: a
        shorter shard's last batch has fewer rows (none, when its share is a multiple of
        ``batch_size`` and another shard has one sample more).

    Notes
    -----
    :meth:`padded_positions` covers whole batches for DALI's per-sample external source,
    which cannot emit a partial batch: the rows past :attr:`shard_size` repeat the shard's
    first samples and :meth:`rows_in_batch` tells the loader how many rows to keep.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        num_shards: int = 1,
        shard_id: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
        pad: bool = True,
    ):
        self.num_samples = check_int(num_samples, "num_samples", 1)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.num_shards = check_int(num_shards, "num_shards", 1)
        self.shard_id = check_int(shard_id, "shard_id", 0)
        if self.shard_id >= self.num_shards:
            raise ValueError(f"The `shard_id` must be < `num_shards` ({self.num_shards}), got {shard_id!r}.")
        self.seed = check_int(seed, "seed", 0)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.pad = bool(pad) or self.drop_last
        if drop_last:
            self.shard_size = self.num_samples // self.num_shards
            self.num_batches = self.shard_size // self.batch_size
        else:
            largest = math.ceil(self.num_samples / self.num_shards)
            self.num_batches = math.ceil(largest / self.batch_size)
            self.shard_size = largest if self.pad else len(range(self.shard_id, self.num_samples, num_shards))
        if not self.pad and self.shard_size == 0:
            raise ValueError(
                f"Shard {self.shard_id} of {self.num_shards} would hold no sample of {self.num_samples} "
                "without padding; use fewer shards than samples."
            )
        if self.num_batches == 0:
            raise ValueError(
                f"The `batch_size` {batch_size} is larger than a shard ({self.shard_size} samples of "
                f"{self.num_samples} over {self.num_shards} shards) with `drop_last=True`; "
                "use a smaller batch or `drop_last=False`."
            )
        self.epoch = 0
        self.epoch_changes = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order :meth:`indices` returns by default (and a loader reads next).

        :attr:`epoch_changes` counts the calls that changed the epoch (a loaded loader state
        resumes only while it has not moved).
        """
        epoch = check_int(epoch, "epoch", 0)
        if epoch != self.epoch:
            self.epoch_changes += 1
        self.epoch = epoch

    def permutation(self, epoch: int | None = None) -> np.ndarray:
        """The whole dataset's (N,) int64 order in ``epoch`` (default: the current epoch)."""
        if not self.shuffle:
            return np.arange(self.num_samples, dtype=np.int64)
        epoch = self.epoch if epoch is None else epoch
        keys = hash_uniform(self.seed, epoch, np.arange(self.num_samples), STREAM_PERM)
        return np.argsort(keys, kind="stable").astype(np.int64)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This shard's (shard_size,) int64 sample indices in ``epoch``, in reading order."""
        perm = self.permutation(epoch)
        if not self.pad:
            return perm[self.shard_id :: self.num_shards]
        total = self.shard_size * self.num_shards
        if total > perm.size:
            perm = np.resize(perm, total)  # wraps around to the start
        return perm[self.shard_id : total : self.num_shards]

    def padded_positions(self) -> int:
        """How many samples the pipeline reads per epoch: ``num_batches * batch_size``."""
        return self.num_batches * self.batch_size

    def rows_in_batch(self, batch: int) -> int:
        """Rows of batch number ``batch`` that hold real samples (the rest are padding)."""
        return max(0, min(self.batch_size, self.shard_size - batch * self.batch_size))

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.num_batches

    def __repr__(self) -> str:
        return (
            f"ShardSampler(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"num_shards={self.num_shards}, shard_id={self.shard_id}, seed={self.seed}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, pad={self.pad})"
        )
