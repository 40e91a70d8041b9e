"""Write samples as WebDataset tar shards in timm's layout (``<key>.jpg``, ``<key>.cls``, ``<key>.json``).

Members get a fixed mtime, owner and mode, so the same samples give byte-identical shards;
each shard is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import io
import json
import os
import tarfile

__all__ = ["SHARD_NAME", "write_shards"]

SHARD_NAME = "{prefix}-{number:04d}.tar"
"""Shard file names, e.g. ``imagenet1k-train-0000.tar``."""


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), 0, 0o644
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(payload))


def write_shards(samples, root, *, prefix: str, shard_size: int) -> list[str]:
    """Pack ``samples`` into ``root/<prefix>-0000.tar``, ``-0001.tar``, ...

    Parameters
    ----------
    samples : iterable of (str, bytes, str, int, dict)
        ``(key, image_bytes, image_extension, label, json_fields)`` per sample, in order.
    root : str or os.PathLike
        Output folder (created).
    prefix : str
        Shard name prefix.
    shard_size : int
        Samples per shard (the last one may hold fewer).

    Returns
    -------
    list of str
        The shard paths, in order.
    """
    os.makedirs(root, exist_ok=True)
    paths, tar, count, tmp = [], None, 0, None

    def finish():
        tar.close()
        os.replace(tmp, paths[-1])

    for key, image, ext, label, fields in samples:
        if tar is None or count == shard_size:
            if tar is not None:
                finish()
            paths.append(os.path.join(os.fspath(root), SHARD_NAME.format(prefix=prefix, number=len(paths))))
            tmp, count = paths[-1] + ".tmp", 0
            tar = tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT)
        _add(tar, f"{key}.{ext}", image)
        _add(tar, f"{key}.cls", str(int(label)).encode("ascii"))
        _add(tar, f"{key}.json", json.dumps({"label": int(label), **fields}).encode("utf-8"))
        count += 1
    if tar is not None:
        finish()
    return paths
