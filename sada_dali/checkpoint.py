"""Atomic checkpoint files: a crash while saving never leaves a truncated checkpoint behind.

:func:`save_checkpoint` serialises into a temporary file in the target's folder, flushes and
``fsync``s it, then ``os.replace``s it over the target (atomic on POSIX and Windows) and
``fsync``s the folder so that the rename itself survives a power cut. Until the replace, the
previous checkpoint stays untouched; after it, the new one is complete.
"""

from __future__ import annotations

import json
import os
import uuid

__all__ = ["save_checkpoint", "load_checkpoint", "save_json"]


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(obj, path) -> None:
    """Write ``obj`` to ``path`` with ``torch.save``, atomically.

    Parameters
    ----------
    obj : object
        Anything ``torch.save`` takes: a dict of tensors, NumPy arrays, ``state_dict()`` s...
    path : str or os.PathLike
        Target file; its folder must exist.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    Exception
        Whatever the serialiser raises; ``path`` then keeps its previous content and the
        temporary file is removed. A process killed mid-write may leave a hidden
        ``.<name>.<random>.tmp`` file next to ``path``, never a partial ``path``.
    """
    import torch

    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"The checkpoint folder {directory!r} does not exist; create it before saving "
            f"{os.path.basename(path)!r}."
        )
    _write_atomically(path, lambda handle: torch.save(obj, handle))


def save_json(obj, path) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically (as :func:`save_checkpoint` does).

    Parameters
    ----------
    obj : object
        Anything ``json.dumps`` takes.
    path : str or os.PathLike
        Target file; its folder must exist.
    """
    text = json.dumps(obj, indent=2).encode("utf-8")  # fails before any file is touched
    _write_atomically(os.path.abspath(os.fspath(path)), lambda handle: handle.write(text))


def _write_atomically(path: str, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:  # the umask applies, unlike tempfile's 0600
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def load_checkpoint(path, *, map_location=None, weights_only: bool = False):
    """Read a checkpoint written by :func:`save_checkpoint` (or ``torch.save``).

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    map_location : optional
        Passed to ``torch.load`` (e.g. ``"cpu"``).
    weights_only : bool
        Passed to ``torch.load``. False (default) unpickles arbitrary objects, as the NumPy
        arrays of the estimator and loader states need: load only checkpoints you trust.

    Returns
    -------
    object
        What was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the error names it).
    ValueError
        If the file is truncated or corrupt (the error names it and the cause).
    """
    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The checkpoint {path!r} does not exist; pass the path of a file written by save_checkpoint()."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as exc:
        if (isinstance(exc, OSError) and exc.errno is not None) or "Weights only load failed" in str(exc):
            raise  # a read error (permissions, I/O) or a weights_only refusal, not a bad file
        raise ValueError(
            f"The checkpoint {path!r} ({os.path.getsize(path)} bytes) is truncated or corrupt "
            f"({type(exc).__name__}: {str(exc).strip()}); resume from an earlier checkpoint."
        ) from exc
