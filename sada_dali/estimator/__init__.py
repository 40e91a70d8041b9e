"""Per-sample influence statistics of SADA (paper section 3) and the strengths they imply.

``SADAEstimator(..., device="cpu")`` runs on NumPy; ``device="cuda"`` keeps the whole state on
the GPU and updates it with the CuPy kernels of ``sada_dali.kernels`` (CuPy is imported only then).
"""

from ._numpy_backend import warmup_strengths
from .config import EstimatorConfig
from .estimator import SADAEstimator

__all__ = ["EstimatorConfig", "SADAEstimator", "warmup_strengths"]
