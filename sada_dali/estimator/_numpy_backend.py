"""The NumPy backend and the float32 formulas both backends share.

Each formula mirrors a ``__host__ __device__`` function of ``kernels/sada_stats.cuh`` with the
same float32 operations in the same order, so the scalar statistics (window variance, EMA,
strength map, warm-up draw) are bit-identical to the GPU's; only the sums over classes are
associated differently (pairwise here, lane-strided plus a warp tree on the GPU).
"""

from __future__ import annotations

import numpy as np

from .._utils.rng import STREAM_WARMUP, hash_uniform
from ._host import HostState, unique_rows

__all__ = [
    "LOG_FLOOR",
    "NumpyBackend",
    "log_softmax",
    "kl_divergence",
    "window_variance",
    "ema",
    "strength_map",
    "rank_map",
    "warmup_strengths",
]

LOG_FLOOR = np.float32(-16.0)  # SADA_LOG_FLOOR
_ONE = np.float32(1.0)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise ``(x - max) - log(sum(exp(x - max)))`` of finite (B, K) float32 logits."""
    with np.errstate(over="ignore", under="ignore"):
        shifted = x - x.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True, dtype=np.float32))


def kl_divergence(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``|KL(p || q)|`` per row (paper Eq. 5) from log-probabilities; q is clamped to ``LOG_FLOOR``."""
    log_q = np.maximum(log_q.astype(np.float32, copy=False), LOG_FLOOR)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        p = np.exp(log_p)
        terms = np.where(p > 0, p * (log_p - log_q), np.float32(0.0))
    return np.abs(terms.sum(axis=1, dtype=np.float32))


def window_variance(d: np.ndarray, held: np.ndarray, mean_mode: bool) -> np.ndarray:
    """Eq. 6 over the first ``held[b]`` columns of each row of ``d`` (B, L), summed in column order."""
    count = held.astype(np.float32)
    total = np.zeros(d.shape[0], np.float32)
    for j in range(d.shape[1]):
        total = np.where(j < held, total + d[:, j], total)
    mean = total / count
    ss = np.zeros(d.shape[0], np.float32)
    for j in range(d.shape[1]):
        e = d[:, j] - mean
        ss = np.where(j < held, ss + e * e, ss)
    return ss / count if mean_mode else ss


def ema(v_old: np.ndarray, v_t: np.ndarray, beta: float) -> np.ndarray:
    """Eq. 7: ``beta * v_t + (1 - beta) * v_old`` in float32."""
    b = np.float32(beta)
    return b * v_t + (_ONE - b) * v_old


def strength_map(v: np.ndarray, v_min, v_max) -> np.ndarray:
    """``1 - (v - v_min) / (v_max - v_min)`` in float32 (requires ``v_max > v_min``)."""
    return _ONE - (v - np.float32(v_min)) / (np.float32(v_max) - np.float32(v_min))


def rank_map(xp, v, valid, n_valid):
    """``1 - (rank - 1) / (n_valid - 1)`` per sample, ranks ascending in ``v`` over the ``valid`` ones.

    Ties get their average rank, ``(left + right + 1) / 2`` for the sorted positions
    ``[left, right)`` of their value. ``xp`` is NumPy or CuPy: both sort, search and divide
    the same exact integers in float64, so the float32 results are bit-identical. Entries
    where ``valid`` is False are meaningless; the caller replaces them. Requires n_valid >= 2.
    """
    keys = xp.sort(xp.where(valid, v, xp.float32(np.inf)))  # the invalid ones sort last, never searched for
    left = xp.searchsorted(keys, v, side="left")
    right = xp.searchsorted(keys, v, side="right")
    return (1.0 - (left + right - 1) / (2.0 * (n_valid - 1))).astype(xp.float32)


def warmup_strengths(seed: int, epoch: int, indices, constant: float | None = None) -> np.ndarray:
    """The strengths of samples whose variance is not valid yet (the estimator's warm-up).

    Parameters
    ----------
    seed, epoch : int
        The run seed and the epoch of the draw.
    indices : array-like of int
        Dataset indices.
    constant : float, optional
        A fixed strength for every sample; None (default) draws TrivialAugment's magnitude rule
        instead: one uniform [0, 1) value per (seed, epoch, index), the same on every backend
        (:func:`sada_dali._utils.rng.hash_uniform` on the warm-up stream), so a resumed run
        redraws them exactly.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``indices``.
    """
    indices = np.asarray(indices)
    if constant is not None:
        return np.full(indices.shape, constant, np.float32)
    return hash_uniform(seed, epoch, indices, STREAM_WARMUP).astype(np.float32)


class NumpyBackend(HostState):
    """Per-sample state in host memory, updated with vectorised NumPy (no loop over samples)."""

    ARRAYS = ("log_prev", "ring", "variance", "seen", "strengths")

    def __init__(self, config):
        n, k, w = config.num_samples, config.num_classes, config.window
        self.config = config
        self.log_prev = np.zeros((n, k), config.state_dtype)  # calloc: untouched rows cost no memory
        self.ring = np.zeros((n, w), np.float32)
        self.variance = np.zeros(n, np.float32)
        self.seen = np.zeros(n, np.int32)
        self.skipped = 0

    def update(self, indices, logits, padding=None) -> None:
        """Validate a batch, keep the last occurrence of each index, and apply it.

        ``padding``: optional one-element integer array; rows before it are ignored entirely.
        """
        self.apply(*unique_rows(indices, logits, self.config, padding))

    def apply(self, idx: np.ndarray, x: np.ndarray) -> None:
        """Apply rows with *unique* in-range indices; rows with non-finite logits are skipped."""
        finite = np.isfinite(x).all(axis=1)
        if not finite.all():
            self.skipped += int(np.count_nonzero(~finite))
            idx, x = idx[finite], x[finite]
        cfg = self.config
        log_p = log_softmax(x)
        n = self.seen[idx]
        prev = n > 0
        if prev.any():
            self.ring[idx[prev], (n[prev] - 1) % cfg.window] = kl_divergence(
                log_p[prev], self.log_prev[idx[prev]]
            )
        self.log_prev[idx] = np.maximum(log_p, LOG_FLOOR)
        self.seen[idx] = n + 1
        held = np.minimum(n, cfg.window)
        ready = held >= 2
        rows = idx[ready]
        v_t = window_variance(self.ring[rows], held[ready], cfg.variance == "mean")
        self.variance[rows] = ema(self.variance[rows], v_t, cfg.decay)

    def compute_strengths(self, epoch: int) -> np.ndarray:
        """Strengths for ``epoch``: the min-max (or rank) map of valid variances, warm-up elsewhere."""
        cfg = self.config
        valid = self.seen >= 3
        v = self.variance[valid]
        if v.size and v.max() > v.min():
            out = np.empty(cfg.num_samples, np.float32)
            if cfg.normalize == "rank":
                out[valid] = rank_map(np, v, np.ones(v.size, bool), v.size)
            else:
                out[valid] = strength_map(v, v.min(), v.max())
            rest = np.flatnonzero(~valid)
            out[rest] = warmup_strengths(cfg.seed, epoch, rest, cfg.warmup_strength)
        else:
            out = warmup_strengths(cfg.seed, epoch, np.arange(cfg.num_samples), cfg.warmup_strength)
        return self.set_strengths(out)
