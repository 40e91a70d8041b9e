"""A structural and mode check of a BMP, in microseconds: what DALI cannot decode, or decodes wrongly.

DALI 2.4's CPU decoder hands a BMP to nvImageCodec: its parser reads the DIB header and palette
and counts the channels, then its BMP decoder (or OpenCV's) decodes the rows. A file whose
header the parser cannot read or whose mode it has no channel count for (a DIB header of an
unknown size, a file cut inside it, 16 bits per pixel without bitfields, RLE4, a JPEG or PNG
inside the BMP, alpha bitfields, more colours than the pixel depth holds) can crash the process
from a batch of 32-64 files on, as in :mod:`sada_dali.data._jpeg`; other damage (rows or RLE data
past the end of the file, RLE runs past the end of a row) fails cleanly. Some valid modes decode
to wrong pixels: bitfields other than 8-8-8, 5-6-5 and 5-5-5, a two-colour black-and-white
palette on 4- or 8-bit pixels (decoded all white), a one-colour palette on 1-bit pixels.
:func:`bmp_problem` finds all of them from the headers, the palette and, for RLE8, a walk of the
run-length codes; uncompressed rows are only located.
"""

from __future__ import annotations

import struct

__all__ = ["bmp_problem"]

_HEADERS = frozenset((12, 40, 52, 56, 64, 108, 124))  # core, info, v2, v3, OS/2 v2, v4, v5
_MAX_SIDE = 1 << 20
_MASKS = {
    16: ((0xF800, 0x07E0, 0x001F), (0x7C00, 0x03E0, 0x001F)),  # 5-6-5 and 5-5-5
    32: ((0xFF0000, 0xFF00, 0xFF),),  # 8-8-8, any alpha mask
}
_RGB, _RLE8, _RLE4, _BITFIELDS = 0, 1, 2, 3
_EMBEDDED = {4: "a JPEG inside the BMP", 5: "a PNG inside the BMP", 6: "alpha bitfields"}
_BLACK_WHITE = b"\x00\x00\x00", b"\xff\xff\xff"
_FIX = "convert it to a 24-bit BMP or PNG"
_FIX_1 = "re-save it with a two-colour palette, or convert it to PNG"
_NIBBLE_MAX = bytes(max(byte >> 4, byte & 15) for byte in range(256))


def bmp_problem(data: bytes) -> str | None:
    """``None`` if DALI decodes a BMP as it means, else what is wrong with it (one phrase).

    Parameters
    ----------
    data : bytes-like
        The whole file, starting with ``BM``.

    Returns
    -------
    str or None
        ``"corrupt BMP (...)"`` or ``"truncated BMP (...)"`` for damage, ``"unsupported BMP mode
        (...); <fix>"`` for a valid file DALI cannot decode or decodes wrongly, ``None`` otherwise.

    Notes
    -----
    Checked: a DIB header of a known size, inside the file; a width of 1 to 2**20 and a height
    of 1 to 2**20 either way up; a pixel depth and compression DALI decodes (uncompressed 1, 4, 8,
    24 or 32 bits; RLE8; bitfields at 16 or 32 bits with the masks it decodes right); a palette
    of at most 2**bits colours, not a two-colour black-and-white one on uncompressed 4- or 8-bit
    pixels; the pixel data offset after the headers and inside the file; every uncompressed row
    (padded to 4 bytes) inside the file; RLE8 codes that stay inside their row and the file up
    to the last row or the end-of-bitmap code, and the whole palette before the pixel data. When
    the offset leaves room for fewer colours than the palette has (DALI reads the rest from the
    pixels), and for a one-colour palette on 1-bit pixels (DALI misreads index 1), the rows are
    scanned (``bytes.translate`` and ``max``, in C) for an index past the colours present. The
    planes field is not looked at (DALI ignores it), nor are indices past a palette that is all
    there (DALI and PIL both decode them as black).
    """
    data = bytes(data)
    size = len(data)
    if size < 18:
        return f"truncated BMP ({size} bytes, less than its file and DIB headers)"
    offset, header = struct.unpack_from("<II", data, 10)
    if header not in _HEADERS:
        return f"corrupt BMP (a DIB header of {header} bytes)"
    if 14 + header > size:
        return f"truncated BMP (its {header}-byte DIB header runs past the end of the {size}-byte file)"
    if header == 12:
        width, height, _, bits = struct.unpack_from("<HHHH", data, 18)
        compression, colours, entry = _RGB, 0, 3
        if bits not in (1, 4, 8, 24):
            return f"corrupt BMP ({bits} bits per pixel in a core header)"
    else:
        width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
        colours, entry = struct.unpack_from("<I", data, 46)[0], 4
    if not 0 < width <= _MAX_SIDE or not 0 < abs(height) <= _MAX_SIDE:
        return f"corrupt BMP (an image of {width} x {height} pixels)"
    height = abs(height)  # negative: stored top-down
    problem = _mode_problem(data, bits, compression)
    if problem is not None:
        return problem
    start = 14 + header + (12 if compression == _BITFIELDS and header == 40 else 0)
    colours_present = count = None
    if bits <= 8:
        problem = _palette_problem(data, bits, colours, entry, start, compression)
        if problem is not None:
            return problem
        count = colours or 1 << bits
        colours_present = min(max(offset - start, 0) // entry, count)
        if colours_present < count and compression != _RGB:
            return f"corrupt BMP (a palette of {count} colours, room for {colours_present} before the pixels)"
        start += entry * colours_present
    if start > size:
        return f"truncated BMP (its headers and palette run past the end of the {size}-byte file)"
    if offset < start:
        return f"corrupt BMP (pixel data at byte {offset}, inside its headers)"
    if offset >= size:
        kind = "truncated" if offset == size else "corrupt"
        return f"{kind} BMP (pixel data at byte {offset}, outside the {size}-byte file)"
    if compression == _RLE8:
        return _rle8_problem(data, offset, width, height)
    needed = (width * bits + 31) // 32 * 4 * height
    if offset + needed > size:
        return (
            f"truncated BMP (its {height} rows need {needed} bytes from byte {offset}, past the end of the "
            f"{size}-byte file)"
        )
    if count is not None and (colours_present < count or (bits == 1 and count == 1)):
        return _index_problem(data[offset : offset + needed], bits, colours_present)
    return None


def _index_problem(pixels: bytes, bits: int, present: int) -> str | None:
    # a palette cut short by the pixel data offset: DALI reads the missing colours from the
    # pixels, so every index must fall in the colours present (row padding counts as pixels);
    # and a one-colour palette: DALI misreads index 1 of 1-bit pixels (PIL decodes it black)
    if bits == 4:
        pixels = pixels.translate(_NIBBLE_MAX)
    elif bits == 1:
        pixels = b"\x01" if pixels.strip(b"\x00") else b"\x00"
    largest = max(pixels, default=0)
    if largest < present:
        return None
    if present == 1 and bits == 1:
        why = "1-bit pixels set with a one-colour palette, which DALI misreads"
        return f"unsupported BMP mode ({why}); {_FIX_1}"
    return f"corrupt BMP (pixel index {largest} past the {present} palette colours before the pixel data)"


def _mode_problem(data: bytes, bits: int, compression: int) -> str | None:
    if compression == _RGB:
        if bits == 16:
            return f"unsupported BMP mode (16-bit pixels without bitfields, which DALI cannot decode); {_FIX}"
        if bits == 2:
            return f"unsupported BMP mode (2-bit pixels, which DALI cannot decode); {_FIX}"
        return None if bits in (1, 4, 8, 24, 32) else f"corrupt BMP ({bits} bits per pixel)"
    if compression == _RLE8:
        return None if bits == 8 else f"corrupt BMP (RLE8 compression with {bits} bits per pixel)"
    if compression == _RLE4:
        return f"unsupported BMP mode (RLE4 compression, which DALI cannot decode); {_FIX}"
    if compression == _BITFIELDS:
        if bits not in _MASKS:
            return f"corrupt BMP (bitfields with {bits} bits per pixel)"
        if len(data) < 66:
            return f"truncated BMP (its bitfield masks run past the end of the {len(data)}-byte file)"
        masks = struct.unpack_from("<III", data, 54)
        if masks not in _MASKS[bits]:
            shown = ", ".join(f"0x{mask:X}" for mask in masks)
            return f"unsupported BMP mode (bitfield masks {shown}, which DALI decodes wrongly); {_FIX}"
        return None
    if compression in _EMBEDDED:
        return f"unsupported BMP mode ({_EMBEDDED[compression]}, which DALI cannot decode); {_FIX}"
    return f"corrupt BMP (compression {compression})"


def _palette_problem(data: bytes, bits: int, colours: int, entry: int, start: int, compression: int):
    if colours > 1 << bits:
        return f"corrupt BMP (a palette of {colours} colours for {bits}-bit pixels)"
    if colours == 2 and bits in (4, 8) and compression == _RGB:
        first, second = data[start : start + 3], data[start + entry : start + entry + 3]
        if (first, second) == _BLACK_WHITE:
            return (
                f"unsupported BMP mode (a black-and-white two-colour palette on {bits}-bit pixels, which "
                "DALI decodes as all white); convert it to a 1-bit or 24-bit BMP, or to PNG"
            )
    return None


def _rle8_problem(data: bytes, at: int, width: int, height: int) -> str | None:
    # the walk nvImageCodec's and OpenCV's RLE8 decoders make: runs and absolute runs must stay
    # in their row; a delta may leave the image (it ends the walk); the data must reach the last
    # row or an end-of-bitmap code
    size, x, y = len(data), 0, 0
    while y < height:
        if at + 2 > size:
            return f"truncated BMP (its RLE8 data ends at row {y} of {height})"
        count, value = data[at], data[at + 1]
        at += 2
        if count:
            x += count
            if x > width:
                return f"corrupt BMP (an RLE8 run past the end of row {y})"
        elif value == 0:
            x, y = 0, y + 1
        elif value == 1:
            return None
        elif value == 2:
            if at + 2 > size:
                return f"truncated BMP (its RLE8 data ends at row {y} of {height})"
            x, y = x + data[at], y + data[at + 1]
            at += 2
        else:
            x += value
            if x > width:
                return f"corrupt BMP (an RLE8 absolute run past the end of row {y})"
            at += value + (value & 1)
    return None
