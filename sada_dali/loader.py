"""``SADALoader``: a drop-in PyTorch-style iterator over a DALI SADA pipeline.

Strengths are copied once per epoch: when an epoch's iteration starts, the loader copies
the estimator's (or the last :meth:`SADALoader.set_strengths`) N float32 values into its
shared-memory table, announces the epoch, and only then resets DALI. The pipeline is driven
with ``auto_reset=False`` and ``prepare_first_batch=False``, so no sample of an epoch is
read before that copy, and every sample of the epoch sees the same strengths.

Resume is exact because every per-sample choice (order, op, sign, flip) is a pure function
of (seed, epoch, index): :meth:`SADALoader.state_dict` saves the epoch, the batches read and
the epoch's strengths, and a new loader restarts that epoch's order at the saved position.
"""
from __future__ import annotations

import os

import numpy as np

from ._arrays import as_host_array
from ._loader_errors import read_failure
from ._loader_state import LOADER_STATE_FORMAT, check_loader_state, listing_digest
from .data._reader import SampleReader
from .data.source import create_listing
from .ops import DEFAULT_NUM_MAGNITUDE_BINS, create_op_space
from .sampler import ShardSampler
from .strength import StrengthTable, validate_strengths

__all__ = ["SADALoader"]

_OUTPUTS = ["images", "labels", "indices", "valid"]


class SADALoader:
    """Iterate ``(images, labels, indices)`` batches decoded and augmented by DALI.

    Parameters
    ----------
    source : str or os.PathLike
        An ImageFolder directory, or a DALI file list (``relative/path label`` lines) with
        ``file_root``.
    batch_size : int
        Samples per batch of this shard.
    device : {"gpu", "cpu"}
        Where decoding and augmentation run; on "gpu" all outputs are CUDA tensors.
    train : bool
        True: random crop, SADA op, flip, shuffled order. False: the validation pipeline
        (resize, centre crop) in listing order.
    image_size : int
        Output side S.
    strengths : array-like or object with ``.strengths``, optional
        Initial strengths (N,), or an estimator whose ``.strengths`` is read at every epoch
        start. Default: all 1.0.
    num_shards, shard_id : int, optional
        Data-parallel sharding (see :class:`sada_dali.sampler.ShardSampler`). Default: the
        world size and rank of the initialised ``torch.distributed`` group, else 1 and 0.
    seed : int
        Seeds the epoch order and the per-sample op, sign, flip and crop window.
    drop_last : bool
        Drop the partial last batch (and equalise shards by dropping); False pads shards by
        wrapping around and yields a partial last batch.
    num_threads : int, optional
        DALI CPU threads; default ``min(os.cpu_count(), 16)``.
    workers : int, optional
        Python worker processes of the parallel external source (start method "spawn");
        default ``min(os.cpu_count(), 8)``. 0 reads files inline in the main process.
    on_error : {"raise", "skip"}
        A corrupt or truncated file raises an error naming it, or is skipped: its row is
        dropped from the batch and counted in :attr:`num_skipped`.
    op_space : sequence of OpSpec, optional
        Default: the paper's Table 8.
    num_magnitude_bins : int
        Strength quantisation.
    fp16 : bool
        float16 images.
    file_root : str, optional
        Root of the paths of a file list.
    device_id : int, optional
        CUDA device for "gpu" (default: the current one).
    hw_decoder_load : float
        Share of JPEGs for the hardware decoder ("gpu").
    prefetch_queue_depth : int
        DALI's pipeline queue depth.
    random_area, random_aspect_ratio : tuple of float
        ``RandomResizedCrop`` ranges of the training crop (area fraction, width / height).

    Notes
    -----
    The epoch advances by one after each complete pass; :meth:`set_epoch` overrides it (as
    with ``DistributedSampler``). Breaking out of an epoch is allowed: the next pass first
    drains the rest of it (DALI cannot reset mid-epoch) and, without ``set_epoch``, reads
    the same epoch again.

    DALI's iterator runs with ``size=-1``: the epoch ends when the reader raises
    ``StopIteration``, and DALI's ``LastBatchPolicy`` does not apply to such pipelines. The
    sampler applies ``drop_last`` instead: DALI always receives whole batches (the last one
    padded by wrapping around) and the loader trims the padding rows. With ``on_error="skip"`` a batch may hold fewer than
    ``batch_size`` rows.

    Resume: :meth:`state_dict` / :meth:`load_state_dict` save and restore the epoch, the
    batches already read in it and the strengths it started with. As the order, op, sign and
    flip of every sample are pure functions of (seed, epoch, index), and its crop window also
    of the image size in the file header (:mod:`sada_dali.crop`), a new loader that loads the
    state reads exactly the remaining samples with the same choices, windows and strengths,
    whatever its worker count: the same pixels on the CPU. A data worker that dies (e.g. killed
    by the out-of-memory killer) ends the iteration with a RuntimeError naming the loader.
    """

    def __init__(self, source, batch_size: int, *, device: str = "gpu", train: bool = True,
                 image_size: int = 224, strengths=None, num_shards: int | None = None,
                 shard_id: int | None = None, seed: int = 0,
                 drop_last: bool = True, num_threads: int | None = None, workers: int | None = None,
                 on_error: str = "raise", op_space=None, num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
                 fp16: bool = False, file_root=None, device_id: int | None = None,
                 hw_decoder_load: float = 0.65, prefetch_queue_depth: int = 2,
                 random_area=(0.08, 1.0), random_aspect_ratio=(3 / 4, 4 / 3)):
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        from .distributed import resolve_shards
        from .pipelines._stages import check_device

        num_shards, shard_id = resolve_shards(num_shards, shard_id)
        self.device = check_device(device)
        self.train = bool(train)
        self.listing = create_listing(source, file_root=file_root)
        self.sampler = ShardSampler(len(self.listing), batch_size, num_shards=num_shards, shard_id=shard_id,
                                    seed=seed, shuffle=self.train, drop_last=drop_last)
        op_space = create_op_space() if op_space is None else tuple(op_space)
        self._table = StrengthTable(self.num_samples)  # validation uses only its epoch/start slots
        self._pending = None
        if strengths is not None:
            self.set_strengths(strengths)
        self.num_skipped = 0
        self.skipped_files: list[str] = []
        reader = SampleReader(self.listing, self.sampler, table=self._table, num_magnitude_bins=num_magnitude_bins,
                              num_ops=len(op_space), on_error=on_error, choices=self.train,
                              random_area=random_area, random_aspect_ratio=random_aspect_ratio)
        cpus = os.cpu_count() or 1
        pipeline_args = dict(
            batch_size=self.sampler.batch_size, num_threads=num_threads or min(cpus, 16),
            device_id=self._device_id(device_id), seed=(self.sampler.seed * 1_000_003 + shard_id) % (1 << 31),
            py_num_workers=min(cpus, 8) if workers is None else workers, py_start_method="spawn",
            prefetch_queue_depth=prefetch_queue_depth)
        if self.train:
            from .pipelines.train import create_train_pipeline

            pipe = create_train_pipeline(reader, device=device, image_size=image_size, op_space=op_space,
                                         num_magnitude_bins=num_magnitude_bins, fp16=fp16,
                                         hw_decoder_load=hw_decoder_load, **pipeline_args)
        else:
            from .pipelines.val import create_val_pipeline

            pipe = create_val_pipeline(reader, device=device, image_size=image_size, fp16=fp16,
                                       hw_decoder_load=hw_decoder_load, **pipeline_args)
        self._reader, self._pipe, self._prefetch_queue_depth = reader, pipe, prefetch_queue_depth
        self._iterator = DALIGenericIterator([pipe], _OUTPUTS, auto_reset=False, prepare_first_batch=False)
        self._started = self._in_epoch = False
        self._running = self._batch = 0
        self._resume = self._digest = None

    def _device_id(self, device_id):
        if self.device == "cpu":
            return None
        if device_id is None:
            import torch

            device_id = torch.cuda.current_device()
        return int(device_id)

    @property
    def num_samples(self) -> int:
        """Dataset size N (all shards): the length of the strength table and of ``indices``' range."""
        return len(self.listing)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; label ``k`` is ``classes[k]``."""
        return self.listing.classes

    @property
    def epoch(self) -> int:
        """The epoch the next pass will read."""
        return self.sampler.epoch

    @property
    def strengths(self) -> np.ndarray | None:
        """Read-only (N,) float32 strengths in use this epoch (None for validation)."""
        return self._table.array if self.train else None

    def set_epoch(self, epoch: int) -> None:
        """Read ``epoch`` next (order, SADA choices); call before iterating, like ``DistributedSampler``.

        After :meth:`load_state_dict`, setting the saved epoch keeps the saved position;
        another epoch discards it.
        """
        self.sampler.set_epoch(epoch)
        if self._resume is not None and self._resume["epoch"] != self.sampler.epoch:
            self._resume = None

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
        if not self.train:
            raise ValueError("The `strengths` apply only to a training loader (train=True); "
                             "this one was built with train=False.")
        if hasattr(strengths, "strengths"):
            self._pending = strengths
        else:
            self._pending = validate_strengths(strengths, self.num_samples).copy()

    def _start_epoch(self) -> None:
        while self._in_epoch:  # DALI cannot reset mid-epoch: read the rest first
            try:
                next(self._iterator)
            except StopIteration:
                self._in_epoch = False
        self._running = self.sampler.epoch
        resume, self._resume = self._resume, None
        if resume is None or resume["epoch"] != self._running:
            resume = {"position": 0, "strengths": None}
        self._batch = resume["position"]
        self._table.set_epoch(self._running, start=self._batch * self.sampler.batch_size)
        pending = self._pending
        # mid-epoch, the interrupted epoch's strengths; at an epoch start, new ones take precedence
        if self.train and resume["strengths"] is not None and (self._batch or pending is None):
            self._table.set(resume["strengths"])
        elif self.train and pending is not None:
            self._table.set(pending.strengths if hasattr(pending, "strengths") else pending)
            if not hasattr(pending, "strengths"):
                self._pending = None
        if self._started:
            self._iterator.reset()
        self._started = self._in_epoch = True

    def __iter__(self):
        self._start_epoch()
        while True:
            try:
                out = next(self._iterator)[0]
            except StopIteration:
                break
            except Exception as exc:
                raise read_failure(self, self._batch, exc) from exc
            rows = self.sampler.rows_in_batch(self._batch)  # the rest pads the last batch
            self._batch += 1
            valid = out["valid"][:rows].bool()
            images, labels, indices = (out[name][:rows] for name in _OUTPUTS[:3])
            if not bool(valid.all()):
                self._count_skipped(indices, ~valid)
                # a batch whose every row was skipped comes out empty (0 rows), so that every
                # rank of a distributed run still yields len(loader) batches
                keep = valid.nonzero().squeeze(1).to(images.device)
                images, labels, indices = (t.index_select(0, keep) for t in (images, labels, indices))
            yield images, labels, indices
        self._in_epoch = False
        if self.sampler.epoch == self._running:  # unless set_epoch() chose another one meanwhile
            self.sampler.set_epoch(self._running + 1)

    def _count_skipped(self, indices, skipped) -> None:
        rows = skipped.nonzero().squeeze(1).to(indices.device)
        for index in indices.index_select(0, rows).cpu().tolist():
            self.skipped_files.append(self.listing.files[index])
        self.num_skipped += int(rows.numel())

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
        epoch = self._running if epoch is None else epoch
        return self._reader.choices_of(indices, epoch)

    def _config(self) -> dict:
        if self._digest is None:
            self._digest = listing_digest(self.listing)
        s, reader = self.sampler, self._reader
        return {"num_samples": s.num_samples, "listing": self._digest, "seed": s.seed, "num_shards": s.num_shards,
                "shard_id": s.shard_id, "batch_size": s.batch_size, "drop_last": s.drop_last, "train": self.train,
                "num_ops": reader.num_ops, "num_magnitude_bins": reader.num_magnitude_bins}

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
            :meth:`set_strengths` for the next epoch, else None), ``num_skipped`` and
            ``skipped_files``. Plain Python values and NumPy arrays (``torch.save`` and pickle work).
        """
        strengths = self._table.array.copy() if self.train else None
        if self._resume is not None:  # loaded, not read yet
            epoch, position, strengths = self._resume["epoch"], self._resume["position"], self._resume["strengths"]
        elif self._in_epoch and self._batch < len(self.sampler):
            epoch, position = self._running, self._batch
        elif self._in_epoch:  # every batch was yielded; the generator has not seen the end yet
            epoch, position = (self._running + 1 if self.sampler.epoch == self._running else self.sampler.epoch), 0
        else:
            epoch, position = self.sampler.epoch, 0
        pending = self._pending if isinstance(self._pending, np.ndarray) else None
        return {"format": LOADER_STATE_FORMAT, "config": self._config(), "epoch": epoch, "position": position,
                "strengths": strengths, "pending_strengths": None if pending is None else pending.copy(),
                "num_skipped": self.num_skipped, "skipped_files": list(self.skipped_files)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from a :meth:`state_dict`: the next pass reads the rest of the saved epoch.

        The resumed epoch reads the same remaining sample indices, with the same ops, magnitude
        bins, signs, flips and strengths as the interrupted run; later epochs follow as usual
        (attach the estimator again with :meth:`set_strengths` after loading its own state).

        Parameters
        ----------
        state_dict : dict
            From a loader over the same dataset with the same seed, shard layout, batch size,
            ``drop_last``, ``train``, op space size and ``num_magnitude_bins``; workers,
            threads and device may differ.

        Raises
        ------
        TypeError, ValueError
            If it is not such a state (the error names the mismatching key); the loader is
            then left unchanged.
        """
        checked = check_loader_state(state_dict, self._config(), num_batches=len(self.sampler))
        self.sampler.set_epoch(checked["epoch"])
        self._resume = checked
        if checked["pending_strengths"] is not None:
            self._pending = checked["pending_strengths"]
        self.num_skipped, self.skipped_files = checked["num_skipped"], checked["skipped_files"]

    def close(self) -> None:
        """Stop DALI's workers and free the strength table."""
        self._iterator = self._pipe = None
        self._table.close()

    def __repr__(self) -> str:
        return (f"SADALoader(num_samples={self.num_samples}, batch_size={self.sampler.batch_size}, "
                f"device={self.device!r}, train={self.train}, epoch={self.epoch})")
