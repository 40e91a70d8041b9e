"""The check every file passes before DALI sees it: does DALI decode it as the file means, how big.

:func:`inspect_encoded` is the one rule the batch reader, the recovery probe's reader and the
dataset doctor (``sada-dali check``) apply, so they agree on every file: the format by its magic
bytes must be accepted (``formats=``), a JPEG's segments are walked once for its structural
check and its size, and every other format passes its own check (:mod:`sada_dali.data.formats`).
"""

from __future__ import annotations

from ._headers import image_format, image_size, jpeg_segments
from ._jpeg import inspect_jpeg
from .crop import image_dims
from .formats import DEFAULT_FORMATS, FORMAT_NAMES, format_problem

__all__ = ["check_encoded", "inspect_encoded"]

_TAIL = 1024  # bytes searched for the end marker, allowing for padding after it


def check_encoded(data: bytes, formats=DEFAULT_FORMATS) -> str | None:
    """Cheap integrity check of an encoded image: ``None`` if DALI decodes it as the file means,
    else the problem (one phrase). The problem half of :func:`inspect_encoded`."""
    return inspect_encoded(data, formats=formats)[0]


def inspect_encoded(
    data, *, oriented: bool = True, formats=DEFAULT_FORMATS
) -> tuple[str | None, tuple[int, int] | None]:
    """:func:`check_encoded`'s problem and the image's ``(width, height)`` as DALI decodes it.

    The file's format (by its magic bytes) must be one of ``formats`` (a tuple of
    :data:`sada_dali.data.formats.FORMATS` names, as :func:`~sada_dali.data.formats.check_formats`
    returns it); GIF and unknown formats are always refused. A JPEG must have sound headers
    (:func:`sada_dali.data._jpeg.inspect_jpeg`: what DALI's decoder would fail on, or crash the
    process with) and an end-of-image marker after its first scan; every other format passes
    its structural and mode check (:func:`sada_dali.data.formats.format_problem`). A JPEG's
    segments are walked once for the check and the size; other formats take their size from
    :func:`sada_dali.data.crop.image_dims` (``oriented=True``, the training reader's rule, which
    asks PIL when the header parser cannot tell) or :func:`sada_dali.data._headers.image_size`.
    The size is None when there is a problem, or when it cannot be told. ``data`` is any
    bytes-like object (the batch reader passes a memoryview of its buffer; a JPEG is not copied).
    """
    if len(data) < 8:
        return f"the file is empty or truncated ({len(data)} bytes)", None
    kind = image_format(data)
    if kind not in formats:
        return _refused_format(kind, formats), None
    if kind == "jpeg":
        problem, size = inspect_jpeg(data)  # reads only the headers: a memoryview is walked in place
        if problem is not None:
            return (
                problem if problem.startswith("unsupported") else f"corrupt JPEG headers: {problem}"
            ), None
        if bytes(data[max(2, len(data) - _TAIL) :]).rfind(b"\xff\xd9") < 0 and not _ends_after_scan(data):
            return "truncated JPEG (no end-of-image marker)", None
        return None, size
    data = bytes(data)
    problem = format_problem(kind, data)
    if problem is not None:
        return problem, None
    return None, image_dims(data) if oriented else image_size(data)


def _ends_after_scan(data: bytes) -> bool:
    # a trailer longer than _TAIL (phone metadata, padding): an end-of-image marker after the
    # first scan still ends the image; one inside an Exif thumbnail, before the scan, does not
    scan = next((at for marker, at, _ in jpeg_segments(data) if marker == 0xDA), len(data))
    return bytes(data[scan:]).find(b"\xff\xd9") >= 0


def _refused_format(kind: str | None, formats) -> str:
    if kind is None:
        return "not a JPEG, PNG, BMP, TIFF, WebP or PNM image"
    if kind == "gif":
        return "a GIF image, which DALI's decoders do not read; convert it to PNG"
    return (
        f"a {FORMAT_NAMES[kind]} image, a format this loader does not accept (formats={formats!r}); "
        f"convert it, or add {kind!r} to `formats`"
    )
