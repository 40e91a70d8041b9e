"""How the reader's outputs cross into DALI: two or three inputs per batch, not ten.

Feeding an ``external_source`` input costs the main thread a fixed price per input and batch,
so the reader does not hand DALI one array per output. Every output but the encoded bytes is a
small integer per sample, and a batch's are packed into two dense arrays (:data:`GROUPS`):

* ``ids``, int64 ``(n, 3)``: label, index and valid;
* ``choices``, int32 ``(n, 8)``, training only: op, magnitude bin, sign, flip, then the crop
  window's start (left, top) and shape (width, height).

The encoded bytes travel as one buffer and its offsets (:func:`pack_encoded`). The pipeline takes
the columns apart again with :data:`COLUMNS`, which the reader hands it
(:func:`sada_dali.pipelines._stages.read_samples`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GROUPS", "COLUMNS", "pack_encoded", "pack_columns"]

GROUPS = {"encoded": "uint8", "ids": "int64", "choices": "int32"}
"""The inputs fed to DALI, in order, and their dtypes (``choices`` only with the SADA choices)."""

COLUMNS = {
    "label": ("ids", 0),
    "index": ("ids", 1),
    "valid": ("ids", 2),
    "op": ("choices", 0),
    "magnitude_bin": ("choices", 1),
    "negate": ("choices", 2),
    "flip": ("choices", 3),
    "crop_start": ("choices", slice(4, 6)),
    "crop_shape": ("choices", slice(6, 8)),
}
"""``{output: (group, column or slice)}``: where each output of the reader lies in its group."""


def pack_encoded(encoded) -> tuple[np.ndarray, np.ndarray]:
    """A batch's encoded buffers as one uint8 array and its int64 ``(n + 1,)`` offsets: what a
    worker hands DALI in one piece (see :func:`sada_dali.pipelines._stages.unpack_encoded`)."""
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(data) for data in encoded], out=offsets[1:])
    return np.concatenate(encoded), offsets


def pack_columns(outputs) -> tuple:
    """``(encoded, ids)`` or ``(encoded, ids, choices)`` from the reader's outputs.

    Parameters
    ----------
    outputs : tuple
        :meth:`sada_dali.data._reader.SampleReader.outputs`: the encoded buffers, then one dense
        array per output, in the order of :data:`COLUMNS` (``crop_start`` and ``crop_shape``
        are ``(n, 2)``).

    Returns
    -------
    tuple
        The encoded buffers unchanged and the :data:`GROUPS` arrays.
    """
    encoded, label, index, valid, *choices = outputs
    ids = np.empty((len(index), 3), dtype=np.int64)
    ids[:, 0], ids[:, 1], ids[:, 2] = label, index, valid
    if not choices:
        return encoded, ids
    packed = np.empty((len(index), 8), dtype=np.int32)
    for column, values in enumerate(choices[:4]):
        packed[:, column] = values
    packed[:, 4:6], packed[:, 6:8] = choices[4], choices[5]
    return encoded, ids, packed
