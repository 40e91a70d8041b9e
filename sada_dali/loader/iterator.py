"""``SADAClassificationIterator``: SADA behind DALI's ``DALIClassificationIterator`` protocol.

Scripts written for DALI's iterators (NVIDIA's ResNet-50 example, DeepLearningExamples'
ConvNets) change only the line that builds the loader: iterating yields
``[{"data": images, "label": labels, "index": indices}]`` with labels of shape (B, 1), and
``reset()``, ``size``, ``_size``, ``batch_size``, ``len()``, ``next()``,
``last_batch_policy`` and ``auto_reset`` behave as DALI documents them.
"""

from __future__ import annotations

from .loader import SADALoader

__all__ = ["SADAClassificationIterator"]

_AUTO_RESET = {True: True, False: False, None: False, "yes": True, "no": False}


def _check_policy(last_batch_policy):
    from nvidia.dali.plugin.base_iterator import LastBatchPolicy

    if isinstance(last_batch_policy, str) and last_batch_policy.upper() in LastBatchPolicy.__members__:
        return LastBatchPolicy[last_batch_policy.upper()]
    if not isinstance(last_batch_policy, LastBatchPolicy):
        raise ValueError(
            f"The `last_batch_policy` must be a nvidia.dali.plugin.base_iterator.LastBatchPolicy "
            f"(FILL, DROP or PARTIAL), got {last_batch_policy!r}."
        )
    return last_batch_policy


class SADAClassificationIterator(SADALoader):
    """A :class:`~sada_dali.SADALoader` that follows DALI's ``DALIClassificationIterator`` protocol.

    Parameters
    ----------
    source, batch_size
        As for :class:`~sada_dali.SADALoader`.
    last_batch_policy : nvidia.dali.plugin.base_iterator.LastBatchPolicy or str
        What happens to the last, partial batch of a shard, with DALI's meaning: ``FILL``
        (DALI's default) returns it whole, padded with the shard's first samples; ``DROP``
        drops it (and equalises the shards, like ``drop_last=True``); ``PARTIAL`` returns
        only its real rows.
    auto_reset : bool or {"yes", "no"}
        Reset by itself at the end of each epoch, so that the next ``for`` loop reads the
        next epoch without calling :meth:`reset`.
    **kwargs
        Every other argument of :class:`~sada_dali.SADALoader` except ``drop_last`` and
        ``pairs`` (use ``last_batch_policy``).

    Notes
    -----
    Each ``next()`` returns ``[{"data": (B, 3, S, S), "label": (B, 1) int64, "index": (B,)
    int64}]``. After the last batch, iterating raises ``StopIteration`` until :meth:`reset`
    (or at once again with ``auto_reset``). Unlike DALI, :meth:`reset` in the middle of an
    epoch is honoured: the epoch ends at once, reading at most ``prefetch_queue_depth + 1``
    more batches, and the next pass reads the next epoch.
    """

    def __init__(self, source, batch_size: int, *, last_batch_policy="FILL", auto_reset=False, **kwargs):
        from nvidia.dali.plugin.base_iterator import LastBatchPolicy

        for name in ("drop_last", "pairs"):
            if name in kwargs:
                raise TypeError(
                    f"SADAClassificationIterator takes no `{name}`; use `last_batch_policy` "
                    "(LastBatchPolicy.DROP, FILL or PARTIAL) as with DALI's iterators."
                )
        policy = _check_policy(last_batch_policy)
        if auto_reset not in _AUTO_RESET:
            raise ValueError(f"The `auto_reset` must be True, False, 'yes' or 'no', got {auto_reset!r}.")
        super().__init__(source, batch_size, drop_last=policy == LastBatchPolicy.DROP, **kwargs)
        self.last_batch_policy = policy
        self._fill = policy == LastBatchPolicy.FILL
        self._auto_reset = _AUTO_RESET[auto_reset]
        self._ended = False

    @property
    def size(self) -> int:
        """Samples of this shard per epoch (without padding)."""
        return self.sampler.shard_size

    @property
    def _size(self) -> int:
        return self.size

    @property
    def batch_size(self) -> int:
        """Samples per batch of this shard."""
        return self.sampler.batch_size

    def __iter__(self):
        return self

    def __next__(self) -> list[dict]:
        if self._ended:
            raise StopIteration
        if not self._runner.in_epoch:
            self._start_epoch()
        try:
            images, labels, indices = self._emit(self._runner.next_batch(keep_padding=self._fill))
        except StopIteration:
            self._ended = True
            if self._auto_reset:
                self.reset()
            raise
        return [{"data": images, "label": labels.unsqueeze(1), "index": indices}]

    next = __next__

    def reset(self) -> None:
        """Make the iterator ready for the next epoch, ending the current one early if needed."""
        if self._runner.in_epoch:
            self._runner.abandon()
            self._runner.finish()
        self._ended = False
