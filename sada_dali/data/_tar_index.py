"""One tar shard's samples found by walking its 512-byte headers (image bytes are never read).

A sample is the group of members sharing a key (the member path without its last
extension), in order of the key's first member. Its image is the member with an extension in
:data:`SHARD_IMAGE_EXTENSIONS`; its label is the ``.cls`` member (ASCII integer) or else the
``"label"`` of the ``.json`` member. Only the headers and those small label members are read,
each with one ``os.pread``; the header checksums are verified together at the end of the walk.
Everything wrong with a shard raises a :class:`ShardError` naming the shard (and the key).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["SHARD_IMAGE_EXTENSIONS", "ShardError", "ShardIndex", "scan_shard"]

SHARD_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
"""Extensions of a sample's image member, matched case-insensitively."""

_BLOCK = 512
_ZERO = bytes(_BLOCK)
_FILE_TYPES = (b"0", b"\0", b"7")  # regular files; directories, links and devices are skipped
_MAX_LABEL_BYTES = 1 << 20
_CHECK_EVERY = 4096  # headers whose checksums are verified in one vectorised pass


class ShardError(ValueError):
    """A tar shard that cannot be indexed: the message names the shard, the key and the fix."""


@dataclass(frozen=True)
class ShardIndex:
    """The samples of one shard in tar order.

    Attributes
    ----------
    keys : tuple of str
        Sample keys.
    offsets, sizes : numpy.ndarray
        (n,) int64 byte offset and length of each sample's image in the shard file.
    labels : numpy.ndarray
        (n,) int64 class indices.
    """

    keys: tuple[str, ...]
    offsets: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray


def _number(field: bytes) -> int:
    if field[:1] == b"\x80":  # GNU base-256 for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    return int(field.strip(b"\0 ") or b"0", 8)


def _pax_records(data: bytes) -> dict[str, str]:
    records, pos = {}, 0
    while pos < len(data):
        length = int(data[pos : data.index(b" ", pos)])
        key, _, value = data[data.index(b" ", pos) + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _members(fd: int, shard: str, file_size: int):
    """Yield ``(name, data_offset, size)`` of each regular member; return the header offsets."""
    pos, name_override, size_override, headers, previous = 0, None, None, [], None
    while True:
        block = os.pread(fd, _BLOCK, pos)
        if len(block) < _BLOCK:
            raise ShardError(
                f"The shard {shard!r} is truncated: it ends at byte {file_size} "
                + (
                    f"inside the header after member {previous!r}"
                    if block
                    else "without the end-of-archive marker"
                )
                + "; download or write it again."
            )
        if block == _ZERO:
            return headers
        headers.append((pos, block, previous))
        if len(headers) >= _CHECK_EVERY:
            _check_headers(headers, shard)
            headers.clear()
        try:
            size = _number(block[124:136]) if size_override is None else size_override
            name = block[:100].split(b"\0", 1)[0]
            if block[257:262] == b"ustar" and block[345:346] != b"\0":
                name = block[345:500].split(b"\0", 1)[0] + b"/" + name
        except ValueError:
            _check_headers(headers, shard)  # a header with a garbled size field fails its checksum
            raise ShardError(
                f"The shard {shard!r} has a malformed tar header at byte {pos}; download or write it again."
            ) from None
        data, kind = pos + _BLOCK, block[156:157]
        if data + size > file_size:
            _check_headers(headers, shard)
            raise ShardError(
                f"The shard {shard!r} is truncated or the header of member {name.decode(errors='replace')!r} "
                f"lies about its size: it needs bytes up to {data + size}, the file has {file_size}; "
                "download or write it again."
            )
        if kind in (b"L", b"x"):
            extra = os.pread(fd, size, data)
            if kind == b"L":
                name_override = extra.rstrip(b"\0").decode("utf-8", "surrogateescape")
            else:
                records = _pax_records(extra)
                name_override = records.get("path", name_override)
                size_override = int(records["size"]) if "size" in records else None
        elif kind != b"g":
            if kind in _FILE_TYPES:
                previous = name_override or name.decode("utf-8", "surrogateescape")
                yield previous, data, size
            name_override = size_override = None
        pos = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK


def _check_headers(headers, shard: str) -> None:
    """Verify every header's checksum at once (the walk followed the sizes they declare)."""
    if not headers:
        return
    blocks = np.frombuffer(b"".join(block for _, block, _ in headers), dtype=np.uint8).reshape(-1, _BLOCK)
    sums = blocks.sum(axis=1, dtype=np.int64) - blocks[:, 148:156].sum(axis=1, dtype=np.int64) + 8 * 32
    for (pos, block, previous), total in zip(headers, sums):
        try:
            ok = _number(block[148:156]) == total
        except ValueError:
            ok = False
        if not ok:
            after = f" after member {previous!r} (whose header may lie about its size)" if previous else ""
            raise ShardError(
                f"The shard {shard!r} has a corrupt tar header at byte {pos}{after}; "
                "it is not a tar file or was damaged: download or write it again."
            )


def _label(fd: int, shard: str, key: str, member) -> int:
    ext, offset, size = member
    if size > _MAX_LABEL_BYTES:
        raise ShardError(
            f"The shard {shard!r} sample {key!r}: its .{ext} member is {size} bytes, not a label."
        )
    text = os.pread(fd, size, offset)
    try:
        value = json.loads(text)["label"] if ext == "json" else int(text.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(value)
        return value
    except (ValueError, KeyError, TypeError):
        what = 'a "label" that is' if ext == "json" else "the class index as"
        raise ShardError(
            f"The shard {shard!r} sample {key!r}: its .{ext} member must hold {what} a non-negative "
            f"integer, got {text[:40]!r}."
        ) from None


def _group(members, shard: str) -> dict[str, dict[str, tuple[int, int]]]:
    samples: dict[str, dict[str, tuple[int, int]]] = {}
    for name, offset, size in members:
        key, dot, ext = name.rpartition(".")
        if not dot or "/" in ext:
            continue  # no extension: not part of any sample
        parts = samples.setdefault(key, {})
        ext = ext.lower()
        if ext in parts:
            raise ShardError(
                f"The shard {shard!r} has the key {key!r} twice (member {name!r}); keys must be unique."
            )
        parts[ext] = (offset, size)
    return samples


def _sample(fd: int, shard: str, key: str, parts: dict) -> tuple[int, int, int]:
    images = [ext for ext in parts if ext in SHARD_IMAGE_EXTENSIONS]
    if len(images) != 1:
        found = "no image member" if not images else f"{len(images)} image members ({', '.join(images)})"
        raise ShardError(
            f"The shard {shard!r} sample {key!r} has {found}; a sample needs exactly one "
            f"{'/'.join(SHARD_IMAGE_EXTENSIONS)} member."
        )
    for ext in ("cls", "json"):
        if ext in parts:
            label = _label(fd, shard, key, (ext, *parts[ext]))
            return (*parts[images[0]], label)
    raise ShardError(
        f"The shard {shard!r} sample {key!r} has no label: add a {key}.cls member (the class index "
        f'as ASCII text) or a {key}.json member with a "label".'
    )


def scan_shard(path: str) -> ShardIndex:
    """Index the samples of the tar shard ``path`` from its headers.

    Raises
    ------
    ShardError
        On an unreadable or truncated shard, a corrupt header (one that lies about its size),
        a duplicate key, a sample with no or two images, or a missing or malformed label.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise ShardError(f"The shard {path!r} cannot be read ({exc.strerror or exc}).") from None
    try:
        file_size = os.fstat(fd).st_size
        walk = _members(fd, path, file_size)
        members = []
        while True:
            try:
                members.append(next(walk))
            except StopIteration as done:
                _check_headers(done.value, path)
                break
        samples = _group(members, path)
        rows = [_sample(fd, path, key, parts) for key, parts in samples.items()]
    except OSError as exc:
        raise ShardError(f"The shard {path!r} cannot be read ({exc.strerror or exc}).") from None
    finally:
        os.close(fd)
    if not rows:
        raise ShardError(f"The shard {path!r} holds no sample (no image member); remove it from the source.")
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return ShardIndex(tuple(samples), table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())
