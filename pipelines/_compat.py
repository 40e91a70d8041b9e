"""Every use of DALI's private API in sada-dali, in one place.

A DALI upgrade that renames one of these breaks this module only. Each helper imports DALI
(or touches a private attribute) when called, never at import time.
"""

from __future__ import annotations

import linecache
import os

__all__ = [
    "shutdown_pipeline",
    "worker_processes",
    "conditionals_enabled",
    "transform_fed_batches",
    "is_augmentation",
    "keep_autograph_sources_in_memory",
]


def shutdown_pipeline(pipe) -> None:
    """Stop a DALI pipeline and its Python worker processes now, rather than when it is collected.

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline or None
        A built pipeline; None does nothing.
    """
    if pipe is None:
        return
    pool = getattr(pipe, "_py_pool", None)
    pipe._shutdown()
    if pool is not None:
        pool.close()


def worker_processes(pipe) -> list:
    """The ``multiprocessing.Process`` objects of a pipeline's parallel ``external_source`` workers.

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline or None
        A pipeline; one without a worker pool (or None) has none.
    """
    pool = getattr(getattr(pipe, "_py_pool", None), "pool", None)
    return list(getattr(pool, "_processes", ()))


def conditionals_enabled() -> bool | None:
    """Whether the pipeline being defined has ``enable_conditionals=True`` (None: DALI cannot tell)."""
    try:
        from nvidia.dali._conditionals import conditionals_enabled as enabled
    except ImportError:  # pragma: no cover - the private module moved; DALI then raises itself
        return None
    return bool(enabled())


def is_augmentation(obj) -> bool:
    """Whether ``obj`` is an ``auto_aug`` ``Augmentation`` (DALI exports the class as ``_Augmentation``)."""
    from nvidia.dali.auto_aug.core import _Augmentation

    return isinstance(obj, _Augmentation)


def transform_fed_batches(pipe, transform) -> None:
    """Pass every batch that ``pipe``'s batch-mode ``external_source`` groups produce through
    ``transform`` before DALI feeds it.

    DALI has no public hook between receiving a parallel source's batch from its workers and
    feeding it: this wraps each group's ``feed`` once the groups exist (when the graph is built).

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline
        A pipeline being defined (``Pipeline.current()``) or defined, not built yet.
    transform : callable
        Takes and returns the callback's output (a tuple, one entry per output).
    """
    setup = pipe._setup_input_callbacks

    def setup_then_wrap():
        setup()
        for group in pipe._input_callbacks or ():
            if group.batch:
                feed = group.feed
                group.feed = lambda pipeline, out, batch_size, feed=feed: feed(
                    pipeline, transform(out), batch_size
                )

    pipe._setup_input_callbacks = setup_then_wrap


class _SourceInMemory:
    """The ``__loader__`` of an AutoGraph module whose file is gone: serves its text to linecache."""

    def __init__(self, source: str):
        self.source = source

    def get_source(self, name: str) -> str:
        return self.source


def keep_autograph_sources_in_memory() -> None:
    """Remove each file DALI's AutoGraph writes as soon as its module is loaded (idempotent).

    A pipeline with ``enable_conditionals=True`` converts its functions with DALI's fork of
    AutoGraph, which writes each converted function to ``$TMPDIR/__autograph_generated_file*.py``,
    imports it, and removes it only at interpreter exit (``atexit``): a killed process (SIGKILL,
    the out-of-memory killer, a timeout) leaves about a dozen files per loader behind. Here
    ``nvidia.dali._autograph.pyct.loader.load_source`` is wrapped so that the file is removed once
    loaded; its text stays in :mod:`linecache` and on the module's ``__loader__``, so tracebacks,
    ``pdb``, :func:`inspect.getsource` and AutoGraph's own source lookups still read it. It applies
    to every conditional pipeline of the process, sada-dali's or not.
    """
    from nvidia.dali._autograph.pyct import loader

    load_source = loader.load_source
    if getattr(load_source, "_sada_unlinks", False):
        return

    def load_then_unlink(source, *args, **kwargs):
        module, file_name = load_source(source, *args, **kwargs)
        module.__loader__ = _SourceInMemory(source)
        linecache.cache[file_name] = (len(source), None, source.splitlines(True), file_name)
        try:
            os.remove(file_name)
        except FileNotFoundError:
            pass
        return module, file_name

    load_then_unlink._sada_unlinks = True
    loader.load_source = load_then_unlink
