"""How the reader's outputs cross into DALI: two or three inputs per batch, not ten.

Feeding an ``external_source`` input costs the main thread a fixed price per input and batch,
so the reader does not hand DALI one array per output. Every output but the encoded bytes is a
small integer per sample, and a batch's are packed into two dense arrays (:data:`GROUPS`):

* ``ids``, int64 ``(n, 3)``: label, index and valid;
* ``choices``, int32 ``(n, 8)``, training only: op, magnitude bin, sign, flip, then the crop
  window's start (left, top) and shape (width, height).

The encoded bytes travel as one buffer and its offsets (:class:`EncodedPacker`). The pipeline takes
the columns apart again with :data:`COLUMNS`, which the reader hands it
(:func:`sada_dali.pipelines._stages.read_samples`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GROUPS", "COLUMNS", "EncodedPacker", "pack_columns"]

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


class EncodedPacker:
    """A batch's encoded buffers written one after another into one growing uint8 array: what a
    worker hands DALI in one piece, with its (n + 1,) offsets (see
    :func:`sada_dali.pipelines._stages.unpack_encoded`).

    A file is read straight into the space :meth:`reserve` returns and kept with :meth:`commit`
    (or left out: the next reservation writes over it), so its bytes are copied once, by the
    kernel, instead of into a ``bytes`` object and then into the batch. A larger reservation at
    the same place keeps what was written into the smaller one.

    :meth:`clear` starts the next batch in the same array: a batch reader that keeps one packer
    writes every batch into memory already mapped, instead of having the kernel fault in and zero
    a fresh allocation per batch (with transparent huge pages, 2 MB at a time).

    Parameters
    ----------
    capacity : int
        Bytes allocated at first; the array doubles whenever a reservation needs more.
    """

    def __init__(self, capacity: int = 1 << 16):
        self._blob = np.empty(max(int(capacity), 1), dtype=np.uint8)
        self._ends = [0]

    @property
    def size(self) -> int:
        """Bytes committed so far."""
        return self._ends[-1]

    def clear(self) -> None:
        """Drop every buffer and write the next ones from the start of the same array; what
        :meth:`packed` returned before is overwritten then."""
        self._ends = [0]

    def reserve(self, size: int) -> memoryview:
        """Writable space for the next ``size`` bytes, after the last committed buffer."""
        start = self._ends[-1]
        if start + size > len(self._blob):
            grown = np.empty(max(2 * len(self._blob), start + size), dtype=np.uint8)
            grown[: len(self._blob)] = self._blob  # the pending reservation too
            self._blob = grown
        return memoryview(self._blob)[start : start + size]

    def commit(self, size: int) -> np.ndarray:
        """Keep the first ``size`` bytes written into the last reservation as the next buffer."""
        start = self._ends[-1]
        self._ends.append(start + size)
        return self._blob[start : start + size]

    def append(self, data) -> np.ndarray:
        """Copy ``data`` (bytes-like) in as the next buffer; returns it."""
        self.reserve(len(data))[:] = data
        return self.commit(len(data))

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The buffers as one uint8 array and their int64 ``(n + 1,)`` offsets."""
        return self._blob[: self.size], np.array(self._ends, dtype=np.int64)


def pack_columns(outputs) -> tuple:
    """``(encoded, ids)`` or ``(encoded, ids, choices)`` from the reader's outputs.

    Parameters
    ----------
    outputs : tuple
        :meth:`sada_dali.data._reader.SampleReader.outputs`: the packed encoded buffers (the
        :meth:`EncodedPacker.packed` pair), then one dense
        array per output, in the order of :data:`COLUMNS` (``crop_start`` and ``crop_shape``
        are ``(n, 2)``).

    Returns
    -------
    tuple
        The packed encoded buffers unchanged and the :data:`GROUPS` arrays.
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
