"""What the NumPy backends of both estimators share: batch preparation and host-side state access."""

from __future__ import annotations

import numpy as np

from .._utils.arrays import as_host_array
from ._checks import check_batch

__all__ = ["unique_rows", "HostState"]


def unique_rows(indices, logits, config, padding=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a batch on the host; return its rows after ``padding``, last occurrence of each index only.

    Returns int64 indices (unique, in range) and float32 logits.

    Raises
    ------
    TypeError, ValueError
        From :func:`~sada_dali.estimator._checks.check_batch`, or for an index outside ``[0, N)``.
    """
    idx = as_host_array(indices, name="indices")
    x = as_host_array(logits, name="logits")
    check_batch(idx, x, config.num_classes)
    if padding is not None:
        first = int(as_host_array(padding, name="padding").reshape(-1)[0])
        idx, x = idx[first:], x[first:]
    idx = idx.astype(np.int64, copy=False)
    bad = np.flatnonzero((idx < 0) | (idx >= config.num_samples))
    if bad.size:
        raise ValueError(
            f"The `indices` must lie in [0, {config.num_samples}), got {idx[bad[0]]} "
            f"at batch row {bad[0]}; pass dataset indices."
        )
    _, last_reversed = np.unique(idx[::-1], return_index=True)
    rows = idx.size - 1 - last_reversed
    return idx[rows], x[rows].astype(np.float32, copy=False)


class HostState:
    """What both estimators' NumPy backends share: reads, host copies and loads of their ``ARRAYS``."""

    ARRAYS: tuple = ()

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in self.ARRAYS)

    def raise_pending(self) -> None:
        """Nothing is deferred on the CPU: bad indices raise in ``update``."""

    def current_strengths(self) -> np.ndarray:
        """:attr:`strengths` (read-only)."""
        return self.strengths

    def set_strengths(self, out: np.ndarray) -> np.ndarray:
        out.flags.writeable = False
        self.strengths = out
        return out

    def read(self, name: str, fn=None):
        """``fn(state array)``, default a copy."""
        return getattr(self, name).copy() if fn is None else fn(getattr(self, name))

    def to_host(self, name: str) -> np.ndarray:
        return getattr(self, name).copy()

    def from_host(self, name: str, value: np.ndarray) -> None:
        value = np.array(value, copy=True)
        value.flags.writeable = name != "strengths"
        setattr(self, name, value)
