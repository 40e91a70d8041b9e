"""Callables named by import path (``"module:attribute"``) and the keywords a callable takes."""

from __future__ import annotations

import importlib
import inspect

__all__ = ["resolve", "accepted_keywords"]

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def resolve(ref):
    """The object ``ref`` names: ``"package.module:attribute"`` is imported now; anything else is itself.

    Parameters
    ----------
    ref : str or object
        An import path, or the object (a callable) already.

    Returns
    -------
    object

    Raises
    ------
    ValueError
        For a string without exactly one ``:`` between a module and an attribute.
    """
    if not isinstance(ref, str):
        return ref
    module, sep, attribute = ref.partition(":")
    if not sep or not module or not attribute or ":" in attribute:
        raise ValueError(f"The import path must read 'package.module:attribute', got {ref!r}.")
    return getattr(importlib.import_module(module), attribute)


def accepted_keywords(function, skip: int = 2) -> frozenset:
    """Names ``function`` takes as keywords past its first ``skip`` parameters (the data and the
    op's parameter, for an augmentation): the extra arguments an op is passed only if it names them,
    as ``auto_aug`` does."""
    params = list(inspect.signature(function).parameters.values())[skip:]
    return frozenset(p.name for p in params if p.kind in _KEYWORD_KINDS)
