"""EntAugment's NumPy backend and its float32 formula (``sada_entropy_*`` in ``kernels/sada_stats.cuh``)."""

from __future__ import annotations

import numpy as np

from ._host import HostState, unique_rows
from ._numpy_backend import log_softmax, warmup_strengths
from ._state import UNSEEN

__all__ = ["entropy_strength", "entaugment_strengths", "EntNumpyBackend"]


def entropy_strength(x: np.ndarray, log_k) -> np.ndarray:
    """``1 - H(softmax(x)) / ln K`` per row of finite (B, K) float32 logits, clamped to [0, 1].

    H is the entropy in nats, ``-sum_c p_c log p_c``, from the log-softmax (no epsilon: the
    authors' ``log(p + 1e-8)`` moves H by at most K * 1e-8).
    """
    log_p = log_softmax(x)
    with np.errstate(under="ignore"):
        p = np.exp(log_p)
        plogp = np.where(p > 0, p * log_p, np.float32(0.0)).sum(axis=1, dtype=np.float32)
    return np.minimum(np.maximum(np.float32(1.0) - (-plogp) / np.float32(log_k), 0.0), 1.0).astype(np.float32)


def entaugment_strengths(latest: np.ndarray, epoch: int, config) -> np.ndarray:
    """Strengths of ``epoch``: ``latest`` where seen after the warm-up epochs, else warm-up draws."""
    n = config.num_samples
    if epoch < config.warmup_epochs:
        return warmup_strengths(config.seed, epoch, np.arange(n), None)
    out = latest.copy()
    rest = np.flatnonzero(latest == np.float32(UNSEEN))
    out[rest] = warmup_strengths(config.seed, epoch, rest, None)
    return out


class EntNumpyBackend(HostState):
    """EntAugment's state in host memory: one float32 per sample, the strength of its latest logits."""

    ARRAYS = ("latest", "strengths")

    def __init__(self, config):
        self.config = config
        self.latest = np.full(config.num_samples, UNSEEN, np.float32)
        self.log_k = np.float32(np.log(config.num_classes))
        self.skipped = 0

    def update(self, indices, logits, padding=None) -> None:
        """Validate a batch and store the strength of each index's last finite row."""
        idx, x = unique_rows(indices, logits, self.config, padding)
        finite = np.isfinite(x).all(axis=1)
        if not finite.all():
            self.skipped += int(np.count_nonzero(~finite))
            idx, x = idx[finite], x[finite]
        self.latest[idx] = entropy_strength(x, self.log_k)

    def compute_strengths(self, epoch: int) -> np.ndarray:
        return self.set_strengths(entaugment_strengths(self.latest, epoch, self.config))
