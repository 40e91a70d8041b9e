"""Per-sample influence statistics of SADA (paper section 3) and the strengths they imply.

``SADAEstimator`` and ``EntAugmentEstimator`` share one interface. ``device="cpu"`` runs on
NumPy; ``device="cuda"`` keeps the whole state on the GPU and updates it with the CuPy kernels
of ``sada_dali.kernels`` (CuPy is imported only then).

What lives here: ``estimator.py`` (:class:`SADAEstimator`), ``entaugment.py``
(:class:`EntAugmentEstimator`), ``config.py`` (their frozen settings), ``_base.py`` (the shared
interface), ``_numpy_backend.py`` and ``_cuda_backend.py`` (SADA's two backends, bit-identical
formulas), ``_entaugment_numpy.py`` and ``_entaugment_cuda.py`` (EntAugment's),
``_cuda_state.py`` and ``_host.py`` (what both estimators' backends share),
``_kernels.py`` (loading ``kernels/``), ``_checks.py`` and ``_state.py`` (batch and saved-state checks).

It may import ``kernels`` and ``_utils`` only; ``distributed``, the loader and the CLI import it.
"""

from ._numpy_backend import warmup_strengths
from .config import EntAugmentConfig, EstimatorConfig
from .entaugment import EntAugmentEstimator
from .estimator import SADAEstimator

__all__ = ["EstimatorConfig", "EntAugmentConfig", "SADAEstimator", "EntAugmentEstimator", "warmup_strengths"]
