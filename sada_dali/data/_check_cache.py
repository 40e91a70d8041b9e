"""Which files have passed the reader's checks, and in which version: three words per sample.

The reader checks every file it reads (:func:`sada_dali.data._inspect.inspect_encoded`, 11-15
µs for a 500x375 JPEG) before DALI sees it. That check depends only on the file's bytes and
the reader's settings, so a file that passed it once need not be checked again while it is
unchanged. A file's version is told by what ``fstat`` gives for free at open time: its length,
its inode and its status-change time (``st_ctime_ns``, which every write, truncation and rename
updates and no program can set back, unlike the modification time). A :class:`CheckCache`
keeps, per sample, the length and a stamp of those that passed (:func:`file_stamp`, which also
mixes in the reader's settings) and the image size the check found. It lives in the shared
listing, so what one worker checked no other worker checks again. A member of a tar shard is
told by its length and its shard's stamp: a shard changed in any way has every member checked again.

Where the kernel's timestamps are coarse (a clock tick, on kernels without fine-grained
timestamps), a rewrite of a file in place to the same length within the same tick as its
previous write would keep its stamp; replacing a file (a new inode) or changing its length
never does.
"""

from __future__ import annotations

import zlib

__all__ = ["CheckCache", "WORDS_PER_SAMPLE", "check_tag", "file_stamp"]

WORDS_PER_SAMPLE = 3  # length, stamp, packed size
_NO_SIZE = -1  # the check passed, but the header does not tell the size (only the decoder can)
_MIX = 0x9E3779B97F4A7C15  # spreads inode bits over the word, away from the clock's
_MASK = (1 << 64) - 1


def check_tag(*settings) -> int:
    """A stable number for a reader's check settings (its ``augments``, ``formats`` and
    ``max_pixels``): the same in every process, unlike ``hash``, so that a pass recorded under
    other settings is not taken for one under these."""
    return zlib.crc32(repr(settings).encode())


def file_stamp(status, tag: int) -> int:
    """The signed 64-bit stamp of a file's version: its ``os.stat_result``'s change time and
    inode, mixed with the reader's :func:`check_tag`."""
    mixed = (status.st_ctime_ns ^ (status.st_ino * _MIX) ^ tag) & _MASK
    return mixed - (1 << 64) if mixed >> 63 else mixed


class CheckCache:
    """Per-sample records of files that passed the reader's checks, over shared int64 words.

    Parameters
    ----------
    words : memoryview
        ``WORDS_PER_SAMPLE * N`` int64 words, zero for a sample never checked (a record of
        length 0 matches nothing).

    Notes
    -----
    Within an epoch each sample is read by one worker, but for the few that a padded last batch
    reads again; so two processes touch one record at once only for those, and then with the same
    values, unless the file changes at that very moment. A record is voided before it is
    rewritten and its stamp is written last: on x86, which keeps the order of stores, a reader
    that sees the new stamp also sees the new size; weakly ordered CPUs (ARM) give that only
    outside such a race.
    """

    def __init__(self, words: memoryview):
        self._words = words

    def clear(self) -> None:
        """Forget every record: each file is checked again at its next read."""
        self._words.cast("B")[:] = bytes(self._words.nbytes)

    def get(self, index: int, nbytes: int, stamp: int) -> tuple[bool, tuple[int, int] | None]:
        """``(True, size)`` if sample ``index`` passed the checks at this length and stamp, with
        the ``(width, height)`` they found (None: the header does not tell it); else ``(False, None)``."""
        words, at = self._words, WORDS_PER_SAMPLE * index
        if words[at + 1] != stamp or words[at] != nbytes or not nbytes:
            return False, None
        size = words[at + 2]
        return True, (None if size == _NO_SIZE else (size >> 32, size & 0xFFFFFFFF))

    def put(self, index: int, nbytes: int, stamp: int, size: tuple[int, int] | None) -> None:
        """Record that sample ``index`` passed the checks at this length and stamp, with ``size``
        (a size too large for the record's word, which no decodable image has, is not recorded)."""
        if size is not None and (size[0] >> 31 or size[1] >> 32):
            return
        words, at = self._words, WORDS_PER_SAMPLE * index
        words[at + 1] = 0
        words[at + 2] = _NO_SIZE if size is None else size[0] << 32 | size[1]
        words[at] = nbytes
        words[at + 1] = stamp
