"""Memory of one reader worker for an ImageNet-sized file listing (N = 1,281,167 paths).

DALI pickles the per-sample reader into each spawned worker. This spawns a worker the same
way (start method "spawn"), lets it import what a DALI worker imports, measures its private
memory (``Private_Clean + Private_Dirty`` of ``/proc/self/smaps_rollup``), then unpickles
the reader, reads a few thousand samples' paths, labels and positions, and measures again.
For comparison it does the same with a pickled tuple of the paths, which is what each
worker held before the listing moved to shared memory. It also measures a listing of
WebDataset tar shards (1024 shards, ``<shard>.tar:<key>`` names and each sample's shard,
offset and size in shared memory). Goal: <= 30 MB per worker above the interpreter's
baseline.

Example: ``python benchmarks/listing_memory.py --json listing_memory.json``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import platform
import time

import numpy as np

from sada_dali.checkpoint import save_json

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


def synthetic_shard_listing(n: int, num_shards: int = 1024):
    """An ImageNet-sized listing of tar shards in timm's layout (no file is read or written)."""
    from sada_dali.data.source import Listing

    labels = np.arange(n, dtype=np.int64) % 1000
    shard_of = np.arange(n, dtype=np.int64) * num_shards // n
    shards = tuple(f"/data/imagenet-wds/imagenet1k-train-{k:04d}.tar" for k in range(num_shards))
    files = tuple(
        f"{shards[k]}:n{1440764 + 97 * y:08d}_{i + 10000}" for i, (k, y) in enumerate(zip(shard_of, labels))
    )
    locations = np.stack([shard_of, 1536 * np.arange(n) + 512, np.full(n, 110_000)], axis=1)
    return Listing(
        files, labels, tuple(map(str, range(1000))), "/data/imagenet-wds", shards=shards, locations=locations
    )


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
        touched = 0
        for p in rng.integers(0, size, 4096):
            index = obj.index_at(int(p), 0)
            touched += len(obj.listing.path(index)) + int(obj.listing.labels[index])
            if obj.listing._locations is not None:
                touched += int(obj.listing._locations[index].sum())
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
    from sada_dali.op_space import OPS
    from sada_dali.sampler import ShardSampler
    from sada_dali.strength import StrengthTable

    def measure_reader(listing):
        table = StrengthTable(len(listing))
        reader = SampleReader(
            listing, ShardSampler(len(listing), 256), table=table, num_magnitude_bins=101, num_ops=len(OPS)
        )
        reader.publish_order(0)
        payload = pickle.dumps(reader)
        try:
            return measure(payload), len(payload)
        finally:
            reader.close()
            table.close()

    start = time.perf_counter()
    listing = synthetic_listing(args.num_samples)
    setup_s = time.perf_counter() - start
    shared, reader_bytes = measure_reader(listing)
    pickled_tuple = pickle.dumps(listing.files)
    old = measure(pickled_tuple)
    del listing
    shard_shared, shard_reader_bytes = measure_reader(synthetic_shard_listing(args.num_samples))
    result = {
        "num_samples": args.num_samples,
        "setup_s": round(setup_s, 2),
        "shared_listing_worker": shared,
        "shard_listing_worker": shard_shared,
        "pickled_tuple_worker": old,
        "pickled_reader_bytes": reader_bytes,
        "pickled_shard_reader_bytes": shard_reader_bytes,
        "pickled_tuple_bytes": len(pickled_tuple),
        "goal_mb": 30,
        "meets_goal": max(shared["above_baseline_mb"], shard_shared["above_baseline_mb"]) <= 30,
        "machine": platform.platform(),
    }
    print(f"N = {args.num_samples:,} paths ({len(pickled_tuple) / 1e6:.0f} MB pickled as a tuple)")
    print(
        f"  shared listing: {shared['above_baseline_mb']:7.1f} MB per worker above its baseline "
        f"({shared['baseline_mb']:.0f} MB)  goal <= 30 MB: {'met' if result['meets_goal'] else 'MISSED'}"
    )
    print(f"  tar shards:     {shard_shared['above_baseline_mb']:7.1f} MB per worker above its baseline")
    print(f"  pickled tuple:  {old['above_baseline_mb']:7.1f} MB per worker above its baseline")
    if args.json:
        save_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
