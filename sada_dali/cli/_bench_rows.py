"""The measurements behind ``sada-dali bench``: one ``prepare_*`` function per loader row.

Every loader row reads the same images and yields the same output (``image_size`` squared,
ImageNet-normalised float32 NCHW). A ``prepare_*`` function builds the row and returns its
epoch function; :func:`sada_dali.cli._bench_timing.time_rows` times them in interleaved rounds
and :func:`loader_row` turns the timings into the row's dict.
"""

from __future__ import annotations

import statistics

import numpy as np

from ._bench_timing import count_images

__all__ = [
    "LOADER_ROWS",
    "create_trivial_augment_pipeline",
    "prepare_sada_dali",
    "prepare_trivial_augment",
    "prepare_torchvision",
    "loader_row",
    "measure_estimator_overhead",
    "skipped_row",
]

LOADER_ROWS = {
    1: "SADA DALI, GPU",
    2: "DALI trivial_augment_wide, GPU",
    3: "SADA DALI, CPU backend",
    4: "torchvision DataLoader + SADATransform, CPU",
    5: "estimator update / ResNet-50 step, GPU",
    6: "native DALI, CPU backend (trivial_augment_wide)",
    7: "SADA DALI, CPU backend, tar shards",
    8: "native DALI, CPU backend (TA over SADA's op space)",
}


def skipped_row(row: int, reason: str) -> dict:
    """A row that was not measured, with the reason as its status."""
    return {"row": row, "name": LOADER_ROWS[row], "status": f"skipped: {reason}", "images_per_s": None}


def loader_row(row: int, timings, **extra) -> dict:
    """The row dict of ``row`` from its :func:`~sada_dali.cli._bench_timing.time_rows` timings."""
    rates = [images / seconds for images, seconds, *_ in timings]
    cpu = [1e3 * cpu / images for images, _, cpu, _ in timings if cpu is not None]
    main = [1e3 * main / images for images, _, _, main in timings if main is not None]
    return {
        "row": row,
        "name": LOADER_ROWS[row],
        "status": "ok",
        "images_per_s": statistics.median(rates),
        "repeats_images_per_s": rates,
        "cpu_ms_per_image": statistics.median(cpu) if cpu else None,
        "repeats_cpu_ms_per_image": cpu,
        "main_process_cpu_ms_per_image": statistics.median(main) if main else None,
        "images_per_epoch": timings[0][0],
        **extra,
    }


def prepare_sada_dali(
    source, strengths, *, device: str, batch_size: int, image_size: int, threads: int, seed: int = 0
):
    """Rows 1, 3 and 7: :class:`sada_dali.SADALoader` on ``device`` at fixed ``strengths``, with
    ``threads`` DALI threads and as many reading processes; returns the epoch function."""
    from ..loader import SADALoader

    loader = SADALoader(
        source,
        batch_size,
        device=device,
        image_size=image_size,
        strengths=strengths,
        seed=seed,
        num_threads=threads,
        workers=threads,
    )

    def run_epoch(epoch: int) -> int:
        loader.set_epoch(epoch)
        return count_images(batch[0] for batch in loader)

    return run_epoch


def create_trivial_augment_pipeline(reader, *, batch_size: int, image_size: int, threads: int, seed: int = 0):
    """Row 2's pipeline, defined but not built: ``reader``'s files decoded on the GPU with a
    random crop, resized, augmented by DALI's ``trivial_augment_wide`` and normalised; outputs
    ``images`` (GPU 0) and ``labels`` (CPU)."""
    from nvidia.dali import fn, pipeline_def
    from nvidia.dali.auto_aug import trivial_augment

    from ..pipelines._stages import decoder_args, normalize, read_samples

    @pipeline_def(enable_conditionals=True)
    def pipeline():
        data = read_samples(reader)
        images = fn.decoders.image_random_crop(
            data["encoded"],
            random_area=[0.08, 1.0],
            random_aspect_ratio=[3 / 4, 4 / 3],
            **decoder_args("gpu", 0.65),
        )
        images = fn.resize(images, size=[image_size, image_size])
        images = trivial_augment.trivial_augment_wide(images, fill_value=128)
        return normalize(images, mirror=fn.random.coin_flip()), data["label"]

    return pipeline(
        batch_size=batch_size,
        num_threads=threads,
        device_id=0,
        seed=seed,
        py_num_workers=threads,
        py_start_method="spawn",
    )


def prepare_trivial_augment(source, *, batch_size: int, image_size: int, threads: int, seed: int = 0):
    """Row 2: the same reading, decoding, crop, resize and normalisation with DALI's own
    ``trivial_augment_wide`` in place of the SADA op (GPU); returns the epoch function."""
    from nvidia.dali.plugin.pytorch import DALIGenericIterator

    from ..data._reader import SampleReader
    from ..data.source import create_listing
    from ..op_space import DEFAULT_NUM_MAGNITUDE_BINS, OPS
    from ..sampler import ShardSampler

    listing = create_listing(source)
    reader = SampleReader(
        listing,
        ShardSampler(len(listing), batch_size, seed=seed),
        num_magnitude_bins=DEFAULT_NUM_MAGNITUDE_BINS,
        num_ops=len(OPS),
        augments=False,
    )
    pipe = create_trivial_augment_pipeline(
        reader, batch_size=batch_size, image_size=image_size, threads=threads, seed=seed
    )
    iterator = DALIGenericIterator(pipe, ["images", "labels"], auto_reset=True)

    def run_epoch(epoch: int) -> int:
        return sum(batch[0]["images"].shape[0] for batch in iterator)

    return run_epoch


def prepare_torchvision(source, table, *, batch_size: int, image_size: int, workers: int, seed: int = 0):
    """Row 4: :class:`~sada_dali.baseline.dataset.SADAImageFolder` in a ``DataLoader`` with
    ``workers`` persistent worker processes, at the strengths of ``table``; returns the epoch
    function.

    The workers are spawned, not forked: a fork would share every page of this process
    copy-on-write with them, and the rows timed next would pay the copies (DALI's buffers, written
    again, faulted in kernel time: 1.3 s of system CPU, +2.5 ms per image, in row 3's first timed
    epoch after row 4's warm-up forked its workers)."""
    import torch

    from ..baseline.dataset import SADAImageFolder

    dataset = SADAImageFolder(source, table, image_size=image_size, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        multiprocessing_context="spawn" if workers > 0 else None,
        generator=generator,
    )

    def run_epoch(epoch: int) -> int:
        table.set_epoch(epoch)
        return count_images(batch[0] for batch in loader)

    return run_epoch


def measure_estimator_overhead(
    *, batch_size: int, num_samples: int = 1_281_167, num_classes: int = 1000, steps: int = 20
) -> dict:
    """Row 5: median ``SADAEstimator.update`` time over the median ResNet-50 AMP training step."""
    import torch
    import torchvision

    from ..estimator import SADAEstimator

    device = torch.device("cuda")
    model = torchvision.models.resnet50(num_classes=num_classes).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    images = torch.randn(batch_size, 3, 224, 224, device=device).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, num_classes, (batch_size,), device=device)
    estimator = SADAEstimator(num_samples, num_classes, device="cuda")
    rng = np.random.default_rng(0)

    def cuda_ms(fn) -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

    def train_step():
        with torch.autocast("cuda", dtype=torch.float16):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    logits = torch.randn(batch_size, num_classes, device=device)
    indices = [
        torch.as_tensor(rng.choice(num_samples, batch_size, replace=False), device=device)
        for _ in range(steps + 3)
    ]
    step_ms = statistics.median([cuda_ms(train_step) for _ in range(steps + 3)][3:])
    update_ms = statistics.median([cuda_ms(lambda i=i: estimator.update(i, logits)) for i in indices][3:])
    return {
        "row": 5,
        "name": LOADER_ROWS[5],
        "status": "ok",
        "images_per_s": None,
        "update_ms": update_ms,
        "step_ms": step_ms,
        "fraction_of_step": update_ms / step_ms,
        "batch_size": batch_size,
        "num_samples": num_samples,
    }
