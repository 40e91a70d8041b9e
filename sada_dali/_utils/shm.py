"""POSIX shared-memory blocks that DALI's spawned workers attach to by name.

The creating process owns a block and frees it; a process that unpickles an object holding
a block only attaches, untracked, so a worker that exits never frees (or warns about) memory
the trainer still uses.

On Linux a block's name carries its owner's pid and pid namespace, ``sada_<pid>_<ns>_<random>``:
a process killed before it could free its blocks leaves them in ``/dev/shm``, and the next
block created on the machine removes every such orphan whose owner no longer runs
(:func:`remove_orphans`). Elsewhere names are ``sada_<random>`` (macOS allows 31 characters).
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from multiprocessing import resource_tracker, shared_memory

__all__ = ["SharedBlock", "remove_orphans", "SHM_DIR"]

SHM_DIR = "/dev/shm"
_ORPHAN = re.compile(r"sada_(\d+)_(\d+)_[0-9a-f]+")


def _pid_namespace() -> int | None:
    """The inode of this process's pid namespace (pids are unique only within one), or None."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _block_name() -> str:
    namespace = _pid_namespace() if sys.platform.startswith("linux") else None
    if namespace is None:
        return f"sada_{uuid.uuid4().hex[:16]}"
    return f"sada_{os.getpid()}_{namespace}_{uuid.uuid4().hex[:12]}"


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_orphans(directory: str = SHM_DIR) -> list[str]:
    """Remove the blocks of owners that died without freeing them; return their names.

    A block counts as orphaned when its name says it was created in this pid namespace by a
    process that no longer exists, and this user owns it. Blocks of running processes (another
    loader on the same dataset included) and blocks named another way are left alone.
    """
    namespace = _pid_namespace()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _ORPHAN.fullmatch(entry.name)
        if match is None or int(match.group(2)) != namespace or _is_running(int(match.group(1))):
            continue
        try:
            if entry.stat().st_uid == os.getuid():
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:  # removed meanwhile (e.g. by the dead owner's resource tracker)
            pass
    return removed


def _create_block(nbytes: int) -> shared_memory.SharedMemory:
    """A new zero-filled block of at least ``nbytes`` bytes, owned by this process."""
    remove_orphans()
    return shared_memory.SharedMemory(create=True, size=max(1, int(nbytes)), name=_block_name())


def _attach_block(name: str) -> shared_memory.SharedMemory:
    """Attach to an existing block without registering it with the resource tracker.

    Only the owner may free the block; a tracked attachment would free it (or warn) when
    the attaching worker exits. Python 3.13 has ``track=False`` for this.
    """
    try:
        return shared_memory.SharedMemory(name=name, track=False)
    except TypeError:
        pass
    register = resource_tracker.register
    resource_tracker.register = lambda *args, **kwargs: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _release_block(shm, owner: bool) -> None:
    """Detach from ``shm``; the owner also unlinks it (a block already gone is fine)."""
    shm.close()
    if owner:
        try:
            shm.unlink()
        except FileNotFoundError:
            pass


class SharedBlock:
    """Base of an object whose data lives in one shared-memory block.

    The creating process calls :meth:`_create` and owns the block; pickling sends only the
    block's name (plus :meth:`_extra_state`), and unpickling attaches untracked. Subclasses
    implement ``_bind`` (make their array views of ``self._shm.buf``) and list those views'
    attribute names in ``_VIEWS`` so that :meth:`close` can drop them before detaching.
    """

    _VIEWS: tuple[str, ...] = ()

    def _create(self, nbytes: int) -> None:
        self._shm, self._owner = _create_block(nbytes), True

    def _bind(self) -> None:
        raise NotImplementedError

    def _extra_state(self) -> dict:
        return {}

    def close(self) -> None:
        """Detach; the owner also frees the block."""
        shm, self._shm = getattr(self, "_shm", None), None
        if shm is not None:
            for name in self._VIEWS:
                setattr(self, name, None)
            _release_block(shm, self._owner)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        if getattr(self, "_shm", None) is None:
            raise RuntimeError(f"This {type(self).__name__} was closed and can no longer be shared.")
        return {"name": self._shm.name, **self._extra_state()}

    def __setstate__(self, state):
        self.__dict__.update({k: v for k, v in state.items() if k != "name"})
        self._shm, self._owner = _attach_block(state["name"]), False
        self._bind()
