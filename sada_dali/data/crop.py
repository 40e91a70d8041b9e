"""``RandomResizedCrop`` windows as a pure function of (seed, epoch, index, image size).

The DALI reader and the torchvision baseline both call :func:`crop_windows`, so a sample gets
the same window in both, whatever the worker, thread or shard layout, and a resumed epoch
crops exactly as the interrupted one would have. The rule is torchvision's
``RandomResizedCrop.get_params``, with its random draws taken from the counter-based
generator (:func:`sada_dali._utils.rng.crop_uniforms`) instead of a stateful one:

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

from .._utils.rng import crop_uniforms
from ._headers import image_size

__all__ = ["CropConfig", "crop_window", "crop_windows", "image_dims"]


def _pair(name: str, value, *, upper: float | None) -> tuple[float, float]:
    bound = "0 < lo <= hi" + (f" <= {upper:g}" if upper is not None else "")
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi and (upper is None or hi <= upper)):
        raise ValueError(
            f"The `{name}` must be a pair (lo, hi) with {bound}, got {value!r}; "
            f"e.g. {(0.08, 1.0) if upper else (3 / 4, 4 / 3)}."
        )
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
        object.__setattr__(
            self, "random_aspect_ratio", _pair("random_aspect_ratio", self.random_aspect_ratio, upper=None)
        )


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
        raise ValueError(
            f"The `sizes` must hold one positive (width, height) per index ({len(indices)}), "
            f"got shape {sizes.shape} with minimum {sizes.min(initial=1)}."
        )
    uniforms = crop_uniforms(seed, epoch, indices).tolist()  # a plain loop beats NumPy at batch sizes of one
    windows = [_window(u, width, height, config) for u, (width, height) in zip(uniforms, sizes.tolist())]
    return np.array(windows, dtype=np.int32).reshape(-1, 4)


def crop_window(
    seed: int, epoch: int, index: int, width: int, height: int, config: CropConfig = CropConfig()
) -> tuple[int, int, int, int]:
    """One sample's window, ``(top, left, height, width)``: :func:`crop_windows` for a single index
    of a positive ``width`` x ``height`` image, without its array handling (the reader's per-sample path)."""
    return _window(crop_uniforms(seed, epoch, index)[0].tolist(), width, height, config)


def _window(uniforms, width: int, height: int, config: CropConfig) -> tuple[int, int, int, int]:
    (area_lo, area_hi), (ratio_lo, ratio_hi) = config.random_area, config.random_aspect_ratio
    log_lo, log_hi = math.log(ratio_lo), math.log(ratio_hi)
    for u_area, u_ratio, u_top, u_left in uniforms:
        target = width * height * (area_lo + u_area * (area_hi - area_lo))
        aspect = math.exp(log_lo + u_ratio * (log_hi - log_lo))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return (
                min(int(u_top * (height - h + 1)), height - h),
                min(int(u_left * (width - w + 1)), width - w),
                h,
                w,
            )
    if width / height < ratio_lo:
        w, h = width, max(round(width / ratio_lo), 1)
    elif width / height > ratio_hi:
        w, h = max(round(height * ratio_hi), 1), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def image_dims(data) -> tuple[int, int] | None:
    """``(width, height)`` of an encoded image as DALI decodes it (EXIF orientation applied).

    From the header (:func:`sada_dali.data._headers.image_size`); for a format it does not
    know, from PIL's header reader and EXIF orientation tag (5 to 8 swap width and height, as
    ``ImageOps.exif_transpose`` does). ``None`` if neither can tell: such a file is treated as unreadable.
    """
    size = image_size(data)
    return size if size is not None else _pil_dims(data)


def _pil_dims(data) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            width, height = image.size
            return (height, width) if image.getexif().get(0x0112) in (5, 6, 7, 8) else (width, height)
    except Exception:  # PIL raises many types on odd input; any of them means "unknown"
        return None
