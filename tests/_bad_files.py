"""Crafted files that break image decoders, each written under a ``.JPEG`` name as in ImageNet."""

from __future__ import annotations

import io
import os

import numpy as np
from _images import make_image
from PIL import Image

__all__ = [
    "BAD_CONTENT",
    "CRASH_KINDS",
    "DECODER_REJECTS",
    "HEADER_DAMAGE",
    "SCAN_DAMAGE",
    "write_bad_file",
    "write_png16",
]


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
    """The first half of a PNG with its IEND chunk appended (its last chunk runs past the end)."""
    data = _encoded("PNG", 64, 64)
    return data[: len(data) // 2] + data[-12:]


def bomb_header() -> bytes:
    """A small JPEG whose SOF0 frame header declares 30000 x 30000 pixels."""
    data = bytearray(_encoded("JPEG", 32, 32))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2
    return bytes(data)


def _segment(data: bytes, marker: int) -> int:
    """Offset of the first segment with ``marker`` (walking the lengths from SOI)."""
    at = 2
    while data[at + 1] != marker:
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return at


def _patched(at_marker: int, offset: int, value: bytes, **kwargs):
    """A JPEG with ``value`` written ``offset`` bytes after its first ``at_marker`` segment's 0xFF."""

    def make() -> bytes:
        data = bytearray(_encoded("JPEG", quality=90, **kwargs))
        at = _segment(data, at_marker) + offset
        data[at : at + len(value)] = value
        return bytes(data)

    return make


def no_frame_header() -> bytes:
    """A JPEG without its SOF0 segment: the scan comes with no frame header before it."""
    data = _encoded("JPEG", quality=90)
    sof = _segment(data, 0xC0)
    return data[:sof] + data[sof + 2 + int.from_bytes(data[sof + 2 : sof + 4], "big") :]


def short_huffman_segment() -> bytes:
    """A JPEG whose first DHT length field is 2 bytes short: the next marker is not where it says."""
    data = bytearray(_encoded("JPEG", quality=90))
    at = _segment(data, 0xC4)
    data[at + 2 : at + 4] = (int.from_bytes(data[at + 2 : at + 4], "big") - 2).to_bytes(2, "big")
    return bytes(data)


BAD_CONTENT = {
    "header_corrupt": header_corrupt,
    "random_framed": lambda: b"\xff\xd8\xff" + np.random.default_rng(5).bytes(2000) + b"\xff\xd9",
    "empty": lambda: b"",
    "gif": lambda: _encoded("GIF", 32, 32),
    "truncated_png": truncated_png,
    "tables_corrupt": tables_corrupt,
    "bomb_header": bomb_header,
}
# JPEG header damage: the first five fail nvImageCodec's parser, which can crash DALI 2.4's CPU
# decoder at batch 32+; the others fail its decode cleanly. The reader rejects all of them.
HEADER_DAMAGE = {
    "tables_corrupt": tables_corrupt,
    "no_frame_header": no_frame_header,
    "short_huffman_segment": short_huffman_segment,
    "segment_past_the_end": _patched(0xDB, 2, b"\xff\xf0"),
    "two_components": _patched(0xC0, 9, b"\x02"),
    "huffman_overfull": _patched(0xC4, 5, bytes([200] * 16)),
    "quant_table_id": _patched(0xDB, 4, b"\x07"),
    "frame_sampling_zero": _patched(0xC0, 11, b"\x00"),
    "frame_undefined_quant_table": _patched(0xC0, 12, b"\x03"),
    "frame_height_zero": _patched(0xC0, 5, b"\x00\x00"),
    "frame_12_bit": _patched(0xC0, 4, b"\x0c"),
    "scan_unknown_component": _patched(0xDA, 5, b"\x09"),
    "scan_undefined_huffman_table": _patched(0xDA, 6, b"\x33"),
}
CRASH_KINDS = (
    "tables_corrupt",
    "no_frame_header",
    "short_huffman_segment",
    "segment_past_the_end",
    "two_components",
)


def progressive_bad_scan() -> bytes:
    """A progressive JPEG whose first scan asks for coefficients 5 to 2: sound headers, a decode error."""
    data = bytearray(_encoded("JPEG", quality=90, progressive=True))
    at = _segment(data, 0xDA)
    at += 5 + 2 * data[at + 4]  # Ss, Se after the scan's components
    data[at : at + 2] = b"\x05\x02"
    return bytes(data)


def png_bad_data() -> bytes:
    """A PNG whose compressed image data is flipped: sound chunks, a decode error."""
    data = _encoded("PNG", 64, 64)
    at = data.find(b"IDAT") + 4
    return _flipped(data, at + 2, at + 200)


BAD_CONTENT["progressive_bad_scan"] = progressive_bad_scan
BAD_CONTENT["png_bad_data"] = png_bad_data
BAD_CONTENT["scan_flipped"] = scan_flipped  # last: they decode (with a warning), so recovery tests skip them
BAD_CONTENT["scan_truncated"] = scan_truncated
DECODER_REJECTS = ("png_bad_data", "progressive_bad_scan")  # pass every reader check, fail in DALI's decoder
SCAN_DAMAGE = ("scan_flipped", "scan_truncated")  # DALI's decoder only warns: the doctor finds them


def write_bad_file(path, kind: str) -> str:
    """Overwrite ``path`` with the crafted content ``kind`` (a key of :data:`BAD_CONTENT` or
    :data:`HEADER_DAMAGE`)."""
    with open(path, "wb") as handle:
        handle.write({**BAD_CONTENT, **HEADER_DAMAGE}[kind]())
    return os.fspath(path)


def write_png16(path) -> str:
    """A 16-bit grayscale PNG (a legal image DALI decodes) at ``path``."""
    image = make_image(40, 48, seed=9)[..., 0].astype(np.uint16) * 257
    Image.fromarray(image).save(path, format="PNG")
    return os.fspath(path)
