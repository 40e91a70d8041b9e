"""Checkpoint files that are atomic and checked: a crash never leaves a partial one, damage never loads.

:func:`save_checkpoint` serialises with ``torch.save`` into a temporary file in the target's
folder, behind a 64-byte header that records the payload's length and SHA-256; it flushes and
``fsync``s the file, ``os.replace``s it over the target (atomic on POSIX and Windows) and
``fsync``s the folder so that the rename itself survives a power cut. Until the replace, the
previous checkpoint stays untouched. :func:`load_checkpoint` checks the length and the checksum
before unpickling, so a truncated or bit-flipped file raises instead of loading wrong tensors.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import uuid
import warnings

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "save_json",
    "UnverifiedCheckpointWarning",
    "CHECKPOINT_MAGIC",
]

CHECKPOINT_MAGIC = b"SADACKPT"
_VERSION = 1
_HEADER = struct.Struct("<8sI4xQ32s8x")  # 64 bytes: magic, format version, payload bytes, its SHA-256


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint without a checksum (written by ``torch.save`` or an older sada-dali) was loaded."""


class _HashingWriter:
    """The file object ``torch.save`` writes to: counts and hashes the payload as it goes."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data) -> int:
        written = self.handle.write(data)
        self.digest.update(data)
        self.size += memoryview(data).nbytes
        return written

    def flush(self) -> None:
        self.handle.flush()


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


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (torch wraps a failed write in a RuntimeError), or None."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def save_checkpoint(obj, path) -> None:
    """Write ``obj`` to ``path`` with ``torch.save``, atomically and with a checksum.

    Parameters
    ----------
    obj : object
        Anything ``torch.save`` takes: a dict of tensors, NumPy arrays, ``state_dict()`` s...
    path : str or os.PathLike
        Target file; its folder must exist. Read it back with :func:`load_checkpoint` (plain
        ``torch.load`` does not skip the checksum header).

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory: pass the path of a file (in it, for instance).
    FileNotFoundError
        If the folder of ``path`` does not exist.
    OSError
        If writing fails (a full disk, a quota, an I/O error): the message names ``path`` and
        the OS's reason, e.g. "No space left on device".
    Exception
        Whatever else the serialiser raises. In every case ``path`` keeps its previous content
        and the temporary file is removed. A process killed mid-write may leave a hidden
        ``.<name>.<random>.tmp`` file next to ``path``, never a partial ``path``.
    """
    import torch

    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    _refuse_directory(path, "checkpoint")
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"The checkpoint folder {directory!r} does not exist; create it before saving "
            f"{os.path.basename(path)!r}."
        )

    def write(handle) -> None:
        handle.write(bytes(_HEADER.size))
        writer = _HashingWriter(handle)
        torch.save(obj, writer)
        handle.seek(0)
        handle.write(_HEADER.pack(CHECKPOINT_MAGIC, _VERSION, writer.size, writer.digest.digest()))

    _write_atomically(path, write)


def save_json(obj, path) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically (as :func:`save_checkpoint` does).

    Parameters
    ----------
    obj : object
        Anything ``json.dumps`` takes.
    path : str or os.PathLike
        Target file; missing folders above it are created.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.
    OSError
        If writing fails, as for :func:`save_checkpoint`.
    """
    text = json.dumps(obj, indent=2).encode("utf-8")  # fails before any file is touched
    path = os.path.abspath(os.fspath(path))
    _refuse_directory(path, "JSON file")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_atomically(path, lambda handle: handle.write(text))


def _refuse_directory(path: str, what: str) -> None:
    """An IsADirectoryError naming ``path`` if it is a folder (a save would fail, a load misreport)."""
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"The {what} path {path!r} is a directory, not a file; pass the path of a file "
            f"(e.g. {os.path.join(path, 'checkpoint.pt' if what == 'checkpoint' else 'out.json')!r})."
        )


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
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        failure = _os_error(exc)
        if failure is None:
            raise
        raise OSError(
            failure.errno,
            f"Saving {path!r} failed: {failure.strerror or failure}. The previous "
            "file (if any) is unchanged and the temporary file was removed; free some space "
            "or save to another folder.",
        ) from exc
    _fsync_dir(directory)


def _payload_damage(payload: bytes, expected: int, digest: bytes) -> str | None:
    """What is wrong with ``payload`` against the length and SHA-256 its header records, or None."""
    if len(payload) < expected:
        return f"truncated: it holds {len(payload)} of the {expected} payload bytes it was saved with"
    if len(payload) > expected:
        return (
            f"corrupt: {len(payload) - expected} bytes follow the {expected}-byte payload it was saved with"
        )
    if hashlib.sha256(payload).digest() != digest:
        return (
            "corrupt: its SHA-256 checksum does not match the one saved with it (its bytes changed "
            "after saving: a bad disk, copy or transfer)"
        )
    return None


def _payload(path: str, handle) -> bytes:
    """The serialised payload of an open checkpoint, checked against its header when it has one."""
    head = handle.read(_HEADER.size)
    size = len(head)
    if not head.startswith(CHECKPOINT_MAGIC):
        if size == 0:
            raise ValueError(
                f"The checkpoint {path!r} (0 bytes) is empty; resume from an earlier checkpoint."
            )
        warnings.warn(
            f"The checkpoint {path!r} has no checksum (written by torch.save or before sada-dali "
            "recorded one) and is loaded unverified; save it again with save_checkpoint() to add one.",
            UnverifiedCheckpointWarning,
            stacklevel=3,
        )
        return head + handle.read()
    payload = handle.read()
    size += len(payload)
    if len(head) < _HEADER.size:
        raise ValueError(
            f"The checkpoint {path!r} ({size} bytes) is truncated: it ends inside its "
            f"{_HEADER.size}-byte header; resume from an earlier checkpoint."
        )
    _, version, expected, digest = _HEADER.unpack(head)
    damage = _payload_damage(payload, expected, digest)
    if version == 0:  # the first format is 1: a zero is a damaged header, never a real format
        raise ValueError(
            f"The checkpoint {path!r} ({size} bytes) is corrupt: its header says format 0, which no "
            "sada-dali writes (its bytes changed after saving: a bad disk, copy or transfer); "
            "resume from an earlier checkpoint."
        )
    if version > _VERSION:
        # the checksum covers the payload, not the header: a flipped format field passes it, so
        # the format alone cannot tell a newer file from a damaged one; say which one is likelier
        if damage is None:
            why = (
                f"its payload matches the length and SHA-256 a format-{_VERSION} header records, so the "
                "format field itself was most likely damaged (a bad disk, copy or transfer)"
            )
        else:
            why = f"its payload fails the format-{_VERSION} check (it would be {damage})"
        raise ValueError(
            f"The checkpoint {path!r} ({size} bytes) is corrupt or was written by a newer sada-dali: "
            f"its header says format {version}, but this sada-dali reads format {_VERSION}, and {why}; "
            "resume from an earlier checkpoint, or upgrade sada-dali if a newer one wrote it."
        )
    if damage is not None:
        raise ValueError(
            f"The checkpoint {path!r} ({size} bytes) is {damage}; resume from an earlier checkpoint."
        )
    return payload


def load_checkpoint(path, *, map_location=None, weights_only: bool = False):
    """Read a checkpoint written by :func:`save_checkpoint` (or ``torch.save``), checked first.

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
    IsADirectoryError
        If ``path`` is a directory: pass the path of a checkpoint file in it.
    FileNotFoundError
        If ``path`` does not exist (the error names it).
    OSError
        If the file cannot be read (the error names it and the OS's reason).
    ValueError
        If the file is empty, truncated, fails its checksum or cannot be unpickled: the error
        names it, its size and what is wrong. A header whose format is newer than this
        sada-dali reads is reported as "corrupt or was written by a newer sada-dali" (the
        checksum covers the payload, not the header, so a damaged format field cannot be told
        from a newer file for sure); the message says which is likelier.

    Warns
    -----
    UnverifiedCheckpointWarning
        For a file without a checksum (``torch.save``, or ``save_checkpoint`` before it recorded
        one): it loads as before, unverified.
    """
    import torch

    path = os.fspath(path)
    _refuse_directory(path, "checkpoint")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The checkpoint {path!r} does not exist; pass the path of a file written by save_checkpoint()."
        )
    try:
        with open(path, "rb") as handle:
            payload = _payload(path, handle)
    except OSError as exc:
        raise OSError(exc.errno, f"Reading the checkpoint {path!r} failed: {exc.strerror or exc}.") from exc
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=weights_only)
    except Exception as exc:
        if "Weights only load failed" in str(exc):
            raise  # a weights_only refusal, not a bad file
        raise ValueError(
            f"The checkpoint {path!r} ({os.path.getsize(path)} bytes) is truncated or corrupt "
            f"({type(exc).__name__}: {str(exc).strip()}); resume from an earlier checkpoint."
        ) from exc
