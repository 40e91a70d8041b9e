"""The torchvision SADA loader: an ImageFolder ``Dataset`` for ``torch.utils.data.DataLoader``.

It is the CPU path for users without DALI and the baseline of ``sada-dali bench``; like
``torchvision.datasets.ImageFolder`` it decodes with PIL (applying the EXIF orientation, as
DALI's decoder does). It lists the folder with :func:`sada_dali.data.source.create_listing`, so
index ``i`` is the same sample as in :class:`sada_dali.SADALoader`, and it follows the DALI
training pipeline step by step: decode, crop to the window of
:func:`sada_dali.data.crop.crop_windows` (the very window the DALI loader decodes) and resize,
the SADA op at the sample's strength (:class:`SADATransform`), the
horizontal flip drawn by :func:`sada_dali._utils.rng.per_sample_choices`, then ImageNet
normalisation to float CHW. The strengths and the epoch live in a shared
:class:`~sada_dali.strength.StrengthTable`, so persistent workers see every update.
"""

from __future__ import annotations

import io

import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from .._utils.checks import check_int
from .._utils.imagenet import IMAGENET_MEAN, IMAGENET_STD, val_resize_size
from ..data._tar_files import ShardFiles
from ..data.crop import CropConfig, crop_window, image_dims
from ..data.source import create_listing
from ..op_space import DEFAULT_NUM_MAGNITUDE_BINS
from .transforms import SADATransform

__all__ = ["SADAImageFolder", "IMAGENET_MEAN", "IMAGENET_STD"]


class SADAImageFolder(torch.utils.data.Dataset):
    """``dataset[i] -> (image, label, index)`` with SADA augmentation at strength ``table[i]``.

    Parameters
    ----------
    source : str, os.PathLike or list of str
        An ImageFolder (``root/<class>/<image>``), a DALI-style file list (with ``file_root``) or
        WebDataset tar shards (see :func:`sada_dali.data.source.create_listing`).
    table : StrengthTable, optional
        Per-sample strengths and the epoch slot; required when ``train`` is True. Update it with
        ``table.set(...)`` and ``table.set_epoch(e)`` from the training process.
    train : bool
        True: random crop, SADA op and flip. False: resize the shorter side to
        ``round(image_size * 256 / 224)`` and centre-crop, as the DALI validation pipeline does.
    image_size : int
        Side of the square output.
    op_space : sequence of OpSpec, optional
        Default: the paper's Table 8.
    num_magnitude_bins : int
        Strength quantisation, as in the DALI loader.
    seed : int
        Run seed of the per-sample op, sign and flip.
    file_root : str or os.PathLike, optional
        Folder of a file list's relative paths.
    random_area, random_aspect_ratio : tuple of float
        Crop window ranges (:class:`sada_dali.data.crop.CropConfig`), as in the DALI loader.
    fill : int
        Fill of the geometric ops.

    Attributes
    ----------
    listing : sada_dali.data.source.Listing
        Files, labels and class names in index order.
    transform : SADATransform or None
        The per-sample op (None for validation).
    crop : sada_dali.data.crop.CropConfig
        The crop window ranges.
    """

    def __init__(
        self,
        source,
        table=None,
        *,
        train: bool = True,
        image_size: int = 224,
        op_space=None,
        num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
        seed: int = 0,
        file_root=None,
        random_area=(0.08, 1.0),
        random_aspect_ratio=(3 / 4, 4 / 3),
        fill: int = 128,
    ):
        image_size = check_int(image_size, "image_size", 1)
        self.listing = create_listing(source, file_root=file_root)
        self._shard_files = ShardFiles(self.listing.shards)
        if train and table is None:
            raise ValueError(
                "The `table` is required when `train=True`: pass a StrengthTable of "
                f"{len(self.listing)} samples, e.g. StrengthTable({len(self.listing)})."
            )
        if table is not None and table.num_samples != len(self.listing):
            raise ValueError(
                f"The `table` holds {table.num_samples} strengths but the `source` has "
                f"{len(self.listing)} images; create StrengthTable({len(self.listing)})."
            )
        self.train, self.image_size, self.table = bool(train), image_size, table
        self.transform = (
            SADATransform(
                table, op_space=op_space, num_magnitude_bins=num_magnitude_bins, seed=seed, fill=fill
            )
            if train
            else None
        )
        self.crop = CropConfig(random_area, random_aspect_ratio)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, in label order."""
        return self.listing.classes

    def __len__(self) -> int:
        return len(self.listing)

    def read(self, index: int) -> bytes:
        """The encoded bytes of sample ``index`` (its file, or its member of a tar shard)."""
        if self.listing.locations is not None:
            return self._shard_files.read(*self.listing.locations[index].tolist())
        with open(self.listing.files[index], "rb") as handle:
            return handle.read()

    def decode(self, index: int, data: bytes | None = None) -> torch.Tensor:
        """Sample ``index`` (or its bytes ``data``) as a uint8 RGB CHW tensor, decoded by PIL with
        the EXIF orientation applied, as DALI's decoder does."""
        with Image.open(io.BytesIO(self.read(index) if data is None else data)) as image:
            return F.pil_to_tensor(ImageOps.exif_transpose(image).convert("RGB"))

    def crop_window(self, index: int, data: bytes | None = None) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of sample ``index`` at the table's epoch (the DALI loader's)."""
        data = self.read(index) if data is None else data
        size = image_dims(data)
        if size is None:
            raise ValueError(
                f"Sample {index} ({self.listing.files[index]}): the image size cannot be read "
                "from its header. Re-encode the file as JPEG or PNG, or remove it."
            )
        return crop_window(self.transform.seed, self.table.epoch, index, *size, self.crop)

    def __getitem__(self, index: int):
        data = self.read(index)
        image = self.decode(index, data)
        size = [self.image_size, self.image_size]
        if self.train:
            top, left, height, width = self.crop_window(index, data)
            image = F.resized_crop(
                image,
                top,
                left,
                height,
                width,
                size,
                interpolation=InterpolationMode.BILINEAR,
                antialias=True,
            )
            image = self.transform(image, index)
            if self.transform.choices(index)[2]:
                image = F.horizontal_flip(image)
        else:
            image = F.resize(image, val_resize_size(self.image_size), antialias=True)
            image = F.center_crop(image, size)
        image = F.normalize(F.to_dtype(image, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
        return image, int(self.listing.labels[index]), int(index)
