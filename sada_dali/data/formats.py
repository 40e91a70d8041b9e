"""The image formats the loader accepts, and the per-format check each file passes first.

DALI's CPU and GPU decoders read JPEG, PNG, BMP, TIFF, WebP and PNM, but not every mode of
every format, and some malformed files crash the process inside DALI's parsers rather than
fail. Every accepted format therefore has a structural and mode check that runs before DALI
sees the file (:func:`format_problem`): it refuses damage by name, and valid files in a mode
DALI decodes differently from what the file means (docs/faults.md, "Formats"). GIF is never
accepted: DALI's decoders do not read it.

``SADALoader(formats=...)``, the recovery probe and ``sada-dali check --formats`` all apply
the same rule, through :func:`sada_dali.data._inspect.inspect_encoded`.
"""

from __future__ import annotations

from ._bmp import bmp_problem
from ._png import png_problem
from ._pnm import pnm_problem
from ._tiff import tiff_problem
from ._webp import webp_problem

__all__ = ["FORMATS", "DEFAULT_FORMATS", "FORMAT_NAMES", "check_formats", "format_problem"]

FORMATS = ("jpeg", "png", "bmp", "tiff", "webp", "pnm")
"""Every format the loader can accept, as :func:`sada_dali.data._headers.image_format` names them."""
DEFAULT_FORMATS = FORMATS
"""Accepted by default: all of them, since each mode DALI decodes wrongly is refused by its check."""
FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "tiff": "TIFF", "webp": "WebP", "pnm": "PNM"}
_ALIASES = {"jpg": "jpeg", "tif": "tiff", "ppm": "pnm", "pgm": "pnm", "pbm": "pnm"}


def check_formats(formats, name: str = "formats") -> tuple[str, ...]:
    """The accepted formats as a tuple of :data:`FORMATS` names, or an error naming ``name``.

    Parameters
    ----------
    formats : iterable of str, str or None
        Format names, any case; "jpg", "tif", "ppm", "pgm" and "pbm" are aliases. A string is
        one name, or several separated by commas. None: :data:`DEFAULT_FORMATS`.
    name : str
        The argument's name, as the user wrote it.

    Raises
    ------
    TypeError
        If ``formats`` is not None, a string or an iterable of strings.
    ValueError
        If it is empty, or names a format DALI does not decode (GIF included).
    """
    if formats is None:
        return DEFAULT_FORMATS
    if isinstance(formats, str):
        formats = [part for part in formats.split(",") if part.strip()]
    try:
        given = list(formats)
    except TypeError:
        raise TypeError(
            f"The `{name}` must be format names such as ('jpeg', 'png'), got {formats!r}."
        ) from None
    chosen = []
    for value in given:
        if not isinstance(value, str):
            raise TypeError(f"The `{name}` must hold format names (str), got {value!r} in {formats!r}.")
        key = _ALIASES.get(value.strip().lower(), value.strip().lower())
        if key not in FORMATS:
            why = " (DALI's decoders do not read GIF; convert the files to PNG)" if key == "gif" else ""
            raise ValueError(
                f"The `{name}` names {value!r}, which is not a format the loader reads{why}; choose from "
                f"{', '.join(FORMATS)}."
            )
        if key not in chosen:
            chosen.append(key)
    if not chosen:
        raise ValueError(f"The `{name}` is empty; pass one or more of {', '.join(FORMATS)}, or None for all.")
    return tuple(sorted(chosen, key=FORMATS.index))


def format_problem(kind: str, data: bytes) -> str | None:
    """The structural and mode check of a file of format ``kind`` other than JPEG (whose check
    also gives its size, :func:`sada_dali.data._jpeg.inspect_jpeg`): None if DALI decodes it as
    the file means, else one phrase ("corrupt ...", "truncated ..." or "unsupported ...")."""
    check = _CHECKS.get(kind)
    return None if check is None else check(data)


_CHECKS = {
    "png": png_problem,
    "bmp": bmp_problem,
    "tiff": tiff_problem,
    "webp": webp_problem,
    "pnm": pnm_problem,
}
