"""A structural check of a JPEG's headers, in microseconds: what DALI's decoder would choke on.

DALI 2.4's CPU decoder parses every file of a batch on its thread pool before decoding any.
When nvImageCodec's JPEG parser rejects a file there (a byte that is not a marker where one
must be, a segment length that points past the next marker, no frame header before the scan,
a frame of 0, 2 or more than 4 components), the error can leave DALI's worker threads running
on a stack that is gone: the process dies of a segmentation fault, often from a batch of 32
files on. A decode failure after parsing (bogus Huffman or quantisation tables, a scan that
names an unknown component or table) fails cleanly but costs a pipeline rebuild.
:func:`jpeg_problem` finds both kinds before DALI sees the file, by walking the marker
segments up to the first start of scan (:func:`sada_dali.data._headers.jpeg_segments`, the
walk nvImageCodec's parser makes) and checking the tables and frame and scan headers in them.
Damage inside the entropy-coded data is not looked at: libjpeg decodes it with a warning.
"""

from __future__ import annotations

from ._headers import exif_orientation, jpeg_segments, oriented

__all__ = ["jpeg_problem", "inspect_jpeg"]

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_ARITHMETIC = frozenset((0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))  # no Huffman tables
_LOSSLESS = frozenset((0xC3, 0xC7, 0xCB, 0xCF))
_EXIF = b"Exif\x00\x00"
_UNSUPPORTED_LOSSLESS = (
    "unsupported JPEG mode (lossless, SOF3 process: DALI's CPU decoder fails on it); convert it to a "
    "baseline or progressive JPEG, or to PNG"
)


def jpeg_problem(data: bytes) -> str | None:
    """``None`` if a JPEG's headers are sound, else what is wrong with them (one phrase).

    The problem half of :func:`inspect_jpeg`.
    """
    return inspect_jpeg(data)[0]


def inspect_jpeg(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """What is wrong with a JPEG's headers (``None`` if they are sound) and its decoded size.

    One walk of the marker segments gives both: the size is the frame header's, swapped for an
    EXIF orientation of 5 to 8 read from the first Exif segment before the frame header, exactly
    as :func:`sada_dali.data._headers.image_size` reads it. The size is ``None`` whenever the
    problem is not.

    Parameters
    ----------
    data : bytes-like
        The whole file, starting with SOI (only its headers are read).

    Notes
    -----
    Checked, for every segment before the first start of scan: a marker where one must be,
    a length field of at least 2 that ends inside the file, a length field on every marker
    (nvImageCodec's parser reads one even for RSTn and TEM); DQT and DHT table classes,
    destinations and sizes that fill their segment exactly, at most 256 Huffman codes per
    table; one frame header with 1, 3 or 4 distinct components, sampling factors 1-4, a
    non-zero size and 8-bit samples (lossless frames: 2-16); an Exif segment long enough
    for its header; a scan header with 1-4 components of the frame and quantisation (and,
    above the standard tables 0 and 1, Huffman) tables defined before it.
    """
    data = memoryview(data)  # indexed and sliced in place, never copied
    quant, huffman, frame, orientations, file_size = set(), set(), None, [], len(data)
    for marker, at, length in jpeg_segments(data):
        if not marker:  # None, or 0xFF 0x00: a stuffed zero, never a marker
            return f"no JPEG marker at byte {at} (corrupt or truncated headers)", None
        if length is None or length < 2:
            return f"marker 0x{marker:02X} at byte {at} has no valid length", None
        end = at + 2 + length
        if end > file_size or (marker != 0xDA and end + 2 > file_size):
            return f"marker 0x{marker:02X} at byte {at} runs past the end of the file", None
        if marker == 0xD9:
            return "end-of-image marker before the image data", None
        if (0xE0 <= marker <= 0xEF and marker != 0xE1) or marker == 0xFE:
            continue  # APPn (but Exif's APP1) and COM: nothing inside is checked
        body = data[at + 4 : end]
        problem = None
        if marker == 0xDB:
            problem = _dqt(body, quant)
        elif marker == 0xC4:
            problem = _dht(body, huffman)
        elif marker in _SOF:
            if frame is not None:
                return "more than one frame header", None
            if marker in _LOSSLESS:
                return _UNSUPPORTED_LOSSLESS, None
            frame, problem = _sof(marker, body)
        elif marker == 0xE1 and body[:6] == _EXIF:
            if length < 8:
                problem = "an Exif segment too short for its header"
            else:
                orientations.append(exif_orientation(body) or 1)
        elif marker == 0xDA:
            problem = _sos(body, frame, quant, huffman)
            if problem is None and len(set(orientations)) > 1:
                return _unsupported_orientations(orientations), None
            if problem is not None:
                return problem, None
            return None, oriented(frame[2], frame[3], orientations[-1] if orientations else None)
        if problem is not None:
            return f"{problem} (marker 0x{marker:02X} at byte {at})", None
    return "no start of scan", None  # pragma: no cover - jpeg_segments always ends with SOS or None


def _unsupported_orientations(orientations) -> str:
    # DALI applies the last Exif segment's orientation, PIL (and most viewers) the first one's
    return (
        f"unsupported JPEG mode ({len(orientations)} Exif segments with different orientations, "
        f"{' and '.join(map(str, orientations))}: decoders disagree on which applies); keep one Exif "
        "segment, e.g. with `exiftool`, or re-save the image"
    )


def _dqt(body: bytes, defined: set) -> str | None:
    at = 0
    while at < len(body):
        precision, table = body[at] >> 4, body[at] & 15
        if precision > 1 or table > 3:
            return f"a quantisation table with precision {precision} and id {table}"
        at += 1 + 64 * (precision + 1)
        defined.add(table)
    return None if at == len(body) and body else "quantisation tables that do not fill their segment"


def _dht(body: bytes, defined: set) -> str | None:
    at = 0
    while at + 17 <= len(body):
        kind, table = body[at] >> 4, body[at] & 15
        codes = sum(body[at + 1 : at + 17])
        if kind > 1 or table > 3:
            return f"a Huffman table of class {kind} and id {table}"
        if codes > 256:
            return f"a Huffman table of {codes} codes (at most 256)"
        at += 17 + codes
        defined.add((kind, table))
    return None if at == len(body) and body else "Huffman tables that do not fill their segment"


def _sof(marker: int, body: bytes):
    if len(body) < 6:
        return None, "a frame header too short"
    precision, height, width, count = body[0], body[1] << 8 | body[2], body[3] << 8 | body[4], body[5]
    if count not in (1, 3, 4) or len(body) != 6 + 3 * count:
        return None, f"a frame header of {count} components and {len(body) + 2} bytes"
    if precision != 8:
        return None, f"{precision}-bit samples, which DALI's CPU decoder does not read"
    if height == 0 or width == 0:
        return None, f"a frame of {width} x {height} pixels"
    components = {}
    for c in range(count):
        ident, sampling, table = body[6 + 3 * c : 9 + 3 * c]
        if not (1 <= sampling >> 4 <= 4 and 1 <= sampling & 15 <= 4) or table > 3 or ident in components:
            return None, f"frame component {c} with sampling 0x{sampling:02X} and table {table}"
        components[ident] = table
    return (marker, components, width, height), None


def _sos(body: bytes, frame, quant: set, huffman: set) -> str | None:
    if frame is None:
        return "a start of scan before any frame header"
    marker, components = frame[:2]
    count = body[0] if body else 0
    if not 1 <= count <= 4 or len(body) != 4 + 2 * count:
        return f"a scan header of {count} components and {len(body) + 2} bytes"
    missing = {table for table in components.values() if table not in quant}
    if missing:
        return f"quantisation table(s) {sorted(missing)} used by the frame but not defined"
    for c in range(count):
        ident, tables = body[1 + 2 * c], body[2 + 2 * c]
        if ident not in components:
            return f"a scan of component {ident}, which the frame does not have"
        if marker in _ARITHMETIC:
            continue
        for kind, table in ((0, tables >> 4), (1, tables & 15)):
            if table > 3 or (table > 1 and (kind, table) not in huffman):
                return f"a scan that uses Huffman table {table} of class {kind}, which is not defined"
    return None
