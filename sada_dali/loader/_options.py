"""A loader's arguments, checked once and before any file is read: :class:`LoaderOptions`.

``SADALoader(source, batch_size, **arguments)`` checks its arguments into a frozen
:class:`LoaderOptions` (its public signature is this dataclass's fields) and builds itself from
them with :func:`sada_dali.loader._factory.build_loader`; ``load_state_dict`` builds from the
same options again. The checks that need the dataset (the length of ``strengths``, ``exclude``'s
paths, the width of a created estimator) run when it has been listed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os

from .._utils import checks
from .._utils.checks import check_int
from .._utils.shards import resolve_shards
from ..data._reader import DEFAULT_MAX_PIXELS, check_max_pixels
from ..data._shared_listing import check_on_error
from ..data.crop import CropConfig
from ..data.formats import check_formats
from ..op_space import DEFAULT_NUM_MAGNITUDE_BINS, check_op_space, create_op_space
from ._defaults import default_num_threads, default_workers

__all__ = ["DEFAULT_MAX_SKIPPED_SHARE", "LoaderOptions", "check_source"]

DEFAULT_MAX_SKIPPED_SHARE = 0.5
"""The largest share of one batch's rows that may be dropped (``on_error="skip"``, ``exclude=``):
a batch that loses more raises (docs/faults.md, "Skipped rows")."""

_SOURCE = (
    "a path (str or os.PathLike) to an ImageFolder directory, to a file list (with `file_root=`) or "
    "to tar shards (a folder of .tar files, one .tar file, a brace pattern such as "
    "'train-{0000..0099}.tar'), or a list of .tar paths"
)


def check_source(source):
    """Return ``source`` if it is a path or a list of paths, else raise a TypeError saying what it may be."""
    if isinstance(source, (str, os.PathLike)):
        return source
    if isinstance(source, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in source):
        return source
    hint = "; decode a bytes path to str" if isinstance(source, bytes) else ""
    raise TypeError(f"The `source` must be {_SOURCE}; got {source!r} ({type(source).__name__}){hint}.")


@dataclasses.dataclass(frozen=True, eq=False)
class LoaderOptions:
    """The arguments of :class:`~sada_dali.loader.SADALoader`, checked and resolved on construction.

    Every field is the loader's argument of the same name (see its docstring), with these
    resolved: ``drop_last`` (None: ``train``), ``num_shards`` and ``shard_id`` (the
    ``torch.distributed`` group), ``num_threads`` and ``workers`` (this rank's share of the CPUs),
    ``device_id`` (the current CUDA device; None on "cpu"), ``op_space`` (a tuple; default the
    paper's Table 8), ``image_size`` (an int), ``formats`` (a tuple) and the crop ranges (float
    pairs). Construction raises the error that names the first bad argument.
    """

    source: object
    batch_size: int
    device: str = "gpu"
    train: bool = True
    image_size: int = 224
    strengths: object = None
    estimator: object = None
    num_classes: int | None = None
    pairs: bool = False
    num_shards: int | None = None
    shard_id: int | None = None
    seed: int = 0
    drop_last: bool | None = None
    num_threads: int | None = None
    workers: int | None = None
    on_error: str = "raise"
    op_space: tuple | None = None
    num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS
    fp16: bool = False
    normalize: bool = True
    file_root: object = None
    device_id: int | None = None
    hw_decoder_load: float = 0.65
    prefetch_queue_depth: int = 2
    random_area: tuple = (0.08, 1.0)
    random_aspect_ratio: tuple = (3 / 4, 4 / 3)
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    formats: object = None
    exclude: object = None
    max_skipped_share: float = DEFAULT_MAX_SKIPPED_SHARE

    @classmethod
    def create(cls, source, batch_size, **arguments) -> LoaderOptions:
        """The options of ``SADALoader(source, batch_size, **arguments)``.

        Raises
        ------
        TypeError
            For an argument the loader does not take (naming the closest one), or a bad ``source``.
        ValueError
            For an argument out of its range (the error names it).
        """
        names = [field.name for field in dataclasses.fields(cls)]
        for name in arguments:
            if name not in names[2:]:
                close = difflib.get_close_matches(name, names, n=1)
                maybe = f"; did you mean {close[0]!r}?" if close else "."
                raise TypeError(f"SADALoader() got an unexpected keyword argument {name!r}{maybe}")
        return cls(source, batch_size, **arguments)

    def __post_init__(self):
        self._check_sampling()
        self._check_reading()
        if self.estimator not in (None, False) and not self.train:
            raise ValueError(
                "The `estimator` applies only to a training loader (train=True); "
                "this one was built with train=False."
            )

    def _check_sampling(self) -> None:
        seed = "The per-sample hash reads 64 bits of it (2**64 would repeat seed=0); pass a smaller one."
        self._set(
            source=check_source(self.source),
            batch_size=check_int(self.batch_size, "batch_size", 1),
            image_size=checks.check_image_size(self.image_size),
            seed=check_int(self.seed, "seed", 0, maximum=2**64 - 1, hint=seed),
            train=checks.check_bool(self.train, "train", hint="True trains (SADA ops), False validates."),
            pairs=checks.check_bool(self.pairs, "pairs", hint="True yields (images, labels)."),
        )
        if self.drop_last is None:
            self._set(drop_last=self.train)
        else:
            hint = "None picks True for training, False for validation."
            self._set(drop_last=checks.check_bool(self.drop_last, "drop_last", hint=hint))
        self._set(formats=check_formats(self.formats))
        num_shards, shard_id = resolve_shards(self.num_shards, self.shard_id)
        self._set(num_shards=num_shards, shard_id=shard_id, device=checks.check_device(self.device))

    def _check_reading(self) -> None:
        depth = "It counts the batches DALI prepares ahead of the one yielded (DALI's default is 2)."
        share = "It is the largest share of a batch's rows that may be skipped; 1.0 lets every batch through."
        bins = "Strengths in [0, 1] are quantised into this many magnitude levels (default 101)."
        load = "It is the share of JPEGs sent to the hardware decoder (DALI's default is 0.65)."
        crop = CropConfig(self.random_area, self.random_aspect_ratio)
        threads, workers = self.num_threads, self.workers
        threads = (
            default_num_threads(self.device) if threads is None else check_int(threads, "num_threads", 1)
        )
        self._set(
            fp16=checks.check_bool(self.fp16, "fp16"),
            normalize=checks.check_normalize(checks.check_bool(self.normalize, "normalize"), self.fp16),
            on_error=check_on_error(self.on_error),
            prefetch_queue_depth=check_int(self.prefetch_queue_depth, "prefetch_queue_depth", 1, hint=depth),
            max_skipped_share=checks.check_fraction(self.max_skipped_share, "max_skipped_share", hint=share),
            max_pixels=check_max_pixels(self.max_pixels),
            random_area=crop.random_area,
            random_aspect_ratio=crop.random_aspect_ratio,
            num_threads=threads,
            workers=default_workers() if workers is None else check_int(workers, "workers", 0),
            device_id=checks.resolve_device_id(self.device, self.device_id),
            op_space=create_op_space() if self.op_space is None else check_op_space(self.op_space),
            num_magnitude_bins=check_int(self.num_magnitude_bins, "num_magnitude_bins", 2, hint=bins),
            hw_decoder_load=checks.check_fraction(self.hw_decoder_load, "hw_decoder_load", hint=load),
        )
        if self.num_classes is not None:
            self._set(num_classes=check_int(self.num_classes, "num_classes", 1))

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def fingerprint(self) -> dict:
        """What a saved state must match besides the dataset and the sampler (see ``LoaderState.config``)."""
        return {
            "train": self.train,
            "num_ops": len(self.op_space),
            "num_magnitude_bins": self.num_magnitude_bins,
            "random_area": tuple(map(float, self.random_area)),
            "random_aspect_ratio": tuple(map(float, self.random_aspect_ratio)),
        }
