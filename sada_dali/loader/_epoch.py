"""The epoch handshake between a loader and its DALI pipeline.

Strengths are copied once per epoch: when an epoch starts, the runner publishes the shard
order, announces the epoch (and a resumed epoch's start position) through the shared
strength table, copies the strengths into it, and only then resets DALI. The pipeline is
driven with ``auto_reset=False`` and ``prepare_first_batch=False``, so no sample of an
epoch is read before that copy, and every sample of the epoch sees the same strengths.

An epoch left early ends cheaply: the runner sets the table's ``stop`` slot, so every
reader call raises ``StopIteration``, and drops what DALI had already prepared (at most
``prefetch_queue_depth`` batches plus the one being read) instead of reading to the end.

A decoder failure ends a DALI pipeline; the runner hands it to :func:`sada_dali.loader._recovery.recover`,
which may rebuild the pipeline and resume the epoch at the failing batch (:meth:`EpochRunner.rebuild`).
"""

from __future__ import annotations

import weakref

from ..pipelines._compat import shutdown_pipeline
from ._errors import dead_workers, read_failure
from ._recovery import recover

__all__ = ["OUTPUTS", "EpochRunner"]

OUTPUTS = ["images", "labels", "indices", "valid"]


class EpochRunner:
    """Start, step and abandon the epochs of one DALI pipeline.

    Parameters
    ----------
    factory : callable
        Builds the loader's pipeline, with outputs :data:`OUTPUTS` (again after a failure).
    reader : sada_dali.data._reader.SampleReader
        The pipeline's per-sample source, with the shard's ``sampler``, the shared strength
        ``table`` (strengths and the epoch, start and stop slots) and ``augments`` (whether
        strengths apply; a validation runner uses only the slots).
    listing : sada_dali.data.source.Listing
        Names the files of skipped rows and of failing batches.
    owner : object
        The loader, named in errors.
    prefetch_queue_depth : int
        DALI's queue depth (how far a failure may lie ahead of the batch yielded).
    probe : sada_dali.loader._recovery.DecodeProbe
        Finds the files a failed pipeline's decoder rejected.

    Attributes
    ----------
    running : int
        The epoch being read (or, between epochs, the last one read).
    batch : int
        Batches of ``running`` already yielded.
    in_epoch : bool
        Whether DALI is inside an epoch.
    resume : dict or None
        A loaded state (``epoch``, ``position``, ``strengths``, ``epoch_changes``) not applied
        yet; read it through :meth:`loaded`.
    pending : numpy.ndarray, object with ``.strengths``, or None
        Strengths for the next epoch start.
    recoveries : dict
        ``{(epoch, batch): count}`` of the pipeline rebuilds at the batch last recovered.
    num_skipped : int
        Rows dropped as skipped so far, over all epochs (a file skipped in two epochs counts twice).
    skipped_files : list of str
        The files of those rows, each once, in the order first skipped (see :meth:`set_skipped`).
    """

    def __init__(self, factory, reader, *, listing, owner, prefetch_queue_depth: int, probe):
        self.factory, self.reader, self.listing, self.probe = factory, reader, listing, probe
        self.sampler, self.table, self.train = reader.sampler, reader.table, reader.augments
        self._owner = weakref.ref(owner)
        self.prefetch_queue_depth = prefetch_queue_depth
        self.pipe = self.iterator = None
        self.recoveries: dict = {}
        self.rebuild(resume=False)
        self.in_epoch = False
        self.running = self.batch = 0
        self.resume = self.pending = None
        self.set_skipped(0, [])

    def rebuild(self, *, resume: bool) -> None:
        """Replace the pipeline (and DALI's workers) by a new one.

        Parameters
        ----------
        resume : bool
            Go on with the running epoch at :attr:`batch`, with the strengths already in the
            table; else the next :meth:`start` begins an epoch.
        """
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        self.iterator = None
        shutdown_pipeline(self.pipe)
        self.pipe = self.factory()
        self.iterator = DALIGenericIterator([self.pipe], OUTPUTS, auto_reset=False, prepare_first_batch=False)
        self.started = resume
        if resume:
            self.table.set_epoch(self.running, start=self.batch * self.sampler.batch_size)

    def loaded(self):
        """:attr:`resume`, unless the sampler's epoch moved since it was loaded (which discards it)."""
        if self.resume is not None and self.resume["epoch_changes"] != self.sampler.epoch_changes:
            self.resume = None
        return self.resume

    def abandon(self) -> None:
        """End the running epoch now; the batches DALI had prepared are dropped."""
        if not self.in_epoch:
            return
        self.table.set_stop(True)
        try:
            while True:
                next(self.iterator)
        except StopIteration:
            pass
        except Exception as exc:
            if dead_workers(self.pipe):
                raise read_failure(self, self.batch, exc) from exc
            # a file read ahead of the abandoned epoch failed: recover() names or skips it
            # when an epoch reaches it
            self.rebuild(resume=False)
        finally:
            self.table.set_stop(False)
            self.in_epoch = False

    def start(self) -> None:
        """Begin the sampler's epoch (at a loaded position) with the strengths due now."""
        self.abandon()
        self.running = self.sampler.epoch
        resume, self.resume = self.loaded(), None
        if resume is None or resume["epoch"] != self.running:
            resume = {"position": 0, "strengths": None}
        self.batch = resume["position"]
        self.reader.publish_order(self.running)
        self.table.set_epoch(self.running, start=self.batch * self.sampler.batch_size)
        pending = self.pending
        # mid-epoch, the interrupted epoch's strengths; at an epoch start, new ones take precedence
        if self.train and resume["strengths"] is not None and (self.batch or pending is None):
            self.table.set(resume["strengths"])
        elif self.train and pending is not None:
            self.table.set(pending.strengths if hasattr(pending, "strengths") else pending)
            if not hasattr(pending, "strengths"):
                self.pending = None
        if self.started:
            self.iterator.reset()
        self.started = self.in_epoch = True

    def finish(self) -> None:
        """Mark the epoch read; the next one follows unless ``set_epoch`` chose another meanwhile."""
        self.in_epoch = False
        if self.sampler.epoch == self.running:
            self.sampler.set_epoch(self.running + 1)

    def next_batch(self, *, keep_padding: bool = False):
        """The next ``(images, labels, indices)`` of the epoch; ``StopIteration`` at its end.

        Parameters
        ----------
        keep_padding : bool
            Keep the rows that pad a partial last batch (they repeat the shard's first
            samples), as DALI's ``LastBatchPolicy.FILL`` does; by default they are trimmed.

        Skipped files' rows are dropped and counted; a batch whose every row was skipped
        comes out with 0 rows, so every rank of a distributed run yields as many batches.
        A decoder failure is recovered from or raised by :func:`sada_dali.loader._recovery.recover`.
        """
        while True:
            try:
                out = next(self.iterator)[0]
                break
            except StopIteration:
                self.finish()
                raise
            except Exception as exc:
                recover(self, exc)
        rows = self.sampler.batch_size if keep_padding else self.sampler.rows_in_batch(self.batch)
        self.batch += 1
        valid = out["valid"][:rows].bool()
        images, labels, indices = (out[name][:rows] for name in OUTPUTS[:3])
        if not bool(valid.all()):
            self._count_skipped((~valid).nonzero().squeeze(1).tolist())
            keep = valid.nonzero().squeeze(1).to(images.device)
            images, labels, indices = (t.index_select(0, keep) for t in (images, labels, indices))
        return images, labels, indices

    def set_skipped(self, num_skipped: int, files) -> None:
        """Restart the skip counters at ``num_skipped`` rows and ``files`` (each kept once)."""
        self.num_skipped = int(num_skipped)
        self.skipped_files: list[str] = list(dict.fromkeys(files))
        self._skipped_set = set(self.skipped_files)

    def _count_skipped(self, rows: list[int]) -> None:
        # rows of the batch just yielded, mapped to samples on the host (no wait on the device);
        # every row counts, but a file is listed once, however many epochs (or rows) skip it
        first = (self.batch - 1) * self.sampler.batch_size
        skipped = [self.reader.index_at(first + row, self.running) for row in rows]
        for index in skipped:
            path = self.listing.files[index]
            if path not in self._skipped_set:
                self._skipped_set.add(path)
                self.skipped_files.append(path)
        self.num_skipped += len(skipped)

    def read_ahead(self, batch: int) -> list[tuple[int, int]]:
        """``(position, index)`` of the distinct samples DALI may have read when ``batch`` of the
        running epoch failed: that batch and ``prefetch_queue_depth + 1`` more, wrapping past the
        shard end as the reader does."""
        size = self.sampler.batch_size
        stop = min((batch + self.prefetch_queue_depth + 2) * size, self.sampler.padded_positions())
        seen, found = set(), []
        for position in range(batch * size, stop):
            index = self.reader.index_at(position, self.running)
            if index not in seen:
                seen.add(index)
                found.append((position, index))
        return found

    def position(self) -> tuple[int, int]:
        """``(epoch, position)`` a saved state resumes at (see ``SADALoader.state_dict``)."""
        if self.loaded() is not None:  # loaded, not read yet
            return self.resume["epoch"], self.resume["position"]
        if self.in_epoch and self.batch < len(self.sampler):
            return self.running, self.batch
        if self.in_epoch:  # every batch was yielded; the end has not been seen yet
            return (self.running + 1 if self.sampler.epoch == self.running else self.sampler.epoch), 0
        return self.sampler.epoch, 0

    def close(self) -> None:
        """Stop DALI's pipeline, its workers and the probe."""
        self.iterator = None
        shutdown_pipeline(self.pipe)
        self.pipe = None
        self.probe.close()

    def __repr__(self) -> str:
        return repr(self._owner())
