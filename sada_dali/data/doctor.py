"""The dataset doctor: decode every file once with a strict decoder and report the bad ones.

At run time the reader only looks at a file's bytes (``on_error``); damage inside a JPEG's
entropy-coded scan decodes with nothing but a libjpeg warning on stderr ("Corrupt JPEG data:
premature end of data segment") and would be trained on. :func:`inspect_file` decodes with PIL,
Python warnings turned into errors, and decodes JPEGs a second time with libjpeg-turbo
(``torchvision.io.decode_jpeg``) while capturing file descriptor 2, where libjpeg prints its
warnings. :func:`check_listing` runs it over a listing in worker processes; its report, written
as JSON, is what ``SADALoader(exclude=...)`` reads (:func:`excluded_indices`).
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
import warnings

import numpy as np

from ._headers import image_format, image_size
from ._inspect import check_encoded
from .formats import DEFAULT_FORMATS

__all__ = ["KINDS", "REPORT_FORMAT", "inspect_file", "check_listing", "excluded_indices"]

KINDS = ("unreadable", "unexpected_format", "unsupported", "undecodable", "damaged", "too_large")
"""What the doctor reports, in table order."""
REPORT_FORMAT = "sada_dali.check/1"
_CHUNK = 32
_stderr_file = None


def _captured_stderr(decode, data) -> str:
    """Run ``decode(data)`` with file descriptor 2 sent to a file; return what was printed there."""
    global _stderr_file
    if _stderr_file is None:
        _stderr_file = tempfile.TemporaryFile()
    _stderr_file.seek(0)
    _stderr_file.truncate()
    saved = os.dup(2)
    os.dup2(_stderr_file.fileno(), 2)
    try:
        decode(data)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    _stderr_file.seek(0)
    return _stderr_file.read().decode("utf-8", "replace").strip()


def _decode_jpeg(data: bytes) -> None:
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)


def _too_large(size, max_pixels) -> str | None:
    if size is not None and max_pixels is not None and size[0] * size[1] > max_pixels:
        return f"{size[0]} x {size[1]} pixels, more than max_pixels={max_pixels}"
    return None


def inspect_file(path: str, max_pixels: int | None, formats=DEFAULT_FORMATS) -> tuple[str, str] | None:
    """``None`` for a file the loader reads as it means and a strict decoder reads cleanly, else
    ``(kind, reason)``.

    ``kind`` is one of :data:`KINDS`: ``"unreadable"`` (an OS error), ``"unexpected_format"``
    (not a JPEG, PNG, BMP, TIFF, WebP or PNM, or not one of ``formats``), ``"unsupported"`` (a
    valid file in a mode DALI decodes differently from its meaning, which the loader refuses:
    docs/faults.md, "Formats"), ``"undecodable"`` (truncated, corrupt, or a decoder raises),
    ``"damaged"`` (it decodes only with a decoder warning, e.g. a damaged scan) or
    ``"too_large"`` (more than ``max_pixels``, checked before decoding). The first four come
    from the loader's own check (:func:`sada_dali.data._inspect.check_encoded`), so the doctor
    flags every file the loader refuses.
    """
    from PIL import Image

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return "unreadable", f"cannot be read ({exc.strerror or exc})"
    problem = check_encoded(data, formats)
    if problem is not None:
        return _kind_of(data, problem, formats), problem
    too_large = _too_large(image_size(data), max_pixels)
    if too_large is not None:
        return "too_large", f"its header declares {too_large}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with Image.open(io.BytesIO(data)) as image:
                too_large = _too_large(image.size, max_pixels)
                if too_large is None:
                    image.load()
    except Warning as warning:
        return "damaged", f"PIL warns: {warning}"
    except Exception as exc:
        message = str(exc).split(" <_io.")[0]  # PIL names the in-memory file, not the path
        return "undecodable", f"PIL cannot decode it ({type(exc).__name__}: {message})"
    if too_large is not None:
        return "too_large", too_large
    if image_format(data) == "jpeg":
        try:
            printed = _captured_stderr(_decode_jpeg, data)
        except Exception as exc:
            return "undecodable", f"libjpeg cannot decode it ({type(exc).__name__}: {str(exc).strip()})"
        if printed:
            return "damaged", f"libjpeg warns: {printed.splitlines()[-1]}"
    return None


def _kind_of(data: bytes, problem: str, formats) -> str:
    if len(data) >= 8 and image_format(data) not in formats:
        return "unexpected_format"
    return "unsupported" if problem.startswith("unsupported") else "undecodable"


def _inspect_chunk(paths, max_pixels, formats=DEFAULT_FORMATS):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # max_pixels decides; PIL's own bomb warning would say "damaged"
    return [inspect_file(path, max_pixels, formats) for path in paths]


def check_listing(
    listing, *, max_pixels: int | None, formats=DEFAULT_FORMATS, jobs: int = 0, progress: bool = False
) -> dict:
    """Inspect every file of ``listing`` (:func:`inspect_file`) and return the report.

    Parameters
    ----------
    listing : sada_dali.data.source.Listing
        The dataset, as the loader lists it (so report indices are the loader's).
    max_pixels : int or None
        As the loader's.
    formats : tuple of str
        As the loader's, checked (:func:`sada_dali.data.formats.check_formats`).
    jobs : int
        Worker processes ("spawn"); 0 inspects in this process.
    progress : bool
        Show a tqdm progress bar (on stderr).

    Returns
    -------
    dict
        ``format``, ``source``, ``num_files``, ``max_pixels``, ``formats``, ``counts`` (files per kind) and
        ``files``: one ``{"index", "path", "kind", "reason"}`` per flagged file, by index.
    """
    from tqdm import tqdm

    paths = list(listing.files)
    chunks = [paths[start : start + _CHUNK] for start in range(0, len(paths), _CHUNK)]
    results = [None] * len(paths)
    with tqdm(total=len(paths), unit="file", disable=not progress, desc="checking") as bar:
        if jobs <= 0:
            done = ((i, _inspect_chunk(chunk, max_pixels, formats)) for i, chunk in enumerate(chunks))
            for i, found in done:
                results[i * _CHUNK : i * _CHUNK + len(found)] = found
                bar.update(len(found))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                submit = functools.partial(
                    pool.submit, _inspect_chunk, max_pixels=max_pixels, formats=formats
                )
                futures = {submit(chunk): i for i, chunk in enumerate(chunks)}
                for future in as_completed(futures):
                    i, found = futures[future], future.result()
                    results[i * _CHUNK : i * _CHUNK + len(found)] = found
                    bar.update(len(found))
    files = [
        {"index": i, "path": paths[i], "kind": found[0], "reason": found[1]}
        for i, found in enumerate(results)
        if found is not None
    ]
    counts = {kind: sum(entry["kind"] == kind for entry in files) for kind in KINDS}
    return {
        "format": REPORT_FORMAT,
        "source": listing.root,
        "num_files": len(paths),
        "max_pixels": max_pixels,
        "formats": list(formats),
        "counts": counts,
        "files": files,
    }


_EXCLUDE_KINDS = "a `sada-dali check --json` report (its path or the parsed dict) or a list of file paths"


def _exclude_paths(exclude) -> list[str]:
    if isinstance(exclude, (str, os.PathLike)):
        with open(exclude, encoding="utf-8") as handle:
            try:
                exclude = json.load(handle)
            except ValueError as exc:
                raise ValueError(
                    f"The `exclude` file {os.fspath(exclude)!r} is not JSON ({exc}); pass {_EXCLUDE_KINDS}."
                ) from None
    if isinstance(exclude, dict):
        if exclude.get("format") != REPORT_FORMAT:
            raise ValueError(
                f"The `exclude` report has format {exclude.get('format')!r}, not {REPORT_FORMAT!r}; pass "
                "the JSON written by `sada-dali check --json`, or a list of paths."
            )
        return [entry["path"] for entry in exclude["files"]]
    try:
        paths = list(exclude)
    except TypeError:
        raise TypeError(f"The `exclude` must be {_EXCLUDE_KINDS}, got {exclude!r}.") from None
    wrong = next((path for path in paths if not isinstance(path, (str, os.PathLike))), None)
    if wrong is not None:
        raise TypeError(
            f"The `exclude` list holds {wrong!r}, which is not a file path; pass {_EXCLUDE_KINDS}."
        )
    return [os.fspath(path) for path in paths]


def excluded_indices(exclude, listing) -> np.ndarray:
    """The sample indices of ``exclude`` in ``listing``.

    Parameters
    ----------
    exclude : str, os.PathLike, dict or iterable of str
        A ``sada-dali check --json`` report (its path, or the parsed dict), or file paths. A
        path matches the listing's file with the same absolute path or, for a dataset moved
        to another mount point, the longest suffix that is a file's path below the dataset root.
    listing : sada_dali.data.source.Listing

    Returns
    -------
    numpy.ndarray
        Sorted, distinct int64 indices.

    Raises
    ------
    ValueError
        If a path is not in the listing, or a report is not a ``sada-dali check`` report.
    """
    paths = _exclude_paths(exclude)
    by_path = {path: i for i, path in enumerate(listing.files)}
    cut = os.path.commonprefix([min(listing.files), max(listing.files)]).rfind(os.sep) + 1
    by_relative = {path[cut:]: i for i, path in enumerate(listing.files)}
    indices = []
    for path in paths:
        parts = path.split(os.sep)
        suffixes = (os.sep.join(parts[k:]) for k in range(len(parts)))
        index = by_path.get(path, next((by_relative[s] for s in suffixes if s in by_relative), None))
        if index is None:
            raise ValueError(
                f"The `exclude` names {path!r}, which is not a file of the dataset {listing.root!r}; "
                "pass the report of `sada-dali check` on this dataset."
            )
        indices.append(index)
    return np.unique(np.asarray(indices, dtype=np.int64))
