"""EntAugment's CUDA backend: one float32 per sample on the GPU, written by ``kernels/entaugment.cu``
(stream ordering, batch checks and host copies: ``_cuda_state``)."""

from __future__ import annotations

import numpy as np

from ._cuda_state import BLOCK, CudaState
from ._kernels import ENT_UPDATE_KERNELS
from ._state import UNSEEN

__all__ = ["EntCudaBackend"]


class EntCudaBackend(CudaState):
    """``latest``: the entropy strength of each sample's latest logits, ``UNSEEN`` (-1) before its first."""

    SOURCE = "entaugment.cu"
    ARRAYS = ("latest", "strengths")

    def __init__(self, config):
        super().__init__(config)
        self._update = {
            (np.dtype(x), np.dtype(i)): self._kernels[name] for (x, i), name in ENT_UPDATE_KERNELS.items()
        }
        self._fixed = (
            np.int32(config.num_classes),
            self._num_samples,
            np.float32(np.log(config.num_classes)),
        )

    def _allocate(self, cp) -> None:
        self.latest = cp.full(self.config.num_samples, UNSEEN, cp.float32)

    def _apply(self, idx, x, rows, first) -> None:
        self._update[x.dtype, idx.dtype](
            ((int(rows) * 32 + BLOCK - 1) // BLOCK,),
            (BLOCK,),
            (x, idx, rows, *self._fixed, self.latest, self._owner, self._counters, first),
        )

    def _launch_strengths(self, epoch: int):
        """Queue the strength kernel on CuPy's current stream (no host sync)."""
        cp, cfg = self._cp, self.config
        n = cfg.num_samples
        with self._device:
            stream = cp.cuda.get_current_stream()
            self._wait(stream)
            out = cp.empty(n, cp.float32)
            self._kernels["ent_strengths"](
                (min((n + BLOCK - 1) // BLOCK, 2048),),
                (BLOCK,),
                (
                    self.latest,
                    np.int64(n),
                    np.uint64(cfg.seed),
                    np.uint64(epoch),
                    np.int32(epoch >= cfg.warmup_epochs),
                    out,
                ),
            )
            self._done(stream)
        self.strengths = out
        return out
