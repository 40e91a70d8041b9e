"""``SADALoader``: a drop-in PyTorch-style iterator over a DALI SADA pipeline.

The loader checks its arguments into :class:`~sada_dali.loader._options.LoaderOptions` and is
built from them by :func:`sada_dali.loader._factory.build_loader`. The epoch handshake (strengths
copied once per epoch, cheap early exit) lives in :mod:`sada_dali.loader._epoch`, the state it
reads and changes in :mod:`sada_dali.loader._epoch_state`, and feeding the estimator from
torch-style loops in :mod:`sada_dali.loader._feed`.
Resume is exact because every per-sample choice (order, op, sign, flip) is a pure function
of (seed, epoch, index): :meth:`SADALoader.state_dict` saves the epoch, the batches read
and the epoch's strengths, and a new loader restarts that epoch's order at the saved position.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
import weakref

import numpy as np

from .._utils.arrays import as_host_array
from ..sampler import ShardSampler
from ._factory import LoaderParts, build_loader
from ._options import LoaderOptions
from ._state_checks import restore_removed

__all__ = ["SADALoader"]


def _init_signature(cls) -> inspect.Signature:
    """``cls.__init__``'s signature without ``self``, for ``help()`` and ``inspect`` (not ``__new__``'s)."""
    sig = inspect.signature(cls.__init__)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def _options_signature() -> inspect.Signature:
    """``SADALoader``'s signature: the fields of :class:`LoaderOptions`, keyword-only but the first two."""
    hints, parameters = typing.get_type_hints(LoaderOptions), []
    for k, field in enumerate(dataclasses.fields(LoaderOptions)):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if k < 2 else inspect.Parameter.KEYWORD_ONLY
        default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        hint = inspect.Parameter.empty if hints[field.name] is object else hints[field.name]
        parameters.append(inspect.Parameter(field.name, kind, default=default, annotation=hint))
    return inspect.Signature(parameters)


class SADALoader:
    """Iterate ``(images, labels, indices)`` batches decoded and augmented by DALI.

    Parameters
    ----------
    source : str, os.PathLike or list of str
        An ImageFolder directory, a DALI file list (``relative/path label`` lines) with
        ``file_root``, or WebDataset tar shards: a folder of ``.tar`` files, a list of them or a
        brace pattern such as ``"/data/imagenet1k-train-{0000..1023}.tar"`` (docs/loader.md, "Shards").
        Anything else raises a TypeError naming ``source``. Every argument is checked before
        any file is read (:class:`~sada_dali.loader._options.LoaderOptions`).
    batch_size : int
        Samples per batch of this shard.
    device : {"gpu", "cpu"}
        Where decoding and augmentation run; on "gpu" all outputs are CUDA tensors.
    train : bool
        True: random crop, SADA op, flip, shuffled order. False: the validation pipeline
        (resize, centre crop) in listing order.
    image_size : int or (int, int)
        Output side S: the images are S x S. A pair ``(H, W)``, as timm and torchvision take
        it, is accepted when square (``(S, S)`` is S); a non-square pair raises a ValueError
        (the pipelines crop square images). Checked before any file is read: a positive integer
        (Python or NumPy), not a bool.
    strengths : array-like or object with ``.strengths``, optional
        Initial strengths (N,), or an estimator whose ``.strengths`` is read at every epoch
        start. Default: all 1.0.
    estimator : bool, {"sada", "entaugment"} or estimator, optional
        An estimator the loader drives (:attr:`estimator`): ``"sada"`` (or ``True``) creates a
        ``SADAEstimator``, ``"entaugment"`` an ``EntAugmentEstimator``, on the loader's device
        (wrapped in a ``DistributedEstimator`` under several ranks); or pass your own. Its strengths are
        read at every epoch start, :meth:`feed` updates it, and an epoch start after feeding
        calls its ``end_epoch()``. Its state is part of :meth:`state_dict`.
    num_classes : int, optional
        Width K of the logits a created estimator (``estimator=True``) takes: the model's
        output count. Default ``len(classes)``; a torchvision or timm model keeps its
        1000-class head unless told otherwise, so pass ``num_classes=1000`` for one.
    pairs : bool
        Yield ``(images, labels)`` for torch-style loops (torchvision, timm); feed the
        estimator with :meth:`feed`.
    num_shards, shard_id : int, optional
        Data-parallel sharding (see :class:`sada_dali.sampler.ShardSampler`). Default: the
        world size and rank of the initialised ``torch.distributed`` group, else 1 and 0.
    seed : int
        Seeds the epoch order and the per-sample op, sign, flip and crop window: an integer in
        [0, 2**64) (the counter-based hash reads 64 bits, so a larger seed would repeat a
        smaller one and is refused).
    drop_last : bool, optional
        Drop the partial last batch (and equalise shards by dropping). False yields a partial
        last batch; training shards are then padded by wrapping around (``DistributedSampler``),
        validation shards are not: every sample once over all shards (docs/loader.md). Default:
        True for training, False for validation, which never drops a sample. A bool (NumPy
        bools too): anything else, e.g. ``"no"``, raises a TypeError.
    num_threads, workers : int, optional
        DALI threads and reader processes (start method "spawn"; 0 reads inline). Default:
        this rank's share of its usable CPUs (:mod:`sada_dali.loader._defaults`).
    on_error : {"raise", "skip"}
        A file that cannot be read or decoded raises an error naming exactly it, or is skipped:
        its row is dropped, counted in :attr:`num_skipped`, listed (once) in
        :attr:`skipped_files`, and never read again (docs/faults.md).
    op_space : sequence of OpSpec, optional
        Default: the paper's Table 8 (:func:`~sada_dali.op_space.create_op_space`); each entry an
        ``OpSpec`` of a registered op.
    num_magnitude_bins : int
        Strength quantisation: the magnitude levels (>= 2).
    fp16 : bool
        float16 images.
    normalize : bool
        False yields the uint8 (B, 3, S, S) images before mean/std normalisation and float
        conversion, for wrappers that normalise themselves (timm's ``PrefetchLoader``,
        ``fast_collate``-style loops).
    file_root : str, optional
        Root of the paths of a file list.
    device_id : int, optional
        CUDA device for "gpu" (default: the current one).
    hw_decoder_load : float
        Share of JPEGs for the hardware decoder ("gpu"), in [0, 1].
    prefetch_queue_depth : int
        DALI's pipeline queue depth: the batches prepared ahead of the one yielded (>= 1).
    random_area, random_aspect_ratio : tuple of float
        ``RandomResizedCrop`` ranges of the training crop (area fraction, width / height).
    max_pixels : int or None
        Decompression-bomb guard: a file whose header declares more than width x height =
        ``max_pixels`` is rejected before decoding and follows ``on_error``. Default PIL's
        error threshold; None turns the guard off.
    formats : iterable of str or str, optional
        The image formats read, from "jpeg", "png", "bmp", "tiff", "webp" and "pnm" (a string
        may list several, comma-separated). A file of another format is rejected by name and
        follows ``on_error``, as does a file in a mode DALI decodes differently from its
        meaning (docs/faults.md, "Formats"). Default: all six (every mode DALI decodes wrongly
        is refused by its format's check). ``sada-dali check --formats`` applies the same rule.
    exclude : str, dict or iterable of str, optional
        Files never read: a ``sada-dali check --json`` report (its path or the parsed dict) or
        file paths; their rows are dropped as skipped.
    max_skipped_share : float
        The largest share of one batch's rows that may be dropped as skipped (``on_error="skip"``,
        ``exclude``): a batch that loses more raises a RuntimeError naming the source, the batch
        and its skipped files, and so does an epoch that yields no row at all, whatever this
        says (docs/faults.md, "Skipped rows"). A number in [0, 1]; default 0.5, more than half
        a batch. 1.0 lets every batch through, one of 0 rows included, which keeps every rank
        of a distributed run yielding ``len(loader)`` batches; its loop must then handle them.

    Notes
    -----
    The epoch advances by one after each complete pass; :meth:`set_epoch` overrides it. A
    pass left early ends at the next pass's start, reading at most ``prefetch_queue_depth +
    1`` more batches; without ``set_epoch`` the same epoch is read again. Every sample's
    order, op, sign, flip and crop window (:mod:`sada_dali.data.crop`) are pure functions of
    (seed, epoch, index) and its header size, so resume (:meth:`state_dict`,
    :meth:`load_state_dict`) is exact to the pixel on the CPU: see docs/resume.md.
    """

    collate_fn = None
    """Always None (batches come out of DALI whole); timm's ``PrefetchLoader`` reads it."""

    def __new__(cls, *args, **kwargs):
        # torch's first import keeps the frames that imported it alive for good; importing it
        # here, where no frame holds the new loader, lets a dropped loader be collected at once
        import torch  # noqa: F401

        return super().__new__(cls)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__signature__ = _init_signature(cls)

    def __init__(self, source, batch_size: int, **options):
        self._options = LoaderOptions.create(source, batch_size, **options)  # checked before any file is read
        self._adopt(build_loader(self._options, owner=self))

    def _adopt(self, parts: LoaderParts) -> None:
        """Use ``parts`` (from :func:`~sada_dali.loader._factory.build_loader`); they are freed when the
        loader is closed or collected (a ``weakref.finalize`` that holds no loader)."""
        self.listing, self.sampler, self.estimator = parts.listing, parts.sampler, parts.estimator
        self._reader, self._runner, self._table = parts.reader, parts.runner, parts.table
        self._epoch, self._ledger, self._state = parts.epoch, parts.ledger, parts.state
        self._finalizer = weakref.finalize(self, parts.close)

    @property
    def device(self) -> str:
        """Where decoding and augmentation run: "gpu" or "cpu"."""
        return self._options.device

    @property
    def train(self) -> bool:
        """Whether this is a training loader (SADA ops, shuffled) or a validation one."""
        return self._options.train

    @property
    def pairs(self) -> bool:
        """Whether iterating yields ``(images, labels)`` instead of ``(images, labels, indices)``."""
        return self._options.pairs

    @property
    def num_samples(self) -> int:
        """Dataset size N (all shards): the length of the strength table and of ``indices``' range."""
        return len(self.listing)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; label ``k`` is ``classes[k]``."""
        return self.listing.classes

    @property
    def dataset(self):
        """The dataset as torch code reads it: ``len()``, ``classes``, ``class_to_idx``, ``samples``
        (``(path, label)`` pairs) and ``targets``, as ``torchvision.datasets.ImageFolder`` has them."""
        return self.listing

    @property
    def batch_sampler(self) -> ShardSampler:
        """:attr:`sampler` again (it makes the batches): ``set_epoch`` on either is :meth:`set_epoch`,
        so timm's ``_set_loader_epoch`` and ``DistributedSampler``-style loops work unchanged."""
        return self.sampler

    @property
    def epoch(self) -> int:
        """The epoch the next pass will read."""
        return self.sampler.epoch

    @property
    def strengths(self) -> np.ndarray | None:
        """Read-only (N,) float32 strengths in use this epoch (None for validation)."""
        return self._epoch.strengths if self.train else None

    @property
    def num_skipped(self) -> int:
        """Rows dropped so far under ``on_error="skip"`` (and for ``exclude``), over all epochs.

        It counts skip events: a bad file is dropped again (never read) in every epoch that
        reaches it, so it counts once per epoch; :attr:`skipped_files` lists it once.
        """
        return self._epoch.num_skipped

    @property
    def skipped_files(self) -> list[str]:
        """Paths of the skipped files, each once, in the order first skipped (a copy)."""
        return list(self._epoch.skipped_files)

    def set_epoch(self, epoch: int) -> None:
        """Read ``epoch`` next (order, SADA choices); call before iterating, like ``DistributedSampler``.

        After :meth:`load_state_dict`, setting the saved epoch keeps the saved position;
        another epoch discards it. ``loader.sampler.set_epoch(epoch)`` does the same.
        """
        self.sampler.set_epoch(epoch)

    def set_strengths(self, strengths) -> None:
        """Use ``strengths`` from the next epoch on.

        Parameters
        ----------
        strengths : array-like or object with ``.strengths``
            An (N,) array with finite values in [0, 1] (torch, CuPy, NumPy or DLPack), checked
            now; or an estimator, whose ``.strengths`` is copied at every epoch start.

        Raises
        ------
        ValueError
            On a validation loader, a wrong length, a non-finite value or one outside [0, 1].
        TypeError
            If ``strengths`` is not a numeric array.
        """
        self._epoch.set_strengths(strengths)

    def feed(self, logits, target=None) -> None:
        """Update :attr:`estimator` with the logits of the oldest batch not fed yet.

        Call it once per batch, in the order yielded (also behind a prefetching wrapper).

        Parameters
        ----------
        logits : tensor or array
            (B, K) logits of that batch (any DLPack producer; no host sync on the GPU).
        target : tensor, optional
            The batch's (B,) labels as the loop sees them, checked against that batch's (by
            storage for a view or same-device move, else by value); or (B, K) float soft
            targets (mixup, cutmix), which carry no labels and are checked by row count only.

        Raises
        ------
        RuntimeError
            Without an estimator, or when calls and batches are out of step.
        ValueError
            When ``logits`` or ``target`` do not belong to the oldest unfed batch, when the
            target's shape fits neither form, or when the logits' width is not the estimator's
            ``num_classes``.
        """
        if self._ledger is None:
            raise RuntimeError(
                "feed() needs an estimator: create the loader with estimator=True (or pass one), "
                "or call estimator.update(indices, logits) yourself."
            )
        self._ledger.feed(logits, target)

    def state_dict(self) -> dict:
        """The loader's position, strengths and fingerprint, to resume with :meth:`load_state_dict`.

        Call it between batches (e.g. with the model's checkpoint): ``position`` counts the
        batches of ``epoch`` already yielded. After an epoch's last batch the state points to
        the start of the next epoch.

        Returns
        -------
        dict
            ``format``, ``config`` (dataset digest, size, seed, shard layout, batch size...),
            ``epoch``, ``position``, ``strengths`` (the (N,) float32 strengths of the epoch in
            progress; None for validation), ``pending_strengths`` (an array given to
            :meth:`set_strengths` for the next epoch, else None), ``num_skipped``,
            ``skipped_files``, ``bad_files`` (the files the decoder rejected, which a loaded
            loader never reads) and ``estimator`` (with ``estimator=True``: the owned estimator's
            ``state_dict`` and whether its ``end_epoch()`` is due; else None). Plain Python values
            and NumPy arrays (``torch.save`` and pickle work).
        """
        return self._state.save()

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from a :meth:`state_dict`: the next pass reads the rest of the saved epoch.

        The resumed epoch reads the same remaining sample indices, with the same ops, magnitude
        bins, signs, flips and strengths as the interrupted run; later epochs follow as usual
        (with ``estimator=True`` the owned estimator is restored too; an estimator passed in
        is not: load its own state and attach it again with :meth:`set_strengths`).

        Parameters
        ----------
        state_dict : dict
            From a loader over the same dataset with the same seed, shard layout, batch size,
            ``drop_last``, ``train``, op space size, ``num_magnitude_bins`` and ``estimator``
            setting (``estimator=True`` or not); workers, threads and device may differ.

        Files the state flagged bad (``bad_files``) may have been removed since: the loader then
        puts them back in its listing at their saved indices, never to be read, so every other
        sample keeps its index (the loader is rebuilt, with its estimator if it created one).

        Raises
        ------
        TypeError, ValueError
            If it is not such a state (the error names the mismatching key); the loader is
            then left unchanged.
        """
        restored = restore_removed(self.listing, state_dict)
        if restored is not None:
            self.close()
            self._adopt(build_loader(self._options, restored, owner=self))
        self._state.load(state_dict)

    def _start_epoch(self) -> None:
        ended = None if self._ledger is None else self._ledger.start_epoch()
        self._runner.start(*self._state.take(self.sampler.epoch), ended=ended)

    def _emit(self, batch):
        if self._ledger is not None:
            self._ledger.record(batch[1], batch[2])
        return batch

    def __iter__(self):
        self._start_epoch()
        while True:
            try:
                images, labels, indices = self._emit(self._runner.next_batch())
            except StopIteration:
                return
            yield (images, labels) if self.pairs else (images, labels, indices)

    def __len__(self) -> int:
        """Batches per epoch of this shard."""
        return len(self.sampler)

    def choices(self, indices, epoch: int | None = None) -> dict:
        """The SADA choices the pipeline applies to ``indices`` under the current strengths.

        Parameters
        ----------
        indices : array-like of int
            Dataset indices, e.g. a yielded batch's ``indices``.
        epoch : int, optional
            Default: the epoch being read (or, between epochs, the last one read).

        Returns
        -------
        dict of numpy.ndarray
            int32 ``op`` (index into the op space), ``magnitude_bin``, ``negate``, ``flip``
            (one value per index) and ``crop`` ((n, 4) ``top, left, height, width`` in pixels
            of the decoded image; the files are read to get their sizes).

        Raises
        ------
        ValueError
            On a validation loader, which applies no SADA op.
        """
        if not self.train:
            raise ValueError("The SADA `choices` exist only on a training loader (train=True).")
        indices = as_host_array(indices, name="indices").astype(np.int64)
        epoch = self._runner.running if epoch is None else epoch
        return self._reader.choices(indices, epoch)

    def close(self) -> None:
        """Stop DALI's workers and free the shared strength table and listing.

        A loader dropped without ``close()`` does the same when it is collected (a
        ``weakref.finalize``), and at interpreter exit; calling it again does nothing.
        """
        self._finalizer()

    def __repr__(self) -> str:
        return (
            f"SADALoader(num_samples={self.num_samples}, batch_size={self.sampler.batch_size}, "
            f"device={self.device!r}, train={self.train}, epoch={self.epoch})"
        )


SADALoader.__signature__ = _options_signature()
