"""Benchmark: the time a loader with ``on_error="skip"`` loses to a file its decoder rejects.

Writes an ImageFolder of generated photo-like JPEGs (``create_photo_corpus``), breaks one file
in a chosen batch and reads one epoch. ``--damage decoder`` (default) makes the file pass the
reader's checks and fail in DALI's decoder (a progressive JPEG with an invalid first scan);
``--damage headers`` flips the 250 bytes after its frame header, which the reader's header check
rejects before DALI sees it. Reported: the median time of a ``next()`` without a failure, and
the time of the ``next()`` that met the failure, i.e. from the failure to the next batch
(decoder: finding the file with the probe pipeline, rebuilding the pipeline and its workers,
and reading the batch again; headers: just that batch). ``device="gpu"`` needs a CUDA device;
without one the benchmark prints that it is skipped and exits 0.

Example: ``python benchmarks/recovery.py --device cpu --json results/recovery_cpu.json``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

from sada_dali.checkpoint import save_json


def _break_headers(data: bytes) -> bytes:
    """The 250 bytes after the JPEG frame header flipped: the reader's header check rejects it."""
    sof = data.find(b"\xff\xc0")
    end = sof + 2 + int.from_bytes(data[sof + 2 : sof + 4], "big")
    broken = bytearray(data)
    for i in range(end, end + 250):
        broken[i] ^= 0xFF
    return bytes(broken)


def _break(data: bytes) -> bytes:
    """The image re-encoded as a progressive JPEG whose first scan asks for coefficients 5 to 2:
    its headers pass the reader's checks and DALI's decoder rejects it."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format="JPEG", quality=90, progressive=True)
    broken = bytearray(buffer.getvalue())
    at = broken.find(b"\xff\xda")
    at += 5 + 2 * broken[at + 4]  # Ss, Se after the scan's components
    broken[at : at + 2] = b"\x05\x02"
    return bytes(broken)


def run(args) -> dict:
    import sada_dali.loader._epoch as epoch_module
    from sada_dali.data.synthetic import create_photo_corpus
    from sada_dali.loader import SADALoader

    failures, recover = [], epoch_module.recover

    def timed_recover(runner, exc):
        failures.append(time.perf_counter())
        return recover(runner, exc)

    epoch_module.recover = timed_recover

    with tempfile.TemporaryDirectory() as root:
        create_photo_corpus(
            root,
            num_images=args.num_images,
            num_classes=4,
            width=args.source_size,
            height=args.source_size,
            progress=False,
        )
        loader = SADALoader(
            os.path.join(root, "train"),
            args.batch_size,
            device=args.device,
            image_size=args.image_size,
            workers=args.workers,
            num_threads=args.threads,
            on_error="skip",
            seed=1,
        )
        position = args.bad_batch * args.batch_size + args.batch_size // 2
        path = loader.listing.files[int(loader.sampler.indices(0)[position])]
        with open(path, "rb") as handle:
            data = handle.read()
        with open(path, "wb") as handle:
            handle.write(_break_headers(data) if args.damage == "headers" else _break(data))
        times, recovered, batches = [], [], iter(loader)
        while True:
            start = time.perf_counter()
            try:
                next(batches)
            except StopIteration:
                break
            end = time.perf_counter()
            times.append(end - start)
            if failures:
                recovered.append((len(times) - 1, end - failures[0]))
                failures.clear()
        skipped = list(loader.skipped_files)
        loader.close()
    epoch_module.recover = recover
    if args.damage == "headers":  # no pipeline failure: the cost is that of the batch holding the file
        recovered = [(args.bad_batch, times[args.bad_batch])]
    ((failed_at, failure_to_next),) = recovered
    normal = [t for i, t in enumerate(times) if i not in (0, failed_at)]  # the first pays DALI's start
    return {
        "device": args.device,
        "workers": args.workers,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "num_images": args.num_images,
        "source_size": args.source_size,
        "bad_batch": args.bad_batch,
        "damage": args.damage,
        "skipped": len(skipped),
        "batch_median_s": statistics.median(normal),
        "failed_at_batch": failed_at,
        "failure_to_next_batch_s": failure_to_next,
        "host": platform.node(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--workers", type=int, default=1, help="reader processes (0 reads inline)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-images", type=int, default=320)
    parser.add_argument("--source-size", type=int, default=256, help="side of the generated JPEGs")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument(
        "--bad-batch", type=int, default=5, help="the batch holding the broken file (< batches)"
    )
    parser.add_argument(
        "--damage",
        choices=("decoder", "headers"),
        default="decoder",
        help="decoder: DALI's decoder rejects the file (a pipeline rebuild); headers: the reader does",
    )
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    if args.device == "gpu":
        import torch

        if not torch.cuda.is_available():
            print("recovery benchmark on the GPU skipped: no CUDA device")
            return 0
    result = run(args)
    print(
        f"{result['device']}, workers={result['workers']}, batch {result['batch_size']}, "
        f"{result['damage']} damage: next() "
        f"{result['batch_median_s'] * 1e3:.1f} ms (median); failure to next batch "
        f"{result['failure_to_next_batch_s']:.2f} s (at batch {result['failed_at_batch']}); "
        f"files skipped {result['skipped']}"
    )
    if args.json:
        save_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
