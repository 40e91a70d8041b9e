"""ImageNet conventions both the DALI pipelines and the torchvision baseline follow."""

from __future__ import annotations

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "val_resize_size"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per RGB channel, of images scaled to [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)


def val_resize_size(image_size: int) -> int:
    """The shorter side a validation image is resized to before its centre ``image_size`` crop.

    ``round(image_size * 256 / 224)``: 256 for the usual 224, the same ratio at other sizes.
    """
    return round(image_size * 256 / 224)
