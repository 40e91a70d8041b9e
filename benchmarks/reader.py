"""CPU time per sample of the reader that every DALI worker runs.

DALI's parallel ``external_source`` calls the loader's ``SampleReader.read_batch`` once per
batch, in ``workers`` processes: it reads the batch's files, checks each, reads its size from
the header and computes the batch's SADA choices and crop windows at once. This times those
calls in this process (as with ``workers=0``) on a generated photo-like corpus, after a
warm-up pass, and reports per sample the median of ``--repeats`` passes; separately the file
part alone (open, read, checks) and the per-sample reference call (``SampleReader.__call__``,
one sample at a time, as the reader worked before batches). After the warm-up, a file that
passed the checks is not checked again, so the file part is also timed as in a first epoch,
with every file checked. ``--shards`` reads the corpus packed in tar shards instead. A
worker's share of a loader's rate is about ``1e6 / batch_us`` samples per second.

Example: ``python benchmarks/reader.py --json reader.json``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import types

from sada_dali.checkpoint import save_json


def _batch_infos(reader, batch_size: int) -> list:
    batches = -(-reader.sampler.shard_size // batch_size)
    return [types.SimpleNamespace(iteration=i, epoch_idx=0) for i in range(batches)]


def _per_sample_us(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def run(args) -> dict:
    from sada_dali.data.synthetic import create_photo_corpus
    from sada_dali.loader import SADALoader

    with tempfile.TemporaryDirectory() as root:
        create_photo_corpus(root, num_images=args.num_images, num_classes=4, progress=False)
        source = os.path.join(root, "train")
        if args.shards:
            from sada_dali.cli.shards import pack_image_folder

            pack_image_folder(
                source, os.path.join(root, "shards"), prefix="bench", shard_size=128, progress=False
            )
            source = os.path.join(root, "shards")
        loader = SADALoader(
            source,
            args.batch_size,
            device="cpu",
            workers=0,
            num_threads=1,
            image_size=32,
            train=not args.val,
        )
        try:
            reader = loader._reader
            reader.publish_order(0)
            infos = [types.SimpleNamespace(idx_in_epoch=i) for i in range(loader.sampler.shard_size)]
            batches = _batch_infos(reader, args.batch_size)
            _per_sample_us(reader, infos)  # warm-up: page cache, imports, cached stream keys
            scale = len(batches) / len(infos)
            batch = [scale * _per_sample_us(reader.read_batch, batches) for _ in range(args.repeats)]
            calls = [_per_sample_us(reader, infos) for _ in range(args.repeats)]

            def read_files(info):
                return reader.sample(reader.index_at(info.idx_in_epoch, 0))

            files = [_per_sample_us(read_files, infos) for _ in range(args.repeats)]
            first = [_first_read_us(reader, read_files, infos) for _ in range(args.repeats)]
        finally:
            loader.close()
    return {
        "config": vars(args),
        "host": platform.processor() or platform.machine(),
        "batch_us": statistics.median(batch),
        "call_us": statistics.median(calls),
        "file_us": statistics.median(files),
        "first_file_us": statistics.median(first),
        "batches_us": batch,
        "calls_us": calls,
        "files_us": files,
        "first_files_us": first,
    }


def _first_read_us(reader, read, infos) -> float:
    """:func:`_per_sample_us` of ``read`` as in a first epoch: no file has passed the checks yet."""
    reader.listing.checks.clear()
    return _per_sample_us(read, infos)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=256, help="generated 500x375 JPEGs")
    parser.add_argument("--batch-size", type=int, default=64, help="samples per read_batch call")
    parser.add_argument("--repeats", type=int, default=7, help="timed passes over the corpus")
    parser.add_argument("--val", action="store_true", help="the validation reader (no choices, no crop)")
    parser.add_argument("--shards", action="store_true", help="read the corpus packed in tar shards of 128")
    parser.add_argument("--json", help="write the results to this path")
    args = parser.parse_args(argv)
    if not 0 < args.batch_size <= args.num_images:
        parser.error(
            f"the `--batch-size` ({args.batch_size}) must be in [1, --num-images ({args.num_images})]"
        )
    result = run(args)
    print(
        f"reader {result['batch_us']:.1f} us per sample in batches of {args.batch_size} (median of "
        f"{args.repeats}); file read and checks alone {result['file_us']:.1f} us (a first epoch's, "
        f"every file checked: {result['first_file_us']:.1f} us); one sample per call "
        f"{result['call_us']:.1f} us  [{'val' if args.val else 'train'}, {args.num_images} images"
        f"{' in shards' if args.shards else ''}]"
    )
    if args.json:
        save_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
