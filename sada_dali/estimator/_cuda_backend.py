"""SADA's CUDA backend: whole-dataset state on the GPU, updated in place by the kernels in
``kernels/sada_stats.cu`` (stream ordering, batch checks and host copies: ``_cuda_state``)."""

from __future__ import annotations

import numpy as np

from ._cuda_state import BLOCK, CudaState
from ._kernels import UPDATE_KERNELS
from ._numpy_backend import rank_map

__all__ = ["CudaBackend"]


class CudaBackend(CudaState):
    """SADA's per-sample state in device memory: log-probabilities, ring buffer, V and visit counts."""

    SOURCE = "sada_stats.cu"
    ARRAYS = ("log_prev", "ring", "variance", "seen", "strengths")

    def __init__(self, config):
        super().__init__(config)
        # what every update launches with, decided once: kernels by input dtype, and the fixed arguments
        self._update = {
            (np.dtype(x), np.dtype(i)): self._kernels[name]
            for (x, i, s), name in UPDATE_KERNELS.items()
            if s == config.state_dtype
        }
        self._fixed = (
            np.int32(config.num_classes),
            self._num_samples,
            np.int32(config.window),
            np.float32(config.decay),
            np.int32(config.variance == "mean"),
        )

    def _allocate(self, cp) -> None:
        cfg = self.config
        n, k, w = cfg.num_samples, cfg.num_classes, cfg.window
        self.log_prev = cp.zeros((n, k), cfg.state_dtype)
        self.ring = cp.zeros((n, w), cp.float32)
        self.variance = cp.zeros(n, cp.float32)
        self.seen = cp.zeros(n, cp.int32)
        self._minmax = cp.empty(2, cp.uint32)
        self._minmax_init = cp.asarray(np.array([0x7F800000, 0], np.uint32))

    def _apply(self, idx, x, rows, first) -> None:
        batch = int(rows)
        self._update[x.dtype, idx.dtype](
            ((batch * 32 + BLOCK - 1) // BLOCK,),
            (BLOCK,),
            (
                x,
                idx,
                rows,
                *self._fixed,
                self.log_prev,
                self.ring,
                self.variance,
                self.seen,
                self._owner,
                self._counters,
                first,
            ),
        )

    def _launch_strengths(self, epoch: int):
        """Queue the min/max and strength kernels (and the rank map) on CuPy's current stream (no sync)."""
        cp, cfg = self._cp, self.config
        n = cfg.num_samples
        grid = (min((n + BLOCK - 1) // BLOCK, 2048),)
        const = cfg.warmup_strength
        with self._device:
            stream = cp.cuda.get_current_stream()
            self._wait(stream)
            self._minmax[...] = self._minmax_init
            self._kernels["sada_minmax"](
                grid, (BLOCK,), (self.variance, self.seen, np.int64(n), self._minmax)
            )
            out = cp.empty(n, cp.float32)
            self._kernels["sada_strengths"](
                grid,
                (BLOCK,),
                (
                    self.variance,
                    self.seen,
                    np.int64(n),
                    self._minmax,
                    np.uint64(cfg.seed),
                    np.uint64(epoch),
                    np.int32(const is not None),
                    np.float32(const or 0.0),
                    out,
                ),
            )
            if cfg.normalize == "rank":  # the min-max values of valid samples are replaced, on the device
                valid = self.seen >= 3
                bounds = self._minmax.view(cp.float32)  # the valid min and max; no spread: warm-up stays
                ranked = rank_map(cp, self.variance, valid, cp.count_nonzero(valid))
                out = cp.where(valid & (bounds[1] > bounds[0]), ranked, out)
            self._done(stream)
        self.strengths = out
        return out
