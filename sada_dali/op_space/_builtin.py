"""The paper's 14 ops (Table 8), each one :class:`~sada_dali.op_space.Op`: adding an op is one entry here.

The DALI implementations are ``nvidia.dali.auto_aug.augmentations``' own, named by import path,
except ``equalize`` and ``sharpness``: ``auto_aug``'s call the deprecated
``fn.experimental.equalize`` / ``fn.experimental.filter``, which warn at every pipeline build, so
theirs are the same augmentations on the operators DALI now recommends. The twins use
``torchvision.transforms.v2.functional`` with DALI's conventions where torchvision's defaults
differ: bilinear interpolation, shears about the top-left corner (``fn.transforms.shear`` has no
centre), a solarize threshold of 256 as the identity. DALI and torchvision are imported when an
implementation first runs, never here.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from ._registry import Op, register_op

__all__ = ["OPS"]

_AA = "nvidia.dali.auto_aug.augmentations:"
_TV = "torchvision.transforms.v2.functional:"


def _fn():
    from nvidia.dali import fn

    return fn


def _tv():
    from torchvision.transforms.v2 import functional

    return functional


def _bilinear():
    from torchvision.transforms.v2 import InterpolationMode

    return InterpolationMode.BILINEAR


def _equalize_dali(data, _):
    return _fn().equalize(data)


def _sharpness_dali(data, kernel):
    return _fn().filter(data, kernel)


def _unchanged(image, _):
    return image


def _autocontrast(image, _):
    return _tv().autocontrast(image)


def _equalize(image, _):
    return _tv().equalize(image)


def _rotate(image, angle, fill):
    return _tv().rotate(image, angle, interpolation=_bilinear(), fill=fill)


def _translate(image, offset, fill, relative, *, axis):
    if relative:
        offset *= _tv().get_size(image)[1 - axis]  # (height, width): x moves by a fraction of the width
    shift = [offset, 0.0] if axis == 0 else [0.0, offset]
    return _tv().affine(
        image, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0], interpolation=_bilinear(), fill=fill
    )


def _shear(image, factor, fill, *, axis):
    # torchvision's angle s maps x -> x - tan(s) * y; DALI's factor f maps x -> x + f * y
    angle = math.degrees(math.atan(-factor))
    shear = [angle, 0.0] if axis == 0 else [0.0, angle]
    return _tv().affine(
        image,
        angle=0.0,
        translate=[0.0, 0.0],
        scale=1.0,
        shear=shear,
        interpolation=_bilinear(),
        fill=fill,
        center=[0.0, 0.0],
    )


def _solarize(image, threshold):
    return image if threshold > 255 else _tv().solarize(image, threshold)


def _posterize(image, bits):
    return _tv().posterize(image, int(bits))


def _factor(magnitude: float) -> float:
    return 1.0 + magnitude


def _threshold(magnitude: float) -> float:
    return 256.0 - magnitude


def _bits_kept(magnitude: float) -> float:
    return float(max(1, 8 - int(np.rint(magnitude))))


_ENHANCE = dict(max_magnitude=0.9, limit=1.0, signed=True, parameter=_factor)
_PIXELS = "m pixels, or m × the side (`translate_relative=`)"

_BUILTIN = (
    Op("identity", summary="no change", dali=_AA + "identity", torch=_unchanged),
    Op(
        "auto_contrast",
        summary="channels stretched to 0-255",
        dali=_AA + "auto_contrast",
        torch=_autocontrast,
    ),
    Op("equalize", summary="histogram equalised", dali=_equalize_dali, torch=_equalize),
    *(
        Op(name, summary=f"{factor} factor 1 ± m", dali=_AA + name, torch=f"{_TV}adjust_{factor}", **_ENHANCE)
        for name, factor in (("color", "saturation"), ("contrast", "contrast"), ("brightness", "brightness"))
    ),
    Op(
        "sharpness",
        summary="sharpness factor 1 ± m (a 3x3 kernel in DALI)",
        dali=_sharpness_dali,
        dali_param=_AA + "sharpness_kernel",
        param_device="auto",
        torch=_TV + "adjust_sharpness",
        **_ENHANCE,
    ),
    Op("rotate", 30.0, signed=True, summary="m degrees", dali=_AA + "rotate", torch=_rotate),
    *(
        Op(
            f"translate_{axis}",
            10.0,
            signed=True,
            summary=_PIXELS,
            dali=f"{_AA}translate_{axis}_no_shape",
            dali_relative=f"{_AA}translate_{axis}",
            torch=partial(_translate, axis=i),
        )
        for i, axis in enumerate("xy")
    ),
    *(
        Op(
            f"shear_{axis}",
            0.3,
            signed=True,
            summary="shear factor m",
            dali=f"{_AA}shear_{axis}",
            torch=partial(_shear, axis=i),
        )
        for i, axis in enumerate("xy")
    ),
    Op(
        "solarize",
        256.0,
        limit=256.0,
        summary="pixels ≥ 256 − m inverted",
        parameter=_threshold,
        dali=_AA + "solarize",
        dali_origin=256.0,
        torch=_solarize,
    ),
    Op(
        "posterize",
        4.0,
        limit=7.0,
        summary="8 − m bits kept (at least 1)",
        parameter=_bits_kept,
        dali=_AA + "posterize",
        dali_origin=8.0,
        torch=_posterize,
    ),
)

for _op in _BUILTIN:
    register_op(_op)

OPS: tuple[str, ...] = tuple(op.name for op in _BUILTIN)
"""Names of the paper's 14 ops, in the order of its Table 8 (the op index is the position)."""
