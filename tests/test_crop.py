"""Crop windows (``sada_dali.data.crop``) against a float64 reference of torchvision's
``RandomResizedCrop.get_params`` fed the same counter-based uniforms, and their validation."""

import math

import numpy as np
import pytest
import torch
from torchvision.transforms import RandomResizedCrop

from sada_dali._utils.rng import CROP_ATTEMPTS, STREAM_ATTEMPT, STREAM_CROP_LEFT, crop_uniforms, hash_uniform
from sada_dali.data.crop import CropConfig, crop_window, crop_windows, image_dims

SEED = 11


def reference_window(u, width, height, area_range, ratio_range):
    """torchvision's get_params in float64, drawing ``u[attempt] = (area, log ratio, top, left)``,
    with the fallback window at least one pixel wide and high (torchvision's may be empty)."""
    area = width * height
    log_lo, log_hi = math.log(ratio_range[0]), math.log(ratio_range[1])
    for attempt in range(10):
        target = area * (area_range[0] + u[attempt][0] * (area_range[1] - area_range[0]))
        aspect = math.exp(log_lo + u[attempt][1] * (log_hi - log_lo))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(u[attempt][2] * (height - h + 1)), int(u[attempt][3] * (width - w + 1)), h, w, False
    in_ratio = width / height
    if in_ratio < min(ratio_range):
        w, h = width, int(round(width / min(ratio_range)))
    elif in_ratio > max(ratio_range):
        w, h = int(round(height * max(ratio_range))), height
    else:
        w, h = width, height
    w, h = max(w, 1), max(h, 1)
    return (height - h) // 2, (width - w) // 2, h, w, True


@pytest.mark.parametrize(
    "area,ratio",
    [
        ((0.08, 1.0), (3 / 4, 4 / 3)),
        ((0.5, 0.5), (1.0, 1.0)),
        ((0.9, 1.0), (2.5, 4.0)),
        ((0.9, 1.0), (0.2, 0.3)),
        ((1.0, 1.0), (1.0, 1.0)),
    ],
)
def test_windows_follow_torchvisions_rule_on_the_same_uniforms(area, ratio):
    rng = np.random.default_rng(0)
    indices = rng.choice(10**7, 600, replace=False)
    sizes = np.stack([rng.integers(1, 500, 600), rng.integers(1, 500, 600)], axis=1)
    sizes[:50] = [[500, 375]] * 50
    windows = crop_windows(SEED, 4, indices, sizes, CropConfig(area, ratio))
    uniforms = crop_uniforms(SEED, 4, indices)
    fallbacks = 0
    for window, u, (width, height) in zip(windows, uniforms, sizes):
        *expected, fallback = reference_window(u.tolist(), int(width), int(height), area, ratio)
        assert window.tolist() == expected, (width, height)
        top, left, h, w = expected
        assert 0 <= top <= height - h and 0 <= left <= width - w and h > 0 and w > 0
        fallbacks += fallback
    assert windows.dtype == np.int32
    if area == (0.9, 1.0):
        assert fallbacks > 100  # the fallback branch is exercised (aspect ranges the images rarely fit)


def test_one_samples_window_is_its_row_of_the_batch_windows():
    rng = np.random.default_rng(1)
    indices = rng.choice(10**7, 200, replace=False)
    sizes = np.stack([rng.integers(1, 800, 200), rng.integers(1, 800, 200)], axis=1)
    config = CropConfig((0.3, 0.9), (0.5, 2.0))
    windows = crop_windows(SEED, 6, indices, sizes, config)
    singles = [crop_window(SEED, 6, int(i), int(w), int(h), config) for i, (w, h) in zip(indices, sizes)]
    assert windows.tolist() == [list(window) for window in singles]


def test_window_distribution_matches_torchvisions_get_params():
    torch.manual_seed(0)
    image = torch.zeros(1, 375, 500)
    theirs = np.array([RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(4000)])
    ours = crop_windows(SEED, 0, np.arange(4000), [[500, 375]] * 4000).astype(np.int64)
    for name, stat in (
        ("area", lambda t: t[:, 2] * t[:, 3] / (500 * 375)),
        ("ratio", lambda t: t[:, 3] / t[:, 2]),
        ("centre_x", lambda t: t[:, 1] + t[:, 3] / 2),
        ("centre_y", lambda t: t[:, 0] + t[:, 2] / 2),
    ):
        a, b = stat(ours), stat(theirs)
        assert abs(a.mean() - b.mean()) < 0.05 * b.std() + 1e-3 * abs(b.mean()) + 0.1 * b.std(), name
        assert abs(a.std() - b.std()) < 0.05 * b.std(), name


def test_windows_are_a_pure_function_of_seed_epoch_index_and_size():
    indices, sizes = np.arange(40), [[64, 48]] * 40
    whole = crop_windows(SEED, 2, indices, sizes)
    one_by_one = np.concatenate([crop_windows(SEED, 2, [i], [[64, 48]]) for i in indices[::-1]])[::-1]
    assert np.array_equal(whole, one_by_one)
    assert not np.array_equal(whole, crop_windows(SEED, 3, indices, sizes))
    assert not np.array_equal(whole, crop_windows(SEED + 1, 2, indices, sizes))


def test_attempt_streams_are_hash_uniform_streams_offset_per_attempt():
    u = crop_uniforms(SEED, 5, [3, 900])
    assert u.shape == (2, CROP_ATTEMPTS, 4)
    assert np.array_equal(u[:, 7, 3], hash_uniform(SEED, 5, [3, 900], STREAM_CROP_LEFT + 7 * STREAM_ATTEMPT))
    assert len(np.unique(u)) == u.size


def test_image_dims_falls_back_to_pil_for_formats_the_header_parser_does_not_know():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (13, 7)).save(buffer, format="TGA")
    assert image_dims(buffer.getvalue()) == (13, 7)
    assert image_dims(b"neither a header nor an image") is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_pil_fallback_swaps_width_and_height_as_exif_transpose_does(orientation):
    import io

    from PIL import Image, ImageOps

    from sada_dali.data.crop import _pil_dims

    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (13, 7)).save(buffer, format="JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        expected = ImageOps.exif_transpose(image).size
    assert _pil_dims(buffer.getvalue()) == expected == ((7, 13) if orientation >= 5 else (13, 7))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(random_area=(0.0, 1.0)),
            r"`random_area` must be a pair \(lo, hi\) with 0 < lo <= hi <= 1, got \(0.0, 1.0\)",
        ),
        (dict(random_area=(0.5, 0.2)), r"`random_area` must be .* got \(0.5, 0.2\)"),
        (dict(random_area=(0.5, 1.5)), r"`random_area` must be .* <= 1, got \(0.5, 1.5\)"),
        (dict(random_area=(float("nan"), 1.0)), r"`random_area` must be .* got \(nan, 1.0\)"),
        (dict(random_area=0.5), r"`random_area` must be a pair .* got 0.5; e.g. \(0.08, 1.0\)"),
        (dict(random_area=(0.1, 0.2, 0.3)), r"`random_area` must be a pair"),
        (
            dict(random_aspect_ratio=(0.0, 1.0)),
            r"`random_aspect_ratio` must be a pair \(lo, hi\) with 0 < lo <= hi, got",
        ),
        (
            dict(random_aspect_ratio=(2.0, 1.0)),
            r"`random_aspect_ratio` must be .* got \(2.0, 1.0\); e.g. \(0.75",
        ),
        (dict(random_aspect_ratio=("a", "b")), r"`random_aspect_ratio` must be a pair"),
    ],
)
def test_crop_config_rejects_bad_ranges_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CropConfig(**kwargs)


def test_crop_windows_reject_sizes_that_do_not_fit_the_indices():
    with pytest.raises(ValueError, match=r"`sizes` must hold one positive \(width, height\) per index \(2\)"):
        crop_windows(SEED, 0, [0, 1], [[10, 10]])
    with pytest.raises(ValueError, match=r"`sizes` must hold one positive .* minimum 0"):
        crop_windows(SEED, 0, [0], [[10, 0]])


def test_crop_config_is_frozen_and_normalises_to_float_pairs():
    config = CropConfig([1, 1], [1, 2])
    assert config.random_area == (1.0, 1.0) and config.random_aspect_ratio == (1.0, 2.0)
    with pytest.raises(AttributeError):
        config.random_area = (0.5, 1.0)


def test_a_file_whose_size_cannot_be_told_is_unreadable_in_the_reader_and_the_twin(tmp_path):
    from types import SimpleNamespace

    from _images import write_image_folder

    from sada_dali.baseline.dataset import SADAImageFolder
    from sada_dali.data._reader import SampleReader
    from sada_dali.data.source import create_listing
    from sada_dali.sampler import ShardSampler
    from sada_dali.strength import StrengthTable

    paths = write_image_folder(tmp_path, num_classes=1, per_class=2, sizes=(40, 48), seed=2)
    with open(paths[1], "wb") as handle:  # starts and ends like a JPEG, no frame header between
        handle.write(b"\xff\xd8\xff\xe0\x00\x10" + b"\x00" * 14 + b"\xff\xd9")
    listing, table = create_listing(tmp_path), StrengthTable(2)
    try:

        def reader(on_error):
            return SampleReader(
                listing,
                ShardSampler(2, 2, shuffle=False),
                table=table,
                num_magnitude_bins=11,
                num_ops=14,
                on_error=on_error,
            )

        with pytest.raises(  # the header check finds it first (the reader's size check is behind it)
            ValueError, match=r"img_001.JPEG\): corrupt JPEG headers: no JPEG marker at byte 20"
        ):
            reader("raise")(SimpleNamespace(idx_in_epoch=1))
        skipping = reader("skip")
        out = skipping.split_groups(dict(zip(skipping.fed_groups, skipping(SimpleNamespace(idx_in_epoch=1)))))
        (left, top), (width, height) = out["crop_start"].tolist(), out["crop_shape"].tolist()
        assert (
            int(out["valid"]) == 0 and left + width <= 16 and top + height <= 16
        )  # a window of the 16x16 placeholder
        assert reader("skip").choices([1], 0)["crop"].tolist() == [[top, left, height, width]]
        with pytest.raises(ValueError, match=r"img_001.JPEG\): the image size cannot be read .* Re-encode"):
            SADAImageFolder(tmp_path, table).crop_window(1)
    finally:
        table.close()
