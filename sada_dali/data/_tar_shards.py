"""A ``source`` of WebDataset tar shards: which shards, in which order, and their listing.

"Shard" here (and in the other ``_tar_*`` modules) means one ``.tar`` file of a dataset; the
loader's ``num_shards``/``shard_id`` (:mod:`sada_dali._utils.shards`) split an epoch over ranks.

A source is shards when it is a list or tuple of paths (in the given order), a path with a
brace pattern such as ``/data/imagenet1k-train-{0000..1023}.tar`` (in expansion order), a
single ``.tar`` file, or a folder whose files include ``.tar`` shards and that has no
sub-folder (in sorted name order). Sample ``i`` is the ``i``-th sample of (shards in that
order) x (samples in tar order); see :mod:`sada_dali.data._tar_index`.
"""

from __future__ import annotations

import itertools
import os
import re

import numpy as np

from ._tar_cache import load_index
from .listing import Listing

__all__ = ["expand_braces", "shard_paths", "list_shards"]

_BRACE = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")


def expand_braces(pattern: str) -> list[str]:
    """Expand ``{a..b}`` numeric ranges (zero-padded like their bounds) and ``{x,y}`` lists."""
    match = _BRACE.search(pattern)
    if match is None:
        return [pattern]
    body, head, tail = match.group(1), pattern[: match.start()], pattern[match.end() :]
    numeric = _RANGE.match(body)
    if numeric:
        a, b = numeric.groups()
        width = max(len(a), len(b)) if (a.lstrip("-")[:1] == "0" or b.lstrip("-")[:1] == "0") else 0
        step = 1 if int(b) >= int(a) else -1
        choices = [f"{v:0{width}d}" for v in range(int(a), int(b) + step, step)]
    else:
        choices = body.split(",")
    return [head + c + rest for c, rest in itertools.product(choices, expand_braces(tail))]


def _existing(paths, what: str) -> list[str]:
    paths = [os.path.abspath(os.path.expanduser(os.fspath(p))) for p in paths]
    if not paths:
        raise FileNotFoundError(f"The `source` {what} names no shard; pass at least one .tar file.")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"The `source` {what} names {len(missing)} shard(s) that do not exist, e.g. {missing[0]!r}; "
            "pass existing .tar files."
        )
    if len(set(paths)) != len(paths):
        raise ValueError(f"The `source` {what} names a shard twice; list each shard once.")
    return paths


def shard_paths(source) -> list[str] | None:
    """The absolute shard paths ``source`` names, or None when it is not a shard source."""
    if isinstance(source, (list, tuple)):
        return _existing(source, "list")
    path = os.fspath(source)
    if _BRACE.search(path):
        return _existing(expand_braces(path), f"pattern {path!r}")
    if path.endswith(".tar") and os.path.isfile(path):
        return _existing([path], repr(path))
    if not os.path.isdir(path):
        return None
    entries = list(os.scandir(path))
    tars = sorted(e.name for e in entries if e.name.endswith(".tar") and e.is_file())
    folders = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    if tars and folders:
        raise ValueError(
            f"The `source` {path!r} holds both .tar shards and sub-folders ({folders[0]!r}, ...); pass the "
            "shards as a list or brace pattern, or an ImageFolder without .tar files."
        )
    return [os.path.join(os.path.abspath(path), name) for name in tars] or None


def list_shards(shards: list[str], root: str, *, cache_dir=None, progress: bool = True):
    """The :class:`~sada_dali.data.listing.Listing` of ``shards`` (absolute paths, in order).

    ``files[i]`` is ``"<shard path>:<key>"`` and ``locations[i]`` is ``(shard number, image
    offset, image size)``; the index comes from :func:`sada_dali.data._tar_cache.load_index`.
    """
    indexes = load_index(shards, cache_dir=cache_dir, progress=progress)
    files = tuple(f"{shard}:{key}" for shard, index in zip(shards, indexes) for key in index.keys)
    counts = [len(index.keys) for index in indexes]
    locations = np.empty((len(files), 3), dtype=np.int64)
    locations[:, 0] = np.repeat(np.arange(len(shards), dtype=np.int64), counts)
    locations[:, 1] = np.concatenate([index.offsets for index in indexes])
    locations[:, 2] = np.concatenate([index.sizes for index in indexes])
    labels = np.concatenate([index.labels for index in indexes]).astype(np.int64)
    classes = tuple(str(c) for c in range(int(labels.max()) + 1))
    return Listing(files, labels, classes, root, shards=tuple(shards), locations=locations)
