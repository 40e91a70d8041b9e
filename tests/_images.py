"""Write small generated image datasets for tests (ImageFolder layout, odd encodings included)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

__all__ = ["make_image", "write_image", "write_image_folder", "truncate_file"]


def make_image(height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """A smooth, textured RGB uint8 image: colour gradients plus a little noise.

    Augmentations (contrast, equalize, rotate...) visibly change such content, unlike a
    flat colour.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    freq = rng.uniform(0.05, 0.25, size=3)
    channels = [127 + 100 * np.sin(freq[c] * (x + 0.7 * y) + phase[c]) for c in range(3)]
    image = np.stack(channels, axis=-1) + rng.normal(0, 12, size=(height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image(
    path, height: int = 48, width: int = 40, *, mode: str = "RGB", fmt: str = "JPEG", seed: int = 0
) -> str:
    """Write one generated image to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; the extension need not match ``fmt`` (e.g. a PNG named ``.JPEG``).
    height, width : int
        Size in pixels.
    mode : {"RGB", "L", "CMYK"}
        PIL mode of the stored image (grayscale and CMYK JPEGs are legal and found in ImageNet).
    fmt : str
        PIL format, e.g. "JPEG" or "PNG".
    seed : int
        Content seed.
    """
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    Image.fromarray(make_image(height, width, seed=seed)).convert(mode).save(path, format=fmt, quality=90)
    return os.fspath(path)


def write_image_folder(
    root, num_classes: int = 3, per_class: int = 8, *, sizes=(40, 64), seed: int = 0, extension: str = ".JPEG"
) -> list[str]:
    """Write ``root/class_<k>/img_<j><extension>`` RGB JPEGs of random sizes within ``sizes``.

    Returns
    -------
    list of str
        The written paths, class by class.
    """
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(num_classes):
        for j in range(per_class):
            height, width = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, size=2))
            path = os.path.join(os.fspath(root), f"class_{k}", f"img_{j:03d}{extension}")
            paths.append(write_image(path, height, width, seed=int(rng.integers(1 << 31))))
    return paths


def truncate_file(path, keep: float = 0.5) -> str:
    """Cut ``path`` to the first ``keep`` fraction of its bytes (a truncated download)."""
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: max(1, int(len(data) * keep))])
    return os.fspath(path)
