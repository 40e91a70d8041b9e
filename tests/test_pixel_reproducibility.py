"""A training image is a pure function of (seed, epoch, index, strength): the same pixels
whatever the worker and thread counts, the shard layout and ``drop_last`` (CPU, bit-exact),
and the same pixels from run to run on the GPU. Resume: ``test_resume.py``."""

import numpy as np
import pytest
import torch
from _images import write_image_folder

from sada_dali.loader import SADALoader

SIZE, BINS, N = 32, 11, 20


def make_loader(root, batch_size=4, **kwargs):
    args = dict(
        device="cpu",
        image_size=SIZE,
        workers=0,
        num_threads=1,
        num_magnitude_bins=BINS,
        drop_last=False,
        seed=5,
        strengths=np.linspace(0, 1, N, dtype=np.float32),
    )
    args.update(kwargs)
    return SADALoader(root, batch_size, **args)


def images_by_index(loader, epoch=1):
    """``{index: image}`` of one epoch; a padded shard's repeated sample must repeat its pixels."""
    loader.set_epoch(epoch)
    seen = {}
    for images, _, indices in loader:
        for image, index in zip(images.cpu(), indices.tolist()):
            if index in seen:
                assert torch.equal(seen[index], image), index
            seen[index] = image
    return seen


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    write_image_folder(root, num_classes=2, per_class=N // 2, sizes=(36, 72), seed=8)
    return root


@pytest.fixture(scope="module")
def reference(dataset):
    """Epoch 1 read inline by one thread in one shard: the pixels every layout must reproduce."""
    loader = make_loader(dataset)
    out = images_by_index(loader)
    windows = loader.choices(np.arange(N), epoch=1)["crop"]
    assert sorted(out) == list(range(N))
    assert len({tuple(w) for w in windows.tolist()}) == N  # real random windows, not the full frame
    return out


def assert_same_pixels(reference, seen, count):
    assert len(seen) == count
    for index, image in seen.items():
        assert torch.equal(image, reference[index]), index


def test_a_sample_has_the_same_pixels_whatever_the_worker_and_thread_counts(dataset, reference):
    assert_same_pixels(reference, images_by_index(make_loader(dataset, workers=2, num_threads=2)), N)


@pytest.mark.parametrize("num_shards,drop_last,batch_size", [(2, True, 4), (3, False, 3)])
def test_a_sample_has_the_same_pixels_in_every_shard_layout_with_or_without_drop_last(
    dataset, reference, num_shards, drop_last, batch_size
):
    seen = {}
    for shard in range(num_shards):
        loader = make_loader(dataset, batch_size, num_shards=num_shards, shard_id=shard, drop_last=drop_last)
        seen |= images_by_index(loader)
    assert_same_pixels(reference, seen, 16 if drop_last else N)


def test_another_epoch_crops_other_windows(dataset, reference):
    other = images_by_index(make_loader(dataset), epoch=2)
    assert sum(not torch.equal(other[i], reference[i]) for i in range(N)) >= N - 1


@pytest.mark.gpu
def test_gpu_pixels_repeat_from_run_to_run_and_follow_the_cpu_windows(dataset, reference):
    runs = [images_by_index(make_loader(dataset, device="gpu", workers=2, num_threads=2)) for _ in range(2)]
    assert_same_pixels(runs[0], runs[1], N)
    gpu = torch.stack([runs[0][i] for i in range(N)])
    cpu = torch.stack([reference[i] for i in range(N)])
    grey = (gpu - cpu).abs() * 0.226 * 255  # normalised units to grey levels (mean std)
    assert float(grey.mean()) < 3.0  # decoders differ (chroma upsampling, IDCT); a wrong window does not pass


def test_gpu_pipeline_decodes_the_window_with_image_slice_on_the_hardware_decoder(dataset):
    from sada_dali.data._reader import SampleReader
    from sada_dali.data.source import create_listing
    from sada_dali.pipelines.train import create_train_pipeline
    from sada_dali.sampler import ShardSampler
    from sada_dali.strength import StrengthTable

    listing, table = create_listing(dataset), StrengthTable(N)
    try:
        reader = SampleReader(listing, ShardSampler(N, 4), table=table, num_magnitude_bins=BINS, num_ops=14)
        pipe = create_train_pipeline(
            reader,
            device="gpu",
            hw_decoder_load=0.42,
            num_magnitude_bins=BINS,
            batch_size=4,
            num_threads=1,
            device_id=0,
            py_num_workers=0,
        )
        pipe._build_graph()  # defines the graph without a GPU (DALI-internal, pinned DALI version)
        specs = [
            str(op.spec) for op in pipe._ops if str(op.spec).startswith("OpSpec for decoders__ImageSlice")
        ]
    finally:
        table.close()
    assert len(specs) == 1 and "device: mixed" in specs[0] and "hw_decoder_load: 0.420000" in specs[0]
