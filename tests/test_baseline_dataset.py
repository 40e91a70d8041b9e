"""The torchvision SADA Dataset: outputs, validation, live strength updates, agreement with DALI's choices."""

import numpy as np
import pytest
import torch
from _images import write_image_folder
from PIL import Image
from torchvision.transforms.v2 import functional as F

from sada_dali._utils.rng import per_sample_choices
from sada_dali.baseline.dataset import IMAGENET_MEAN, IMAGENET_STD, SADAImageFolder
from sada_dali.data._reader import SampleReader
from sada_dali.data.crop import CropConfig
from sada_dali.data.source import create_listing
from sada_dali.op_space import OPS, create_op_space, op_parameter, strength_to_bin
from sada_dali.sampler import ShardSampler
from sada_dali.strength import StrengthTable

SIZE = 32
SEED = 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    write_image_folder(root, num_classes=2, per_class=6, sizes=(40, 56), seed=4)
    return root


@pytest.fixture
def table(folder):
    table = StrengthTable(len(create_listing(folder)), initial=0.5)
    yield table
    table.close()


def _full_frame(dataset, index):
    """Crop parameters that keep the whole image, so the output is a pure function of the choices."""
    with Image.open(dataset.listing.files[index]) as image:
        width, height = image.size
    dataset.crop = CropConfig((1.0, 1.0), (width / height, width / height))
    return dataset


def _index_with_op(dataset, names):
    """A sample whose op is one of ``names`` at some epoch; announces that epoch through the table."""
    for epoch in range(100):
        ops = per_sample_choices(SEED, epoch, np.arange(len(dataset)), len(OPS))[0]
        hits = [i for i, op in enumerate(ops) if OPS[op] in names]
        if hits:
            dataset.table.set_epoch(epoch)
            return hits[0]
    raise AssertionError(f"no sample draws one of {names}")


def test_dataset_returns_normalised_image_label_and_index(folder, table):
    dataset = SADAImageFolder(folder, table, image_size=SIZE, seed=SEED)
    image, label, index = dataset[7]
    assert image.shape == (3, SIZE, SIZE) and image.dtype == torch.float32
    assert label == int(create_listing(folder).labels[7]) == 1 and index == 7
    assert image.min() < -0.5 and image.max() > 0.5  # normalised, not [0, 1]
    assert dataset.classes == ("class_0", "class_1") and len(dataset) == 12


def test_validation_mode_resizes_and_centre_crops_without_augmentation(folder):
    dataset = SADAImageFolder(folder, train=False, image_size=SIZE)
    image, _, _ = dataset[2]
    raw = dataset.decode(2)
    expected = F.center_crop(F.resize(raw, round(SIZE * 256 / 224), antialias=True), [SIZE, SIZE])
    expected = F.normalize(F.to_dtype(expected, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    assert torch.equal(image, expected) and torch.equal(dataset[2][0], image)


def test_output_applies_the_op_at_the_op_parameter_of_the_samples_strength(folder, table):
    dataset = _full_frame(SADAImageFolder(folder, table, image_size=SIZE, seed=SEED), 0)
    index = _index_with_op(dataset, {"brightness", "contrast", "color"})
    dataset = _full_frame(dataset, index)
    op, negate, flip, magnitude_bin = dataset.transform.choices(index)
    spec = create_op_space()[op]
    factor = op_parameter(spec, magnitude_bin, bool(negate))
    assert factor != 1.0
    enhance = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast, "color": F.adjust_saturation}
    expected = F.resized_crop(
        dataset.decode(index), 0, 0, *F.get_size(dataset.decode(index)), [SIZE, SIZE], antialias=True
    )
    expected = enhance[spec.name](expected, factor)
    expected = F.horizontal_flip(expected) if flip else expected
    expected = F.normalize(F.to_dtype(expected, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(dataset[index][0], expected, atol=1e-6)


CHOSEN = ("index", "op", "magnitude_bin", "negate", "flip")


def test_choices_match_the_dali_loaders_reader_for_the_same_sample_strength_and_seed(folder):
    listing = create_listing(folder)
    strengths = np.linspace(0.0, 1.0, len(listing), dtype=np.float32)
    table = StrengthTable(len(listing), initial=strengths)
    try:
        table.set_epoch(2)
        dataset = SADAImageFolder(folder, table, image_size=SIZE, seed=SEED)
        sampler = ShardSampler(len(listing), 4, seed=SEED)
        reader = SampleReader(listing, sampler, table=table, num_magnitude_bins=101, num_ops=len(OPS))
        for position in range(len(listing)):
            info = type("SampleInfo", (), {"idx_in_epoch": position})()
            out = reader.split_groups(dict(zip(reader.fed_groups, reader(info))))  # as DALI gets it
            index, op, magnitude_bin, negate, flip = (int(out[k]) for k in CHOSEN)
            start, shape = out["crop_start"], out["crop_shape"]
            assert dataset.transform.choices(index) == (op, negate, flip, magnitude_bin)
            assert dataset.crop_window(index) == (start[1], start[0], shape[1], shape[0])
            assert int(magnitude_bin) == int(strength_to_bin(strengths[index]))
    finally:
        table.close()


def _worker_output(loader):
    ((image, label, index),) = list(loader)
    return image[0]


def test_persistent_workers_see_strength_and_epoch_updates_made_after_they_started(folder, table):
    dataset = SADAImageFolder(folder, table, image_size=SIZE, seed=SEED)
    index = _index_with_op(dataset, {"rotate", "brightness", "contrast", "color", "shear_x", "shear_y"})
    dataset = _full_frame(dataset, index)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=1, sampler=[index], num_workers=1, persistent_workers=True
    )
    table.set(np.zeros(len(dataset), dtype=np.float32))
    weak = _worker_output(loader)
    assert torch.equal(weak, dataset[index][0])
    table.set(np.ones(len(dataset), dtype=np.float32))  # the worker is alive: it must read the new values
    strong = _worker_output(loader)
    assert torch.equal(strong, dataset[index][0])
    assert not torch.equal(weak, strong)
    table.set_epoch(table.epoch + 1)
    assert torch.equal(_worker_output(loader), dataset[index][0])


def test_dataset_requires_a_table_for_training(folder):
    with pytest.raises(
        ValueError, match=r"The `table` is required when `train=True`: pass a StrengthTable of 12"
    ):
        SADAImageFolder(folder)


def test_dataset_rejects_a_table_of_the_wrong_size(folder):
    table = StrengthTable(5)
    try:
        with pytest.raises(ValueError, match=r"The `table` holds 5 strengths but the `source` has 12 images"):
            SADAImageFolder(folder, table)
    finally:
        table.close()


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_dataset_rejects_a_bad_image_size(folder, size):
    with pytest.raises(ValueError, match=r"The `image_size` must be an integer >= 1, got"):
        SADAImageFolder(folder, train=False, image_size=size)


def test_dataset_rejects_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SADAImageFolder(tmp_path / "nope", train=False)


def test_exif_rotated_photo_is_decoded_upright_as_dali_does_and_cropped_inside(tmp_path):
    photo = Image.fromarray(np.zeros((30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # a quarter turn: DALI decodes it 30 wide and 50 high
    (tmp_path / "a").mkdir()
    photo.save(tmp_path / "a" / "rotated.jpg", exif=exif.tobytes())
    table = StrengthTable(1)
    try:
        dataset = SADAImageFolder(tmp_path, table, image_size=SIZE)
        assert tuple(dataset.decode(0).shape) == (3, 50, 30)
        top, left, height, width = dataset.crop_window(0)
        assert 0 <= top <= 50 - height and 0 <= left <= 30 - width
    finally:
        table.close()
