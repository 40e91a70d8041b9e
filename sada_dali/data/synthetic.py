"""Two ImageFolder generators that need no download: handwritten digits and a photo-like corpus.

* :func:`create_digits_dataset` is the demo's dataset. It is scikit-learn's bundled copy of the
  UCI handwritten digits (``sklearn.datasets.load_digits``: 1797 real 8x8 scans of 10 classes).
  It ships inside a registry package that is already a dependency, so the demo works offline,
  it is real handwriting rather than noise (so accuracy means something), and it is tiny enough
  to train on twice in a couple of minutes on two CPU cores.
* :func:`create_photo_corpus` is the benchmark's stand-in for ImageNet: 500x375 JPEGs of about
  110 KB with smooth gradients, blobs, texture and hard edges, so decoders and augmentations do
  the work they do on photographs (white noise would compress badly and decode unlike a photo).

Both write ``root/train/<class>/*.jpg`` (and ``root/val/...`` for the digits) and a
``.complete.json`` stamp last; a folder whose stamp matches the request is reused as it is.
``create_photo_corpus(format="wds")`` writes the same images as WebDataset tar shards in timm's
layout instead (``root/train/corpus-train-0000.tar``, ...).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm.auto import tqdm

from .._utils.checks import check_int
from ._tar_writer import write_shards

__all__ = ["create_digits_dataset", "create_photo_corpus", "default_cache_dir"]

_STAMP = ".complete.json"
_GRAIN = 0.12  # amplitude of the per-pixel noise
_DETAILS = 2000  # small strokes; with the grain and quality 92 they set the ~110 KB file size


def default_cache_dir() -> Path:
    """The cache folder: ``$SADA_DALI_CACHE`` or ``~/.cache/sada-dali``."""
    return Path(os.environ.get("SADA_DALI_CACHE", Path.home() / ".cache" / "sada-dali"))


def _is_complete(root: Path, config: dict) -> bool:
    stamp = root / _STAMP
    if not stamp.is_file():
        return False
    try:
        saved = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if saved.get("config") != config:
        return False
    if "shards" in saved:
        return all((root / "train" / name).is_file() for name in saved["shards"])
    return all(len(list((root / split).rglob("*.jpg"))) == count for split, count in saved["counts"].items())


def _write_stamp(root: Path, config: dict, counts: dict, **extra) -> None:
    tmp = root / (_STAMP + ".tmp")
    tmp.write_text(json.dumps({"config": config, "counts": counts, **extra}, indent=1))
    os.replace(tmp, root / _STAMP)


def create_digits_dataset(
    root,
    *,
    image_size: int = 64,
    val_fraction: float = 0.2,
    seed: int = 0,
    quality: int = 95,
    progress: bool = True,
) -> Path:
    """Write scikit-learn's handwritten digits as a tinted RGB JPEG ImageFolder.

    Parameters
    ----------
    root : str or Path
        Output folder; gets ``train/0..9`` and ``val/0..9``.
    image_size : int
        Side of the upscaled square images (the scans are 8x8).
    val_fraction : float
        Share of each class held out for ``val/``, chosen by a seeded permutation.
    seed : int
        Seeds the split and the per-image colour tint.
    quality : int
        JPEG quality.
    progress : bool
        Show a tqdm bar while writing.

    Returns
    -------
    Path
        ``root``. Nothing is rewritten when a complete folder with the same settings exists.
    """
    from sklearn.datasets import load_digits

    check_int(image_size, "image_size", 8)
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"The `val_fraction` must lie in (0, 1), got {val_fraction!r}.")
    root = Path(root)
    config = {
        "kind": "digits",
        "image_size": int(image_size),
        "val_fraction": float(val_fraction),
        "seed": int(seed),
        "quality": int(quality),
    }
    if _is_complete(root, config):
        return root
    digits = load_digits()
    rng = np.random.default_rng(seed)
    split = np.empty(len(digits.target), dtype=object)
    for label in np.unique(digits.target):
        members = rng.permutation(np.flatnonzero(digits.target == label))
        n_val = max(1, int(round(len(members) * float(val_fraction))))
        split[members[:n_val]], split[members[n_val:]] = "val", "train"
    ink = rng.uniform(0.35, 1.0, size=(len(digits.target), 3))
    paper = rng.uniform(0.0, 0.3, size=(len(digits.target), 3))
    counts = {"train": 0, "val": 0}
    for i in tqdm(range(len(digits.target)), desc="digits", unit="img", disable=not progress):
        gray = Image.fromarray((digits.images[i] * (255.0 / 16.0)).astype(np.uint8))
        gray = (
            np.asarray(gray.resize((image_size, image_size), Image.BICUBIC), dtype=np.float32)[..., None]
            / 255.0
        )
        rgb = (255.0 * (paper[i] + gray * (ink[i] - paper[i]))).clip(0, 255).astype(np.uint8)
        folder = root / split[i] / str(digits.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(folder / f"{i:04d}.jpg", quality=quality)
        counts[split[i]] += 1
    _write_stamp(root, config, counts)
    return root


def _octave_noise(rng: np.random.Generator, width: int, height: int, cell: int) -> np.ndarray:
    """Zero-mean value noise at one scale: a random grid of ``cell`` pixels, bicubically upscaled."""
    grid = rng.integers(0, 256, (height // cell + 2, width // cell + 2, 3), dtype=np.uint8)
    big = (
        Image.fromarray(grid).resize((width, height), Image.BICUBIC)
        if cell > 1
        else Image.fromarray(grid[:height, :width])
    )
    return np.asarray(big, dtype=np.float32) / 255.0 - 0.5


def _photo(rng: np.random.Generator, width: int, height: int, label: int, num_classes: int) -> Image.Image:
    """One photo-like RGB image: a class-tinted gradient, soft blobs, hard-edged shapes, texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    hue = np.array([np.cos(2 * np.pi * (label / num_classes + k / 3)) for k in range(3)], dtype=np.float32)
    top, bottom = 0.5 + 0.35 * hue + rng.uniform(-0.1, 0.1, 3), rng.uniform(0.1, 0.9, 3)
    t = (y / height)[..., None]
    img = top * (1 - t) + bottom * t
    for _ in range(rng.integers(3, 7)):  # soft blobs
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.3) * width
        g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - g) + rng.uniform(0, 1, 3) * g
    canvas = Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(3, 8)):  # hard-edged objects
        xs, ys = sorted(rng.uniform(0, width, 2)), sorted(rng.uniform(0, height, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((xs[0], ys[0], xs[1], ys[1]), fill=fill)
    for _ in range(_DETAILS):  # small details: twigs, leaves, letters
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        dx, dy = rng.normal(0, 12, 2)
        base = img[int(y0), int(x0)] * rng.uniform(0.4, 1.5)
        fill = tuple(int(v) for v in (255 * base).clip(0, 255))
        draw.line((x0, y0, x0 + dx, y0 + dy), fill=fill, width=int(rng.integers(1, 4)))
    img = np.asarray(canvas, dtype=np.float32) / 255.0
    for cell, amplitude in ((48, 0.25), (12, 0.14), (3, 0.2), (1, _GRAIN)):  # texture, coarse to fine
        noise = _octave_noise(rng, width, height, cell)
        img = img + amplitude * (0.7 * noise.mean(axis=2, keepdims=True) + 0.3 * noise)
    freq = rng.uniform(0.05, 0.3)
    img = img + 0.05 * np.sin(freq * (x * np.cos(label) + y * np.sin(label)) + rng.uniform(0, 6.3))[..., None]
    return Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8))


def create_photo_corpus(
    root,
    *,
    num_images: int = 256,
    num_classes: int = 8,
    width: int = 500,
    height: int = 375,
    quality: int = 92,
    seed: int = 0,
    progress: bool = True,
    format: str = "imagefolder",
    shard_size: int = 1000,
) -> Path:
    """Write an ImageNet-like JPEG corpus as ``root/train/<class>/*.jpg`` (or as tar shards).

    Parameters
    ----------
    root : str or Path
        Output folder.
    num_images : int
        Total number of images, spread round-robin over the classes.
    num_classes : int
        Number of class folders (``class_000``, ...).
    width, height : int
        Image size; the default 500x375 is a typical ImageNet photo.
    quality : int
        JPEG quality; 92 gives about 110 KB per 500x375 image (95-125 KB).
    seed : int
        Seeds the content; the same arguments give the same files.
    progress : bool
        Show a tqdm bar while writing.
    format : {"imagefolder", "wds"}
        ``"wds"`` writes WebDataset shards ``root/train/corpus-train-0000.tar``, ... in timm's
        layout: sample ``img_000123`` has ``img_000123.jpg``, ``.cls`` (the class index) and
        ``.json`` members, the same JPEG bytes the ImageFolder would hold, in index order.
    shard_size : int
        Samples per shard with ``format="wds"``.

    Returns
    -------
    Path
        ``root``. Nothing is rewritten when a complete folder with the same settings exists.
    """
    if format not in ("imagefolder", "wds"):
        raise ValueError(f"The `format` must be 'imagefolder' or 'wds', got {format!r}.")
    check_int(shard_size, "shard_size", 1)
    check_int(num_images, "num_images", 1)
    check_int(num_classes, "num_classes", 1)
    check_int(width, "width", 16)
    check_int(height, "height", 16)
    root = Path(root)
    config = {
        "kind": "photo",
        "num_images": int(num_images),
        "num_classes": int(num_classes),
        "width": int(width),
        "height": int(height),
        "quality": int(quality),
        "seed": int(seed),
    }
    if format == "wds":
        config |= {"format": "wds", "shard_size": int(shard_size)}
    if _is_complete(root, config):
        return root

    def photos():
        for i in tqdm(range(num_images), desc="corpus", unit="img", disable=not progress):
            label = i % num_classes
            yield i, label, _photo(np.random.default_rng([seed, i]), width, height, label, num_classes)

    if format == "wds":
        samples = (
            (f"img_{i:06d}", _jpeg_bytes(image, quality), "jpg", label, {"class": f"class_{label:03d}"})
            for i, label, image in photos()
        )
        paths = write_shards(samples, root / "train", prefix="corpus-train", shard_size=int(shard_size))
        _write_stamp(root, config, {"train": int(num_images)}, shards=[os.path.basename(p) for p in paths])
        return root
    for c in range(num_classes):
        (root / "train" / f"class_{c:03d}").mkdir(parents=True, exist_ok=True)
    for i, label, image in photos():
        image.save(root / "train" / f"class_{label:03d}" / f"img_{i:06d}.jpg", quality=quality)
    _write_stamp(root, config, {"train": int(num_images)})
    return root


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """The bytes ``image.save(path, quality=quality)`` writes for a ``.jpg`` path."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
