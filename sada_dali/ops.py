"""Deprecated alias of :mod:`sada_dali.op_space` (this module's old name), for old imports.

``sada_dali/loader/loader.py`` and ``sada_dali/data/_reader.py`` still import it; once they import
``sada_dali.op_space`` this file and its entry in ``tests/test_layering.py`` go.
"""

from __future__ import annotations

from .op_space import *  # noqa: F403
from .op_space import __all__ as __all__
