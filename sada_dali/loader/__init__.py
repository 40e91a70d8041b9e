"""The loader: ``SADALoader`` and ``SADAClassificationIterator`` and their private parts.

What lives here:

* ``loader.py``: :class:`SADALoader`, which holds a runner, a feed ledger and a state object;
* ``iterator.py``: :class:`SADAClassificationIterator`, the same loader behind DALI's iterator protocol;
* ``_build.py``: what is decided once, at construction (pipeline options, runner, estimator);
* ``_epoch.py``: the per-batch epoch handshake with the DALI pipeline;
* ``_feed.py``: pairing the trainer's logits with the batches yielded;
* ``_state.py``: ``state_dict`` / ``load_state_dict``;
* ``_recovery.py`` and ``_errors.py``: going on after a decoder failure, and what the trainer is told;
* ``_main_guard.py`` and ``_defaults.py``: the spawn guard and the per-rank thread/worker defaults.

It may import ``pipelines``, ``data``, ``estimator``, ``distributed``, the backend-free root modules
(``ops``, ``sampler``, ``strength``) and ``_utils``; nothing below imports it.
"""

from __future__ import annotations

from .iterator import SADAClassificationIterator
from .loader import SADALoader

__all__ = ["SADALoader", "SADAClassificationIterator"]
