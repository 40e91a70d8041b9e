"""The strength table: one float32 strength per sample, in shared memory.

The table is what the loaders read per sample. It lives in POSIX shared memory so that
DALI's parallel ``external_source`` workers and torch ``DataLoader`` workers all see the
trainer's updates without a copy per worker: pickling a table sends only its name.
"""

from __future__ import annotations

import numpy as np

from ._utils.checks import check_int, validate_strengths
from ._utils.shm import SharedBlock

__all__ = ["StrengthTable", "validate_strengths"]

_HEADER = 64  # bytes: int64 epoch, (unused), start, stop; padding keeps the floats aligned


class StrengthTable(SharedBlock):
    """Per-sample augmentation strengths in [0, 1], shared across processes.

    Parameters
    ----------
    num_samples : int
        Dataset size N.
    initial : float or array-like, optional
        Starting strengths; default 1.0 (full magnitude, as RandAugment would apply).

    Notes
    -----
    Besides the (N,) float32 strengths the block holds an ``epoch`` slot, a ``start`` slot
    (the position a resumed epoch starts at) and a ``stop`` slot (readers end the epoch
    early while it is set), so workers that were started once see what the trainer set. The creating
    process owns the block
    and unlinks it on :meth:`close` (or at garbage collection); unpickled copies only attach.
    """

    def __init__(self, num_samples: int, *, initial=1.0):
        self.num_samples = check_int(num_samples, "num_samples", 1)
        self._create(_HEADER + 4 * self.num_samples)
        self._bind()
        self._header[:] = 0
        if np.isscalar(initial):
            self.set(np.full(self.num_samples, initial, dtype=np.float32), name="initial")
        else:
            self.set(initial, name="initial")

    _VIEWS = ("_header", "_values")

    def _bind(self) -> None:
        buf = self._shm.buf
        self._header = np.ndarray((4,), dtype=np.int64, buffer=buf)
        self._values = np.ndarray((self.num_samples,), dtype=np.float32, buffer=buf, offset=_HEADER)

    @property
    def name(self) -> str:
        """Name of the shared-memory block."""
        return self._shm.name

    @property
    def array(self) -> np.ndarray:
        """Read-only (N,) float32 view of the current strengths."""
        view = self._values.view()
        view.flags.writeable = False
        return view

    @property
    def epoch(self) -> int:
        """The epoch the trainer last announced through :meth:`set_epoch`."""
        return int(self._header[0])

    @property
    def start(self) -> int:
        """The position in the epoch that reading starts at (0 unless resuming mid-epoch)."""
        return int(self._header[2])

    def set_epoch(self, epoch: int, *, start: int = 0) -> None:
        """Announce the epoch, and the position it starts at, to every attached process."""
        if int(epoch) < 0:
            raise ValueError(f"The `epoch` must be a non-negative integer, got {epoch!r}.")
        if int(start) < 0:
            raise ValueError(f"The `start` must be a non-negative integer, got {start!r}.")
        self._header[0], self._header[2] = int(epoch), int(start)

    @property
    def stop(self) -> bool:
        """Whether readers must end the current epoch now (see :meth:`set_stop`)."""
        return bool(self._header[3])

    def set_stop(self, stop: bool) -> None:
        """Ask every attached reader to end the epoch at its next sample (or stop asking)."""
        self._header[3] = int(bool(stop))

    def set(self, values, *, name: str = "strengths") -> None:
        """Replace all strengths after validating them (see :func:`validate_strengths`)."""
        self._values[:] = validate_strengths(values, self.num_samples, name=name)

    def gather(self, indices) -> np.ndarray:
        """Strengths of ``indices`` as float32."""
        return self._values[np.asarray(indices, dtype=np.int64)]

    def _extra_state(self) -> dict:
        return {"num_samples": self.num_samples}

    def __repr__(self) -> str:
        return f"StrengthTable(num_samples={self.num_samples}, epoch={self.epoch}, name={self.name!r})"
