"""SADALoader on the CPU pipeline (GPU parity under ``@pytest.mark.gpu``), with generated JPEGs."""

import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _images import truncate_file, write_image, write_image_folder
from PIL import Image

from sada_dali._utils.rng import per_sample_choices
from sada_dali.loader import SADALoader
from sada_dali.op_space import OPS, create_op_space

SIZE, BATCH, BINS = 32, 5, 11  # 11 bins keep the DALI graph quick to build
MAGNITUDE_OPS = {spec.name for spec in create_op_space() if spec.max_magnitude > 0}  # the rest ignore the bin


def make_loader(root, batch_size=BATCH, **kwargs):
    args = dict(
        device="cpu", image_size=SIZE, workers=0, num_threads=1, num_magnitude_bins=BINS, drop_last=False
    )
    args.update(kwargs)
    return SADALoader(root, batch_size, **args)


def run_epoch(loader):
    batches = list(loader)
    return tuple(torch.cat([b[k] for b in batches]) for k in range(3)), batches


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    write_image_folder(root, num_classes=3, per_class=8, sizes=(40, 64), seed=1)
    return root


@pytest.fixture(scope="module")
def twin_loaders(dataset):
    """Two training loaders with the same seed, read in lock step by the tests below."""
    return make_loader(dataset, seed=7), make_loader(dataset, seed=7)


def test_epoch_covers_every_index_once_with_folder_labels_and_shapes(dataset):
    loader = make_loader(dataset, seed=3)
    (images, labels, indices), batches = run_epoch(loader)
    assert sorted(indices.tolist()) == list(range(24))
    assert [len(b[0]) for b in batches] == [5, 5, 5, 5, 4] and len(loader) == 5
    assert images.shape == (24, 3, SIZE, SIZE) and images.dtype == torch.float32
    assert labels.dtype == indices.dtype == torch.int64
    folders = [os.path.basename(os.path.dirname(loader.listing.files[i])) for i in indices.tolist()]
    assert [loader.classes[k] for k in labels.tolist()] == folders
    assert loader.num_samples == 24 and loader.classes == ("class_0", "class_1", "class_2")


@pytest.mark.parametrize("drop_last,sizes", [(False, [5, 5, 2]), (True, [5, 5])])
def test_shards_cover_the_dataset_and_drop_last_drops_the_partial_batch(dataset, drop_last, sizes):
    seen = []
    for shard in range(2):
        loader = make_loader(dataset, seed=3, num_shards=2, shard_id=shard, drop_last=drop_last)
        (_, _, indices), batches = run_epoch(loader)
        assert [len(b[0]) for b in batches] == sizes  # 12 samples per shard
        assert indices.tolist() == loader.sampler.indices(0)[: sum(sizes)].tolist()
        seen.append(set(indices.tolist()))
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == (20 if drop_last else 24)


def test_same_seed_repeats_the_run_and_epochs_differ(twin_loaders):
    a, b = twin_loaders
    (images_a, labels_a, indices_a), _ = run_epoch(a)
    (images_b, labels_b, indices_b), _ = run_epoch(b)
    assert torch.equal(indices_a, indices_b) and torch.equal(labels_a, labels_b)
    assert torch.equal(images_a, images_b)
    assert a.epoch == 1
    assert not np.array_equal(a.sampler.indices(0), a.sampler.indices(1))


def test_strength_reaches_pixels_from_the_next_epoch(twin_loaders):
    a, b = twin_loaders
    a.set_epoch(1), b.set_epoch(1)
    b.set_strengths(np.zeros(b.num_samples, dtype=np.float32))
    assert float(b.strengths.min()) == 1.0  # applies from the next epoch, not now
    (strong, _, idx_a), _ = run_epoch(a)
    (weak, _, idx_b), _ = run_epoch(b)
    assert torch.equal(idx_a, idx_b) and float(b.strengths.max()) == 0.0
    ops = [OPS[k] for k in per_sample_choices(7, 1, idx_a.numpy(), len(OPS))[0]]
    diff = (strong - weak).abs().mean(dim=(1, 2, 3))
    magnitude = torch.tensor([op in MAGNITUDE_OPS for op in ops])
    assert magnitude.any() and (~magnitude).any()
    assert torch.all(diff[~magnitude] == 0)  # identity, auto_contrast, equalize ignore strength
    assert float(diff[magnitude].mean()) > 0.1


def test_estimator_strengths_are_copied_once_per_epoch(dataset):
    estimator = SimpleNamespace(strengths=np.full(24, 0.25, dtype=np.float32))
    loader = make_loader(dataset, train=True, strengths=estimator)
    iterator = iter(loader)
    next(iterator)
    estimator.strengths = np.full(24, 0.75, dtype=np.float32)
    assert np.all(loader.strengths == 0.25)  # the running epoch keeps its strengths
    list(iterator)
    next(iter(loader))
    assert np.all(loader.strengths == 0.75)


@pytest.mark.parametrize(
    "values,error,match",
    [
        (np.zeros(23), ValueError, r"shape \(24,\)"),
        (np.full(24, np.nan), ValueError, "must be finite"),
        (np.full(24, 1.5), ValueError, r"must lie in \[0, 1\]"),
        (-torch.ones(24), ValueError, r"must lie in \[0, 1\]"),
        (np.array(["a"] * 24), TypeError, "numeric array"),
    ],
)
def test_set_strengths_rejects_bad_values(twin_loaders, values, error, match):
    with pytest.raises(error, match=match):
        twin_loaders[0].set_strengths(values)


def test_set_strengths_rejects_validation_loader(dataset):
    with pytest.raises(ValueError, match="only to a training loader"):
        make_loader(dataset, train=False).set_strengths(np.ones(24))


def test_loader_rejects_bad_device_and_on_error(dataset):
    with pytest.raises(ValueError, match="`device` must be 'gpu' or 'cpu', got 'tpu'"):
        make_loader(dataset, device="tpu")
    with pytest.raises(ValueError, match="`on_error` must be 'raise' or 'skip', got 'ignore'"):
        make_loader(dataset, train=False, on_error="ignore")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(random_area=(0.0, 1.0)),
            r"`random_area` must be a pair \(lo, hi\) with 0 < lo <= hi <= 1, got \(0.0, 1.0\)",
        ),
        (dict(random_area=(0.5, 2.0)), r"`random_area` must be .* got \(0.5, 2.0\)"),
        (
            dict(random_aspect_ratio=(4 / 3, 3 / 4)),
            r"`random_aspect_ratio` must be a pair \(lo, hi\) with 0 < lo <= hi",
        ),
    ],
)
def test_loader_rejects_bad_crop_ranges_naming_the_argument(dataset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_loader(dataset, **kwargs)


@pytest.mark.parametrize(
    "image_size, match",
    [
        (0, r"The `image_size` must be an integer >= 1, got 0\. It is the side S of the S x S output"),
        (-32, r"The `image_size` must be an integer >= 1, got -32\."),
        (32.5, r"The `image_size` must be an integer >= 1, got 32\.5\."),
        (True, r"The `image_size` must be an integer >= 1, got True\."),
        (
            (32, 48),
            r"The `image_size` must be square: .* \(32, 48\); pass one integer, e.g\. `image_size=48`",
        ),
        ((32,), r"The `image_size` must be one positive integer S .* \(1 values\)"),
    ],
)
def test_loader_refuses_a_bad_image_size_by_name_before_reading_any_file(tmp_path, image_size, match):
    # the root does not exist: the configuration error comes before the listing is even made
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", image_size=image_size)


@pytest.mark.parametrize(
    "seed, match",
    [
        (
            2**64,
            r"The `seed` must be an integer in \[0, 18446744073709551615\], got 18446744073709551616\. "
            r"The per-sample hash reads 64 bits",
        ),
        (-1, r"The `seed` must be an integer in \[0, 18446744073709551615\], got -1\."),
        (1.5, r"The `seed` must be an integer in \[0, 18446744073709551615\], got 1\.5\."),
        (True, r"The `seed` must be an integer in \[0, 18446744073709551615\], got True\."),
    ],
)
def test_loader_refuses_a_seed_outside_the_64_bits_the_hash_reads(tmp_path, seed, match):
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", seed=seed)


@pytest.mark.parametrize("drop_last", ["no", "False", 0, 1])
def test_loader_refuses_a_drop_last_that_is_not_a_bool(tmp_path, drop_last):
    match = rf"The `drop_last` must be a bool \(True or False\), got {drop_last!r}\. None picks True"
    with pytest.raises(TypeError, match=match):
        make_loader(tmp_path / "missing", drop_last=drop_last)


@pytest.mark.parametrize(
    "source, shown",
    [
        (None, r"None \(NoneType\)"),
        (123, r"123 \(int\)"),
        (b"/data", r"b'/data' \(bytes\); decode"),
        ([1], r"\[1\]"),
    ],
)
def test_loader_refuses_a_source_that_is_not_a_path_naming_what_it_accepts(source, shown):
    match = (
        r"The `source` must be a path \(str or os.PathLike\) to an ImageFolder directory, to a file list "
        r"\(with `file_root=`\) or to tar shards .* or a list of .tar paths; got " + shown
    )
    with pytest.raises(TypeError, match=match):
        make_loader(source)
    with pytest.raises(TypeError, match=match):
        SADALoader(source=source, batch_size=BATCH)


@pytest.mark.parametrize("depth", [0, -1, 1.5, True])
def test_loader_refuses_a_prefetch_queue_depth_below_one_by_name_before_reading_any_file(tmp_path, depth):
    match = rf"The `prefetch_queue_depth` must be an integer >= 1, got {depth!r}\. It counts the batches DALI"
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", prefetch_queue_depth=depth)


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan"), True, "half"])
def test_loader_refuses_a_max_skipped_share_outside_0_1(tmp_path, share):
    match = rf"The `max_skipped_share` must be a number in \[0, 1\], got {share!r}\. It is the largest share"
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", max_skipped_share=share)


def test_loader_refuses_an_unknown_argument_naming_the_closest_one(tmp_path):
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'prefetch_depth'; did you mean 'prefetch_q"
    ):
        make_loader(tmp_path / "missing", prefetch_depth=2)


def _half_corrupt_folder(tmp_path, bad):
    """Four files, one class; the first ``bad`` truncated (validation reads them in this order)."""
    paths = write_image_folder(tmp_path, num_classes=1, per_class=4, sizes=(40, 48), seed=2)
    for path in paths[:bad]:
        truncate_file(path)
    return paths


def test_a_batch_that_loses_more_than_max_skipped_share_raises_naming_the_source_and_files(tmp_path):
    paths = _half_corrupt_folder(tmp_path, 2)
    loader = make_loader(tmp_path, train=False, batch_size=2, on_error="skip")
    match = (
        rf"Epoch 0, batch 0 of SADALoader\(num_samples=4.*\) reading '{tmp_path}': 2 of its 2 rows were "
        rf"skipped, more than max_skipped_share=0.5 allows:\n  {paths[0]}\n  {paths[1]}\n`sada-dali check"
    )
    with pytest.raises(RuntimeError, match=match):
        list(loader)
    loader.close()


def test_half_of_a_batch_may_be_skipped_and_a_lower_limit_is_honoured(tmp_path):
    paths = _half_corrupt_folder(tmp_path, 1)
    loader = make_loader(tmp_path, train=False, batch_size=2, on_error="skip")
    assert [b[2].tolist() for b in loader] == [[1], [2, 3]] and loader.skipped_files == [paths[0]]
    strict = make_loader(tmp_path, train=False, batch_size=2, on_error="skip", max_skipped_share=0.25)
    with pytest.raises(RuntimeError, match=r"1 of its 2 rows were skipped, more than max_skipped_share=0.25"):
        list(strict)
    loader.close(), strict.close()


def test_an_epoch_whose_every_row_is_skipped_raises_even_when_batches_may_be_empty(tmp_path):
    _half_corrupt_folder(tmp_path, 4)
    loader = make_loader(tmp_path, train=False, batch_size=2, on_error="skip", max_skipped_share=1.0)
    batches = iter(loader)
    assert [len(next(batches)[2]) for _ in range(2)] == [0, 0]
    match = rf"Epoch 0 of SADALoader\(num_samples=4.*\) reading '{tmp_path}' yielded no sample: all 4 rows"
    with pytest.raises(RuntimeError, match=match):
        next(batches)
    assert loader.num_skipped == 4 and loader.epoch == 1  # counted, and the epoch is over
    loader.close()


def test_square_pair_numpy_values_and_the_largest_seed_are_accepted(dataset):
    loader = make_loader(
        dataset, image_size=(np.int64(SIZE), SIZE), seed=np.uint64(2**64 - 1), drop_last=np.bool_(True)
    )
    images, _, _ = next(iter(loader))
    assert tuple(images.shape) == (BATCH, 3, SIZE, SIZE) and len(loader) == 24 // BATCH
    assert loader.sampler.seed == 2**64 - 1 and loader.sampler.drop_last is True
    loader.close()


def test_loader_rejects_empty_and_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no class folder"):
        make_loader(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_loader(tmp_path / "missing")


def test_corrupt_jpeg_raises_naming_the_file(corrupt_dataset):
    root, bad = corrupt_dataset
    with pytest.raises(RuntimeError, match=rf"{os.path.basename(bad)}\): truncated JPEG"):
        list(make_loader(root, train=False, batch_size=3))


def test_corrupt_jpeg_is_skipped_counted_and_labels_stay_aligned(corrupt_dataset):
    root, bad = corrupt_dataset
    loader = make_loader(root, batch_size=3, on_error="skip", seed=1)
    (_, labels, indices), _ = run_epoch(loader)
    assert sorted(indices.tolist()) == [0, 1, 2, 3, 4, 6, 7]
    assert labels.tolist() == loader.listing.labels[indices.numpy()].tolist()
    assert loader.num_skipped == 1 and loader.skipped_files == [bad]


def test_batch_whose_every_file_is_corrupt_comes_out_empty_so_every_rank_keeps_len_batches(tmp_path):
    paths = write_image_folder(tmp_path, num_classes=1, per_class=4, sizes=(40, 48), seed=2)
    for path in paths[:2]:
        truncate_file(path)
    loader = make_loader(tmp_path, train=False, batch_size=2, on_error="skip", max_skipped_share=1.0)
    batches = list(loader)
    assert len(batches) == len(loader) == 2
    assert [len(b[2]) for b in batches] == [0, 2] and batches[0][0].shape == (0, 3, SIZE, SIZE)
    assert batches[1][2].tolist() == [2, 3] and loader.num_skipped == 2


def _centre_crop_means(image):
    """Channel means of PIL's validation transform: resize the shorter side, centre crop."""
    shorter = round(SIZE * 256 / 224)
    scale = shorter / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    left, top = (image.width - SIZE) // 2, (image.height - SIZE) // 2
    crop = np.asarray(image.crop((left, top, left + SIZE, top + SIZE)), dtype=np.float32)
    return crop.mean(axis=(0, 1))


def test_grayscale_cmyk_and_png_named_jpeg_decode_to_rgb(tmp_path):
    paths = [
        write_image(tmp_path / "odd" / "0_gray.JPEG", 40, 44, mode="L", seed=3),
        write_image(tmp_path / "odd" / "1_cmyk.JPEG", 40, 44, mode="CMYK", seed=4),
        write_image(tmp_path / "odd" / "2_png.JPEG", 40, 44, fmt="PNG", seed=5),
    ]
    loader = make_loader(tmp_path, train=False, batch_size=3)
    images, _, indices = next(iter(loader))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1) * 255
    pixels = images * std + mean
    assert images.shape == (3, 3, SIZE, SIZE) and indices.tolist() == [0, 1, 2]
    gray = pixels[0]
    assert float((gray[0] - gray[1]).abs().max()) < 1 and float((gray[1] - gray[2]).abs().max()) < 1
    for row, path in enumerate(paths):
        reference = _centre_crop_means(Image.open(path).convert("RGB"))
        assert np.allclose(pixels[row].mean(dim=(1, 2)).numpy(), reference, atol=10), (
            path
        )  # resampling differs slightly


def test_validation_loader_keeps_listing_order_and_fp16(dataset):
    loader = make_loader(dataset, train=False, batch_size=7, fp16=True)
    (images, labels, indices), batches = run_epoch(loader)
    assert indices.tolist() == list(range(24)) and [len(b[0]) for b in batches] == [7, 7, 7, 3]
    assert images.dtype == torch.float16 and images.shape == (24, 3, SIZE, SIZE)
    assert labels.tolist() == loader.listing.labels.tolist()


def test_file_list_source_uses_its_labels(dataset, tmp_path):
    rel = ["class_2/img_001.JPEG", "class_0/img_003.JPEG"]
    (tmp_path / "list.txt").write_text(f"{rel[0]} 5\n{rel[1]} 9\n")
    loader = make_loader(tmp_path / "list.txt", file_root=dataset, train=False, batch_size=2)
    _, labels, indices = next(iter(loader))
    assert labels.tolist() == [5, 9] and indices.tolist() == [0, 1] and len(loader.classes) == 10


def test_parallel_workers_give_the_same_epoch_as_inline_reading(dataset):
    inline = run_epoch(make_loader(dataset, seed=5))[0]
    parallel = run_epoch(make_loader(dataset, seed=5, workers=1))[0]
    for ours, theirs in zip(inline, parallel):
        assert torch.equal(ours, theirs)


@pytest.mark.gpu
@pytest.mark.parametrize("train", [False, True])
def test_gpu_pipeline_agrees_with_cpu_pipeline(dataset, train):
    cpu = run_epoch(make_loader(dataset, seed=11, train=train))[0]
    gpu = run_epoch(make_loader(dataset, seed=11, train=train, device="gpu"))[0]
    assert all(t.is_cuda for t in gpu)
    assert torch.equal(cpu[2], gpu[2].cpu()) and torch.equal(cpu[1], gpu[1].cpu())
    tolerance = 0.1 if train else 0.05  # same windows on both devices; decoders and ops differ slightly
    for stat in (torch.mean, torch.std):
        assert torch.allclose(stat(cpu[0], dim=(0, 2, 3)), stat(gpu[0].cpu(), dim=(0, 2, 3)), atol=tolerance)
