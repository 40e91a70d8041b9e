"""A structural check of a PNG's chunks, in microseconds: what nvImageCodec's PNG parser rejects.

DALI 2.4's CPU decoder parses every file of a batch before decoding any, and a parser error
there can crash the process (see :mod:`sada_dali.data._jpeg`). nvImageCodec's PNG parser reads
the IHDR chunk and then walks every chunk's length up to IEND, so a file cut inside a chunk
fails there even when an IEND chunk was appended to it.
"""

from __future__ import annotations

from ._headers import exif_orientation

__all__ = ["png_problem"]

_EXIF = b"Exif\x00\x00"

_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}  # by colour type


def png_problem(data: bytes) -> str | None:
    """``None`` if a PNG's chunks are sound, else what is wrong with them (one phrase).

    Checked: an IHDR chunk first, 13 bytes long, with a non-zero size and a bit depth its colour
    type allows; every chunk ending inside the file; the chunks chaining up to an IEND chunk;
    no ``eXIf`` chunk written with an ``Exif\0\0`` prefix and an orientation other than 1 (DALI
    ignores such a chunk, PIL applies it). Compressed data and checksums are not looked at.
    """
    data = bytes(data)
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\rIHDR":
        return "corrupt PNG header (no 13-byte IHDR chunk first)"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    if width == 0 or height == 0:
        return f"corrupt PNG header (an image of {width} x {height} pixels)"
    if depth not in _DEPTHS.get(colour, ()):
        return f"corrupt PNG header (bit depth {depth} with colour type {colour})"
    at = 33
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if kind == b"IEND":
            return None if at + 12 <= len(data) else "truncated PNG (its IEND chunk is cut short)"
        if at + 12 + length > len(data):
            name = kind.decode("latin-1")
            return f"truncated PNG (its {name!r} chunk at byte {at} runs past the end of the file)"
        if kind == b"eXIf" and data[at + 8 : at + 14] == _EXIF:
            orientation = exif_orientation(data[at + 8 : at + 8 + length])
            if orientation not in (None, 1):
                return (
                    f"unsupported PNG mode (an eXIf chunk with an 'Exif\\0\\0' prefix and orientation "
                    f"{orientation}, which DALI ignores); re-save the image with the orientation applied"
                )
        at += 12 + length
    return "truncated PNG (its chunks end before an IEND chunk)"
