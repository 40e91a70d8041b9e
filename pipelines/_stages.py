"""Stages the train and validation pipelines share: reading, decoding and normalising.

Each stage takes ``device`` ("gpu" | "cpu") so that both pipelines are one code path: on
"gpu" images are decoded by nvJPEG (``device="mixed"``) and stay on the GPU; on "cpu" every
operator runs on the CPU.
"""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.pipeline import Pipeline

from sada_dali._utils.checks import check_device, check_normalize
from sada_dali._utils.imagenet import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "read_samples",
    "decoder_args",
    "normalize",
    "to_device",
]

_MEAN = [255 * m for m in IMAGENET_MEAN]  # of uint8 pixels
_STD = [255 * s for s in IMAGENET_STD]

_DTYPES = {"encoded": types.UINT8, "label": types.INT64, "index": types.INT64, "valid": types.UINT8}
_VECTORS = ("encoded", "crop_start", "crop_shape")  # 1-D per sample; the rest are scalars


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
        mean=_MEAN,
        std=_STD,
        **kwargs,
    )


def to_device(node, device: str):
    """Move a CPU node to the GPU when ``device == "gpu"`` (labels and indices)."""
    return node.gpu() if device == "gpu" else node
