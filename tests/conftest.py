"""Shared pytest configuration: the ``gpu`` marker skips tests when no CUDA device is present,
and fixtures used by both the CPU and the GPU test files."""

import pytest
from _images import truncate_file, write_image_folder


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # pragma: no cover - torch missing or broken driver
        return False


HAS_CUDA = _has_cuda()


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def corrupt_dataset(tmp_path):
    """An 8-image, 2-class ImageFolder whose sixth file is a truncated JPEG: ``(root, bad_path)``."""
    paths = write_image_folder(tmp_path, num_classes=2, per_class=4, sizes=(40, 48), seed=2)
    truncate_file(paths[5])
    return tmp_path, paths[5]
