"""Benchmark of SADAEstimator: per-``update`` time, ``end_epoch`` time and state memory.

``update`` is timed at (B, K) = (256, 1000) on an estimator of the full dataset size, cycling
over a pool of samples that have been seen before (so every row computes the KL and the window
variance). ``end_epoch`` is timed on N samples that all hold a valid, spread-out variance; its
cost does not depend on K, so that estimator uses K=2 to fill its state quickly.

On CUDA two figures are reported per call. Kernel time: CUDA events around calls queued behind a
~50 ms busy-wait kernel, so the GPU runs them back to back without waiting for the host
(events around calls issued one by one would measure the host's issue rate instead). Host time:
perf_counter around the same calls, the CPU cost of issuing them. Both are timed twice: with
CuPy inputs, and with torch CUDA tensors as a trainer passes them (``update_torch_*``: torch's
current stream and DLPack import on every call). For ``end_epoch`` the kernel
time covers the min/max and strength kernels only; its blocking read of the error counters
(a device-to-host copy and a synchronisation) is timed separately. CPU times are perf_counter.

Example: ``python benchmarks/estimator.py --device auto --json results/estimator.json``
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from sada_dali import SADAEstimator


def _has_cuda() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _xp(device):
    if device == "cpu":
        return np
    import cupy

    return cupy


def _timed(fn, repeats: int, device: str) -> tuple[float, float]:
    """(kernel time per call, host time per call) in microseconds; the same figure twice on the CPU."""
    if device == "cpu":
        t0 = time.perf_counter()
        for i in range(repeats):
            fn(i)
        wall = (time.perf_counter() - t0) / repeats * 1e6
        return wall, wall
    import cupy
    import torch

    stream = cupy.cuda.get_current_stream()
    stream.synchronize()
    torch.cuda._sleep(100_000_000)  # on the legacy default stream, which is CuPy's current one here
    start, end = cupy.cuda.Event(), cupy.cuda.Event()
    start.record(stream)
    t0 = time.perf_counter()
    for i in range(repeats):
        fn(i)
    host = (time.perf_counter() - t0) / repeats * 1e6
    end.record(stream)
    busy = not start.done  # the busy-wait outlasted the issuing: the GPU never waited for the host
    end.synchronize()
    if not busy:
        print(f"warning: issuing {repeats} calls outlasted the busy-wait; kernel time includes host gaps")
    return cupy.cuda.get_elapsed_time(start, end) / repeats * 1e3, host


def bench_update(device: str, args) -> dict:
    xp = _xp(device)
    rng = np.random.default_rng(0)
    est = SADAEstimator(
        args.num_samples, args.num_classes, window=args.window, device=device, state_dtype=args.state_dtype
    )
    pool = rng.choice(args.num_samples, size=args.batch_size * 8, replace=False)
    batches = [
        (
            xp.asarray(rng.permutation(pool)[: args.batch_size]),
            xp.asarray(rng.normal(size=(args.batch_size, args.num_classes)).astype(np.float32) * 3),
        )
        for _ in range(16)
    ]

    def step(i):
        est.update(*batches[i % len(batches)])

    for i in range(args.window * 8 + 8):  # every pooled sample: full ring, valid V
        step(i)
    kernel_us, host_us = _timed(step, args.iters, device)
    row = {"update_us": kernel_us, "update_host_us": host_us, "state_bytes": est.nbytes}
    if device != "cpu":
        import torch

        batches[:] = [(torch.from_dlpack(i), torch.from_dlpack(x)) for i, x in batches]
        row["update_torch_us"], row["update_torch_host_us"] = _timed(step, args.iters, device)
    return row


def bench_end_epoch(device: str, args) -> dict:
    xp = _xp(device)
    n, chunk = args.num_samples, 1 << 16
    est = SADAEstimator(n, 2, window=args.window, device=device)
    rng = np.random.default_rng(1)
    for _ in range(3):  # three visits: every sample holds two KL values and a valid V
        for start in range(0, n, chunk):
            idx = np.arange(start, min(start + chunk, n))
            est.update(xp.asarray(idx), xp.asarray(rng.normal(size=(idx.size, 2)).astype(np.float32) * 4))
    assert int(est.valid.sum()) == n
    est.end_epoch()
    row = {}
    if device != "cpu":  # the kernels alone, then the blocking read end_epoch does first
        kernel_us, host_us = _timed(lambda i: est._backend._launch_strengths(i + 2), args.epoch_iters, device)
        t0 = time.perf_counter()
        for _ in range(args.epoch_iters):
            est._backend.raise_pending()
        row["end_epoch_read_ms"] = (time.perf_counter() - t0) / args.epoch_iters * 1e3
        row["end_epoch_host_ms"] = host_us / 1e3
    else:
        kernel_us, _ = _timed(lambda i: est.end_epoch(), args.epoch_iters, device)
    t0 = time.perf_counter()
    est.end_epoch()
    if device != "cpu":
        xp.cuda.get_current_stream().synchronize()
    row.update(end_epoch_ms=kernel_us / 1e3, end_epoch_wall_ms=(time.perf_counter() - t0) * 1e3)
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", choices=["cpu", "cuda", "auto"], default="auto", help="auto: cuda (when present) and cpu"
    )
    parser.add_argument("--num-samples", type=int, default=1_281_167)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--state-dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--iters", type=int, default=200, help="timed update calls")
    parser.add_argument("--epoch-iters", type=int, default=10, help="timed end_epoch calls")
    parser.add_argument("--json", help="write the results to this path")
    args = parser.parse_args(argv)
    devices = {"cpu": ["cpu"], "cuda": ["cuda"], "auto": (["cuda"] if _has_cuda() else []) + ["cpu"]}[
        args.device
    ]
    results = {"config": vars(args), "host": platform.processor() or platform.machine(), "devices": {}}
    for device in devices:
        row = bench_update(device, args) | bench_end_epoch(device, args)
        results["devices"][device] = row
        print(
            f"{device:>4}: update {row['update_us']:9.1f} us (host {row['update_host_us']:9.1f} us) | "
            f"end_epoch {row['end_epoch_ms']:8.2f} ms "
            f"(one call with its sync {row['end_epoch_wall_ms']:8.2f} ms) | "
            f"state {row['state_bytes'] / 2**30:6.3f} GiB  [N={args.num_samples}, K={args.num_classes}, "
            f"B={args.batch_size}, L={args.window}, {args.state_dtype}]"
        )
        if "update_torch_us" in row:
            print(
                f"{device:>4}: update from torch tensors {row['update_torch_us']:9.1f} us "
                f"(host {row['update_torch_host_us']:9.1f} us)"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
