"""The op registry: one :class:`Op` per augmentation op, by name, in registration order.

An :class:`Op` carries everything sada-dali knows of an op, as ``auto_aug``'s ``Augmentation``
does for DALI: its magnitudes, its sign rule, the parameter its torchvision twin takes, its DALI
implementation and the twin. The implementations are held as callables or as import paths
(``"module:attribute"``) resolved when a backend first asks, so registering one loads neither
DALI nor torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Op", "register_op", "augmentation_op", "unregister_op", "registered_ops", "get_op"]


def _same(magnitude: float) -> float:
    return magnitude


@dataclass(frozen=True)
class Op:
    """One augmentation op of the space.

    Attributes
    ----------
    name : str
        The op's name in :func:`create_op_space` and ``sada_dali.augment``.
    max_magnitude : float
        Default magnitude at strength 1; 0 for a magnitude-free op (its maximum cannot be set).
    limit : float
        Largest maximum :func:`create_op_space` accepts (the magnitude range is ``[0, limit]``).
    signed : bool
        Whether each sample's magnitude gets a random sign (``auto_aug``'s ``randomly_negate``).
    summary : str
        What the op does at magnitude ``m``, one line for the docs table (``docs/ops.md``).
    parameter : callable
        Signed magnitude -> the twin's parameter (default: the magnitude itself).
    dali : callable or str
        The DALI implementation: an ``auto_aug`` augmentation, or an op function
        ``(data, parameter, **keywords)`` that is wrapped in one.
    dali_relative : callable or str, optional
        The implementation for magnitudes given as a fraction of the image side
        (``create_op_space(translate_relative=...)``); None: the op has no such unit.
    dali_param : callable or str, optional
        DALI's ``mag_to_param``, DALI magnitude -> parameter (default: the augmentation's own).
    dali_origin : float, optional
        None: DALI's magnitudes are the op's, ``mag_range = (0, max)``. A number ``o``: they count
        down from ``o`` (a threshold from 256, the bits kept from 8), ``mag_range = (o, o - max)``.
    param_device : str, optional
        ``auto_aug``'s ``param_device`` ("cpu", "gpu" or "auto"; default: the augmentation's own).
    torch : callable or str
        The torchvision twin ``(image, parameter, **keywords)``, for a uint8 CHW tensor or a PIL
        image; of the keywords ``fill`` (three floats) and ``relative`` it gets those it names.
    """

    name: str
    max_magnitude: float = 0.0
    limit: float = math.inf
    signed: bool = False
    summary: str = ""
    parameter: Callable[[float], float] = _same
    dali: Callable | str | None = None
    dali_relative: Callable | str | None = None
    dali_param: Callable | str | None = None
    dali_origin: float | None = None
    param_device: str | None = None
    torch: Callable | str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"The `name` must be an identifier, got {self.name!r}.")
        if not 0.0 <= self.max_magnitude <= self.limit:
            raise ValueError(
                f"The `max_magnitude` of op {self.name!r} must lie in [0, limit={self.limit}], "
                f"got {self.max_magnitude}."
            )
        if self.dali is None or self.torch is None:
            raise ValueError(f"The op {self.name!r} needs both a `dali` implementation and a `torch` twin.")

    @property
    def has_magnitude(self) -> bool:
        """False for the magnitude-free ops (identity, auto_contrast, equalize)."""
        return self.max_magnitude > 0.0

    def dali_range(self, top: float) -> tuple[float, float]:
        """DALI's ``mag_range`` for a maximum magnitude ``top`` (see ``dali_origin``)."""
        if self.dali_origin is None:
            return (0.0, top)
        return (self.dali_origin, self.dali_origin - top)


_REGISTRY: dict[str, Op] = {}


def register_op(op: Op) -> Op:
    """Add ``op`` to the registry, after the ops already there (its op index is its position).

    Raises
    ------
    ValueError
        If an op of that name is registered already (:func:`unregister_op` it first).
    """
    if op.name in _REGISTRY:
        raise ValueError(f"An op named {op.name!r} is registered already; unregister it first.")
    _REGISTRY[op.name] = op
    return op


def augmentation_op(name: str | None = None, **fields):
    """Decorator: register the decorated DALI op function as an :class:`Op`, like ``auto_aug``'s
    ``@augmentation``.

    Parameters
    ----------
    name : str, optional
        Default: the function's name.
    **fields
        The other :class:`Op` fields; ``torch`` (the twin) is required.

    Returns
    -------
    callable
        Decorator returning the registered :class:`Op` (its ``dali`` is the function).
    """

    def register(function):
        return register_op(Op(name or function.__name__, dali=function, **fields))

    return register


def unregister_op(name: str) -> Op:
    """Remove op ``name`` from the registry and return it (ValueError if it is not there)."""
    op = get_op(name)
    del _REGISTRY[name]
    return op


def registered_ops() -> tuple[Op, ...]:
    """Every registered op, in registration order (the paper's 14 first)."""
    return tuple(_REGISTRY.values())


def get_op(name: str, what: str = "name") -> Op:
    """The registered op ``name``; the ValueError for an unknown one names the argument ``what``."""
    op = _REGISTRY.get(name) if isinstance(name, str) else None
    if op is None:
        raise ValueError(f"The `{what}` must be one of {', '.join(_REGISTRY)}, got {name!r}.")
    return op
