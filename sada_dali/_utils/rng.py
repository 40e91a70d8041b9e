"""Counter-based randomness: every per-sample choice is a pure function of (seed, epoch, index).

A splitmix64 hash of the counter replaces a stateful generator. The op drawn for a sample,
its sign and its flip therefore do not depend on the worker count, the sharding, the batch
size, or where a resumed run starts: resume is exact by construction, and the DALI loader
and the torchvision baseline draw the very same choices.

The ``RandomResizedCrop`` window makes up to ``CROP_ATTEMPTS`` attempts, each with four draws
(area, log aspect ratio, top, left): draw ``d`` of attempt ``a`` comes from stream
``STREAM_CROP_* + STREAM_ATTEMPT * a`` (:func:`crop_uniforms`).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "STREAM_OP",
    "STREAM_SIGN",
    "STREAM_FLIP",
    "STREAM_WARMUP",
    "STREAM_PERM",
    "STREAM_CROP_AREA",
    "STREAM_CROP_RATIO",
    "STREAM_CROP_TOP",
    "STREAM_CROP_LEFT",
    "STREAM_ATTEMPT",
    "CROP_ATTEMPTS",
    "hash_uniform",
    "crop_uniforms",
    "per_sample_choices",
]

STREAM_OP, STREAM_SIGN, STREAM_FLIP, STREAM_WARMUP, STREAM_PERM = 1, 2, 3, 4, 5
STREAM_CROP_AREA, STREAM_CROP_RATIO, STREAM_CROP_TOP, STREAM_CROP_LEFT = 6, 7, 8, 9
STREAM_ATTEMPT = 256  # stream offset per crop attempt: attempt keys never meet another stream
CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop.get_params

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _compute_keys(seed: int, epoch: int, stream) -> np.ndarray:
    streams = np.asarray(stream, dtype=np.int64).astype(np.uint64).reshape(-1)
    with np.errstate(over="ignore"):
        key = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + _GOLDEN * streams)
        key = _mix(key ^ (np.array([epoch], dtype=np.uint64) * _GOLDEN))
    return key.reshape(np.shape(stream)) if np.ndim(stream) else key


@functools.lru_cache(maxsize=64)
def _cached_keys(seed: int, epoch: int, stream) -> np.ndarray:
    key = _compute_keys(seed, epoch, stream)
    key.flags.writeable = False
    return key


def _stream_keys(seed: int, epoch: int, stream) -> np.ndarray:
    # an epoch draws from a few constant stream sets, once per sample each: their keys are cached
    try:
        return _cached_keys(seed, epoch, stream)
    except TypeError:  # an unhashable stream array
        return _compute_keys(seed, epoch, stream)


def hash_uniform(seed: int, epoch: int, indices, stream) -> np.ndarray:
    """Uniform [0, 1) float64 values, one per index, from a keyed splitmix64 hash.

    Parameters
    ----------
    seed, epoch : int
        Run seed and epoch number (non-negative).
    indices : array-like of int
        Sample indices.
    stream : int or array-like of int
        Which independent stream (``STREAM_*``) to draw from. An array of streams broadcasts
        against ``indices`` (e.g. indices of shape (n, 1) and streams of shape (k,) give (n, k)).

    Returns
    -------
    numpy.ndarray
        float64 array with the shape of ``indices`` (broadcast with ``stream``).
    """
    idx = np.asarray(indices, dtype=np.int64).astype(np.uint64)
    key = _stream_keys(seed, epoch, stream)
    with np.errstate(over="ignore"):
        z = _mix(key + (idx + np.uint64(1)) * _GOLDEN)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


_CROP_STREAMS = tuple(
    tuple(
        int(s) + STREAM_ATTEMPT * a
        for s in (STREAM_CROP_AREA, STREAM_CROP_RATIO, STREAM_CROP_TOP, STREAM_CROP_LEFT)
    )
    for a in range(CROP_ATTEMPTS)
)
_CHOICE_STREAMS = (STREAM_OP, STREAM_SIGN, STREAM_FLIP)


def crop_uniforms(seed: int, epoch: int, indices) -> np.ndarray:
    """The uniforms of each sample's ``RandomResizedCrop`` attempts.

    Parameters
    ----------
    seed, epoch : int
        Run seed and epoch.
    indices : array-like of int
        Dataset indices (1-D).

    Returns
    -------
    numpy.ndarray
        float64 in [0, 1), shape (n, CROP_ATTEMPTS, 4): per attempt the area, log aspect
        ratio, top and left draws.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1, 1, 1)
    return hash_uniform(seed, epoch, idx, _CROP_STREAMS)


def per_sample_choices(seed: int, epoch: int, indices, num_ops: int):
    """The op index, sign and horizontal flip of each sample at one visit.

    Parameters
    ----------
    seed, epoch : int
        Run seed and epoch.
    indices : array-like of int
        Dataset indices of the samples.
    num_ops : int
        Size of the op space (14 for the paper's Table 8).

    Returns
    -------
    op : numpy.ndarray of int32
        Uniform over ``range(num_ops)``.
    sign : numpy.ndarray of int32
        0 or 1; 1 negates a signed op's magnitude.
    flip : numpy.ndarray of int32
        0 or 1; 1 mirrors the image horizontally.
    """
    u = hash_uniform(seed, epoch, np.asarray(indices, dtype=np.int64)[..., None], _CHOICE_STREAMS)
    op = np.minimum((u[..., 0] * num_ops).astype(np.int32), num_ops - 1)
    sign = (u[..., 1] < 0.5).astype(np.int32)
    flip = (u[..., 2] < 0.5).astype(np.int32)
    return op, sign, flip
