"""Stages the train and validation pipelines share: reading, decoding and normalising.

Each stage takes ``device`` ("gpu" | "cpu") so that both pipelines are one code path: on
"gpu" images are decoded by nvJPEG (``device="mixed"``) and stay on the GPU; on "cpu" every
operator runs on the CPU.
"""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.pipeline import Pipeline

__all__ = [
    "DEVICES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "check_device",
    "check_normalize",
    "resolve_device_id",
    "read_samples",
    "decoder_args",
    "normalize",
    "to_device",
]

DEVICES = ("gpu", "cpu")
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)

_DTYPES = {"encoded": types.UINT8, "label": types.INT64, "index": types.INT64, "valid": types.UINT8}
_VECTORS = ("encoded", "crop_start", "crop_shape")  # 1-D per sample; the rest are scalars


def check_device(device: str) -> str:
    """Return ``device`` if it is "gpu" or "cpu", else raise a ValueError naming the fix."""
    if device not in DEVICES:
        raise ValueError(f"The `device` must be 'gpu' or 'cpu', got {device!r}.")
    return device


def resolve_device_id(device: str, device_id=None):
    """The CUDA device a pipeline on ``device`` runs on: None on "cpu", else ``device_id``
    or torch's current device (so every rank builds on its own GPU after ``set_device``).

    Raises
    ------
    ValueError
        If ``device_id`` is not a non-negative integer.
    """
    if check_device(device) == "cpu":
        return None
    if device_id is None:
        import torch

        return torch.cuda.current_device()
    if isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0:
        raise ValueError(
            f"The `device_id` must be a non-negative integer (a CUDA device ordinal) or None for "
            f"the current device, got {device_id!r}."
        )
    return device_id


def read_samples(reader) -> dict:
    """Feed ``reader`` through a parallel per-sample ``external_source``.

    Parameters
    ----------
    reader : sada_dali.data._reader.SampleReader
        Picklable callable taking a ``SampleInfo``. The pool runs it in the pipeline's
        ``py_num_workers`` processes; with ``py_num_workers=0`` it runs inline instead.

    Returns
    -------
    dict of DataNode
        CPU nodes ``encoded``, ``label``, ``index``, ``valid`` and, when the reader makes SADA
        choices, ``op``, ``magnitude_bin``, ``negate``, ``flip`` and the crop window's
        ``crop_start`` (left, top) and ``crop_shape`` (width, height) in pixels.
    """
    names = list(reader.output_names)
    dtypes = [_DTYPES.get(name, types.INT32) for name in names]
    ndims = [1 if name in _VECTORS else 0 for name in names]
    parallel = Pipeline.current().py_num_workers > 0
    nodes = fn.external_source(
        source=reader, num_outputs=len(names), batch=False, parallel=parallel, dtype=dtypes, ndim=ndims
    )
    return dict(zip(names, nodes))


def decoder_args(device: str, hw_decoder_load: float) -> dict:
    """Keyword arguments of a DALI image decoder on ``device`` (RGB output)."""
    if check_device(device) == "gpu":
        return {"device": "mixed", "output_type": types.RGB, "hw_decoder_load": hw_decoder_load}
    return {"device": "cpu", "output_type": types.RGB}


def check_normalize(normalize, fp16) -> bool:
    """Return ``normalize`` as a bool; raise a ValueError if it asks for uint8 images with ``fp16``."""
    if not normalize and fp16:
        raise ValueError(
            "The `fp16` option applies to normalised images, but `normalize=False` yields uint8 ones; "
            "drop fp16=True (the wrapper that normalises chooses the float type)."
        )
    return bool(normalize)


def normalize(images, *, fp16: bool = False, normalize: bool = True, **kwargs):
    """HWC uint8 to CHW float32 (or float16) with ImageNet mean/std, via ``crop_mirror_normalize``.

    ``normalize=False`` keeps uint8 values (no mean/std, no float conversion) in the same one
    pass, for wrappers that normalise themselves. ``kwargs`` pass on to the operator (``crop``,
    ``mirror``...).
    """
    if not check_normalize(normalize, fp16):
        return fn.crop_mirror_normalize(images, dtype=types.UINT8, output_layout="CHW", **kwargs)
    return fn.crop_mirror_normalize(
        images,
        dtype=types.FLOAT16 if fp16 else types.FLOAT,
        output_layout="CHW",
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
        **kwargs,
    )


def to_device(node, device: str):
    """Move a CPU node to the GPU when ``device == "gpu"`` (labels and indices)."""
    return node.gpu() if device == "gpu" else node
