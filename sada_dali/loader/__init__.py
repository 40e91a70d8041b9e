"""The loader: ``SADALoader`` and ``SADAClassificationIterator`` and their private parts.

What lives here:

* ``loader.py``: :class:`SADALoader`, built from its options by the factory;
* ``iterator.py``: :class:`SADAClassificationIterator`, the same loader behind DALI's iterator protocol;
* ``_options.py``: ``LoaderOptions``, the loader's arguments as a frozen dataclass, checked once;
* ``_factory.py``: ``build_loader``, the parts of a loader built from its options, step by step;
* ``_build.py``: two of those parts, the pipeline (its options) and the estimator;
* ``_epoch.py``: the runner, the per-batch epoch handshake with the DALI pipeline;
* ``_pipe.py``: the DALI pipeline and iterator the runner drives, and the rows taken from a batch;
* ``_epoch_state.py``: what the runner's epochs read and change (strengths, listing flags,
  ``on_error``, skipped rows), and the reader's view of it;
* ``_feed.py``: pairing the trainer's logits with the batches yielded;
* ``_state.py`` and ``_state_checks.py``: ``state_dict`` / ``load_state_dict``, and a state's checks;
* ``_recovery.py`` and ``_errors.py``: going on after a decoder failure, and what the trainer is told
  (also when too many rows are skipped);
* ``_main_guard.py`` and ``_defaults.py``: the spawn guard and the per-rank thread/worker defaults.

It may import ``pipelines``, ``data``, ``estimator``, ``distributed``, the backend-free root modules
(``op_space``, ``sampler``, ``strength``) and ``_utils``; nothing below imports it.
"""

from __future__ import annotations

from .iterator import SADAClassificationIterator
from .loader import SADALoader

__all__ = ["SADALoader", "SADAClassificationIterator"]
