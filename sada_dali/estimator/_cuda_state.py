"""What both estimators' CUDA backends share: the device, stream ordering, the batch checks and
the claim kernel of each update, and host copies of the state. CuPy is imported here only, when
a backend is created.

``update`` launches the claim kernel (the last occurrence of each index wins) and the backend's
own update kernel on the stream of its input (torch's current stream for torch tensors, else
CuPy's current stream) and never synchronises. Every other method runs on CuPy's current
stream. Each operation that touches the state first makes its stream wait, on the device, for
an event recorded after the previous one, so operations on different streams stay in call
order without a host synchronisation. Out-of-range indices are skipped and counted on the
device; the next synchronising call raises.
"""

from __future__ import annotations

import numpy as np

from .._utils.arrays import _cupy, _is_torch, as_device_array, cuda_device_index
from ._checks import check_batch
from ._kernels import CLAIM_KERNELS, kernels
from .config import _MAX_SAMPLES

__all__ = ["CudaState", "BLOCK"]

BLOCK = 256
_CHUNK_BYTES = 64 << 20  # host-to-device copies of a loaded state go in pieces of this size


class CudaState:
    """Per-sample state in device memory; every method runs on the estimator's device.

    A subclass names its kernel module (``SOURCE``) and state arrays (``ARRAYS``), allocates
    them in :meth:`_allocate`, launches its update kernel in :meth:`_apply` and its strength
    kernels in :meth:`_launch_strengths`.
    """

    SOURCE: str
    ARRAYS: tuple = ()

    def __init__(self, config):
        cp = self._cp = _cupy()
        self.config = config
        self._device = cp.cuda.Device(config.device_index)
        n = config.num_samples
        with self._device:
            self._allocate(cp)
            self._owner = cp.full(n, -1, cp.int32)
            self._counters = cp.zeros(2, cp.uint64)  # [non-finite rows, out-of-range rows]
            self._no_padding = cp.zeros(1, cp.int64)
            self._kernels = kernels(cp, self._device.id, self.SOURCE)
            self._event = cp.cuda.Event(block=False, disable_timing=True)
            self._stream = None  # the stream of the last operation; self._event marks its end
            self._done(cp.cuda.get_current_stream())  # the zero-filling above, on this device's stream
        self._torch_stream = (None, None)
        self._claim = {np.dtype(i): self._kernels[name] for i, name in CLAIM_KERNELS.items()}
        self._num_samples = np.int64(n)

    def _allocate(self, cp) -> None:
        raise NotImplementedError

    def _apply(self, idx, x, rows, first) -> None:
        """Launch the update kernel of a claimed batch (contiguous ``idx``, ``x``; int32 ``rows``)."""
        raise NotImplementedError

    def _launch_strengths(self, epoch: int):
        raise NotImplementedError

    def _wait(self, stream) -> None:
        """Make ``stream`` wait (on the device) for the last operation on the state."""
        if self._stream is not None and self._stream.ptr != stream.ptr:
            stream.wait_event(self._event)

    def _done(self, stream) -> None:
        """Mark the end of an operation on ``stream``: later ones on other streams wait for it."""
        self._event.record(stream)
        self._stream = stream

    def _stream_for(self, x):
        cp = self._cp
        if not (_is_torch(x) and x.is_cuda):
            return cp.cuda.get_current_stream()
        import torch

        ts = torch.cuda.current_stream(x.device)
        if self._torch_stream[0] != ts.cuda_stream:
            from_external = getattr(cp.cuda.Stream, "from_external", None)
            stream = (
                from_external(ts)
                if from_external and hasattr(ts, "__cuda_stream__")
                else cp.cuda.ExternalStream(ts.cuda_stream, x.device.index)
            )
            self._torch_stream = (ts.cuda_stream, stream)
        return self._torch_stream[1]

    def update(self, indices, logits, padding=None) -> None:
        """Check metadata, then launch the claim and the update kernels (no sync).

        ``padding``: optional (1,) int64 device array; rows before it are ignored entirely.
        """
        cp, cfg = self._cp, self.config
        for name, arr in (("indices", indices), ("logits", logits)):
            where = cuda_device_index(arr)
            if where is not None and where != self._device.id:
                raise ValueError(
                    f"The `{name}` must be on cuda:{self._device.id} (the estimator's device), got "
                    f"an array on cuda:{where}; move it with .to('cuda:{self._device.id}')."
                )
        with self._device:
            stream = self._stream_for(logits)
            with stream:
                idx = as_device_array(indices, name="indices")
                x = as_device_array(logits, name="logits")
                check_batch(idx, x, cfg.num_classes)
                batch = idx.shape[0]
                if batch > _MAX_SAMPLES:
                    raise ValueError(
                        f"The `indices` hold {batch} rows; one update takes at most {_MAX_SAMPLES}. "
                        "Split the batch."
                    )
                if batch == 0:
                    return
                if idx.dtype not in self._claim:
                    idx = idx.astype(cp.int64)
                if x.dtype == cp.float64:
                    x = x.astype(cp.float32)
                idx, x = cp.ascontiguousarray(idx), cp.ascontiguousarray(x)
                first = self._no_padding if padding is None else as_device_array(padding, name="padding")
                rows = np.int32(batch)
                self._wait(stream)
                self._claim[idx.dtype](
                    ((batch + BLOCK - 1) // BLOCK,),
                    (BLOCK,),
                    (idx, rows, self._num_samples, self._owner, first),
                )
                self._apply(idx, x, rows, first)
                self._done(stream)

    def compute_strengths(self, epoch: int):
        """Strengths for ``epoch`` (a new device array); raises first on pending bad indices."""
        self.raise_pending()
        return self._launch_strengths(epoch)

    def current_strengths(self):
        """:attr:`strengths`, with CuPy's current stream ordered after the kernels that wrote it."""
        with self._device:
            self._wait(self._cp.cuda.get_current_stream())
        return self.strengths

    def read(self, name: str, fn=None):
        """``fn(state array)`` (default: a copy), computed on CuPy's current stream in order."""
        with self._device:
            stream = self._cp.cuda.get_current_stream()
            self._wait(stream)
            out = getattr(self, name).copy() if fn is None else fn(getattr(self, name))
            self._done(stream)
        return out

    @property
    def skipped(self) -> int:
        """Rows skipped for non-finite logits (synchronises; raises on pending bad indices)."""
        self.raise_pending()
        return int(self.to_host("_counters")[0])

    @skipped.setter
    def skipped(self, value: int) -> None:
        self.from_host("_counters", np.array([value, 0], np.uint64))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in (*self.ARRAYS, "_owner"))

    def raise_pending(self) -> None:
        """Raise (once) if rows with out-of-range indices were skipped since the last check."""
        counters = self.to_host("_counters")
        if counters[1]:
            self.from_host("_counters", np.array([counters[0], 0], np.uint64))
            raise ValueError(
                f"The `indices` of {counters[1]} batch row(s) were outside "
                f"[0, {self.config.num_samples}); those "
                "rows were skipped and the rest of their batches applied. Pass dataset indices."
            )

    def to_host(self, name: str) -> np.ndarray:
        """A host copy of a state array, after every queued operation (synchronises)."""
        with self._device:
            stream = self._cp.cuda.get_current_stream()
            self._wait(stream)
            return getattr(self, name).get(stream=stream)

    def from_host(self, name: str, value: np.ndarray) -> None:
        """Copy ``value`` into the state in pieces: no device temporary and no pinned staging buffer."""
        cp = self._cp
        with self._device:
            stream = cp.cuda.get_current_stream()
            self._wait(stream)
            if name == "strengths":  # a new array: earlier ones handed out stay unchanged
                self.strengths = cp.empty(value.shape, value.dtype)
            dst = getattr(self, name)
            rows = max(1, _CHUNK_BYTES // max(1, value[:1].nbytes))
            for start in range(0, value.shape[0], rows):
                dst[start : start + rows].set(
                    np.ascontiguousarray(value[start : start + rows]), stream=stream
                )
            self._done(stream)
