"""A dataset listing and the shard's epoch order in one shared-memory block.

DALI pickles the per-sample reader into every spawned worker. A tuple of 1.28 M paths
pickles to about 146 MB that each worker would unpickle into its own heap; this block holds
the UTF-8 paths, their offsets, the labels and the current epoch's shard order once, and a
worker attaches to it by name. The owner (the loader's process) writes the order of each
epoch before DALI starts reading it, so no worker computes a permutation of N either. A
per-sample flag marks files the decoder rejected (``mark_bad``) or the trainer excluded
(``mark_excluded``, e.g. from ``sada-dali check``): readers skip both without reading. One word
says whether a reader has ever stood a placeholder in for a skipped sample (``mark_replaced``), so
the loader looks for skipped rows only once there can be some.
For a listing of tar shards the block also holds each sample's ``(shard, offset, size)``, and
:meth:`SharedListing.read_into` fetches the image with one ``os.pread`` from a shard the process
keeps open. For either kind, three words per sample record which files passed the reader's
checks (:class:`sada_dali.data._check_cache.CheckCache`).

A reader sees its owner's per-epoch state through a :class:`ReaderView`: this block, the
strength table and the error policy, none of which it can replace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._utils.shm import SharedBlock
from ._check_cache import WORDS_PER_SAMPLE, CheckCache
from ._tar_files import ShardFiles

__all__ = ["SharedListing", "ReaderView", "ON_ERROR", "check_on_error"]

_NO_EPOCH = -1
_BAD, _EXCLUDED = 1, 2
_HEAD = 5  # order_epoch, N, shard_size, blob_bytes, replaced
_REPLACED = 4  # the head word mark_replaced sets

ON_ERROR = ("raise", "skip")
"""What a file that cannot be read or decoded may do: raise an error naming it, or be skipped."""


def check_on_error(on_error) -> str:
    """Return ``on_error`` if it is one of :data:`ON_ERROR`, else raise a ValueError naming it."""
    if not isinstance(on_error, str) or on_error not in ON_ERROR:
        raise ValueError(f"The `on_error` must be 'raise' or 'skip', got {on_error!r}.")
    return on_error


class SharedListing(SharedBlock):
    """Paths, labels and one epoch's shard order that worker processes read without copying.

    Parameters
    ----------
    listing : sada_dali.data.source.Listing
        The files and labels.
    shard_size : int
        Length of the order slot: the samples one shard reads per epoch.

    Attributes
    ----------
    checks : sada_dali.data._check_cache.CheckCache
        Which samples passed the reader's checks, in which version of their file or shard.

    Notes
    -----
    Layout (int64 words): ``[order_epoch, N, shard_size, blob_bytes, replaced]``, the ``N + 1`` path
    offsets, the ``N`` labels, the ``shard_size`` order, then the path bytes and the ``N``
    uint8 bad flags, then the ``3 N`` int64 words of the :attr:`checks` and, for shards, ``3 N``
    more of the locations. Unpickling attaches to the block; only the creating process frees it
    (:meth:`close`).
    """

    def __init__(self, listing, shard_size: int):
        encoded = [path.encode("utf-8", "surrogateescape") for path in listing.files]
        n, shard_size = len(encoded), int(shard_size)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
        words = _HEAD + (n + 1) + n + shard_size
        located = getattr(listing, "locations", None) is not None
        self._files = ShardFiles(listing.shards) if located else None
        tail_words = (WORDS_PER_SAMPLE + (3 if located else 0)) * n  # the checks, the locations
        self._create(8 * words + int(offsets[-1]) + n + 7 + 8 * tail_words)
        head = np.ndarray((_HEAD,), dtype=np.int64, buffer=self._shm.buf)
        head[:] = (_NO_EPOCH, n, shard_size, offsets[-1], 0)
        self._bind()
        self._offsets[:] = offsets
        self._labels[:] = listing.labels
        self._blob[:] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self._bad[:] = 0
        if located:
            self._locations[:] = listing.locations

    _VIEWS = ("_head", "_offsets", "_labels", "_order", "_blob", "_bad", "_locations", "checks", "_fast")

    def _extra_state(self) -> dict:
        return {"_files": self._files}

    def _bind(self) -> None:
        buf = self._shm.buf
        self._head = np.ndarray((_HEAD,), dtype=np.int64, buffer=buf)
        n, shard_size, nbytes = (int(v) for v in self._head[1:4])
        words = np.ndarray((_HEAD + (n + 1) + n + shard_size,), dtype=np.int64, buffer=buf)
        self._offsets = words[_HEAD : _HEAD + n + 1]
        self._labels = words[_HEAD + n + 1 : _HEAD + 2 * n + 1]
        self._order = words[_HEAD + 2 * n + 1 :]
        self._blob = np.ndarray((nbytes,), dtype=np.uint8, buffer=buf, offset=8 * words.size)
        self._bad = np.ndarray((n,), dtype=np.uint8, buffer=buf, offset=8 * words.size + nbytes)
        aligned = (8 * words.size + nbytes + n + 7) // 8 * 8
        checks = np.ndarray((WORDS_PER_SAMPLE * n,), dtype=np.int64, buffer=buf, offset=aligned)
        self.checks = CheckCache(checks.data)
        self._locations = (
            np.ndarray((n, 3), dtype=np.int64, buffer=buf, offset=aligned + checks.nbytes)
            if self._files is not None
            else None
        )
        # memoryviews of the same words: a per-sample lookup reads a Python int without a NumPy call
        flat = None if self._locations is None else self._locations.reshape(-1).data
        self._fast = (self._offsets.data, self._blob.data, self._bad.data, flat, self._head.data)

    def __len__(self) -> int:
        return int(self._head[1])

    @property
    def labels(self) -> np.ndarray:
        """(N,) int64 labels (a view of the shared block)."""
        return self._labels

    def path(self, index: int) -> str:
        """The path of sample ``index`` (``"<shard>:<key>"`` for shards)."""
        offsets, blob = self._fast[:2]
        return bytes(blob[offsets[index] : offsets[index + 1]]).decode("utf-8", "surrogateescape")

    def read_into(self, index: int, packer) -> tuple[memoryview, os.stat_result]:
        """Read the encoded image of sample ``index`` (its file, or one ``preadv`` of its shard)
        straight into ``packer``'s next reservation
        (:meth:`sada_dali.data._packing.EncodedPacker.reserve`).

        Returns
        -------
        data : memoryview
            The bytes read, not yet committed.
        status : os.stat_result
            The ``fstat`` of the file, or of the member's shard, taken before reading: it tells
            the version read (:func:`sada_dali.data._check_cache.file_stamp`).

        Raises
        ------
        OSError
            If the file or shard cannot be read.
        """
        if self._locations is None:
            fd = os.open(self.path(index), os.O_RDONLY | os.O_CLOEXEC)
            try:
                status = os.fstat(fd)
                return _read_whole(fd, status.st_size, packer), status
            finally:
                os.close(fd)
        locations = self._fast[3]
        shard, offset, size = locations[3 * index], locations[3 * index + 1], locations[3 * index + 2]
        status = self._files.status(shard)
        return self._files.read_into(shard, offset, packer.reserve(size)), status

    @property
    def order_epoch(self) -> int:
        """The epoch whose shard order :attr:`order` holds (-1 before :meth:`set_order`)."""
        return int(self._head[0])

    @property
    def order(self) -> np.ndarray:
        """The shard's (shard_size,) int64 sample indices of :attr:`order_epoch`, in reading order."""
        return self._order

    def set_order(self, epoch: int, order) -> None:
        """Publish the shard order of ``epoch`` (call before the readers start that epoch)."""
        self._head[0] = _NO_EPOCH
        self._order[:] = order
        self._head[0] = int(epoch)

    def is_bad(self, index: int) -> bool:
        """Whether sample ``index`` was marked bad (see :meth:`mark_bad`) or excluded."""
        return self._fast[2][index] != 0

    def is_excluded(self, index: int) -> bool:
        """Whether sample ``index`` was excluded (see :meth:`mark_excluded`)."""
        return self._fast[2][index] == _EXCLUDED

    def mark_bad(self, indices) -> None:
        """Flag ``indices`` as files the decoder rejected, which every reader skips from now on."""
        indices = np.asarray(indices, dtype=np.int64)
        self._bad[indices[self._bad[indices] != _EXCLUDED]] = _BAD

    def mark_excluded(self, indices) -> None:
        """Flag ``indices`` as files every reader skips unread, whatever ``on_error`` says."""
        self._bad[np.asarray(indices, dtype=np.int64)] = _EXCLUDED

    @property
    def replaced_any(self) -> bool:
        """Whether a reader has ever stood a placeholder in for a sample of this listing
        (:meth:`mark_replaced`): until one has, every row a reader produced is valid."""
        head = self._fast[4]
        return head[_REPLACED] != 0

    def mark_replaced(self) -> None:
        """Record that a reader stands a placeholder in for a sample (a skipped file), before
        the batch holding it leaves the reader.

        The word is set, never cleared, so two workers setting it at once cannot lose it. A
        worker's batch reaches the loader's process through DALI's shared-memory queue and its
        semaphores, which order this store before the loader reads that batch.
        """
        head = self._fast[4]
        head[_REPLACED] = 1

    def bad_indices(self) -> np.ndarray:
        """The sorted int64 indices flagged bad by :meth:`mark_bad` (excluded ones are not)."""
        return np.flatnonzero(self._bad == _BAD).astype(np.int64)


@dataclass(frozen=True)
class ReaderView:
    """What a reader sees of its owner's epoch state, per batch; picklable into DALI's workers.

    Attributes
    ----------
    shared_listing : SharedListing
        Paths, labels, the published shard order and the bad/excluded flags. A reader writes only
        what it found here: under ``on_error="skip"`` it flags bad a file whose content it
        rejected, so that no reader reads it again; it records the files that passed its checks
        (:attr:`SharedListing.checks`); and it marks that it handed out a placeholder
        (:meth:`SharedListing.mark_replaced`).
    table : sada_dali.strength.StrengthTable or None
        The strengths and the epoch, start and stop slots (None: epoch 0 from position 0, no
        strengths, for a reader that draws no SADA choice).
    on_error : {"raise", "skip"}
        What a file that fails does (see :data:`ON_ERROR`).

    Notes
    -----
    The owner (a loader's :class:`~sada_dali.loader._epoch_state.EpochState`, or a reader built
    over a listing) creates, writes and frees all three; the view is frozen, so a reader cannot
    rebind them.
    """

    shared_listing: SharedListing
    table: object = None
    on_error: str = "raise"

    def __post_init__(self):
        check_on_error(self.on_error)


def _read_whole(fd: int, size: int, packer) -> memoryview:
    """Read the open file ``fd`` into ``packer``'s next reservation: its ``fstat`` ``size``
    bytes, or to its end when it holds more (it grew, or a filesystem reports no size).

    One ``readv`` asks for ``size + 1`` bytes: a file that holds its ``size`` returns exactly
    that, and no second call is needed to find its end. A short read of a network filesystem
    is read on to the end.
    """
    view, got = packer.reserve(size + 1), 0
    while True:
        count = os.readv(fd, [view[got:]])
        got += count
        if not count or got == size:
            return view[:got]
        if got == len(view):
            view = packer.reserve(2 * len(view))  # keeps the bytes read so far
