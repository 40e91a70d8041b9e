"""Crafted files that break image decoders, each written under a ``.JPEG`` name as in ImageNet."""

from __future__ import annotations

import io
import os

import numpy as np
from _images import make_image
from PIL import Image

__all__ = ["BAD_CONTENT", "DECODER_REJECTS", "SCAN_DAMAGE", "write_bad_file", "write_png16"]


def _encoded(fmt: str, height: int = 160, width: int = 160, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(make_image(height, width, seed=7)).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _flipped(data: bytes, start: int, stop: int) -> bytes:
    data = bytearray(data)
    for i in range(start, stop):
        data[i] ^= 0xFF
    return bytes(data)


def header_corrupt() -> bytes:
    """Bytes 150-400 of a JPEG flipped (quantisation tables and frame header); SOI and EOI intact."""
    return _flipped(_encoded("JPEG", quality=90), 150, 400)


def tables_corrupt() -> bytes:
    """The 250 bytes after a JPEG's frame header flipped: its size is readable, its Huffman tables are not."""
    data = _encoded("JPEG", quality=90)
    sof = data.find(b"\xff\xc0")
    end = sof + 2 + int.from_bytes(data[sof + 2 : sof + 4], "big")
    return _flipped(data, end, end + 250)


def _scan(data: bytes) -> tuple[int, int]:
    """``(start, stop)`` of a baseline JPEG's entropy-coded scan (after SOS, before EOI)."""
    sos = data.find(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big"), len(data) - 2


def scan_flipped() -> bytes:
    """200 bytes in the middle of a JPEG's entropy-coded scan flipped (PIL rejects it)."""
    data = _encoded("JPEG", quality=90)
    start, stop = _scan(data)
    middle = (start + stop) // 2
    return _flipped(data, middle, middle + 200)


def scan_truncated() -> bytes:
    """A JPEG cut in the middle of its scan, with an EOI appended: it decodes, libjpeg only warns."""
    data = _encoded("JPEG", quality=90)
    start, stop = _scan(data)
    return data[: (start + stop) // 2] + b"\xff\xd9"


def truncated_png() -> bytes:
    """The first half of a PNG with its IEND chunk appended (passes the reader's framing check)."""
    data = _encoded("PNG", 64, 64)
    return data[: len(data) // 2] + data[-12:]


def bomb_header() -> bytes:
    """A small JPEG whose SOF0 frame header declares 30000 x 30000 pixels."""
    data = bytearray(_encoded("JPEG", 32, 32))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2
    return bytes(data)


BAD_CONTENT = {
    "header_corrupt": header_corrupt,
    "random_framed": lambda: b"\xff\xd8\xff" + np.random.default_rng(5).bytes(2000) + b"\xff\xd9",
    "empty": lambda: b"",
    "gif": lambda: _encoded("GIF", 32, 32),
    "truncated_png": truncated_png,
    "tables_corrupt": tables_corrupt,
    "bomb_header": bomb_header,
    "scan_flipped": scan_flipped,
    "scan_truncated": scan_truncated,
}
DECODER_REJECTS = ("truncated_png", "tables_corrupt")  # pass every reader check, fail in DALI's decoder
SCAN_DAMAGE = ("scan_flipped", "scan_truncated")  # DALI's decoder only warns: the doctor finds them


def write_bad_file(path, kind: str) -> str:
    """Overwrite ``path`` with the crafted content ``kind`` (a key of :data:`BAD_CONTENT`)."""
    with open(path, "wb") as handle:
        handle.write(BAD_CONTENT[kind]())
    return os.fspath(path)


def write_png16(path) -> str:
    """A 16-bit grayscale PNG (a legal image DALI decodes) at ``path``."""
    image = make_image(40, 48, seed=9)[..., 0].astype(np.uint16) * 257
    Image.fromarray(image).save(path, format="PNG")
    return os.fspath(path)
