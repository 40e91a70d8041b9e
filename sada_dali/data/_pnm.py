"""A structural and mode check of a PNM (PBM, PGM, PPM) header, in microseconds: what DALI cannot decode.

DALI 2.4's CPU decoder hands a PNM to nvImageCodec: its parser reads the magic number, which must
be P1 to P6 followed by white space, and the width and height; OpenCV's decoder then reads the
maximum value and the raster. A header the parser cannot read (P7, no white space after the
magic number, a header cut short, a number too big for an ``int``) can crash the process from a
batch of 32-64 files on, as in :mod:`sada_dali.data._jpeg`; a raster cut short, a zero size or
maximum value, or a comment glued to a number fails cleanly. DALI cannot read ASCII graymaps and
pixmaps (P2, P3), nor P1 bitmaps whose pixels are not separated by white space, and it does not
rescale samples whose maximum value is other than 255 or 65535: a maxval of 1, 15 or 4095 decodes
dark. :func:`pnm_problem` finds all of them from the header and the raster's length (P1: its
characters); the raster is not decoded.
"""

from __future__ import annotations

__all__ = ["pnm_problem"]

_SPACE = b" \t\n\v\f\r"  # C's isspace, as nvImageCodec's parser tests it
_DIGITS = b"0123456789"
_MAX_HEADER = 4096
_MAX_DIGITS = 9  # nvImageCodec's parser reads the numbers into an int
_MAXVALS = (255, 65535)  # DALI rescales no other maximum value
_FIELDS = {b"1": 2, b"2": 3, b"3": 3, b"4": 2, b"5": 3, b"6": 3}
_NAMES = ("width", "height", "maximum value")
_FIX = "convert it to a binary PGM/PPM with a maximum value of 255, or to PNG"


def pnm_problem(data: bytes) -> str | None:
    """``None`` if DALI decodes a PNM as it means, else what is wrong with it (one phrase).

    Parameters
    ----------
    data : bytes-like
        The whole file, starting with ``P`` and the format digit.

    Returns
    -------
    str or None
        ``"corrupt PNM (...)"`` or ``"truncated PNM (...)"`` for damage, ``"unsupported PNM mode
        (...); <fix>"`` for a valid file DALI cannot decode or decodes wrongly, ``None`` otherwise.

    Notes
    -----
    Checked: P1 to P6 (P7, PAM, is unsupported) followed by white space; the width, height and
    (but for P1 and P4) maximum value as decimal numbers of at most 9 digits, separated by white
    space and comments, none glued to a comment; the header within 4096 bytes; a non-zero size;
    a maximum value of 255 or 65535; binary formats: the raster's bytes present after the one
    white space that ends the header; ASCII: P1 only, its pixels 0 or 1, separated by white
    space, all present.
    """
    data = bytes(data)
    size = len(data)
    if size < 3:
        return f"truncated PNM ({size} bytes, less than its magic number)"
    kind = data[1:2]
    if kind == b"7":
        return f"unsupported PNM mode (P7, a PAM file, which DALI's parser rejects); {_FIX}"
    if data[:1] != b"P" or kind not in _FIELDS:
        return f"corrupt PNM header (magic number {data[:2]!r})"
    if data[2] not in _SPACE:
        return "corrupt PNM header (no white space after its magic number)"
    header = _header(data, _FIELDS[kind])
    if isinstance(header, str):
        return header
    values, start = header
    width, height = values[:2]
    if width == 0 or height == 0:
        return f"corrupt PNM header (an image of {width} x {height} pixels)"
    maxval = values[2] if len(values) == 3 else 255  # bitmaps have none
    if maxval == 0 or maxval > 65535:
        return f"corrupt PNM header (a maximum value of {maxval})"
    if kind in (b"2", b"3"):
        return f"unsupported PNM mode (ASCII P{kind.decode()}, which DALI's decoder cannot read); {_FIX}"
    if maxval not in _MAXVALS:
        return f"unsupported PNM mode (a maximum value of {maxval}, which DALI does not rescale); {_FIX}"
    if kind == b"1":
        return _ascii_bitmap_problem(data[start:], width * height)
    if kind == b"4":
        needed = (width + 7) // 8 * height
    else:
        needed = width * height * (3 if kind == b"6" else 1) * (2 if maxval > 255 else 1)
    if size - start < needed:
        return (
            f"truncated PNM (its raster needs {needed} bytes after byte {start}, the file has {size - start})"
        )
    return None


def _header(data: bytes, count: int):
    """``(numbers, raster start)`` of a PNM header of ``count`` numbers, or the problem."""
    values, at, end = [], 3, min(len(data), _MAX_HEADER)
    while len(values) < count:
        if at >= end:
            if end == _MAX_HEADER:
                return f"corrupt PNM header (longer than {_MAX_HEADER} bytes)"
            return f"truncated PNM (its header ends before its {_NAMES[len(values)]})"
        byte = data[at]
        if byte in _SPACE:
            at += 1
        elif byte == 0x23:  # "#": a comment runs to the end of its line
            newline = data.find(b"\n", at, end)
            if newline < 0:
                at = end
                continue
            at = newline + 1
        elif byte in _DIGITS:
            start = at
            while at < end and data[at] in _DIGITS:
                at += 1
            if at - start > _MAX_DIGITS:
                return f"corrupt PNM header (its {_NAMES[len(values)]} has {at - start} digits)"
            if at < end and data[at] == 0x23:
                return f"corrupt PNM header (a comment glued to its {_NAMES[len(values)]})"
            values.append(int(data[start:at]))
        else:
            return f"corrupt PNM header (byte 0x{byte:02X} at {at}, where its {_NAMES[len(values)]} must be)"
    if at >= len(data):
        return "truncated PNM (no raster after its header)"
    if data[at] not in _SPACE:
        return f"corrupt PNM header (byte 0x{data[at]:02X} at {at} after its last number, not white space)"
    return values, at + 1


def _ascii_bitmap_problem(raster: bytes, pixels: int) -> str | None:
    if b"#" in raster:
        raster = b"\n".join(line.split(b"#", 1)[0] for line in raster.split(b"\n"))
    if raster.translate(None, b"01" + _SPACE):
        return "corrupt PNM (a P1 raster with characters other than 0, 1 and white space)"
    if any(pair in raster for pair in (b"00", b"01", b"10", b"11")):
        return (
            f"unsupported PNM mode (P1 pixels not separated by white space, which DALI cannot read); {_FIX}"
        )
    found = raster.count(b"0") + raster.count(b"1")
    if found < pixels:
        return f"truncated PNM (its P1 raster has {found} of {pixels} pixels)"
    return None
