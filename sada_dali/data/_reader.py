"""The reader behind DALI's parallel ``external_source``: one call per batch (or, as a reference, per sample).

The pipelines call :meth:`SampleReader.read_batch` in DALI's batch mode: one call reads a whole
batch's files and computes the SADA choices and crop windows once over the batch's indices; the
outputs are packed into the encoded bytes' buffer and two dense arrays (:mod:`._packing`), so the
main thread feeds DALI three inputs per batch instead of ten values per sample. :meth:`SampleReader.__call__`
is the same reader one sample at a time, kept as the reference the batch path is tested against.

The reader is pickled into each worker once (start method "spawn"), so everything that changes
during training is read from shared state: the epoch from the strength table's control
slot and the strengths from the table itself. Given the epoch, every output is a pure
function of the sample's position in the epoch, as DALI requires of parallel sources. A
resumed epoch starts at the table's ``start`` position: DALI's ``idx_in_epoch`` counts
from there, so the pipeline reads exactly the rest of the interrupted epoch. The crop window
is one of those outputs: :func:`sada_dali.data.crop.crop_windows` of the image size read from the
file header (in the same walk of a JPEG's segments as its structural check), so the decoder
crops the same pixels whatever the worker, shard or resume.
"""

from __future__ import annotations

import errno
import io
import threading
import time

import numpy as np

from .._utils.checks import check_int
from .._utils.parent import die_with_parent
from ..op_space import sample_choices
from ._check_cache import check_tag, file_stamp
from ._inspect import inspect_encoded
from ._packing import COLUMNS, GROUPS, EncodedPacker, pack_columns
from ._shared_listing import ON_ERROR, ReaderView, SharedListing, check_on_error
from .crop import CropConfig, crop_windows
from .formats import check_formats

__all__ = [
    "SampleReader",
    "check_max_pixels",
    "ON_ERROR",
    "DEFAULT_MAX_PIXELS",
    "READ_RETRIES",
    "BASE_OUTPUTS",
    "CHOICE_OUTPUTS",
]

BASE_OUTPUTS = ("encoded", "label", "index", "valid")
CHOICE_OUTPUTS = (
    "op",
    "magnitude_bin",
    "negate",
    "flip",
    "crop_start",
    "crop_shape",
)  # training only, in order

DEFAULT_MAX_PIXELS = 178_956_970  # PIL's DecompressionBombError threshold, 2 * Image.MAX_IMAGE_PIXELS
_PLACEHOLDER: np.ndarray | None = None
_PLACEHOLDER_SIZE = (16, 16)
_Sample = tuple[np.ndarray, bool, tuple[int, int] | None]  # bytes, valid, (width, height)
READ_RETRIES = (0.02, 0.1, 0.5)  # seconds slept before each new try of a read that failed transiently
_TRANSIENT = frozenset(
    (errno.ENOENT, errno.EIO, errno.EACCES, errno.ETIMEDOUT, errno.ESTALE, errno.EAGAIN, errno.EBUSY)
)


def check_max_pixels(max_pixels):
    """Return ``max_pixels`` if it is a positive integer or None, else raise a ValueError naming it."""
    if max_pixels is None:
        return None
    hint = "It bounds the pixels a file's header may declare; None turns the decompression-bomb guard off."
    return check_int(max_pixels, "max_pixels", 1, hint=hint)


def placeholder_jpeg() -> np.ndarray:
    """A tiny valid JPEG that stands in for a skipped file (its row is dropped later)."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", _PLACEHOLDER_SIZE, (128, 128, 128)).save(buffer, format="JPEG")
        _PLACEHOLDER = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    return _PLACEHOLDER


class SampleReader:
    """Return a batch's (or one sample's) encoded bytes, labels, indices, validity and SADA choices.

    Parameters
    ----------
    listing : sada_dali.data.listing.Listing or sada_dali.data._shared_listing.ReaderView
        Files and labels: the reader then shares them in a :class:`SharedListing` it owns (and
        frees on :meth:`close`), with ``table`` and ``on_error``. Or the view of an owner's
        epoch state (a loader's), which carries the shared listing, the table and ``on_error``
        and which its owner frees; ``table`` and ``on_error`` are then not passed.
    sampler : sada_dali.sampler.ShardSampler
        The shard's epoch order.
    table : sada_dali.strength.StrengthTable, optional
        Strengths, the current epoch and its start position; required when ``augments`` is True.
    num_magnitude_bins : int
        Bins the strengths are quantised to.
    num_ops : int
        Size of the op space.
    on_error : {"raise", "skip"}, optional
        What a file that fails :func:`check_encoded`, declares more than ``max_pixels``,
        cannot be read or is flagged bad in the shared listing (the decoder rejected it) does
        (default "raise"). Under "skip", a file whose content is rejected is flagged bad (never
        read again); one that cannot be read is skipped for that read only (see :meth:`read`).
    augments : bool
        Whether the reader draws each sample's SADA choices (training): it then appends the op,
        magnitude bin, sign, flip and crop window outputs.
    random_area, random_aspect_ratio : tuple of float
        Ranges of the crop window (:class:`sada_dali.data.crop.CropConfig`).
    max_pixels : int or None
        Largest width x height a file's header may declare (read without decoding); None
        turns this decompression-bomb guard off.
    formats : iterable of str, optional
        The image formats accepted (:func:`sada_dali.data.formats.check_formats`); a file of
        another format is rejected like a corrupt one. Default: all that DALI decodes.

    Notes
    -----
    The files, labels and the epoch's shard order live in a :class:`SharedListing` that the
    loader's process owns: workers attach to it instead of unpickling the listing, and read
    the order the owner published with :meth:`publish_order` (a worker computes the order
    itself only when the published one is for another epoch). While the table's ``stop``
    slot is set, every call raises ``StopIteration``, which ends DALI's epoch early.

    Outputs, per sample: ``encoded`` (uint8 bytes), ``label``, ``index`` (int64 scalars),
    ``valid`` (uint8 scalar: 0 for a skipped file replaced by a placeholder) and, with
    ``augments``, ``op``, ``magnitude_bin``, ``negate``, ``flip`` (int32 scalars; see
    :meth:`op_choices`) and the crop window as DALI's slice arguments ``crop_start``
    ``(left, top)`` and ``crop_shape`` ``(width, height)`` (int32 pairs; see
    :meth:`slice_windows`); :meth:`read_batch` returns them over a batch (:meth:`outputs`).
    With ``augments``, a file whose size cannot be told (see
    :func:`sada_dali.data.crop.image_dims`) counts as unreadable. The position read is DALI's
    ``idx_in_epoch`` (per sample) or ``iteration * batch_size`` plus the row (per batch), plus
    the table's ``start``. Positions past the shard size wrap to the
    shard's start (batch padding); past ``sampler.padded_positions()`` the reader raises
    ``StopIteration``.
    """

    def __init__(
        self,
        listing,
        sampler,
        *,
        table=None,
        num_magnitude_bins: int,
        num_ops: int,
        on_error: str | None = None,
        augments: bool = True,
        random_area=(0.08, 1.0),
        random_aspect_ratio=(3 / 4, 4 / 3),
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        formats=None,
    ):
        owned = not isinstance(listing, ReaderView)
        if not owned and (table is not None or on_error is not None):
            raise TypeError(
                "A SampleReader over a ReaderView takes the view's `table` and `on_error`; pass neither."
            )
        if owned:
            on_error = check_on_error("raise" if on_error is None else on_error)
        if augments and (table if owned else listing.table) is None:
            raise ValueError("The `table` is required when `augments=True` (training).")
        self.crop = CropConfig(random_area, random_aspect_ratio)
        self.max_pixels = check_max_pixels(max_pixels)
        self.formats = check_formats(formats)
        self.sampler, self.augments = sampler, augments
        self.num_magnitude_bins, self.num_ops = num_magnitude_bins, num_ops
        if owned:
            listing = ReaderView(SharedListing(listing, sampler.shard_size), table, on_error)
        self.view = listing
        self._owned = (listing.shared_listing,) if owned else ()  # what close() frees
        self._order = (None, None)
        self._check_tag = check_tag(augments, self.formats, self.max_pixels)
        self._packer = None  # read_batch's, cleared for each batch (not pickled: one per worker)

    @property
    def listing(self) -> SharedListing:
        """The shared listing the reader reads (its view's)."""
        return self.view.shared_listing

    @property
    def table(self):
        """The strength table and epoch slots (its view's; None without one)."""
        return self.view.table

    @property
    def on_error(self) -> str:
        """The error policy, "raise" or "skip" (its view's)."""
        return self.view.on_error

    @property
    def batch_size(self) -> int:
        """Samples per :meth:`read_batch` call (the sampler's batch size)."""
        return self.sampler.batch_size

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the outputs of each call, in order: :data:`BASE_OUTPUTS`, then with
        ``augments`` :data:`CHOICE_OUTPUTS`."""
        return BASE_OUTPUTS + (CHOICE_OUTPUTS if self.augments else ())

    @property
    def fed_groups(self) -> dict[str, str]:
        """``{input: dtype}`` of the arrays each call returns, in order (:data:`._packing.GROUPS`)."""
        return dict(list(GROUPS.items())[: 3 if self.augments else 2])

    @property
    def columns(self) -> dict:
        """``{output: (input, column or slice)}``: where each output but ``encoded`` lies in the
        :attr:`fed_groups` (:data:`._packing.COLUMNS`)."""
        return {name: COLUMNS[name] for name in self.output_names[1:]}

    def split_groups(self, groups: dict) -> dict:
        """``{output: value}`` of one sample from its ``{input: array}``: each output but
        ``encoded`` cut out of its group as :attr:`columns` says (the pipelines split their
        ``DataNode`` inputs the same way with :func:`sada_dali.pipelines._stages.split_columns`)."""
        return {name: groups[group][column] for name, (group, column) in self.columns.items()}

    def epoch(self) -> int:
        """The epoch announced through the table (0 without a table)."""
        return self.table.epoch if self.table is not None else 0

    def start(self) -> int:
        """The position the current epoch starts at (the table's ``start``; 0 without a table)."""
        return self.table.start if self.table is not None else 0

    def op_choices(self, indices, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The op choices of ``indices`` in ``epoch`` under the table's current strengths.

        A pure function of (seed, epoch, index, strength): what the pipeline applies to a sample
        does not depend on the worker, the batch or where a resumed epoch started.

        Returns
        -------
        tuple of numpy.ndarray
            int32 ``op``, ``magnitude_bin``, ``negate`` and ``flip``, one value per index.
        """
        indices = np.asarray(indices, dtype=np.int64)
        return sample_choices(
            self.sampler.seed,
            epoch,
            indices,
            self.table.gather(indices),
            num_ops=self.num_ops,
            num_magnitude_bins=self.num_magnitude_bins,
        )

    def publish_order(self, epoch: int) -> None:
        """Compute the shard order of ``epoch`` once and share it with every worker."""
        self.listing.set_order(epoch, self.sampler.indices(epoch))

    def crop_windows(self, indices, epoch: int, sizes=None) -> np.ndarray:
        """The crop windows of ``indices`` in ``epoch``: int32 (n, 4) ``top, left, height, width``.

        ``sizes`` are the decoded ``(width, height)`` of the samples; by default each file
        is read (a skipped file gets the window of its placeholder).
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if sizes is None:
            sizes = [self.sample(int(index))[2] for index in indices]
        return crop_windows(self.sampler.seed, epoch, indices, np.reshape(sizes, (-1, 2)), self.crop)

    def slice_windows(self, indices, epoch: int, sizes) -> tuple[np.ndarray, np.ndarray]:
        """The crop windows of ``indices`` in ``epoch`` (decoded ``sizes``, (n, 2) ``(width, height)``)
        as ``fn.decoders.image_slice``'s int32 ``start`` ``(left, top)`` and ``shape`` ``(width, height)``,
        each (n, 2)."""
        windows = self.crop_windows(indices, epoch, sizes)
        return np.ascontiguousarray(windows[:, 1::-1]), np.ascontiguousarray(windows[:, :1:-1])

    def choices(self, indices, epoch: int) -> dict:
        """What the pipeline applies to ``indices`` in ``epoch``: :meth:`op_choices` as int32
        ``op``, ``magnitude_bin``, ``negate``, ``flip``, and :meth:`crop_windows` as ``crop``."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        choices = dict(zip(CHOICE_OUTPUTS[:4], self.op_choices(indices, epoch)))
        return choices | {"crop": self.crop_windows(indices, epoch)}

    def index_at(self, position: int, epoch: int) -> int:
        """Sample index read at ``position`` of ``epoch`` (positions past the shard wrap)."""
        return int(self.indices_at(position, 1, epoch)[0])

    def indices_at(self, first: int, count: int, epoch: int) -> np.ndarray:
        """int64 sample indices read at positions ``first`` to ``first + count - 1`` of ``epoch``
        (positions past the shard wrap to its start, as batch padding does)."""
        positions = np.arange(first, first + count, dtype=np.int64) % self.sampler.shard_size
        if self.listing.order_epoch == epoch:
            return self.listing.order[positions]
        if self._order[0] != epoch:
            self._order = (epoch, self.sampler.indices(epoch))
        return np.asarray(self._order[1], dtype=np.int64)[positions]

    def sample(self, index: int, packer: EncodedPacker | None = None) -> _Sample:
        """:meth:`read`, except that a file flagged bad in the shared listing (the decoder
        rejected it) is not read again: it follows ``on_error`` at once; an excluded file is
        skipped unread."""
        packer = EncodedPacker() if packer is None else packer
        if self.listing.is_excluded(index):  # SADALoader(exclude=...): skipped unread, whatever on_error
            return self._skipped(packer)
        if self.listing.is_bad(index):
            return self._reject(index, "the image decoder rejected it", packer)
        return self.read(index, packer)

    def read(self, index: int, packer: EncodedPacker | None = None) -> _Sample:
        """Encoded bytes of sample ``index``, whether they are valid (see ``on_error``) and,
        the decoded ``(width, height)`` (None when only the decoder could tell it).

        The bytes are the next buffer of ``packer`` (a new one by default), read straight into
        it; a skipped sample's are the placeholder's.

        A read error (the file is missing, unreadable, a network filesystem timed out) is
        tried again after each pause of :data:`READ_RETRIES`; if it persists, the sample is
        skipped for this call only. Content the checks reject is flagged bad in the shared
        listing under "skip", so that no reader reads it again. A file that passed the checks
        and has not changed since (its length, inode and change time) is not checked again
        (:class:`sada_dali.data._check_cache.CheckCache`).
        """
        packer = EncodedPacker() if packer is None else packer
        data, status, problem = self._read_into(index, packer)
        if problem is not None:
            return self._reject(index, problem, packer)
        checks, stamp = self.listing.checks, file_stamp(status, self._check_tag)
        passed, size = checks.get(index, len(data), stamp)
        if passed:  # checked before, unchanged since (sada_dali.data._check_cache)
            return packer.commit(len(data)), True, size
        problem, size = self._inspect(data)
        if problem is None:
            checks.put(index, len(data), stamp, size)
            return packer.commit(len(data)), True, size
        if self.on_error == "skip":
            self.listing.mark_bad([index])
        return self._reject(index, problem, packer)

    def _read_into(self, index: int, packer: EncodedPacker) -> tuple[memoryview | None, object, str | None]:
        pauses = iter(READ_RETRIES)
        while True:
            try:
                return *self.listing.read_into(index, packer), None
            except OSError as exc:
                pause = next(pauses, None) if exc.errno in _TRANSIENT else None
                if pause is None:
                    return None, None, f"cannot be read ({exc.strerror or exc})"
            time.sleep(pause)

    def _reject(self, index: int, problem: str, packer: EncodedPacker):
        if self.on_error == "raise":
            raise ValueError(
                f"Sample {index} ({self.listing.path(index)}): {problem}. Replace or remove the file, "
                "or pass on_error='skip' to drop such files."
            )
        return self._skipped(packer)

    def _skipped(self, packer: EncodedPacker) -> _Sample:
        """A skipped sample: the placeholder's bytes, appended to ``packer``, flagged invalid
        (and the listing told that a placeholder was handed out)."""
        self.listing.mark_replaced()
        return packer.append(placeholder_jpeg()), False, _PLACEHOLDER_SIZE

    def _inspect(self, data) -> tuple[str | None, tuple[int, int] | None]:
        problem, size = inspect_encoded(
            data, oriented=self.augments, formats=self.formats
        )  # the crop needs a size
        if problem is not None:
            return problem, None
        if size is not None and self.max_pixels is not None and size[0] * size[1] > self.max_pixels:
            return (
                f"its header declares {size[0]} x {size[1]} pixels, more than max_pixels={self.max_pixels} "
                "(a decompression bomb?)"
            ), None
        if self.augments and size is None:
            return "the image size cannot be read from its header", None
        return None, size

    def outputs(self, indices, epoch: int, packer: EncodedPacker | None = None) -> tuple:
        """Every output of the samples ``indices`` in ``epoch``, one entry per name of :attr:`output_names`.

        ``encoded`` is the samples' bytes packed in one buffer, with their offsets
        (:meth:`sada_dali.data._packing.EncodedPacker.packed`); every other output is one dense
        array over the samples: ``label``, ``index`` (int64, (n,)), ``valid`` (uint8, (n,)) and,
        with ``augments``, ``op``, ``magnitude_bin``, ``negate``, ``flip`` (int32, (n,)) and
        ``crop_start``, ``crop_shape`` (int32, (n, 2)). The files are read one by one
        (:meth:`sample`) into ``packer`` (by default a new one); the choices and crop windows are
        computed once for all of them.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        packer = EncodedPacker() if packer is None else packer
        valid, sizes = [], []
        for index in indices.tolist():
            _, ok, size = self.sample(index, packer)
            valid.append(ok)
            sizes.append(size)
        out = (packer.packed(), self.listing.labels[indices], indices, np.array(valid, dtype=np.uint8))
        if not self.augments:
            return out
        return out + self.op_choices(indices, epoch) + self.slice_windows(indices, epoch, sizes)

    def read_batch(self, batch_info) -> tuple:
        """DALI's batch-mode callback: the :meth:`outputs` of batch ``batch_info.iteration`` of the
        announced epoch, counted from the table's ``start`` position (see the class Notes), as
        :mod:`sada_dali.data._packing` packs them (the encoded bytes in one buffer, then the
        ``ids`` and ``choices`` arrays).

        Every call packs the bytes into the same array (:meth:`EncodedPacker.clear`): DALI copies
        a batch (into the worker's shared memory, or when it feeds it inline) before it asks for
        the next, so a batch's buffer is only valid until the next call."""
        size = self.sampler.batch_size
        first = batch_info.iteration * size + self.start()
        if first >= self.sampler.padded_positions() or (self.table is not None and self.table.stop):
            raise StopIteration
        epoch = self.epoch()
        if self._packer is None:
            self._packer = EncodedPacker(1 << 20)
        self._packer.clear()
        return pack_columns(self.outputs(self.indices_at(first, size, epoch), epoch, self._packer))

    def __call__(self, sample_info):
        position = sample_info.idx_in_epoch + self.start()
        if position >= self.sampler.padded_positions() or (self.table is not None and self.table.stop):
            raise StopIteration
        epoch = self.epoch()
        (encoded, _), *dense = pack_columns(self.outputs([self.index_at(position, epoch)], epoch))
        return (encoded, *(values[0] for values in dense))  # one sample: the buffer is its bytes

    def close(self) -> None:
        """Free the shared listing the reader created (the owner's copy; workers only detach); a
        view's owner frees its own."""
        for block in self._owned:
            block.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_order"], state["_packer"] = (None, None), None
        state["_started_from_main_thread"] = threading.current_thread() is threading.main_thread()
        return state

    def __setstate__(self, state):
        # unpickled in each of DALI's workers: it exits with the loader's process and ignores Ctrl-C
        die_with_parent(parent_main_thread=state.pop("_started_from_main_thread", False))
        self.__dict__.update(state)
