"""A reader that costs nothing: the floor of the main thread's cost under DALI's ``external_source``.

:func:`replaying_reads` lets a loader built inside it (``workers=0``) read each batch of its first
epoch once, keep a copy, and hand DALI that copy again in every later epoch. The main thread then
pays only what DALI's inline batch-mode ``external_source`` costs to call it and feed its three
outputs, with no file read, no check, no choices and no worker pool. No reader, in worker
processes of DALI's or of our own, can cost the main thread less than that. The images are
stale after the first epoch, so this is a measuring device for ``host_cost.py``, never a loader.
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["replaying_reads"]


def _copy(output):
    if isinstance(output, tuple):  # the packed encoded buffer and its offsets
        return tuple(part.copy() for part in output)
    return output.copy()


@contextmanager
def replaying_reads():
    """Loaders defined inside this block replay their first epoch's batches.

    DALI takes the reader's bound ``read_batch`` when the loader defines its pipeline, so the
    replacement is only in place while loaders are built here; loaders built before or after keep
    the real one. A batch is copied once, because the reader reuses its buffer for the next one.
    The end of an epoch (``StopIteration``) still comes from the real reader.
    """
    from sada_dali.data._reader import SampleReader

    read_batch = SampleReader.read_batch

    def replayed(self, batch_info):
        kept = self.__dict__.setdefault("_replayed", {})
        if batch_info.iteration not in kept:
            kept[batch_info.iteration] = tuple(_copy(o) for o in read_batch(self, batch_info))
        return kept[batch_info.iteration]

    SampleReader.read_batch = replayed
    try:
        yield
    finally:
        SampleReader.read_batch = read_batch
