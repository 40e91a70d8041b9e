"""The cached index of a set of tar shards: built once, checked on load, rebuilt where stale.

One ``.npz`` file per ordered set of shards holds each shard's size and mtime and its
samples' keys, image offsets, sizes and labels. It lives next to the shards when that folder
is writable, else in ``<cache dir>/shard-index``. On load the file must be readable and
self-consistent and every shard's size and mtime must match; a shard that changed (or is new
to the set) is scanned again, the others are reused, and the file is rewritten.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import numpy as np
from tqdm.auto import tqdm

from ._tar_index import ShardError, ShardIndex, scan_shard

__all__ = ["INDEX_VERSION", "index_path", "load_index"]

INDEX_VERSION = 1
_PROGRESS_FROM = 8  # shards to scan before a progress bar is shown


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ShardError(f"The shard {path!r} cannot be read ({exc.strerror or exc}).") from None
    return st.st_size, st.st_mtime_ns


def index_path(shards: list[str], cache_dir=None) -> str:
    """Where the index of ``shards`` (absolute paths, in order) is cached."""
    digest = hashlib.sha256("\n".join(shards).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    folder = os.path.commonpath([os.path.dirname(s) for s in shards])
    if cache_dir is None and os.access(folder, os.W_OK):
        return os.path.join(folder, f".sada-dali-index-{digest}.npz")
    if cache_dir is None:
        from .synthetic import default_cache_dir

        cache_dir = default_cache_dir()
    return os.path.join(os.fspath(cache_dir), "shard-index", f"{digest}.npz")


def _read(path: str, shards: list[str]) -> dict[str, tuple[tuple[int, int], ShardIndex]]:
    """The usable per-shard entries of the cache file (empty when it is missing or broken)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
        if int(data["version"]) != INDEX_VERSION:
            return {}
        names, stats, counts = [str(s) for s in data["shards"]], data["stats"], data["counts"]
        ends = data["key_ends"]
        n = int(counts.sum())
        if (
            len(names) != len(stats)
            or len(names) != len(counts)
            or not all(len(data[k]) == n for k in ("offsets", "sizes", "labels", "key_ends"))
        ):
            return {}
        blob = data["key_blob"].tobytes().decode("utf-8", "surrogateescape")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}
    entries, first, wanted = {}, 0, set(shards)
    starts = np.concatenate([[0], ends])
    for name, stat, count in zip(names, stats, counts):
        rows = slice(first, first + int(count))
        keys = tuple(blob[a:b] for a, b in zip(starts[rows], starts[first + 1 : first + int(count) + 1]))
        offsets, sizes = data["offsets"][rows], data["sizes"][rows]
        if name in wanted and count > 0 and int((offsets + sizes).max()) <= int(stat[0]):
            entries[name] = (
                (int(stat[0]), int(stat[1])),
                ShardIndex(keys, offsets, sizes, data["labels"][rows]),
            )
        first += int(count)
    return entries


def _write(path: str, shards: list[str], stats, indexes: list[ShardIndex]) -> None:
    keys = [key.encode("utf-8", "surrogateescape") for index in indexes for key in index.keys]
    arrays = {
        "version": np.int64(INDEX_VERSION),
        "shards": np.asarray(shards),
        "stats": np.asarray(stats, dtype=np.int64).reshape(-1, 2),
        "counts": np.asarray([len(index.keys) for index in indexes], dtype=np.int64),
        "offsets": np.concatenate([index.offsets for index in indexes]),
        "sizes": np.concatenate([index.sizes for index in indexes]),
        "labels": np.concatenate([index.labels for index in indexes]),
        "key_ends": np.cumsum([len(key) for key in keys], dtype=np.int64),
        "key_blob": np.frombuffer(b"".join(keys), dtype=np.uint8),
    }
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # an index that cannot be cached is rebuilt next time


def load_index(shards: list[str], *, cache_dir=None, progress: bool = True) -> list[ShardIndex]:
    """The index of each of ``shards`` (absolute paths), from the cache where it is current.

    Returns
    -------
    list of ShardIndex
        One per shard, in order.
    """
    path = index_path(shards, cache_dir)
    cached = _read(path, shards) if os.path.exists(path) else {}
    stats = [_stat(shard) for shard in shards]
    todo = [s for s, stat in zip(shards, stats) if s not in cached or cached[s][0] != stat]
    scanned = {}
    bar = tqdm(
        todo,
        desc="indexing shards",
        unit="shard",
        disable=(not progress or len(todo) < _PROGRESS_FROM) or None,
    )
    for shard in bar:
        scanned[shard] = scan_shard(shard)
    indexes = [scanned[s] if s in scanned else cached[s][1] for s in shards]
    if todo:
        _write(path, shards, stats, indexes)
    return indexes
