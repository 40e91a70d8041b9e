"""The state a loader's epochs read and change, in one object that its runner owns.

An :class:`EpochState` holds the strength table (the running epoch's strengths and the epoch,
start and stop slots DALI's workers read), the shared listing (the published shard order and the
files flagged bad or excluded), the error policy and the ledger of skipped rows. The reader sees
it through a frozen :class:`~sada_dali.data._shared_listing.ReaderView` (:meth:`EpochState.view`);
recovery and the saved state change it through its methods only.

Strengths have one home and, on the way into the table, one type: the table holds the running
epoch's; the next epoch's are an array given for it (:attr:`EpochState.pending`, used once) or an
estimator read at every epoch start (:attr:`EpochState.source`), resolved to its host array there,
once (:meth:`EpochState.start_strengths`).
"""

from __future__ import annotations

import numpy as np

from .._utils.checks import validate_strengths
from ..data._shared_listing import ReaderView

__all__ = ["EpochState"]


class EpochState:
    """Strengths, listing flags, error policy and skip ledger of one loader's epochs.

    Parameters
    ----------
    listing : sada_dali.data.listing.Listing
        The dataset; names the files of skipped rows and failing batches.
    shared_listing : sada_dali.data._shared_listing.SharedListing
        ``listing`` shared with DALI's workers (freed by :meth:`close`).
    table : sada_dali.strength.StrengthTable
        ``len(listing)`` strengths and the epoch slots (freed by :meth:`close`).
    on_error : {"raise", "skip"}
        What a file that cannot be read or decoded does.
    train : bool
        Whether strengths apply (a validation loader uses only the table's slots).

    Attributes
    ----------
    pending : numpy.ndarray or None
        (N,) float32 strengths given for the next epoch start, used once.
    source : object with ``.strengths``, or None
        The estimator whose strengths every epoch start copies (when nothing is pending).
    num_skipped : int
        Rows dropped so far, over all epochs (a file skipped in two epochs counts twice).
    skipped_files : list of str
        The files of those rows, each once, in the order first skipped.
    """

    def __init__(self, listing, shared_listing, table, *, on_error: str, train: bool):
        self.listing, self.on_error, self.train = listing, on_error, train
        self._shared, self._table = shared_listing, table
        self.pending = self.source = None
        self.set_skipped(0, [])

    @property
    def root(self) -> str:
        """The dataset's root, as errors name it."""
        return self.listing.root

    def path(self, index: int) -> str:
        """The file of sample ``index``."""
        return self.listing.files[index]

    def view(self) -> ReaderView:
        """What the reader reads per batch: the shared listing, the table and ``on_error``."""
        return ReaderView(self._shared, self._table, self.on_error)

    def announce(self, epoch: int, start: int) -> None:
        """Tell the readers the epoch they read and the position it starts at."""
        self._table.set_epoch(epoch, start=start)

    def set_stop(self, stop: bool) -> None:
        """Make every reader call end DALI's epoch (True), or read again (False)."""
        self._table.set_stop(stop)

    def publish_order(self, epoch: int, order) -> None:
        """Share the shard order of ``epoch`` with every reader (before they read it)."""
        self._shared.set_order(epoch, order)

    @property
    def strengths(self) -> np.ndarray:
        """The (N,) float32 strengths of the running epoch (read-only view of the table)."""
        return self._table.array

    def set_strengths(self, strengths) -> None:
        """Use ``strengths`` from the next epoch start on.

        Parameters
        ----------
        strengths : array-like or object with ``.strengths``
            An (N,) array, checked and copied now and used once (it replaces an estimator
            given before); or an estimator, read at every epoch start.

        Raises
        ------
        ValueError
            On a validation state (``train=False``), or for an array of the wrong length or values.
        """
        if not self.train:
            raise ValueError(
                "The `strengths` apply only to a training loader (train=True); "
                "this one was built with train=False."
            )
        if hasattr(strengths, "strengths"):
            self.source, self.pending = strengths, None
        else:
            self.source, self.pending = None, validate_strengths(strengths, len(self.listing)).copy()

    def start_strengths(self, resumed, *, mid_epoch: bool, ended=None) -> None:
        """Put the strengths an epoch starts with into the table (training only).

        Parameters
        ----------
        resumed : numpy.ndarray or None
            The strengths a loaded state's epoch started with: they win mid-epoch, or when
            nothing else is due; at an epoch's start new ones take precedence.
        mid_epoch : bool
            Whether the epoch resumes past its first batch.
        ended : tuple of (object, array-like), optional
            An estimator and what its ``end_epoch()`` returned at this epoch start: used
            instead of reading its ``.strengths`` again when it is :attr:`source`.
        """
        if not self.train:
            return
        if resumed is not None and (mid_epoch or (self.pending is None and self.source is None)):
            self._table.set(resumed)
        elif self.pending is not None:
            self._table.set(self.pending)
            self.pending = None
        elif self.source is not None:
            estimator, strengths = ended if ended is not None else (None, None)
            fresh = estimator is self.source and strengths is not None
            self._table.set(strengths if fresh else self.source.strengths)

    def set_skipped(self, num_skipped: int, files) -> None:
        """Restart the skip ledger at ``num_skipped`` rows and ``files`` (each kept once)."""
        self.num_skipped = int(num_skipped)
        self.skipped_files: list[str] = list(dict.fromkeys(files))
        self._skipped_set = set(self.skipped_files)

    def count_skipped(self, indices) -> list[str]:
        """Count one dropped row per sample of ``indices``, list each new file once; return their files."""
        files = [self.path(index) for index in indices]
        for path in files:
            if path not in self._skipped_set:
                self._skipped_set.add(path)
                self.skipped_files.append(path)
        self.num_skipped += len(files)
        return files

    def mark_bad(self, indices) -> None:
        """Flag ``indices`` as files the decoder rejected: every reader skips them from now on."""
        self._shared.mark_bad(indices)

    def mark_excluded(self, indices) -> None:
        """Flag ``indices`` as files never read, whatever ``on_error`` says (``exclude=``)."""
        self._shared.mark_excluded(indices)

    def bad_indices(self) -> np.ndarray:
        """The sorted int64 indices flagged bad (excluded ones are not)."""
        return self._shared.bad_indices()

    @property
    def replaced_any(self) -> bool:
        """Whether a reader has stood a placeholder in for a skipped sample yet (until then no
        batch has a row to drop)."""
        return self._shared.replaced_any

    def close(self) -> None:
        """Free the table and the shared listing (calling it again does nothing)."""
        self._table.close()
        self._shared.close()
