"""Timing of ``sada-dali bench`` rows: interleaved rounds, wall clock and the CPU time of the process tree.

:func:`time_rows` builds nothing: it takes the prepared rows' epoch functions, runs one warm-up
epoch of each, then ``repeats`` rounds in which each row runs one timed epoch in turn
(interleaved, so a noisy neighbour slows every row alike). GPU work is synchronised before the
clock stops, and an epoch's clock stops only when the process tree is idle again.
"""

from __future__ import annotations

import os
import time

__all__ = ["process_tree_cpu_s", "time_rows"]


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def process_tree_cpu_s(*, main_only: bool = False) -> float | None:
    """CPU seconds (user + system) used so far by this process and its live descendants (DALI's
    and the DataLoader's worker processes), or with ``main_only`` by this process alone (its
    threads: DALI's operators and the feeding of ``external_source``); None where ``/proc`` is
    not available."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    except (OSError, ValueError):
        return None
    tree = {os.getpid()}
    for _ in range(0 if main_only else 8):  # descendants a few levels down
        tree |= {pid for pid, (parent, _) in stats.items() if parent in tree}
    return sum(stats[pid][1] for pid in tree if pid in stats)


def _settle(poll_s: float = 0.05, busy: float = 0.2, limit_s: float = 5.0) -> float:
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
    Each timed epoch ends when the tree is idle again (:func:`_settle`), so work a row runs ahead
    of its epoch is charged to it; in steady state each window then holds one epoch of work."""
    for run_epoch in prepared.values():
        run_epoch(0)
        _settle()
    timings = {row: [] for row in prepared}
    for e in range(1, repeats + 1):
        for row, run_epoch in prepared.items():
            _sync()
            main, cpu, start = process_tree_cpu_s(main_only=True), process_tree_cpu_s(), time.perf_counter()
            images = run_epoch(e)
            _sync()
            idle = _settle()
            seconds, cpu_after = time.perf_counter() - start - idle, process_tree_cpu_s()
            main_after = process_tree_cpu_s(main_only=True)
            cpus = (None, None) if cpu is None else (cpu_after - cpu, main_after - main)
            timings[row].append((images, seconds, *cpus))
    return timings
