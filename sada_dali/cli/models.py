"""Models for the CLI: a small CNN for the demo and smoke tests, and torchvision's zoo by name."""

from __future__ import annotations

from torch import nn

__all__ = ["SMALL_CNN", "SmallCNN", "check_arch", "create_model"]

SMALL_CNN = "small_cnn"
"""The ``arch`` name of :class:`SmallCNN`."""


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Sequential):
    """Three conv stages (each halving the side) and a linear head; about 0.1M parameters at width 32.

    Parameters
    ----------
    num_classes : int
        Output logits.
    width : int
        Channels of the first stage; later stages use 2x and 4x.
    """

    def __init__(self, num_classes: int, width: int = 32):
        if num_classes < 1 or width < 1:
            raise ValueError(
                f"The `num_classes` and `width` must be positive, got {num_classes} and {width}."
            )
        super().__init__(
            _block(3, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4 * width, num_classes),
        )


def check_arch(arch: str) -> str:
    """Return ``arch`` if :func:`create_model` can build it, else raise a ValueError naming the fix."""
    if arch == SMALL_CNN:
        return arch
    import torchvision

    if arch not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(
            f"The `arch` must be 'small_cnn' or a torchvision classification model "
            f"(e.g. resnet50, resnet18), got {arch!r}."
        )
    return arch


def create_model(arch: str, num_classes: int) -> nn.Module:
    """Build ``arch`` with ``num_classes`` outputs and random weights.

    Parameters
    ----------
    arch : str
        ``"small_cnn"`` or any classification model name of ``torchvision.models``
        (``resnet50``, ``resnet18``, ``vit_b_16``, ...).
    num_classes : int
        Output logits.

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        For an unknown ``arch``.
    """
    if check_arch(arch) == SMALL_CNN:
        return SmallCNN(num_classes)
    import torchvision

    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)
