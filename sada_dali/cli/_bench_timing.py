"""Timing of ``sada-dali bench`` rows: interleaved rounds, wall clock and the CPU time of the process tree.

:func:`time_rows` builds nothing: it takes the prepared rows' epoch functions, runs one warm-up
epoch of each, then ``repeats`` rounds in which each row runs one timed epoch in turn
(interleaved, so a noisy neighbour slows every row alike). GPU work is synchronised before the
clock stops, and an epoch's clock stops only when the process tree is idle again.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["cpu_split_s", "process_tree_cpu_s", "time_rows", "settle", "count_images"]


def count_images(batches, pace_s: float = 0.0) -> int:
    """Consume ``batches`` (each the batch's image tensor) and return the images seen; with
    ``pace_s``, sleep that long after each, as a consumer slower than the loader would
    (``benchmarks/host_cost.py --paced``)."""
    seen = 0
    for images in batches:
        seen += images.shape[0]
        if pace_s:
            time.sleep(pace_s)
    return seen


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _proc_cpu_s(path: str, tick: int) -> tuple[int, float] | None:
    """``(parent pid, user + system CPU seconds)`` from a ``/proc/.../stat`` file, None if it is gone."""
    try:
        with open(path) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick


def cpu_split_s() -> dict | None:
    """CPU seconds used so far, split three ways: ``main_thread`` (this process's main thread:
    the loader's Python, feeding ``external_source``), ``other_threads`` (the rest of this
    process: DALI's operator threads, its worker-pool dispatchers) and ``workers`` (live
    descendant processes: DALI's or the DataLoader's reading workers). None without ``/proc``.

    Called from the main thread, this process's two figures come from its CPU clocks
    (``time.thread_time``, ``time.process_time``: nanoseconds) instead of ``/proc``'s 10 ms ticks,
    which would make a few µs per image of the main thread invisible over one epoch."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats = {
            int(pid): _proc_cpu_s(f"/proc/{pid}/stat", tick)
            for pid in filter(str.isdigit, os.listdir("/proc"))
        }
    except (OSError, ValueError):
        return None
    stats = {pid: stat for pid, stat in stats.items() if stat is not None}
    me = os.getpid()
    tree = {me}
    for _ in range(8):  # descendants a few levels down
        tree |= {pid for pid, (parent, _) in stats.items() if parent in tree}
    if threading.current_thread() is threading.main_thread():
        main, process = time.thread_time(), time.process_time()
    else:
        main_thread = _proc_cpu_s(f"/proc/{me}/task/{me}/stat", tick)
        process = stats.get(me, (0, 0.0))[1]
        main = main_thread[1] if main_thread is not None else process
    workers = sum(stats[pid][1] for pid in tree - {me})
    return {"main_thread": main, "other_threads": process - main, "workers": workers}


def process_tree_cpu_s(*, main_only: bool = False) -> float | None:
    """CPU seconds (user + system) used so far by this process and its live descendants (DALI's
    and the DataLoader's worker processes), or with ``main_only`` by this process alone (its
    threads: DALI's operators and the feeding of ``external_source``); None where ``/proc`` is
    not available."""
    split = cpu_split_s()
    if split is None:
        return None
    process = split["main_thread"] + split["other_threads"]
    return process if main_only else process + split["workers"]


def settle(poll_s: float = 0.05, busy: float = 0.2, limit_s: float = 5.0) -> float:
    """Wait until this process tree stops using CPU (at most ``limit_s``): a pipeline that ran
    ahead into its next epoch (DALI prefetches ``prefetch_queue_depth`` batches) finishes that
    work now, inside the clock of the row that started it, not of the row timed next. Returns
    the idle seconds waited at the end (to take off the clock)."""
    deadline = time.perf_counter() + limit_s
    last = process_tree_cpu_s()
    while last is not None and time.perf_counter() < deadline:
        time.sleep(poll_s)
        now = process_tree_cpu_s()
        if now - last < busy * poll_s:
            return poll_s
        last = now
    return 0.0


def time_rows(prepared: dict, repeats: int) -> dict[int, list[tuple]]:
    """``{row: [(images, seconds, cpu_seconds, main_cpu_seconds), ...]}`` of ``prepared``
    (``{row: run_epoch}``, ``run_epoch(e)`` returns the images it read): one warm-up epoch each,
    then ``repeats`` interleaved rounds. ``cpu_seconds`` is the CPU time the process tree used in
    the epoch, ``main_cpu_seconds`` that of this process (the rest is the worker processes').
    Each timed epoch ends when the tree is idle again (:func:`settle`), so work a row runs ahead
    of its epoch is charged to it; in steady state each window then holds one epoch of work."""
    for run_epoch in prepared.values():
        run_epoch(0)
        settle()
    timings = {row: [] for row in prepared}
    for e in range(1, repeats + 1):
        for row, run_epoch in prepared.items():
            _sync()
            main, cpu, start = process_tree_cpu_s(main_only=True), process_tree_cpu_s(), time.perf_counter()
            images = run_epoch(e)
            _sync()
            idle = settle()
            seconds, cpu_after = time.perf_counter() - start - idle, process_tree_cpu_s()
            main_after = process_tree_cpu_s(main_only=True)
            cpus = (None, None) if cpu is None else (cpu_after - cpu, main_after - main)
            timings[row].append((images, seconds, *cpus))
    return timings
