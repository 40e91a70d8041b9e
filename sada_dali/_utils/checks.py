"""Argument checks shared by the loader, the sampler and the synthetic datasets."""

from __future__ import annotations

import numpy as np

__all__ = ["check_int"]


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as a Python int, or a ValueError naming ``name`` when it is not an integer >= ``minimum``.

    Parameters
    ----------
    value : object
        The argument; Python and NumPy integers pass, bools do not.
    name : str
        The argument's name, as the user wrote it.
    minimum : int
        The smallest value allowed.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The `{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)
