"""Going on after DALI's decoder rejects a file, which ends a DALI pipeline for good.

DALI cannot drop a sample from a batch, but a loader knows which sample every position of
the epoch holds and can restart an epoch exactly. On a pipeline failure the runner decodes
the files of the failing batch and of those DALI may have read ahead with a small probe
pipeline that uses the loader's own decoder settings (and crop windows), bisecting to the
files it rejects. Under ``on_error="skip"`` they are flagged bad in the runner's epoch state
(every reader then skips them unread), the loader's pipeline is rebuilt and the epoch resumes at
the failing batch; under "raise" the error names exactly those files.
"""

from __future__ import annotations

from ..pipelines._compat import shutdown_pipeline
from ._errors import dead_workers, innermost, read_failure

__all__ = ["MAX_RECOVERIES_PER_BATCH", "PROBE_BATCH", "DecodeProbe", "find_culprits", "recover"]

MAX_RECOVERIES_PER_BATCH = 8
PROBE_BATCH = 8  # DALI 2.4's CPU decoder has crashed the process on a failing batch of 32 or more


class DecodeProbe:
    """Decode encoded files with a loader's decoder and tell which ones it rejects.

    Parameters
    ----------
    device : {"gpu", "cpu"}
        The loader's device (nvJPEG with the hardware decoder on "gpu").
    device_id : int or None
        CUDA device (None on "cpu").
    hw_decoder_load : float
        As the loader's.
    num_threads : int
        DALI threads of the probe.
    max_batch : int
        Most files decoded in one run (at most :data:`PROBE_BATCH`).
    crop : bool
        Decode a window with ``fn.decoders.image_slice`` (the training pipeline) instead of
        the whole image with ``fn.decoders.image`` (validation).
    """

    def __init__(
        self, *, device: str, device_id, hw_decoder_load: float, num_threads: int, max_batch: int, crop: bool
    ):
        self.device, self.device_id, self.hw_decoder_load = device, device_id, hw_decoder_load
        self.num_threads, self.max_batch, self.crop = (
            num_threads,
            max(1, min(int(max_batch), PROBE_BATCH)),
            crop,
        )
        self._pipe = None

    def _define(self):
        """The probe's pipeline, defined but not built (building needs CUDA on "gpu")."""
        from nvidia.dali import fn, pipeline_def, types

        from ..pipelines._stages import decoder_args

        @pipeline_def(
            batch_size=self.max_batch,
            num_threads=self.num_threads,
            device_id=self.device_id,
            prefetch_queue_depth=1,
        )
        def probe():
            encoded = fn.external_source(name="encoded", dtype=types.UINT8, ndim=1)
            args = decoder_args(self.device, self.hw_decoder_load)
            if not self.crop:
                return fn.decoders.image(encoded, **args)
            start = fn.external_source(name="start", dtype=types.INT32, ndim=1)
            shape = fn.external_source(name="shape", dtype=types.INT32, ndim=1)
            return fn.decoders.image_slice(encoded, start=start, shape=shape, **args)

        return probe()

    def _build(self):
        pipe = self._define()
        pipe.build()
        return pipe

    def decodes(self, items) -> bool:
        """Whether every ``(encoded, start, shape)`` of ``items`` decodes (a failure rebuilds the probe)."""
        if self._pipe is None:
            self._pipe = self._build()
        self._pipe.feed_input("encoded", [item[0] for item in items])
        if self.crop:
            self._pipe.feed_input("start", [item[1] for item in items])
            self._pipe.feed_input("shape", [item[2] for item in items])
        try:
            self._pipe.run()
        except Exception:  # DALI raises RuntimeError or its own types; either way the pipeline is dead
            shutdown_pipeline(self._pipe)
            self._pipe = None
            return False
        return True

    def rejected(self, items) -> list[int]:
        """Positions in ``items`` of the files the decoder rejects, found by bisection."""
        bad = []
        for first in range(0, len(items), self.max_batch):
            bad += self._bisect(items, list(range(first, min(first + self.max_batch, len(items)))))
        return bad

    def _bisect(self, items, chosen) -> list[int]:
        if not chosen or self.decodes([items[i] for i in chosen]):
            return []
        if len(chosen) == 1:
            return chosen
        half = len(chosen) // 2
        return self._bisect(items, chosen[:half]) + self._bisect(items, chosen[half:])

    def close(self) -> None:
        """Stop the probe's pipeline."""
        shutdown_pipeline(self._pipe)
        self._pipe = None


def find_culprits(reader, probe: DecodeProbe, epoch: int, ahead) -> list[tuple[int, int]]:
    """The ``(position, index)`` pairs of ``ahead`` whose files ``probe``'s decoder rejects.

    ``ahead`` holds the samples of ``epoch`` read around a failing batch
    (:meth:`~sada_dali.loader._epoch.EpochRunner.read_ahead`); ``reader`` is the loader's
    :class:`~sada_dali.data._reader.SampleReader`. Files the reader itself replaces by a
    placeholder (or rejects) are not probed; the crop windows of the rest are computed at once,
    as the batch reader computes them.
    """
    items, where, sizes = [], [], []
    for position, index in ahead:
        try:
            data, valid, size = reader.sample(index)
        except ValueError:
            continue
        if valid:
            items.append(data)
            where.append((position, index))
            sizes.append(size)
    starts = shapes = [None] * len(items)
    if probe.crop and items:
        starts, shapes = reader.slice_windows([index for _, index in where], epoch, sizes)
    return [where[i] for i in probe.rejected(list(zip(items, starts, shapes)))]


def recover(runner, exc: Exception) -> None:
    """Handle DALI's failure ``exc`` while ``runner`` read its next batch, or raise the error to show.

    Under ``on_error="skip"`` the files the decoder rejects are flagged bad, the pipeline
    is rebuilt and the epoch resumes at the failing batch (returns). Otherwise, or when no
    file is to blame (a dead worker, another failure, too many recoveries for one batch),
    raises a RuntimeError: under "raise" it names exactly the rejected files.
    """
    batch, state = runner.batch, runner.state
    key = (runner.running, batch)
    count = runner.recoveries.get(key, 0)
    ahead = runner.read_ahead(batch)
    message = str(innermost(exc))
    names_a_file = any(state.path(index) in message for _, index in ahead)
    if dead_workers(runner.pipe) or count >= MAX_RECOVERIES_PER_BATCH or names_a_file:
        raise read_failure(runner, batch, exc, ahead=ahead) from exc
    culprits = runner.culprits(ahead)
    if not culprits or state.on_error == "raise":
        raise read_failure(runner, batch, exc, culprits=culprits, ahead=ahead) from exc
    state.mark_bad([index for _, index in culprits])
    runner.recoveries = {key: count + 1}
    runner.rebuild(resume=True)
