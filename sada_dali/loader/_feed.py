"""Feeding the estimator from loops that never see the indices.

A torch-style loop gets ``(images, labels)`` and may sit behind a wrapper that prefetches
a batch or two ahead (timm's ``PrefetchLoader``, CUDA-stream prefetchers). The ledger keeps,
oldest first, the indices and labels of the batches the loader yielded and the trainer has
not fed yet; :meth:`FeedLedger.feed` pairs the logits with the oldest of them. The labels
the trainer passes along prove the pairing: a view or a same-device ``.to()`` of the
yielded labels shares their storage (checked without a sync), a copy is compared by value
(one small device-to-host read), and a mismatch raises instead of feeding wrong samples.
A ``(B, K)`` float target (mixup, cutmix) carries no labels to compare: it is paired by its
row count only.
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
        self.fed = False  # fed this epoch: end_epoch() is due at the next epoch start

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
        self._check_width(shape)
        if target is not None:
            self._check_target(target, labels)
        self.estimator.update(indices, logits)
        self.fed = True

    def _check_width(self, shape) -> None:
        inner = getattr(self.estimator, "estimator", self.estimator)  # DistributedEstimator wraps one
        num_classes = getattr(getattr(inner, "config", None), "num_classes", None)
        if num_classes is not None and len(shape) == 2 and shape[1] != num_classes:
            raise ValueError(
                f"The `logits` are {shape[1]} wide but the estimator counts num_classes={num_classes} "
                f"(by default len(loader.classes)); create the loader with num_classes={shape[1]} to "
                "match the model's head (or give the model that many outputs)."
            )

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

        target = torch.as_tensor(target)
        rows = int(labels.shape[0])
        soft = target.ndim == 2 and target.is_floating_point() and target.shape[1] > 1
        if soft or target.shape not in ((rows,), (rows, 1)):
            if soft and target.shape[0] == rows:
                return  # (B, K) mixup/cutmix targets: paired by their row count only
            raise ValueError(
                f"The `target` passed to feed() has shape {tuple(target.shape)}, but the oldest unfed "
                f"batch has {rows} rows; pass its ({rows},) labels, or ({rows}, K) float soft targets "
                "(mixup, cutmix, label smoothing)."
            )
        expected = labels.reshape(-1)
        got = target.reshape(-1).to(device=expected.device, dtype=expected.dtype)
        if not torch.equal(got, expected):
            raise ValueError(
                "The `target` passed to feed() is not the labels of the oldest unfed batch; "
                "feed every batch once, in the order the loader yields them, with its own labels."
            )

    def start_epoch(self):
        """Forget the last epoch's unfed batches; finish the estimator's epoch if it was fed.

        Returns
        -------
        tuple or None
            ``(estimator, strengths)``, what its ``end_epoch()`` returned (the next epoch's
            strengths), when it was called; else None.
        """
        self._unfed.clear()
        self._dropped = 0
        if not self.fed:
            return None
        strengths = self.estimator.end_epoch()
        self.fed = False
        return self.estimator, strengths

    def save(self) -> dict:
        """The estimator's ``state_dict()`` and whether its epoch awaits ``end_epoch()``."""
        return {"state_dict": self.estimator.state_dict(), "end_epoch_due": self.fed}

    def load(self, saved) -> None:
        """Restore what :meth:`save` returned (the estimator checks its own state first)."""
        due = saved.get("end_epoch_due") if isinstance(saved, dict) else None
        if not isinstance(due, bool):
            raise ValueError(
                "The loader `state_dict['estimator']` must be a dict with 'state_dict' and a bool "
                f"'end_epoch_due', got {saved!r:.80}; pass an unmodified SADALoader.state_dict()."
            )
        self.estimator.load_state_dict(saved.get("state_dict"))
        self._unfed.clear()
        self._dropped = 0
        self.fed = due
