"""Benchmark: the host path's CPU cost per image, on tiny images where decoding costs almost nothing.

On a GPU, decoding and augmenting leave the CPU; reading the files, the reader's Python in the
worker processes and the main thread feeding DALI's ``external_source`` stay. This measures
them on the CPU machine with a generated corpus of tiny JPEGs (64 x 48 by default), so that what
remains is the host path. Variants, each built once and timed in interleaved rounds after one
warm-up epoch each:

* ``sada_w0``, ``sada_w2``: ``SADALoader`` training with ``workers=0`` and ``workers=2``;
* ``sada_default``: training with the default ``workers``;
* ``sada_val``: ``SADALoader(train=False)`` with the default ``workers``;
* ``sada_floor``: training with ``workers=0`` whose reader replays its first epoch from memory
  (``_replay.replaying_reads``): the least any reader, in any worker pool, can cost the main
  thread under DALI's ``external_source``;
* ``native_ta``: native DALI ``readers.file`` + ``image_random_crop`` + ``resize`` +
  ``trivial_augment_wide`` + ``crop_mirror_normalize`` (no sada-dali code);
* ``native_sada_ops``: ``native_ta`` with its step drawn from sada-dali's op space, as
  ``sada-dali bench``'s row 8 (not run by default): against ``sada_default`` it prices the
  reader alone, with ``--width 500 --height 375 --image-size 224`` at the bench's image sizes;
* ``native_read``: native DALI read, decode and resize only.

For every batch size of ``--batch-sizes`` it reports img/s and CPU microseconds per image,
split into this process's main thread, its other threads (DALI's operators) and the worker
processes, read from ``/proc``; and the ratios the goals are stated in, each from one round
(``sada_default`` / ``native_ta`` img/s, main-thread µs / ``native_ta`` total µs, ...).

In those rounds the consumer asks for the next batch at once, so the loader is the bottleneck and
each ``next()`` waits in DALI's ``share_outputs``, which spends that wait on the CPU (about 0.7-1 ms
per batch, native DALI's as much as SADA's). A trainer whose step outlasts a batch finds it ready
and pays no such wait. ``--paced`` adds rounds of ``sada_default`` and ``native_ta`` in which the
consumer sleeps after each batch for :data:`PACE_FACTOR` times that variant's median batch time,
and reports their CPU split: the main thread's own work per image, the figure that caps a
process on a GPU. ``sada_floor``, when it is among the variants, is paced as well.

Example: ``python benchmarks/host_cost.py --json host_cost.json``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import tempfile
import time

from _host_cost_report import medians, paced_ratios, print_batch_size, summarise
from _replay import replaying_reads

from sada_dali.checkpoint import save_json

PACE_FACTOR = 2.0
"""A paced consumer sleeps this many times the variant's unpaced batch time after each batch."""
PACED = ("sada_default", "sada_floor", "native_ta")
"""The variants ``--paced`` times again with a sleeping consumer, those of ``--variants``."""
VARIANTS = ("sada_w0", "sada_w2", "sada_default", "sada_val", "sada_floor", "native_ta", "native_read")
EXTRA_VARIANTS = ("native_sada_ops",)
"""Variants ``--variants`` may name that the default set leaves out."""
SPLIT = ("main_thread", "other_threads", "workers")


def _prepare(variant: str, source: str, listing, args, batch_size: int):
    from sada_dali.cli._bench_native import prepare_native_dali
    from sada_dali.cli._bench_timing import count_images
    from sada_dali.loader import SADALoader

    if variant.startswith("native"):
        return prepare_native_dali(
            listing.files,
            listing.labels,
            batch_size=batch_size,
            image_size=args.image_size,
            threads=args.threads,
            augment=variant != "native_read",
            op_space="sada" if variant == "native_sada_ops" else "trivial_augment_wide",
        ), None
    workers = {"sada_w0": 0, "sada_w2": 2, "sada_floor": 0}.get(variant)
    with replaying_reads() if variant == "sada_floor" else contextlib.nullcontext():
        loader = SADALoader(
            source,
            batch_size,
            device="cpu",
            train=variant != "sada_val",
            image_size=args.image_size,
            num_threads=args.threads,
            workers=workers,
            seed=1,
        )

    def run_epoch(epoch: int, pace_s: float = 0.0) -> int:
        loader.set_epoch(epoch)
        return count_images((batch[0] for batch in loader), pace_s)

    return run_epoch, loader


def _time_epoch(run_epoch, pace_s: float = 0.0) -> dict:
    from sada_dali.cli._bench_timing import cpu_split_s, settle

    before, start = cpu_split_s(), time.perf_counter()
    images = run_epoch(0, pace_s)
    idle = settle()
    seconds, after = time.perf_counter() - start - idle, cpu_split_s()
    us = {f"{part}_us": 1e6 * (after[part] - before[part]) / images for part in SPLIT}
    return {"images": images, "images_per_s": images / seconds, **us, "total_us": sum(us.values())}


def _time_round(prepared: dict) -> dict:
    return {name: _time_epoch(run_epoch) for name, (run_epoch, _) in prepared.items()}


def _time_paced_round(prepared: dict, pace_s: dict) -> dict:
    out = {}
    for name in pace_s:
        out[name] = _time_epoch(prepared[name][0], pace_s[name])
        out[name].pop("images_per_s")  # mostly sleep
        out[name]["pace_ms"] = 1e3 * pace_s[name]
    return out


def run_batch_size(source: str, listing, args, batch_size: int) -> dict:
    from sada_dali.cli._bench_timing import settle

    prepared = {v: _prepare(v, source, listing, args, batch_size) for v in args.variants}
    try:
        for run_epoch, _ in prepared.values():  # one warm-up epoch each
            run_epoch(0)
            settle()
        rounds = [_time_round(prepared) for _ in range(args.rounds)]
        result = {"rounds": rounds, **summarise(rounds)}
        if args.paced:
            pace_s = {
                name: PACE_FACTOR * batch_size / result[name]["images_per_s"]
                for name in PACED
                if name in prepared
            }
            paced = [_time_paced_round(prepared, pace_s) for _ in range(args.rounds)]
            result["paced"] = {"rounds": paced, **medians(paced), "ratios": paced_ratios(rounds, paced)}
    finally:
        for _, loader in prepared.values():
            if loader is not None:
                loader.close()
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=4096, help="generated tiny JPEGs")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--image-size", type=int, default=32, help="output side")
    parser.add_argument("--threads", type=int, default=2, help="DALI threads of every variant")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS + EXTRA_VARIANTS)
    parser.add_argument(
        "--paced",
        action="store_true",
        help="also time sada_default, sada_floor and native_ta with a consumer that sleeps",
    )
    parser.add_argument("--json", help="write the results to this path")
    args = parser.parse_args(argv)
    for needed in ("native_ta", "native_read", "sada_default", "sada_val"):
        if needed not in args.variants:
            parser.error(f"--variants must include {needed} (the ratios need it)")
    from sada_dali.data.source import create_listing
    from sada_dali.data.synthetic import create_photo_corpus
    from sada_dali.loader._defaults import default_workers

    result = {
        "config": vars(args),
        "host": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "default_workers": default_workers(),
        "batch_sizes": {},
    }
    with tempfile.TemporaryDirectory() as root:
        create_photo_corpus(
            root,
            num_images=args.num_images,
            num_classes=8,
            width=args.width,
            height=args.height,
            progress=False,
        )
        source = os.path.join(root, "train")
        listing = create_listing(source)
        for batch_size in args.batch_sizes:
            result["batch_sizes"][str(batch_size)] = run_batch_size(source, listing, args, batch_size)
            print_batch_size(batch_size, result["batch_sizes"][str(batch_size)], args.variants)
    if args.json:
        save_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
