"""The CUDA backend: whole-dataset state on the GPU, updated in place by the kernels in
``kernels/sada_stats.cu``. CuPy is imported here only, when the backend is created.

``update`` launches two kernels (claim the last occurrence of each index, then the fused
update) on the stream of its input (torch's current stream for torch tensors, else CuPy's
current stream) and never synchronises. Out-of-range indices are therefore skipped and
counted on the device; the next synchronising call raises.
"""
from __future__ import annotations

import numpy as np

from .._arrays import _cupy, _is_torch, as_device_array
from ._checks import check_batch

__all__ = ["CudaBackend"]

_BLOCK = 256
_OPTIONS = ("--std=c++17", "--fmad=false")  # no fused multiply-add: same rounding as the NumPy twin
_LOGIT_T = {"float32": "float", "float16": "sada_f16"}
_INDEX_T = {"int32": "int", "int64": "long long"}
_UPDATE = "sada_update<{}, {}, {}>"
_CLAIM = "sada_claim<{}>"
_MODULES: dict = {}  # device id -> compiled RawModule


def _names() -> list[str]:
    names = [_CLAIM.format(i) for i in _INDEX_T.values()] + ["sada_minmax", "sada_strengths"]
    for t in _LOGIT_T.values():
        for i in _INDEX_T.values():
            names += [_UPDATE.format(t, i, s) for s in _LOGIT_T.values()]
    return names


def _module(cp, device_id: int):
    """The kernels compiled for one device (compiled once per process and device)."""
    if device_id not in _MODULES:
        from ..kernels import read_source

        _MODULES[device_id] = cp.RawModule(code=read_source("sada_stats.cu"), options=_OPTIONS,
                                           name_expressions=_names())
    return _MODULES[device_id]


class CudaBackend:
    """Per-sample state in device memory; every method runs on the estimator's device."""

    def __init__(self, config):
        cp = self._cp = _cupy()
        self.config = config
        self._device = cp.cuda.Device(config.device_index)
        n, k, w = config.num_samples, config.num_classes, config.window
        with self._device:
            self.log_prev = cp.zeros((n, k), config.state_dtype)
            self.ring = cp.zeros((n, w), cp.float32)
            self.variance = cp.zeros(n, cp.float32)
            self.seen = cp.zeros(n, cp.int32)
            self._owner = cp.full(n, -1, cp.int32)
            self._counters = cp.zeros(2, cp.uint64)  # [non-finite rows, out-of-range rows]
            self._minmax = cp.empty(2, cp.uint32)
            self._minmax_init = cp.asarray(np.array([0x7F800000, 0], np.uint32))
            self._mod = _module(cp, self._device.id)
        self._stream = None  # the stream of the last update; later calls are ordered after it
        self._torch_stream = (None, None)

    def _kernel(self, name: str):
        with self._device:
            return self._mod.get_function(name)

    def _stream_for(self, x):
        cp = self._cp
        if not (_is_torch(x) and x.is_cuda):
            return cp.cuda.get_current_stream()
        import torch

        ts = torch.cuda.current_stream(x.device)
        if self._torch_stream[0] != ts.cuda_stream:
            from_external = getattr(cp.cuda.Stream, "from_external", None)
            stream = from_external(ts) if from_external and hasattr(ts, "__cuda_stream__") else \
                cp.cuda.ExternalStream(ts.cuda_stream, x.device.index)
            self._torch_stream = (ts.cuda_stream, stream)
        return self._torch_stream[1]

    def update(self, indices, logits) -> None:
        """Check metadata, then launch the claim and the fused update kernels (no sync)."""
        cp, cfg = self._cp, self.config
        with self._device:
            stream = self._stream_for(logits)
            with stream:
                idx = as_device_array(indices, name="indices")
                x = as_device_array(logits, name="logits")
                check_batch(idx, x, cfg.num_classes)
                for name, arr in (("indices", idx), ("logits", x)):
                    if arr.device.id != self._device.id:
                        raise ValueError(f"The `{name}` must be on cuda:{self._device.id} (the estimator's device), "
                                         f"got an array on cuda:{arr.device.id}.")
                self._stream = stream
                batch = idx.shape[0]
                if batch == 0:
                    return
                if idx.dtype.name not in _INDEX_T:
                    idx = idx.astype(cp.int64)
                if x.dtype == cp.float64:
                    x = x.astype(cp.float32)
                idx, x = cp.ascontiguousarray(idx), cp.ascontiguousarray(x)
                i_t = _INDEX_T[idx.dtype.name]
                self._kernel(_CLAIM.format(i_t))(
                    ((batch + _BLOCK - 1) // _BLOCK,), (_BLOCK,),
                    (idx, np.int32(batch), np.int64(cfg.num_samples), self._owner))
                name = _UPDATE.format(_LOGIT_T[x.dtype.name], i_t, _LOGIT_T[cfg.state_dtype])
                self._kernel(name)(
                    ((batch * 32 + _BLOCK - 1) // _BLOCK,), (_BLOCK,),
                    (x, idx, np.int32(batch), np.int32(cfg.num_classes), np.int64(cfg.num_samples),
                     np.int32(cfg.window), np.float32(cfg.decay), np.int32(cfg.variance == "mean"),
                     self.log_prev, self.ring, self.variance, self.seen, self._owner, self._counters))

    def _ordered(self):
        return self._stream if self._stream is not None else self._cp.cuda.get_current_stream()

    def compute_strengths(self, epoch: int):
        """Strengths for ``epoch`` (a new device array), computed on the device."""
        cp, cfg = self._cp, self.config
        self.raise_pending()
        n = cfg.num_samples
        grid = (min((n + _BLOCK - 1) // _BLOCK, 2048),)
        const = cfg.warmup_strength
        with self._device, self._ordered():
            self._minmax[...] = self._minmax_init
            self._kernel("sada_minmax")(grid, (_BLOCK,), (self.variance, self.seen, np.int64(n), self._minmax))
            out = cp.empty(n, cp.float32)
            self._kernel("sada_strengths")(
                grid, (_BLOCK,),
                (self.variance, self.seen, np.int64(n), self._minmax, np.uint64(cfg.seed), np.uint64(epoch),
                 np.int32(const is not None), np.float32(const or 0.0), out))
        self.strengths = out
        return out

    @property
    def skipped(self) -> int:
        """Rows skipped for non-finite logits (synchronises; raises on pending bad indices)."""
        self.raise_pending()
        with self._device, self._ordered():
            return int(self._counters[0].get())

    @skipped.setter
    def skipped(self, value: int) -> None:
        with self._device, self._ordered():
            self._counters[...] = self._cp.asarray(np.array([value, 0], np.uint64))

    @property
    def nbytes(self) -> int:
        names = ("log_prev", "ring", "variance", "seen", "strengths", "_owner")
        return sum(getattr(self, n).nbytes for n in names)

    def raise_pending(self) -> None:
        """Raise (once) if rows with out-of-range indices were skipped since the last check."""
        with self._device, self._ordered():
            bad = int(self._counters[1].get())
            if bad:
                self._counters[1] = 0
                raise ValueError(
                    f"The `indices` of {bad} batch row(s) were outside [0, {self.config.num_samples}); those rows "
                    "were skipped and the rest of their batches applied. Pass dataset indices.")

    def to_host(self, name: str) -> np.ndarray:
        with self._device, self._ordered():
            return self._cp.asnumpy(getattr(self, name))

    def from_host(self, name: str, value: np.ndarray) -> None:
        with self._device, self._ordered():
            if name == "strengths":  # a new array: earlier ones handed out stay unchanged
                self.strengths = self._cp.asarray(value)
            else:  # in place: no second copy of the (N, K) state
                getattr(self, name)[...] = self._cp.asarray(value)
