"""Feeding the estimator from loops that never see the indices.

A torch-style loop gets ``(images, labels)`` and may sit behind a wrapper that prefetches
a batch or two ahead (timm's ``PrefetchLoader``, CUDA-stream prefetchers). The ledger keeps,
oldest first, the indices and labels of the batches the loader yielded and the trainer has
not fed yet; :meth:`FeedLedger.feed` pairs the logits with the oldest of them. The labels
the trainer passes along prove the pairing: a view or a same-device ``.to()`` of the
yielded labels shares their storage (checked without a sync), a copy is compared by value
(one small device-to-host read), and a mismatch raises instead of feeding wrong samples.
"""

from __future__ import annotations

from collections import deque

__all__ = ["FeedLedger", "MAX_UNFED"]

MAX_UNFED = 16
"""Batches a trainer may be ahead of :meth:`FeedLedger.feed` (prefetchers hold 1 or 2)."""


def _storage_ptr(tensor):
    try:
        return tensor.device, tensor.untyped_storage().data_ptr()
    except AttributeError:  # not a torch tensor
        return None


class FeedLedger:
    """The yielded, not yet fed batches of one epoch, and the estimator they feed.

    Parameters
    ----------
    estimator : object
        Has ``update(indices, logits)`` and ``end_epoch()`` (:class:`~sada_dali.SADAEstimator`
        or :class:`~sada_dali.distributed.DistributedEstimator`).
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self._unfed = deque()
        self._dropped = 0
        self._fed = False

    def record(self, labels, indices) -> None:
        """Remember a batch the loader is about to yield."""
        self._unfed.append((labels, indices))
        if len(self._unfed) > MAX_UNFED:
            self._unfed.popleft()
            self._dropped += 1

    def feed(self, logits, target=None) -> None:
        """Update the estimator with ``logits`` of the oldest unfed batch (see the module docstring)."""
        if self._dropped:
            raise RuntimeError(
                f"More than {MAX_UNFED} batches were yielded without feed(), "
                "so the oldest ones were forgotten; "
                "call loader.feed(logits, labels) once for every batch, in the order the loader yields them."
            )
        if not self._unfed:
            raise RuntimeError(
                "feed() was called more often than the loader yielded batches in this epoch; "
                "call it once per batch, after the batch was drawn from the loader."
            )
        labels, indices = self._unfed.popleft()
        shape = tuple(getattr(logits, "shape", ()))
        rows = int(shape[0]) if shape else None
        if rows != int(indices.shape[0]):
            raise ValueError(
                f"The `logits` have {rows} rows, but the oldest unfed batch has {int(indices.shape[0])}; "
                "pass the (B, K) logits of each batch, once per batch, in the order yielded."
            )
        if target is not None:
            self._check_target(target, labels)
        self.estimator.update(indices, logits)
        self._fed = True

    def _check_target(self, target, labels) -> None:
        mine = _storage_ptr(target)
        if mine is not None and mine == _storage_ptr(labels):
            return
        if mine is not None and any(mine == _storage_ptr(other) for other, _ in self._unfed):
            raise ValueError(
                "The `target` passed to feed() belongs to a later batch than the oldest unfed one; "
                "feed every batch once, in the order the loader yields them."
            )
        import torch

        expected = labels.reshape(-1)
        got = torch.as_tensor(target).reshape(-1).to(device=expected.device, dtype=expected.dtype)
        if got.shape != expected.shape or not torch.equal(got, expected):
            raise ValueError(
                "The `target` passed to feed() is not the labels of the oldest unfed batch; "
                "feed every batch once, in the order the loader yields them, with its own labels."
            )

    def start_epoch(self) -> None:
        """Forget the last epoch's unfed batches; finish the estimator's epoch if it was fed."""
        self._unfed.clear()
        self._dropped = 0
        if self._fed:
            self.estimator.end_epoch()
            self._fed = False
