"""Image sizes from file headers, without decoding.

:func:`image_size` reads the width and height of JPEG, PNG, GIF, BMP, WebP, TIFF and PNM
files. The size is the one DALI's decoders output: they apply the EXIF orientation
(``adjust_orientation=True`` by default), so an orientation of 5 to 8 (a quarter turn) swaps
width and height. The orientation is read as DALI applies it: from a JPEG's last APP1 Exif
segment before the scan, a PNG's ``eXIf`` chunk (anywhere before IEND, and not with an
``Exif\0\0`` prefix, which DALI ignores), a WebP's ``EXIF`` chunk (by the same rule) and a
TIFF's own tag 274.

Any input is safe: truncated or malformed data gives ``None``, never an exception, and
every loop advances through the data or is capped, so the time is bounded by its length.
"""

from __future__ import annotations

__all__ = [
    "image_format",
    "image_size",
    "jpeg_segments",
    "exif_orientation",
    "oriented",
    "png_exif",
    "webp_exif",
]

_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01, 0xD8}  # RSTn, TEM, SOI: no length field
_MAX_IFD_ENTRIES = 4096
_MAX_PNM_HEADER = 4096


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of an encoded image as DALI decodes it, or ``None`` if unknown.

    Parameters
    ----------
    data : bytes-like
        The file's bytes (its beginning suffices for most formats; a TIFF's first IFD may
        lie anywhere in the file).

    Returns
    -------
    tuple of int or None
        Positive width and height, swapped for EXIF orientations 5-8; ``None`` for an
        unknown format, a malformed or truncated header, or a zero size.
    """
    data = bytes(data)
    size = _parse(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def image_format(data) -> str | None:
    """The format an encoded image's magic bytes announce: "jpeg", "png", "gif", "bmp", "webp",
    "tiff" or "pnm"; ``None`` for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == _PNG:
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:1] == b"P" and data[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6"):
        return "pnm"
    return None


def _parse(data: bytes):
    kind = image_format(data)
    return None if kind is None else _PARSERS[kind](data)


def _gif(data: bytes):
    return (_u16(data, 6, "<"), _u16(data, 8, "<")) if len(data) >= 10 else None


def _tiff(data: bytes):
    tags = _tiff_tags(data, 0, (256, 257, 274))
    if tags is None or 256 not in tags or 257 not in tags:
        return None
    return oriented(tags[256], tags[257], tags.get(274))


def _u16(data: bytes, at: int, order: str) -> int:
    return int.from_bytes(data[at : at + 2], "big" if order == ">" else "little")


def _u32(data: bytes, at: int, order: str) -> int:
    return int.from_bytes(data[at : at + 4], "big" if order == ">" else "little")


def oriented(width: int, height: int, orientation) -> tuple[int, int]:
    """``(width, height)`` as DALI decodes them: swapped for an EXIF ``orientation`` of 5 to 8."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def exif_orientation(exif: bytes):
    """Orientation tag of an EXIF block (TIFF-structured, optionally after ``Exif\\0\\0``)."""
    exif = bytes(exif)
    if exif[:6] == b"Exif\x00\x00":
        exif = exif[6:]
    tags = _tiff_tags(exif, 0, (274,))
    return None if tags is None else tags.get(274)


def _tiff_tags(data: bytes, base: int, wanted) -> dict | None:
    """Integer values of the ``wanted`` tags of the first IFD of the TIFF structure at ``base``."""
    order = {b"II": "<", b"MM": ">"}.get(data[base : base + 2])
    if order is None or _u16(data, base + 2, order) != 42 or len(data) < base + 8:
        return None
    ifd = base + _u32(data, base + 4, order)
    if ifd + 2 > len(data):
        return None
    count = min(_u16(data, ifd, order), _MAX_IFD_ENTRIES)
    tags = {}
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(data) - 11), 12):
        tag, kind = _u16(data, entry, order), _u16(data, entry + 2, order)
        if tag in wanted and kind in (3, 4):  # SHORT or LONG, stored inline
            tags[tag] = _u16(data, entry + 8, order) if kind == 3 else _u32(data, entry + 8, order)
    return tags


def jpeg_segments(data: bytes):
    """Walk a JPEG's marker segments from after SOI up to its first start of scan.

    Yields ``(marker, at, length)``: the marker byte, the offset of its 0xFF and the
    segment's length field (None for the markers that have none: RSTn, TEM, SOI). Fill
    bytes (0xFF) before a marker are skipped. SOS is the last one yielded; data that is not a
    marker where one must be, or that ends first, yields ``(None, at, None)`` and stops.
    """
    at, end = 2, len(data)
    while at + 4 <= end:
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            yield marker, at, None
            at += 2
            continue
        length = data[at + 2] << 8 | data[at + 3]
        yield marker, at, length
        if marker == 0xDA or length < 2:
            return
        at += 2 + length
    yield None, at, None


def _jpeg(data: bytes):
    # DALI applies the orientation of the last Exif segment before the scan, wherever the
    # frame header is (inspect_jpeg refuses files whose Exif segments disagree)
    size, orientation = None, None
    for marker, at, length in jpeg_segments(data):
        if marker in (None, 0xD9) or (length is not None and length < 2):
            return None  # malformed, or end of image before the scan
        if marker == 0xDA:
            return None if size is None else oriented(*size, orientation)
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            size = _u16(data, at + 7, ">"), _u16(data, at + 5, ">")
        if marker == 0xE1 and data[at + 4 : at + 10] == b"Exif\x00\x00":
            orientation = exif_orientation(data[at + 4 : at + 2 + length]) or 1
    return None


def png_exif(data: bytes) -> bytes | None:
    """The body of a PNG's ``eXIf`` chunk, before or after the image data, or None."""
    at = 8
    while at + 8 <= len(data):
        length, kind = _u32(data, at, ">"), data[at + 4 : at + 8]
        if kind == b"eXIf":
            return data[at + 8 : at + 8 + length]
        if kind == b"IEND":
            break
        at += 12 + length
    return None


def _png(data: bytes):
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return oriented(_u32(data, 16, ">"), _u32(data, 20, ">"), _chunk_orientation(png_exif(data)))


def _bmp(data: bytes):
    if len(data) < 26:
        return None
    if _u32(data, 14, "<") == 12:  # BITMAPCOREHEADER: 16-bit sizes
        return _u16(data, 18, "<"), _u16(data, 20, "<")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)  # negative: stored top-down
    return width, abs(height)


def _webp(data: bytes):
    kind, size = None, None
    if len(data) >= 30:
        kind = data[12:16]
    if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        size = _u16(data, 26, "<") & 0x3FFF, _u16(data, 28, "<") & 0x3FFF
    elif kind == b"VP8L" and data[20] == 0x2F:
        bits = _u32(data, 21, "<")
        size = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif kind == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return oriented(width, height, _chunk_orientation(webp_exif(data)) if data[20] & 0x08 else None)
    return size


def webp_exif(data: bytes) -> bytes | None:
    """The body of a WebP's ``EXIF`` chunk, or None."""
    at = 12
    while at + 8 <= len(data):
        length = _u32(data, at + 4, "<")
        if data[at : at + 4] == b"EXIF":
            return data[at + 8 : at + 8 + length]
        at += 8 + length + (length & 1)  # chunks are padded to even sizes
    return None


def _chunk_orientation(exif: bytes | None):
    # DALI reads a PNG eXIf or WebP EXIF chunk only as the standards write it, without the
    # "Exif\0\0" prefix of a JPEG's APP1 segment; it ignores a prefixed one
    return None if exif is None or exif[:6] == b"Exif\x00\x00" else exif_orientation(exif)


def _pnm(data: bytes):
    fields, at, end = [], 2, min(len(data), _MAX_PNM_HEADER)
    while len(fields) < 2 and at < end:
        char = data[at : at + 1]
        if char == b"#":
            newline = data.find(b"\n", at, end)
            at = end if newline < 0 else newline + 1
        elif char.isspace():
            at += 1
        elif char.isdigit():
            start = at
            while at < end and data[at : at + 1].isdigit():
                at += 1
            if at == end:  # the number may go on past what we have
                return None
            fields.append(int(data[start:at]))
        else:
            return None
    return tuple(fields) if len(fields) == 2 else None


_PARSERS = {"jpeg": _jpeg, "png": _png, "gif": _gif, "bmp": _bmp, "webp": _webp, "tiff": _tiff, "pnm": _pnm}
