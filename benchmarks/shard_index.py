"""Time indexing an ImageNet-sized set of WebDataset tar shards (N = 1,281,167 samples by default).

It writes ``--shards`` shards in timm's layout (``<key>.jpg``, ``<key>.cls``, ``<key>.json`` per
sample) with tiny members (a 100-byte stand-in for each JPEG: the index reads headers only, so
the image size changes the bytes skipped, not the work), then times

* the first scan: ``create_listing(folder)`` walking every 512-byte header and building the
  cached index (the shards were just written, so they sit in the page cache: this is the CPU
  cost, not a cold disk's);
* a second ``create_listing`` that loads the cached index and checks every shard's size and mtime;
* Python's ``tarfile`` iterating the headers of ``--tarfile-shards`` of the shards, scaled to all.

Example: ``python benchmarks/shard_index.py --dir /tmp/wds --json shard_index.json`` (about 4 GB
of shards, removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tarfile
import time

from sada_dali.checkpoint import save_json

IMAGENET_SIZE = 1_281_167


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _member(name: str, payload: bytes) -> bytes:
    pad = -len(payload) % 512
    return _header(name, len(payload)) + payload + bytes(pad)


def write_shards(folder: str, num_samples: int, num_shards: int) -> list[str]:
    """Write the synthetic shards (fast: headers built by ``tarfile``, files written in one go)."""
    os.makedirs(folder, exist_ok=True)
    image = b"\xff\xd8" + bytes(96) + b"\xff\xd9"
    paths = []
    for k in range(num_shards):
        first, last = k * num_samples // num_shards, (k + 1) * num_samples // num_shards
        parts = []
        for i in range(first, last):
            key, label = f"n{1440764 + 97 * (i % 1000):08d}_{i + 10000}", i % 1000
            parts += [
                _member(f"{key}.jpg", image),
                _member(f"{key}.cls", str(label).encode()),
                _member(f"{key}.json", json.dumps({"label": label}).encode()),
            ]
        parts.append(bytes(1024))
        paths.append(os.path.join(folder, f"imagenet1k-train-{k:04d}.tar"))
        with open(paths[-1], "wb") as handle:
            handle.write(b"".join(parts))
    return paths


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="an empty folder for the shards")
    parser.add_argument("--num-samples", type=int, default=IMAGENET_SIZE)
    parser.add_argument("--shards", type=int, default=1024)
    parser.add_argument("--tarfile-shards", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the shards")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    from sada_dali.data.source import create_listing

    start = time.perf_counter()
    paths = write_shards(args.dir, args.num_samples, args.shards)
    write_s = time.perf_counter() - start
    try:
        start = time.perf_counter()
        listing = create_listing(args.dir)
        scan_s = time.perf_counter() - start
        start = time.perf_counter()
        again = create_listing(args.dir)
        cached_s = time.perf_counter() - start
        assert len(listing) == len(again) == args.num_samples
        start = time.perf_counter()
        for path in paths[: args.tarfile_shards]:
            with tarfile.open(path) as tar:
                for member in tar:
                    member.offset_data  # noqa: B018 (what an index records)
        tarfile_s = (time.perf_counter() - start) * len(paths) / min(len(paths), args.tarfile_shards)
        disk = sum(os.path.getsize(p) for p in paths)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    result = {
        "num_samples": args.num_samples,
        "num_shards": args.shards,
        "shard_bytes": disk,
        "write_s": round(write_s, 1),
        "first_scan_s": round(scan_s, 2),
        "first_scan_us_per_sample": round(1e6 * scan_s / args.num_samples, 2),
        "cached_load_s": round(cached_s, 2),
        "python_tarfile_s_estimated": round(tarfile_s, 1),
        "machine": platform.platform(),
    }
    print(
        f"N = {args.num_samples:,} samples in {args.shards} shards ({disk / 1e9:.1f} GB):\n"
        f"  first scan (header walk + index + cache write): {scan_s:6.1f} s "
        f"({result['first_scan_us_per_sample']} us/sample)\n"
        f"  cached index load (+ size/mtime check):         {cached_s:6.1f} s\n"
        f"  Python tarfile header iteration (estimated):    {tarfile_s:6.1f} s"
    )
    if args.json:
        save_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
