"""Hand-built tar shards for tests: any members in any order, and headers that lie."""

from __future__ import annotations

import io
import os
import tarfile

__all__ = ["write_tar", "patch_member_size", "read_member"]


def write_tar(path, members) -> str:
    """Write ``members`` (``(name, bytes)`` pairs, in order) as an uncompressed ustar file."""
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(payload), 0
            tar.addfile(info, io.BytesIO(payload))
    return os.fspath(path)


def patch_member_size(path, name: str, size) -> None:
    """Rewrite the size field (and the checksum) of member ``name``'s header: a header that lies
    (``size`` an int), or a garbled field with a valid checksum (``size`` 12 bytes)."""
    with tarfile.open(path) as tar:
        offset = tar.getmember(name).offset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        block = bytearray(handle.read(512))
        block[124:136] = size if isinstance(size, bytes) else b"%011o\0" % size
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
        handle.seek(offset)
        handle.write(block)


def read_member(listing, index: int) -> bytes:
    """Sample ``index``'s encoded bytes from a ``SharedListing``, whether a file or a tar member."""
    from sada_dali.data._packing import EncodedPacker

    return bytes(listing.read_into(index, EncodedPacker())[0])
