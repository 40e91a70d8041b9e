"""A structural check of a WebP's RIFF chunks, in microseconds: what DALI cannot decode, or misorients.

DALI 2.4's CPU decoder hands a WebP to nvImageCodec: its parser reads the first chunk (VP8,
VP8L or VP8X) for the size and, when the VP8X header announces EXIF metadata, walks the chunks
after it to the first EXIF chunk for the orientation; libwebp (through OpenCV) decodes the first
frame. A parser error (a first chunk of another kind, a bad VP8 sync code or VP8L signature, an
announced EXIF chunk it cannot reach) can crash the process from a batch of 32-64 files on, as
in :mod:`sada_dali.data._jpeg`; damage libwebp meets (a RIFF size that disagrees with the file, a
chunk past the end, a VP8X canvas unlike its image) fails cleanly. The parser's walk does not
skip the pad byte after an odd-sized chunk, so an EXIF chunk after one is out of its reach; it
reads the orientation only from an EXIF chunk without JPEG's ``Exif\\0\\0`` prefix, and as a
16-bit value (a LONG one in a big-endian block reads 0): in those cases DALI decodes the image
unrotated, while PIL, and what the file means, turn it. :func:`webp_problem` finds all of them
from the chunk headers and the first bytes of the image chunk; the image data is not decoded.
"""

from __future__ import annotations

import struct

from ._headers import exif_orientation

__all__ = ["webp_problem"]

_IMAGE = (b"VP8 ", b"VP8L")
_ANIMATION, _EXIF_FLAG = 0x02, 0x08
_EXIF_PREFIX = b"Exif\x00\x00"
_VP8_SYNC = b"\x9d\x01\x2a"
_MAX_CHUNKS = 4096
_FIX = "re-save the image with the orientation applied (e.g. PIL's ImageOps.exif_transpose)"


def webp_problem(data: bytes) -> str | None:
    """``None`` if DALI decodes a WebP as it means, else what is wrong with it (one phrase).

    Parameters
    ----------
    data : bytes-like
        The whole file, starting with ``RIFF``.

    Returns
    -------
    str or None
        ``"corrupt WebP (...)"`` or ``"truncated WebP (...)"`` for damage, ``"unsupported WebP mode
        (...); <fix>"`` for a valid file DALI decodes differently from its meaning, ``None``
        otherwise.

    Notes
    -----
    Checked: a RIFF size no larger than the file (bytes after it are ignored) and chunks that
    fill it, each inside it; a VP8, VP8L or VP8X chunk first; a VP8 key frame with its sync code,
    a non-zero size and its first partition inside the chunk; a VP8L signature and version 0; a
    10-byte VP8X chunk whose canvas is its image's size (animations: ANIM and ANMF chunks); an
    EXIF chunk, when the VP8X header announces one, that nvImageCodec's parser reaches, and an
    orientation of 2 to 8 in it that DALI reads (not after the ``Exif\\0\\0`` prefix, not a
    big-endian LONG).
    """
    data = bytes(data)
    size = len(data)
    if size < 20:
        return f"truncated WebP ({size} bytes, less than its RIFF header and first chunk)"
    riff = struct.unpack_from("<I", data, 4)[0]
    end = 8 + riff
    if end > size:
        return f"truncated WebP (its RIFF size says {end} bytes, the file has {size})"
    chunks = _chunks(data, end)
    if isinstance(chunks, str):
        return chunks
    first = chunks[0][0]
    if first in _IMAGE:
        return _image_problem(data, *chunks[0])
    if first != b"VP8X":
        return f"corrupt WebP (a first chunk {first.decode('latin-1')!r}, not VP8, VP8L or VP8X)"
    return _extended_problem(data, chunks)


def _chunks(data: bytes, end: int):
    """``[(tag, at, size)]`` of the chunks up to the RIFF end (``at``: the chunk body), or the problem."""
    chunks, at = [], 12
    while at < end and len(chunks) < _MAX_CHUNKS:
        if at + 8 > end:
            return f"corrupt WebP (a chunk header at byte {at} cut off by the RIFF end at byte {end})"
        tag, length = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if at + 8 + length > end:
            name = tag.decode("latin-1")
            kind = "truncated" if at + 8 + length > len(data) else "corrupt"
            return f"{kind} WebP (its {name!r} chunk at byte {at} runs past the RIFF end at byte {end})"
        chunks.append((tag, at + 8, length))
        at += 8 + length + (length & 1)
    if not chunks:
        return "corrupt WebP (no chunks)"
    return chunks


def _image_problem(data: bytes, tag: bytes, at: int, length: int, canvas=None) -> str | None:
    if tag == b"VP8 ":
        if length < 10:
            return f"corrupt WebP (a VP8 chunk of {length} bytes)"
        frame = int.from_bytes(data[at : at + 3], "little")
        if frame & 1 or data[at + 3 : at + 6] != _VP8_SYNC:
            return "corrupt WebP (a VP8 chunk without a key frame and its sync code)"
        if 10 + (frame >> 5) > length:
            return "corrupt WebP (a VP8 first partition past the end of its chunk)"
        width, height = (value & 0x3FFF for value in struct.unpack_from("<HH", data, at + 6))
    else:
        if length < 5 or data[at] != 0x2F:
            return "corrupt WebP (a VP8L chunk without its signature)"
        bits = struct.unpack_from("<I", data, at + 1)[0]
        if bits >> 29:
            return f"corrupt WebP (VP8L version {bits >> 29})"
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if width == 0 or height == 0:
        return f"corrupt WebP (an image of {width} x {height} pixels)"
    if canvas is not None and canvas != (width, height):
        return f"corrupt WebP (a VP8X canvas of {canvas[0]} x {canvas[1]} for an image of {width} x {height})"
    return None


def _extended_problem(data: bytes, chunks) -> str | None:
    _, at, length = chunks[0]
    if length != 10:
        return f"corrupt WebP (a VP8X chunk of {length} bytes, not 10)"
    flags = data[at]
    canvas = (
        int.from_bytes(data[at + 4 : at + 7], "little") + 1,
        int.from_bytes(data[at + 7 : at + 10], "little") + 1,
    )
    tags = [chunk[0] for chunk in chunks]
    if flags & _ANIMATION:
        if b"ANIM" not in tags or b"ANMF" not in tags:
            return "corrupt WebP (an animation without ANIM and ANMF chunks)"
    else:
        image = next((chunk for chunk in chunks if chunk[0] in _IMAGE), None)
        if image is None:
            return "corrupt WebP (a VP8X file without a VP8 or VP8L image chunk)"
        problem = _image_problem(data, *image, canvas=canvas)
        if problem is not None:
            return problem
    if flags & _EXIF_FLAG:
        return _exif_problem(data, b"EXIF" in tags)
    return None


def _exif_problem(data: bytes, present: bool) -> str | None:
    # nvImageCodec's walk from the end of the VP8X chunk: 8 + size bytes a chunk, no pad byte
    at, size = 30, len(data)
    for _ in range(_MAX_CHUNKS):
        if at + 8 > size:
            break
        tag, length = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if tag == b"EXIF":
            if at + 8 + length > size:
                break
            return _orientation_problem(data[at + 8 : at + 8 + length])
        at += 8 + length
    else:
        return None  # pragma: no cover - a file of more than 4096 chunks before its EXIF chunk
    if present:
        return (
            "unsupported WebP mode (an odd-sized chunk before the EXIF chunk, whose pad byte DALI's parser "
            "does not skip); re-save the image"
        )
    return "corrupt WebP (its VP8X header announces an EXIF chunk, but it has none)"


def _orientation_problem(exif: bytes) -> str | None:
    orientation = exif_orientation(exif)
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return None
    if exif[:6] == _EXIF_PREFIX:
        where = "after an 'Exif\\0\\0' prefix"
    elif exif[:2] == b"MM" and _orientation_type(exif) == 4:
        where = "stored as a big-endian LONG"
    else:
        return None
    return (
        f"unsupported WebP mode (EXIF orientation {orientation} {where}, which DALI does not apply); {_FIX}"
    )


def _orientation_type(exif: bytes):
    """The type of the orientation entry of a big-endian EXIF block's first IFD (None if none)."""
    ifd = struct.unpack_from(">I", exif, 4)[0] if len(exif) >= 8 else len(exif)
    if ifd + 2 > len(exif):
        return None
    count = struct.unpack_from(">H", exif, ifd)[0]
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(exif) - 11), 12):
        tag, kind = struct.unpack_from(">HH", exif, entry)
        if tag == 274:
            return kind
    return None
