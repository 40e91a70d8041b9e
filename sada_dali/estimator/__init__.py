"""Per-sample influence statistics of SADA (paper section 3) and the strengths they imply.

``SADAEstimator`` and ``EntAugmentEstimator`` share one interface. ``device="cpu"`` runs on
NumPy; ``device="cuda"`` keeps the whole state on the GPU and updates it with the CuPy kernels
of ``sada_dali.kernels`` (CuPy is imported only then).
"""

from .config import EntAugmentConfig, EstimatorConfig
from .entaugment import EntAugmentEstimator
from .estimator import SADAEstimator

__all__ = ["EstimatorConfig", "EntAugmentConfig", "SADAEstimator", "EntAugmentEstimator"]
