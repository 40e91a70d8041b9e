"""Every use of DALI's private API in sada-dali, in one place.

A DALI upgrade that renames one of these breaks this module only. Each helper imports DALI
(or touches a private attribute) when called, never at import time.
"""

from __future__ import annotations

__all__ = ["shutdown_pipeline", "worker_processes", "conditionals_enabled", "transform_fed_batches"]


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
