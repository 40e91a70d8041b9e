"""Memory of one reader worker for an ImageNet-sized file listing (N = 1,281,167 paths).

DALI pickles the per-sample reader into each spawned worker. This spawns a worker the same
way (start method "spawn"), lets it import what a DALI worker imports, measures its private
memory (``Private_Clean + Private_Dirty`` of ``/proc/self/smaps_rollup``), then unpickles
the reader, reads a few thousand samples' paths, labels and positions, and measures again.
For comparison it does the same with a pickled tuple of the paths, which is what each
worker held before the listing moved to shared memory. Goal: <= 30 MB per worker above the
interpreter's baseline.

Example: ``python benchmarks/listing_memory.py --json listing_memory.json``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import pickle
import platform
import time

import numpy as np

IMAGENET_SIZE = 1_281_167


def private_mb() -> float:
    """This process's private (unshared) resident memory in MB."""
    fields = {}
    with open("/proc/self/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    return (fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024


def synthetic_listing(n: int):
    from sada_dali.data.source import Listing

    classes = [f"n{1440764 + 97 * k:08d}" for k in range(1000)]
    labels = np.arange(n, dtype=np.int64) % 1000
    files = tuple(
        f"/data/imagenet/train/{classes[y]}/{classes[y]}_{i + 10000}.JPEG" for i, y in enumerate(labels)
    )
    return Listing(files, labels, tuple(classes), "/data/imagenet/train")


def _worker(payload: bytes, queue) -> None:
    import nvidia.dali  # noqa: F401  (a DALI worker has it loaded)

    import sada_dali.data._reader  # noqa: F401

    base = private_mb()
    obj = pickle.loads(payload)
    rng = np.random.default_rng(0)
    if isinstance(obj, tuple):
        touched = sum(len(obj[i]) for i in rng.integers(0, len(obj), 4096))
    else:
        size = obj.sampler.shard_size
        touched = sum(
            len(obj.listing.path(obj.index_at(int(p), 0))) + int(obj.listing.labels[obj.index_at(int(p), 0)])
            for p in rng.integers(0, size, 4096)
        )
    queue.put({"baseline_mb": base, "after_mb": private_mb(), "touched": touched})


def measure(payload: bytes) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_worker, args=(payload, queue))
    process.start()
    result = queue.get(timeout=600)
    process.join()
    result["above_baseline_mb"] = result["after_mb"] - result["baseline_mb"]
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=IMAGENET_SIZE)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    from sada_dali.data._reader import SampleReader
    from sada_dali.ops import OPS
    from sada_dali.sampler import ShardSampler
    from sada_dali.strength import StrengthTable

    start = time.perf_counter()
    listing = synthetic_listing(args.num_samples)
    table = StrengthTable(len(listing))
    reader = SampleReader(
        listing, ShardSampler(len(listing), 256), table=table, num_magnitude_bins=101, num_ops=len(OPS)
    )
    reader.publish_order(0)
    setup_s = time.perf_counter() - start
    reader_bytes = pickle.dumps(reader)
    shared = measure(reader_bytes)
    pickled_tuple = pickle.dumps(listing.files)
    old = measure(pickled_tuple)
    reader.close()
    table.close()
    result = {
        "num_samples": args.num_samples,
        "setup_s": round(setup_s, 2),
        "shared_listing_worker": shared,
        "pickled_tuple_worker": old,
        "pickled_reader_bytes": len(reader_bytes),
        "pickled_tuple_bytes": len(pickled_tuple),
        "goal_mb": 30,
        "meets_goal": shared["above_baseline_mb"] <= 30,
        "machine": platform.platform(),
    }
    print(f"N = {args.num_samples:,} paths ({len(pickled_tuple) / 1e6:.0f} MB pickled as a tuple)")
    print(
        f"  shared listing: {shared['above_baseline_mb']:7.1f} MB per worker above its baseline "
        f"({shared['baseline_mb']:.0f} MB)  goal <= 30 MB: {'met' if result['meets_goal'] else 'MISSED'}"
    )
    print(f"  pickled tuple:  {old['above_baseline_mb']:7.1f} MB per worker above its baseline")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    main()
