"""The shard files one process keeps open: each sample costs one ``pread`` or ``preadv``, no ``open``."""

from __future__ import annotations

import os
from collections import OrderedDict

__all__ = ["ShardFiles"]


class ShardFiles:
    """Open file descriptors of tar shards, least recently used closed beyond ``max_open``.

    Parameters
    ----------
    paths : tuple of str
        The shards, by number.
    max_open : int
        Descriptors kept open at once (a reader of 1024 shards must stay under the open-file limit).

    Notes
    -----
    Descriptors belong to one process: pickling (into a DALI worker) carries only the paths.
    """

    def __init__(self, paths, max_open: int = 128):
        self.paths, self.max_open = tuple(paths), int(max_open)
        self._fds: OrderedDict[int, int] = OrderedDict()

    def read(self, shard: int, offset: int, size: int) -> bytes:
        """The ``size`` bytes at ``offset`` of shard number ``shard``.

        Raises
        ------
        OSError
            If the shard cannot be opened or read, or ends before ``offset + size`` (it
            changed since it was indexed).
        """
        data = os.pread(self._fd(shard), size, offset)
        _check_whole(len(data), size)
        return data

    def read_into(self, shard: int, offset: int, view: memoryview) -> memoryview:
        """:meth:`read` ``len(view)`` bytes straight into ``view`` (one ``os.preadv``); returns ``view``."""
        _check_whole(os.preadv(self._fd(shard), [view], offset), len(view))
        return view

    def status(self, shard: int) -> os.stat_result:
        """The ``fstat`` of shard number ``shard`` now (its length, inode and change time)."""
        return os.fstat(self._fd(shard))

    def _fd(self, shard: int) -> int:
        fd = self._fds.get(shard)
        if fd is None:
            fd = self._fds[shard] = os.open(self.paths[shard], os.O_RDONLY)
            if len(self._fds) > self.max_open:
                os.close(self._fds.popitem(last=False)[1])
        else:
            self._fds.move_to_end(shard)
        return fd

    def close(self) -> None:
        """Close every descriptor."""
        while self._fds:
            os.close(self._fds.popitem()[1])

    def __getstate__(self):
        return {"paths": self.paths, "max_open": self.max_open}

    def __setstate__(self, state):
        self.__init__(state["paths"], state["max_open"])

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _check_whole(got: int, size: int) -> None:
    if got != size:
        raise OSError(f"the shard ends after {got} of the member's {size} bytes (changed since indexed?)")
