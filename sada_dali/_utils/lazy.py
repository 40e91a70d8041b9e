"""Lazy package attributes: public names imported on first use (PEP 562)."""

from __future__ import annotations

import importlib

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: dict, namespace: dict):
    """Module ``__getattr__`` and ``__dir__`` that import ``names`` on first access.

    Parameters
    ----------
    package : str
        The package's dotted name, for error messages.
    names : dict
        ``{attribute: module that defines it}``.
    namespace : dict
        The package's ``globals()``; a resolved attribute is cached there.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at module level.
    """
    public = sorted(set(names) | {n for n in namespace.get("__all__", ())})

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return public

    return __getattr__, __dir__
