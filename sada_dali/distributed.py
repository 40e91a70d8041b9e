"""SADA across data-parallel ranks: one replicated estimator fed by an all-gather per step.

Every rank holds the whole estimator state. :meth:`DistributedEstimator.update` all-gathers
each rank's (indices, logits) and applies the gathered batch, rank 0's rows first, on every
rank, so all replicas see the same observations in the same order and :meth:`end_epoch` gives
identical strengths everywhere, normalised over the whole dataset, without further traffic.
The gathered tensors live where the backend wants them (CUDA for NCCL, host memory for gloo),
and the selection of real rows runs as tensor operations on that device without a host sync.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
import torch.distributed as dist

from ._utils.checks import check_int
from ._utils.shards import resolve_shards, shard_info
from .estimator import EntAugmentEstimator, SADAEstimator

__all__ = ["DistributedEstimator", "shard_info", "resolve_shards"]


def _comm_device(backend: str, estimator_index: int) -> torch.device:
    """Where the gathered tensors live: this rank's current CUDA device for NCCL, else the host.

    ``estimator_index`` is the estimator's CUDA ordinal, -1 on the CPU.
    """
    if "nccl" not in str(backend):
        return torch.device("cpu")
    device = torch.device("cuda", torch.cuda.current_device())
    if estimator_index not in (-1, device.index):
        raise ValueError(
            f"The `estimator` is on cuda:{estimator_index} but this rank's CUDA device is {device}; call "
            "torch.cuda.set_device(local_rank) and create it with device=f'cuda:{local_rank}'."
        )
    return device


def _delegate(name: str, doc: str) -> property:
    """A read-only property forwarding to the wrapped estimator's attribute ``name``."""
    return property(lambda self: getattr(self.estimator, name), doc=doc)


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    try:
        if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
            return torch.from_dlpack(x)  # CuPy, JAX, ...: zero copy, on their device
        return torch.as_tensor(x)
    except Exception as exc:
        raise TypeError(
            f"The `{name}` must be an array (torch, NumPy, CuPy or DLPack), got {type(x).__name__}."
        ) from exc


class DistributedEstimator:
    """A :class:`~sada_dali.estimator.SADAEstimator` or
    :class:`~sada_dali.estimator.EntAugmentEstimator` replicated on every rank of a process group.

    Parameters
    ----------
    estimator : SADAEstimator or EntAugmentEstimator
        This rank's replica, created with the same class and settings on every rank (checked here).
    batch_size : int
        The most rows one rank passes to one :meth:`update` (the loader's per-rank batch size);
        every rank sends this many rows per step, the unused ones marked as padding.
    group : torch.distributed.ProcessGroup, optional
        Default: the default group, which must be initialised.

    Notes
    -----
    :meth:`update` is a collective: every rank must call it once per step, with an empty batch
    if it has no rows. All ranks must pass logits of the same dtype (it is gathered as is, so
    float16/bfloat16 halve the traffic of float32). Rows with NaN or Inf logits, of any rank,
    are skipped and counted in :attr:`num_skipped` on every rank alike.
    """

    def __init__(self, estimator: SADAEstimator | EntAugmentEstimator, batch_size: int, *, group=None):
        if not isinstance(estimator, (SADAEstimator, EntAugmentEstimator)):
            raise TypeError(
                "The `estimator` must be a SADAEstimator or an EntAugmentEstimator, "
                f"got {type(estimator).__name__}."
            )
        batch_size = check_int(batch_size, "batch_size", 1, hint="It is the per-rank batch size.")
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                "The DistributedEstimator needs an initialised process group; call "
                "torch.distributed.init_process_group() first (torchrun sets its environment)."
            )
        self.estimator, self.batch_size, self.group = estimator, int(batch_size), group
        self.world_size, self.rank = shard_info(group)
        self.device = _comm_device(dist.get_backend(group), estimator.config.device_index)
        self._check_replicas()

    def _check_replicas(self) -> None:
        settings = {k: v for k, v in self.estimator.config.to_dict().items() if k != "device"}
        settings.update(
            estimator=type(self.estimator).__name__, batch_size=self.batch_size, epoch=self.estimator.epoch
        )
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).digest()
        mine = torch.tensor([int.from_bytes(digest[:8], "little", signed=True)], device=self.device)
        every = torch.empty(self.world_size, dtype=torch.int64, device=self.device)
        dist.all_gather_into_tensor(every, mine, group=self.group)
        if not bool((every == every[0]).all()):
            ranks = (every != every[0]).nonzero().flatten().tolist()
            raise ValueError(
                f"The `estimator` settings, `batch_size` or epoch of rank(s) {ranks} differ from rank "
                f"0's; create every replica with the same settings (this rank's: {settings})."
            )

    def _local(self, indices, logits) -> tuple[torch.Tensor, torch.Tensor]:
        idx, x = _as_tensor(indices, "indices"), _as_tensor(logits, "logits")
        num_classes = self.estimator.config.num_classes
        if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
            raise TypeError(
                f"The `indices` must be an integer array (dataset indices), got dtype {idx.dtype}."
            )
        if not x.is_floating_point():
            raise TypeError(
                f"The `logits` must be a float array (float16, bfloat16, float32), got dtype {x.dtype}."
            )
        if idx.ndim != 1:
            raise ValueError(f"The `indices` must be 1-D (one index per row), got shape {tuple(idx.shape)}.")
        if x.ndim != 2 or x.shape[1] != num_classes:
            raise ValueError(f"The `logits` must have shape (batch, {num_classes}), got {tuple(x.shape)}.")
        if x.shape[0] != idx.shape[0]:
            raise ValueError(
                f"The `indices` and `logits` must have the same batch length, got {idx.shape[0]} "
                f"and {x.shape[0]}."
            )
        if idx.shape[0] > self.batch_size:
            raise ValueError(
                f"The `indices` hold {idx.shape[0]} rows but `batch_size` is {self.batch_size}; "
                "create the DistributedEstimator with the largest per-rank batch."
            )
        return idx.to(self.device, torch.int64), x.to(self.device)

    def update(self, indices, logits) -> None:
        """Gather every rank's batch and apply their union, rank by rank, on this replica.

        Parameters
        ----------
        indices : array-like of int
            (b,) dataset indices of this rank's batch, ``b <= batch_size`` (0 allowed).
        logits : array-like of float
            (b, K) logits, in the same dtype on every rank.

        Raises
        ------
        TypeError, ValueError
            On a non-array, a wrong shape or dtype, or more than ``batch_size`` rows, before
            any communication (the other ranks then wait in theirs).
        """
        idx, x = self._local(indices, logits)
        cap, rows, world = self.batch_size, idx.shape[0], self.world_size
        send_idx = torch.zeros(cap + 1, dtype=torch.int64, device=self.device)
        send_idx[:rows], send_idx[cap] = idx, rows  # the last slot carries the row count
        send_x = torch.zeros((cap, x.shape[1]), dtype=x.dtype, device=self.device)
        send_x[:rows] = x
        all_idx = torch.empty(world * (cap + 1), dtype=torch.int64, device=self.device)
        all_x = torch.empty((world * cap, x.shape[1]), dtype=x.dtype, device=self.device)
        dist.all_gather_into_tensor(all_idx, send_idx, group=self.group)  # concatenated along dim 0
        dist.all_gather_into_tensor(all_x, send_x, group=self.group)
        all_idx = all_idx.view(world, cap + 1)
        counts = all_idx[:, cap]
        if rows == 0 and not bool(counts.any()):  # the only host read, and only on an empty rank
            return
        real = (torch.arange(cap, device=self.device) < counts[:, None]).flatten()
        # Padding first, real rows after in rank order; the estimator skips the leading padding
        # rows (their count stays on the device), so they are never applied nor counted.
        order = torch.argsort(real.to(torch.uint8), stable=True)
        padding = (world * cap - counts.sum()).reshape(1)
        self.estimator._update_padded(all_idx[:, :cap].flatten()[order], all_x[order], padding)

    def end_epoch(self):
        """Close the epoch; the same strengths on every rank (no communication)."""
        return self.estimator.end_epoch()

    strengths = _delegate(
        "strengths", "(N,) float32 strengths of the current epoch, identical on every rank."
    )
    variance = _delegate(
        "variance", "(N,) float32 EMA-smoothed window variance (``SADAEstimator.variance``)."
    )
    valid = _delegate("valid", "(N,) bool: samples with a valid variance (EntAugment: samples seen).")
    epoch = _delegate("epoch", "The epoch whose strengths :attr:`strengths` holds.")
    num_skipped = _delegate("num_skipped", "Rows of all ranks skipped for NaN or Inf logits (never padding).")
    nbytes = _delegate("nbytes", "Bytes of estimator state on this rank: the whole dataset's (replicated).")

    def state_dict(self) -> dict:
        """The replica's full state (the estimator's ``state_dict``); rank 0's suffices to resume."""
        return self.estimator.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a saved state into this replica; call it on every rank with the same state."""
        self.estimator.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return (
            f"DistributedEstimator(rank={self.rank}, world_size={self.world_size}, "
            f"batch_size={self.batch_size}, device={str(self.device)!r})"
        )
