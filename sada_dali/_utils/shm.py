"""POSIX shared-memory blocks that DALI's spawned workers attach to by name.

The creating process owns a block and frees it; a process that unpickles an object holding
a block only attaches, untracked, so a worker that exits never frees (or warns about) memory
the trainer still uses.
"""

from __future__ import annotations

import uuid
from multiprocessing import resource_tracker, shared_memory

__all__ = ["SharedBlock"]


def _create_block(nbytes: int) -> shared_memory.SharedMemory:
    """A new zero-filled block of at least ``nbytes`` bytes, owned by this process."""
    return shared_memory.SharedMemory(
        create=True, size=max(1, int(nbytes)), name=f"sada_{uuid.uuid4().hex[:16]}"
    )


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
