"""POSIX shared-memory blocks that DALI's spawned workers attach to by name.

The creating process owns a block and frees it; a process that unpickles an object holding
a block only attaches, untracked, so a worker that exits never frees (or warns about) memory
the trainer still uses.
"""
from __future__ import annotations

import uuid
from multiprocessing import resource_tracker, shared_memory

__all__ = ["create_block", "attach_block", "release_block"]


def create_block(nbytes: int) -> shared_memory.SharedMemory:
    """A new zero-filled block of at least ``nbytes`` bytes, owned by this process."""
    return shared_memory.SharedMemory(create=True, size=max(1, int(nbytes)), name=f"sada_{uuid.uuid4().hex[:16]}")


def attach_block(name: str) -> shared_memory.SharedMemory:
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


def release_block(shm, owner: bool) -> None:
    """Detach from ``shm``; the owner also unlinks it (a block already gone is fine)."""
    shm.close()
    if owner:
        try:
            shm.unlink()
        except FileNotFoundError:
            pass
