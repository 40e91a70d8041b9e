"""``SADAClassificationIterator``: SADA behind DALI's ``DALIClassificationIterator`` protocol.

Scripts written for DALI's iterators (NVIDIA's ResNet-50 example, DeepLearningExamples'
ConvNets) change only the line that builds the loader: iterating yields
``[{"data": images, "label": labels, "index": indices}]`` with labels of shape (B, 1), and
``reset()``, ``size``, ``_size``, ``batch_size``, ``len()``, ``next()``,
``last_batch_policy`` and ``auto_reset`` behave as DALI documents them. The other keywords of
``DALIClassificationIterator`` these scripts pass are accepted with DALI's meaning where it
applies (``reader_name``, ``fill_last_batch``, ``dynamic_shape``, ``prepare_first_batch``,
``size``, ``last_batch_padded=False``), else refused with an error naming the replacement.
"""

from __future__ import annotations

import warnings

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


def _resolve_policy(last_batch_policy, fill_last_batch, last_batch_padded, reader_name, size):
    """The ``LastBatchPolicy`` DALI's iterator keywords ask for, or an error naming the replacement."""
    from nvidia.dali.plugin.base_iterator import LastBatchPolicy

    if reader_name is not None and not isinstance(reader_name, str):
        raise TypeError(f"The `reader_name` must be a str (a DALI reader's name), got {reader_name!r}.")
    if reader_name is not None and size not in (None, -1):
        raise ValueError("The `size` and `reader_name` are mutually exclusive, as in DALI; pass one of them.")
    if last_batch_padded:
        raise ValueError(
            "The `last_batch_padded=True` (a reader that pads by repeating its last sample) has no "
            "equivalent: FILL pads with the shard's first samples, as DALI does with "
            "last_batch_padded=False; drop it, or use last_batch_policy=LastBatchPolicy.PARTIAL "
            "to get only the real rows."
        )
    if fill_last_batch is None:
        return _check_policy(last_batch_policy)
    warnings.warn(
        "The `fill_last_batch` is deprecated in DALI; use last_batch_policy=LastBatchPolicy.FILL "
        "(fill_last_batch=True) or LastBatchPolicy.PARTIAL (False).",
        DeprecationWarning,
        stacklevel=3,
    )
    return LastBatchPolicy.FILL if fill_last_batch else LastBatchPolicy.PARTIAL


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
    reader_name : str, optional
        Accepted and unused: the loader is its own reader, so :attr:`size` and the padding
        come from the dataset and the shard layout, which is what DALI reads from the named
        reader. Not with ``size``, as in DALI.
    fill_last_batch : bool, optional
        DALI's deprecated alias: True is ``LastBatchPolicy.FILL``, False ``PARTIAL``; it
        overrides ``last_batch_policy`` (with a ``DeprecationWarning``), as in DALI.
    last_batch_padded : bool
        False (DALI's default) only: FILL pads with the shard's first samples. True, padding
        by repeating the last sample, raises a ``ValueError`` that names ``PARTIAL``.
    dynamic_shape : any
        Ignored, as DALI ignores it ("used only for backward compatibility").
    prepare_first_batch : bool
        Accepted; the first batch is read when the first epoch starts (at the first
        ``next()``), after that epoch's strengths are copied, whatever the value.
    size : int
        -1 (DALI's default), or this shard's sample count :attr:`size`; any other value raises
        a ``ValueError``: the size follows from the dataset and the shard layout.
    **kwargs
        Every other argument of :class:`~sada_dali.SADALoader` (``num_classes``,
        ``normalize``...) except ``drop_last`` and ``pairs`` (use ``last_batch_policy``).

    Notes
    -----
    Each ``next()`` returns ``[{"data": (B, 3, S, S), "label": (B, 1) int64, "index": (B,)
    int64}]``. After the last batch, iterating raises ``StopIteration`` until :meth:`reset`
    (or at once again with ``auto_reset``). Unlike DALI, :meth:`reset` in the middle of an
    epoch is honoured: the epoch ends at once, reading at most ``prefetch_queue_depth + 1``
    more batches, and the next pass reads the next epoch.
    """

    def __init__(
        self,
        source,
        batch_size: int,
        *,
        last_batch_policy="FILL",
        auto_reset=False,
        reader_name: str | None = None,
        fill_last_batch: bool | None = None,
        last_batch_padded: bool = False,
        dynamic_shape=False,
        prepare_first_batch: bool = True,
        size: int = -1,
        **kwargs,
    ):
        from nvidia.dali.plugin.base_iterator import LastBatchPolicy

        for name in ("drop_last", "pairs"):
            if name in kwargs:
                raise TypeError(
                    f"SADAClassificationIterator takes no `{name}`; use `last_batch_policy` "
                    "(LastBatchPolicy.DROP, FILL or PARTIAL) as with DALI's iterators."
                )
        policy = _resolve_policy(last_batch_policy, fill_last_batch, last_batch_padded, reader_name, size)
        if auto_reset not in _AUTO_RESET:
            raise ValueError(f"The `auto_reset` must be True, False, 'yes' or 'no', got {auto_reset!r}.")
        if not isinstance(prepare_first_batch, bool):
            raise TypeError(f"The `prepare_first_batch` must be a bool, got {prepare_first_batch!r}.")
        super().__init__(source, batch_size, drop_last=policy == LastBatchPolicy.DROP, **kwargs)
        if size not in (None, -1) and size != self.size:
            self.close()
            raise ValueError(
                f"The `size` {size!r} is not this shard's sample count ({self.size}); the loader takes "
                "its size from the dataset and the shard layout: drop `size=` (or pass -1)."
            )
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
