"""A loader's DALI pipeline and the iterator that reads it, and the rows taken from each batch.

The pipeline is driven with ``auto_reset=False`` and ``prepare_first_batch=False``: nothing is
read before :meth:`LoaderPipe.restart` starts an epoch, and a pipeline built again after a
decoder failure (:meth:`LoaderPipe.build`) may go on with the epoch in progress.
"""

from __future__ import annotations

from ..pipelines._compat import shutdown_pipeline

__all__ = ["OUTPUTS", "LoaderPipe", "split_rows"]

OUTPUTS = ["images", "labels", "indices", "valid"]


class LoaderPipe:
    """One DALI pipeline with outputs :data:`OUTPUTS`, built (and built again) by ``factory``.

    Attributes
    ----------
    pipe : nvidia.dali.Pipeline or None
        The pipeline (None once closed).
    started : bool
        Whether DALI is past an epoch start, so that the next epoch needs a reset.
    """

    def __init__(self, factory):
        self.factory = factory
        self.pipe = self._iterator = None
        self.started = False

    def build(self, *, started: bool) -> None:
        """Replace the pipeline (and DALI's workers) by a new one; ``started`` if it goes on with an epoch."""
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        self._iterator = None
        shutdown_pipeline(self.pipe)
        self.pipe = self.factory()
        self._iterator = DALIGenericIterator(
            [self.pipe], OUTPUTS, auto_reset=False, prepare_first_batch=False
        )
        self.started = started

    def restart(self) -> None:
        """Let DALI read an epoch (resetting it after the last one)."""
        if self.started:
            self._iterator.reset()
        self.started = True

    def next(self) -> dict:
        """DALI's next batch, by output name; ``StopIteration`` at the epoch's end."""
        return next(self._iterator)[0]

    def drain(self) -> None:
        """Read and drop what is left of DALI's epoch (its reader stops it early)."""
        for _ in self._iterator:
            pass

    def close(self) -> None:
        """Stop the pipeline and its workers."""
        self._iterator = None
        shutdown_pipeline(self.pipe)
        self.pipe = None


def split_rows(out: dict, rows: int, size: int, *, maybe_skipped: bool = True):
    """The first ``rows`` rows of a batch, without the skipped ones (``valid`` false).

    Parameters
    ----------
    out : dict
        The batch by output name (:data:`OUTPUTS`).
    rows : int
        Rows to keep at most: fewer than ``size`` in a padded last batch.
    size : int
        The pipeline's batch size (known here without a torch call on the batch).
    maybe_skipped : bool
        Whether a row may be a skipped file's. False (no reader has handed out a placeholder,
        :attr:`sada_dali.data._shared_listing.SharedListing.replaced_any`) keeps every row
        without reading ``valid``: the first torch call on a fresh batch costs 100 µs or more of
        cold caches in the main thread.

    Returns
    -------
    tuple
        ``(images, labels, indices)`` of the rows kept, on DALI's devices, and the list of the
        skipped rows' positions in the batch (read on the host; empty when none was skipped).
    """
    valid = out["valid"]
    images, labels, indices = (out[name] for name in OUTPUTS[:3])
    if rows < size:  # the padded last batch
        valid, images, labels, indices = (t[:rows] for t in (valid, images, labels, indices))
    if not maybe_skipped or bool(valid.all()):
        return (images, labels, indices), []
    valid = valid.bool()
    skipped = (~valid).nonzero().squeeze(1).tolist()
    keep = valid.nonzero().squeeze(1).to(images.device)
    return tuple(t.index_select(0, keep) for t in (images, labels, indices)), skipped
