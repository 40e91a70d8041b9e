"""Benchmark: how fast ``sada-dali check`` (the dataset doctor) decodes a corpus.

Writes an ImageFolder of generated photo-like 500x375 JPEGs (``create_photo_corpus``, about
110 KB each) and times :func:`sada_dali.data.doctor.check_listing` over it for each ``--jobs``
value, worker start-up (spawn, torch import) included. Reported: seconds and files per second.

Example: ``python benchmarks/check.py --images 256 --jobs 0 1 2 --json results/check.json``
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time


def run(args) -> dict:
    from sada_dali.data.doctor import check_listing
    from sada_dali.data.source import list_image_folder
    from sada_dali.data.synthetic import create_photo_corpus

    with tempfile.TemporaryDirectory() as tmp:
        root = create_photo_corpus(tmp, num_images=args.images, progress=False) / "train"
        listing = list_image_folder(root)
        rows = []
        for jobs in args.jobs:
            start = time.perf_counter()
            report = check_listing(listing, max_pixels=None, jobs=jobs)
            seconds = time.perf_counter() - start
            rows.append(
                {"jobs": jobs, "seconds": round(seconds, 2), "files_per_s": round(len(listing) / seconds, 1)}
            )
            assert not report["files"], report["files"][:3]
            print(
                f"jobs={jobs}: {seconds:.2f} s for {len(listing)} files "
                f"({len(listing) / seconds:.1f} files/s)"
            )
    return {"images": args.images, "machine": platform.node(), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--jobs", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = run(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
