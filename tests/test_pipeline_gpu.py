"""The GPU pipelines against the CPU ones, sample by sample (skipped without a GPU).

Per-op tolerances, in grey levels (0-255) of the mean absolute difference per image:
DALI runs the same op graph on both backends, so point ops (colour, contrast, brightness,
solarize, posterize, auto_contrast) agree up to float rounding (0.5); equalize and sharpness
compute histograms and a 3x3 filter in a different order (1.0); the geometric ops resample
with bilinear weights computed in float on the GPU (1.5). The loader adds nvJPEG against
libjpeg-turbo IDCT differences and a resize (DECODE_SLACK). A wrong op, sign or magnitude moves
these images by tens of grey levels.
"""

import os

import numpy as np
import pytest
import torch
from _images import make_image, write_image, write_image_folder

import sada_dali
from sada_dali.loader import SADALoader
from sada_dali.op_space import OPS

pytestmark = pytest.mark.gpu

SIZE, BINS = 32, 11
DECODE_SLACK = 1.5
OP_TOLERANCE = {
    "identity": 0.5,
    "auto_contrast": 0.5,
    "equalize": 1.0,
    "color": 0.5,
    "contrast": 0.5,
    "brightness": 0.5,
    "sharpness": 1.0,
    "rotate": 1.5,
    "translate_x": 1.5,
    "translate_y": 1.5,
    "shear_x": 1.5,
    "shear_y": 1.5,
    "solarize": 0.5,
    "posterize": 0.5,
}
MAGNITUDE = {
    "identity": 0,
    "auto_contrast": 0,
    "equalize": 0,
    "color": 0.6,
    "contrast": -0.6,
    "brightness": 0.5,
    "sharpness": 0.9,
    "rotate": -25,
    "translate_x": 8,
    "translate_y": -8,
    "shear_x": 0.25,
    "shear_y": -0.25,
    "solarize": 128,
    "posterize": 3,
}
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255


def _pixels(images):
    """Normalised NCHW output back in grey levels, on the host."""
    return images.float().cpu() * STD + MEAN


def _loader(root, device, **kwargs):
    args = dict(
        device=device,
        image_size=SIZE,
        num_threads=2,
        num_magnitude_bins=BINS,
        drop_last=False,
        random_area=(1.0, 1.0),
        random_aspect_ratio=(1.0, 1.0),
    )
    args.update(kwargs)
    return SADALoader(root, 4, **args)


def _epoch(loader):
    batches = [(_pixels(x), y.cpu(), i.cpu()) for x, y, i in loader]
    return tuple(torch.cat([b[k] for b in batches]) for k in range(3))


def test_tolerance_table_covers_every_op():
    assert set(OP_TOLERANCE) == set(MAGNITUDE) == set(OPS)


@pytest.mark.parametrize("op", OPS)
def test_every_op_on_the_gpu_matches_the_cpu(op):
    images = [make_image(40, 40, seed=s) for s in range(4)] + [make_image(33, 47, seed=9)]
    cpu = sada_dali.augment(images, op, MAGNITUDE[op], device="cpu")
    gpu = sada_dali.augment(images, op, MAGNITUDE[op], device="gpu")
    for a, b, image in zip(cpu, gpu, images):
        assert a.shape == b.shape == image.shape
        diff = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean()
        assert diff <= OP_TOLERANCE[op], f"{op}: mean |cpu - gpu| = {diff:.2f}"
    if MAGNITUDE[op] or op == "equalize":  # the op did something, so the comparison above is not vacuous
        assert (
            max(np.abs(a.astype(np.float32) - i).mean() for a, i in zip(cpu, images)) > 2 * OP_TOLERANCE[op]
        )


@pytest.fixture(scope="module")
def square_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("square")
    write_image_folder(root, num_classes=3, per_class=10, sizes=(48, 48), seed=4)
    return root


def test_gpu_and_cpu_training_pipelines_agree_sample_by_sample_with_workers(square_dataset):
    strengths = np.linspace(0.2, 1.0, 30, dtype=np.float32)
    cpu_loader = _loader(square_dataset, "cpu", workers=2, strengths=strengths, seed=13)
    gpu_loader = _loader(square_dataset, "gpu", workers=2, strengths=strengths, seed=13)
    cpu, gpu = _epoch(cpu_loader), _epoch(gpu_loader)
    assert torch.equal(cpu[2], gpu[2]) and torch.equal(cpu[1], gpu[1])
    ops = cpu_loader.choices(cpu[2].numpy())["op"]
    assert len(set(ops.tolist())) >= 8  # 30 samples draw most of the 14 ops
    for row, op in enumerate(ops):
        diff = float((cpu[0][row] - gpu[0][row]).abs().mean())
        assert diff <= OP_TOLERANCE[OPS[op]] + DECODE_SLACK, (
            f"sample {int(cpu[2][row])} ({OPS[op]}): {diff:.2f}"
        )


def test_grayscale_cmyk_and_png_named_jpeg_through_the_mixed_decoder(tmp_path):
    for k, (mode, fmt) in enumerate([("L", "JPEG"), ("CMYK", "JPEG"), ("RGB", "PNG"), ("RGB", "JPEG")]):
        write_image(tmp_path / "odd" / f"{k}.JPEG", 40, 40, mode=mode, fmt=fmt, seed=k)
    cpu, gpu = _epoch(_loader(tmp_path, "cpu", train=False)), _epoch(_loader(tmp_path, "gpu", train=False))
    assert gpu[0].shape == (4, 3, SIZE, SIZE) and torch.equal(cpu[2], gpu[2])
    for row in range(4):
        assert float((cpu[0][row] - gpu[0][row]).abs().mean()) <= DECODE_SLACK + 0.5, f"image {row}"
    gray = gpu[0][0]
    assert float((gray[0] - gray[1]).abs().max()) < 1 and float((gray[1] - gray[2]).abs().max()) < 1


def test_on_error_raise_names_the_corrupt_file_on_the_gpu(corrupt_dataset):
    root, bad = corrupt_dataset
    with pytest.raises(RuntimeError, match=os.path.basename(bad)):
        _epoch(_loader(root, "gpu", train=False, workers=1))


def test_on_error_skip_drops_the_row_and_keeps_labels_aligned_on_the_gpu(corrupt_dataset):
    root, bad = corrupt_dataset
    loader = _loader(root, "gpu", on_error="skip", workers=1, seed=1)
    _, labels, indices = _epoch(loader)
    assert sorted(indices.tolist()) == [0, 1, 2, 3, 4, 6, 7]
    assert labels.tolist() == loader.listing.labels[indices.numpy()].tolist()
    assert loader.num_skipped == 1 and loader.skipped_files == [bad]
