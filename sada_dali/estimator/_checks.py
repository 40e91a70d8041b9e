"""Metadata checks of one ``update`` batch, shared by both backends (no data is read)."""

from __future__ import annotations

import numpy as np

__all__ = ["check_batch"]

_LOGIT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def check_batch(indices, logits, num_classes: int) -> None:
    """Check shapes and dtypes of a batch (NumPy or CuPy arrays) before any state is touched.

    Parameters
    ----------
    indices : numpy.ndarray or cupy.ndarray
        (B,) integer dataset indices.
    logits : numpy.ndarray or cupy.ndarray
        (B, K) floating-point logits.
    num_classes : int
        The estimator's K.

    Raises
    ------
    TypeError
        If ``indices`` is not integer or ``logits`` not float16/float32/float64 (bfloat16 is
        widened to float32 before this check).
    ValueError
        On a wrong number of dimensions, a wrong K, or mismatched batch lengths.
    """
    if indices.ndim != 1:
        raise ValueError(
            f"The `indices` must be 1-D (one dataset index per batch row), got shape {tuple(indices.shape)}."
        )
    if indices.dtype.kind not in "iu":
        raise TypeError(
            f"The `indices` must be an integer array (int32 or int64), got dtype {indices.dtype}."
        )
    if logits.ndim != 2 or logits.shape[1] != num_classes:
        raise ValueError(
            f"The `logits` must have shape (batch, {num_classes}) (one row of class scores per sample), "
            f"got {tuple(logits.shape)}."
        )
    if logits.dtype not in _LOGIT_DTYPES:
        raise TypeError(
            f"The `logits` must be float16, bfloat16, float32 or float64, got dtype {logits.dtype}."
        )
    if logits.shape[0] != indices.shape[0]:
        raise ValueError(
            f"The `indices` and `logits` must have the same batch length, got {indices.shape[0]} indices "
            f"and {logits.shape[0]} logit rows."
        )
