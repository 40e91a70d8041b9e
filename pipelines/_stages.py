"""Stages the train and validation pipelines share: reading, decoding and normalising.

Each stage takes ``device`` ("gpu" | "cpu") so that both pipelines are one code path: on
"gpu" images are decoded by nvJPEG (``device="mixed"``) and stay on the GPU; on "cpu" every
operator runs on the CPU.
"""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.pipeline import Pipeline, do_not_convert
from nvidia.dali.tensors import TensorCPU, TensorListCPU

from sada_dali._utils.checks import check_device, check_normalize
from sada_dali._utils.imagenet import IMAGENET_MEAN, IMAGENET_STD

from ._compat import transform_fed_batches

__all__ = [
    "READ_IN_BATCHES",
    "read_samples",
    "split_columns",
    "unpack_encoded",
    "decoder_args",
    "normalize",
    "to_device",
]

_MEAN = [255 * m for m in IMAGENET_MEAN]  # of uint8 pixels
_STD = [255 * s for s in IMAGENET_STD]

_DTYPES = {"uint8": types.UINT8, "int64": types.INT64, "int32": types.INT32}
_FROM_DLPACK_LIST = getattr(TensorListCPU, "from_dlpack_list", None)  # None before DALI had it


READ_IN_BATCHES = True
"""Whether :func:`read_samples` calls the reader once per batch (its ``read_batch``) or, False,
once per sample (the reference path the tests compare the batch path with)."""


@do_not_convert  # else AutoGraph converts the feed hook too, and each batch pays its converted calls
def read_samples(reader) -> dict:
    """Feed ``reader`` through a parallel ``external_source``, one call per batch.

    Parameters
    ----------
    reader : sada_dali.data._reader.SampleReader
        Picklable; its ``read_batch`` takes DALI's ``BatchInfo`` and returns the packed encoded
        buffers and the dense ``ids`` (and, with ``augments``, ``choices``) arrays of
        its ``fed_groups``. The pool runs it in the pipeline's
        ``py_num_workers`` processes, one batch per call; with ``py_num_workers=0`` it runs
        inline instead. With :data:`READ_IN_BATCHES` off, the reader itself is called per sample.
        The pipeline takes the columns apart as its ``columns`` say (:func:`split_columns`).

    Returns
    -------
    dict of DataNode
        CPU nodes ``encoded``, ``label``, ``index``, ``valid`` and, when the reader makes SADA
        choices, ``op``, ``magnitude_bin``, ``negate``, ``flip`` and the crop window's
        ``crop_start`` (left, top) and ``crop_shape`` (width, height) in pixels.
    """
    groups = reader.fed_groups
    parallel = Pipeline.current().py_num_workers > 0
    if READ_IN_BATCHES:
        source, mode = reader.read_batch, {"batch": True, "batch_info": True}
        transform_fed_batches(Pipeline.current(), unpack_encoded)
    else:
        source, mode = reader, {"batch": False}
    dtypes, ndims = [_DTYPES[dtype] for dtype in groups.values()], [1] * len(groups)
    nodes = fn.external_source(
        source=source, num_outputs=len(groups), parallel=parallel, dtype=dtypes, ndim=ndims, **mode
    )
    nodes = dict(zip(groups, nodes))
    return {"encoded": nodes["encoded"], **split_columns(nodes, reader.columns)}


def split_columns(nodes: dict, columns: dict) -> dict:
    """Take each output out of its packed input node, as ``columns`` (``{output: (input,
    column or slice)}``, :attr:`SampleReader.columns`) says.

    The scalar columns of an input come out of one ``fn.element_extract`` of the input seen as a
    sequence of one-element frames (``fn.reshape`` only relabels the memory), each output then
    reshaped to a scalar; slices are subscripts. One operator per input instead of one subscript
    per column is 7 against 16 µs of DALI CPU time per sample for the training outputs (a
    pipeline fed constant batches of 64, ``num_threads=2``).
    """
    out = {}
    for group, node in nodes.items():
        placed = {name: column for name, (where, column) in columns.items() if where == group}
        if not placed:
            continue
        scalars = {name: column for name, column in placed.items() if isinstance(column, int)}
        if scalars:
            width = max(column + 1 if isinstance(column, int) else column.stop for column in placed.values())
            frames = fn.reshape(node, shape=[width, 1], layout="FX")
            extracted = fn.element_extract(frames, element_map=list(scalars.values()))
            extracted = extracted if isinstance(extracted, list) else [extracted]
            out |= {name: fn.reshape(one, shape=[]) for name, one in zip(scalars, extracted)}
        out |= {name: node[column] for name, column in placed.items() if name not in scalars}
    return {name: out[name] for name in columns}


def unpack_encoded(outputs):
    """The reader's batch outputs with the packed ``encoded`` (one buffer and its (n + 1,) offsets,
    :class:`sada_dali.data._packing.EncodedPacker`) as a ``TensorListCPU`` of views into it, built
    here, in the main thread, instead of DALI deserialising and converting a list of arrays.

    The views go to DALI as DLPack objects in one call (``TensorListCPU.from_dlpack_list``, no
    copy): 170-200 µs of the main thread per batch of 64 against 250-280 for one ``TensorCPU``
    per sample, the loader running. A DALI without that call gets the ``TensorCPU`` list.
    """
    blob, offsets = outputs[0]
    bounds = offsets.tolist()
    if _FROM_DLPACK_LIST is not None:
        encoded = _FROM_DLPACK_LIST([blob[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    else:
        views = memoryview(blob)
        tensors = [TensorCPU(views[a:b], "") for a, b in zip(bounds[:-1], bounds[1:])]
        encoded = TensorListCPU(tensors, "", False)
    return (encoded, *outputs[1:])


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
