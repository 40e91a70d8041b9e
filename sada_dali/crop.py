"""``RandomResizedCrop`` windows as a pure function of (seed, epoch, index, image size).

The DALI reader and the torchvision baseline both call :func:`crop_windows`, so a sample gets
the same window in both, whatever the worker, thread or shard layout, and a resumed epoch
crops exactly as the interrupted one would have. The rule is torchvision's
``RandomResizedCrop.get_params``, with its random draws taken from the counter-based
generator (:func:`sada_dali._random.crop_uniforms`) instead of a stateful one:

- up to 10 attempts: an area fraction uniform in ``random_area``, an aspect ratio
  (width / height) log-uniform in ``random_aspect_ratio``, ``w = round(sqrt(A * r))`` and
  ``h = round(sqrt(A / r))`` (round half to even, as Python's ``round``); the first attempt
  with ``0 < w <= width`` and ``0 < h <= height`` wins, at a uniform integer top-left corner;
- otherwise the central crop of the whole image, narrowed to the nearer end of the aspect
  ratio range when the image's own ratio lies outside it (at least one pixel, where
  torchvision would return an empty window for an image a pixel or two thin).

Windows are whole pixels ``(top, left, height, width)`` in the image as decoded (EXIF
orientation applied, see :func:`image_dims`).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from ._random import crop_uniforms
from .data._headers import image_size

__all__ = ["CropConfig", "crop_windows", "image_dims"]


def _pair(name: str, value, *, upper: float | None) -> tuple[float, float]:
    bound = "0 < lo <= hi" + (f" <= {upper:g}" if upper is not None else "")
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi and (upper is None or hi <= upper)):
        raise ValueError(f"The `{name}` must be a pair (lo, hi) with {bound}, got {value!r}; "
                         f"e.g. {(0.08, 1.0) if upper else (3 / 4, 4 / 3)}.")
    return lo, hi


@dataclass(frozen=True)
class CropConfig:
    """The ranges of the ``RandomResizedCrop`` window, checked on construction.

    Attributes
    ----------
    random_area : tuple of float
        Range of the window's area as a fraction of the image's: ``0 < lo <= hi <= 1``.
    random_aspect_ratio : tuple of float
        Range of the window's width / height, drawn log-uniformly: ``0 < lo <= hi``.
    """

    random_area: tuple[float, float] = (0.08, 1.0)
    random_aspect_ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __post_init__(self):
        object.__setattr__(self, "random_area", _pair("random_area", self.random_area, upper=1.0))
        object.__setattr__(self, "random_aspect_ratio",
                           _pair("random_aspect_ratio", self.random_aspect_ratio, upper=None))


def crop_windows(seed: int, epoch: int, indices, sizes, config: CropConfig = CropConfig()) -> np.ndarray:
    """The crop window of each sample (the rule in this module's docstring).

    Parameters
    ----------
    seed, epoch : int
        Run seed and epoch.
    indices : array-like of int
        Dataset indices, shape (n,).
    sizes : array-like of int
        ``(width, height)`` of each sample as decoded, shape (n, 2); positive.
    config : CropConfig
        Area and aspect ratio ranges.

    Returns
    -------
    numpy.ndarray
        int32 (n, 4): ``top, left, height, width`` in pixels, inside the image.
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    if len(sizes) != len(indices) or (sizes <= 0).any():
        raise ValueError(f"The `sizes` must hold one positive (width, height) per index ({len(indices)}), "
                         f"got shape {sizes.shape} with minimum {sizes.min(initial=1)}.")
    width, height = sizes[:, :1], sizes[:, 1:]
    u = crop_uniforms(seed, epoch, indices)
    (area_lo, area_hi), (ratio_lo, ratio_hi) = config.random_area, config.random_aspect_ratio
    target = (width * height) * (area_lo + u[..., 0] * (area_hi - area_lo))
    log_lo, log_hi = math.log(ratio_lo), math.log(ratio_hi)
    aspect = np.exp(log_lo + u[..., 1] * (log_hi - log_lo))
    w = np.rint(np.sqrt(target * aspect)).astype(np.int64)
    h = np.rint(np.sqrt(target / aspect)).astype(np.int64)
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.argmax(axis=1)[:, None]
    found = np.take_along_axis(fits, first, 1)[:, 0]
    w, h = np.take_along_axis(w, first, 1)[:, 0], np.take_along_axis(h, first, 1)[:, 0]
    u_top, u_left = np.take_along_axis(u[..., 2], first, 1)[:, 0], np.take_along_axis(u[..., 3], first, 1)[:, 0]
    width, height = width[:, 0], height[:, 0]
    top = np.minimum(np.floor(u_top * (height - h + 1)).astype(np.int64), height - h)
    left = np.minimum(np.floor(u_left * (width - w + 1)).astype(np.int64), width - w)
    fallback = _central_windows(width, height, ratio_lo, ratio_hi)
    windows = np.stack([top, left, h, w], axis=1)
    return np.where(found[:, None], windows, fallback).astype(np.int32)


def _central_windows(width: np.ndarray, height: np.ndarray, ratio_lo: float, ratio_hi: float) -> np.ndarray:
    in_ratio = width / height
    w = np.maximum(np.where(in_ratio > ratio_hi, np.rint(height * ratio_hi), width), 1).astype(np.int64)
    h = np.maximum(np.where(in_ratio < ratio_lo, np.rint(width / ratio_lo), height), 1).astype(np.int64)
    return np.stack([(height - h) // 2, (width - w) // 2, h, w], axis=1)


def image_dims(data) -> tuple[int, int] | None:
    """``(width, height)`` of an encoded image as DALI decodes it (EXIF orientation applied).

    From the header (:func:`sada_dali.data._headers.image_size`); for a format it does not
    know, from PIL, which reads the header and decodes the pixels only to apply an EXIF
    rotation. ``None`` if neither can tell: such a file is treated as unreadable.
    """
    size = image_size(data)
    if size is not None:
        return size
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            return ImageOps.exif_transpose(image).size
    except Exception:  # PIL raises many types on odd input; any of them means "unknown"
        return None
