"""The estimator's configuration: a frozen, validated dataclass."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from numbers import Real

__all__ = ["EstimatorConfig", "EntAugmentConfig", "STATE_DTYPES", "VARIANCE_MODES", "NORMALIZE_MODES"]

STATE_DTYPES = ("float16", "float32")
VARIANCE_MODES = ("sum", "mean")
NORMALIZE_MODES = ("minmax", "rank")
_MAX_SAMPLES = 2**31 - 1  # batch rows and sample indices are int32 on the device
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def _check_count(name: str, value, upper: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= upper:
        raise ValueError(f"The `{name}` must be a positive integer (at most {upper}), got {value!r}.")


def _check_device(device) -> None:
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ValueError(f"The `device` must be 'cpu', 'cuda' or 'cuda:<index>', got {device!r}.")


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"The `seed` must be an integer in [0, 2**64), got {seed!r}.")


class _DeviceMixin:
    """``device_index`` and ``to_dict`` of both estimator configurations."""

    @property
    def device_index(self) -> int:
        """The CUDA device ordinal (0 for ``"cuda"``); -1 on the CPU."""
        if self.device == "cpu":
            return -1
        return int(self.device.partition(":")[2] or 0)

    def to_dict(self) -> dict:
        """The fields as plain Python values (for ``state_dict``)."""
        return asdict(self)


@dataclass(frozen=True)
class EstimatorConfig(_DeviceMixin):
    """Settings of a :class:`~sada_dali.estimator.SADAEstimator`.

    Parameters
    ----------
    num_samples : int
        Dataset size N (every sample index lies in ``[0, N)``).
    num_classes : int
        Number of logits per sample K.
    window : int
        Ring-buffer length L of per-appearance KL values (paper Eq. 6), at least 2.
    decay : float
        EMA weight beta of the *new* window variance (paper Eq. 7), in (0, 1].
    variance : {"sum", "mean"}
        ``"sum"`` is Eq. 6 as written (sum of squared deviations); ``"mean"`` divides by the count.
    device : str
        ``"cpu"`` (NumPy), ``"cuda"`` or ``"cuda:<index>"`` (CuPy kernels).
    warmup_strength : float or None
        Strength of samples without a valid variance. None draws a fresh uniform [0, 1)
        value per sample and epoch (TrivialAugment behaviour); a float in [0, 1] is a constant.
    seed : int
        Non-negative seed of the warm-up draws.
    state_dtype : {"float16", "float32"}
        Storage of the previous log-probabilities, the (N, K) bulk of the state.
    normalize : {"minmax", "rank"}
        How valid variances become strengths: ``"minmax"`` is the paper's
        ``1 - (V - min) / (max - min)``; ``"rank"`` (ours, not the paper's) is
        ``1 - (rank - 1) / (n_valid - 1)`` with ranks ascending in V, ties averaged.
    """

    num_samples: int
    num_classes: int
    window: int = 10
    decay: float = 0.9
    variance: str = "sum"
    device: str = "cpu"
    warmup_strength: float | None = None
    seed: int = 0
    state_dtype: str = "float16"
    normalize: str = "minmax"

    def __post_init__(self):
        _check_count("num_samples", self.num_samples, _MAX_SAMPLES)
        _check_count("num_classes", self.num_classes, _MAX_SAMPLES)
        if isinstance(self.window, bool) or not isinstance(self.window, int) or not 2 <= self.window <= 1024:
            raise ValueError(
                "The `window` must be an integer in [2, 1024] (the variance needs two values), "
                f"got {self.window!r}."
            )
        if isinstance(self.decay, bool) or not isinstance(self.decay, Real) or not 0.0 < self.decay <= 1.0:
            raise ValueError(
                "The `decay` must be a number in (0, 1] (the weight of the new variance), "
                f"got {self.decay!r}."
            )
        object.__setattr__(self, "decay", float(self.decay))
        if self.variance not in VARIANCE_MODES:
            raise ValueError(f"The `variance` must be 'sum' (paper Eq. 6) or 'mean', got {self.variance!r}.")
        _check_device(self.device)
        w = self.warmup_strength
        if w is not None:
            if isinstance(w, bool) or not isinstance(w, Real) or not 0.0 <= w <= 1.0:
                raise ValueError(
                    f"The `warmup_strength` must be None (uniform draw) or a number in [0, 1], got {w!r}."
                )
            object.__setattr__(self, "warmup_strength", float(w))
        _check_seed(self.seed)
        if self.state_dtype not in STATE_DTYPES:
            raise ValueError(f"The `state_dtype` must be 'float16' or 'float32', got {self.state_dtype!r}.")
        if self.normalize not in NORMALIZE_MODES:
            raise ValueError(
                f"The `normalize` must be 'minmax' (the paper's) or 'rank' (ours), got {self.normalize!r}."
            )


@dataclass(frozen=True)
class EntAugmentConfig(_DeviceMixin):
    """Settings of a :class:`~sada_dali.estimator.EntAugmentEstimator`.

    Parameters
    ----------
    num_samples : int
        Dataset size N.
    num_classes : int
        Number of logits per sample K, at least 2 (the entropy is divided by ln K).
    warmup_epochs : int
        Epochs 0 .. ``warmup_epochs - 1`` use the warm-up draw for every sample.
    device : str
        ``"cpu"`` (NumPy), ``"cuda"`` or ``"cuda:<index>"`` (CuPy kernels).
    seed : int
        Non-negative seed of the warm-up draws.
    """

    num_samples: int
    num_classes: int
    warmup_epochs: int = 0
    device: str = "cpu"
    seed: int = 0

    def __post_init__(self):
        _check_count("num_samples", self.num_samples, _MAX_SAMPLES)
        if (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, int)
            or not 2 <= self.num_classes <= _MAX_SAMPLES
        ):
            raise ValueError(
                f"The `num_classes` must be an integer in [2, {_MAX_SAMPLES}] (the entropy is divided by "
                f"ln K), got {self.num_classes!r}."
            )
        w = self.warmup_epochs
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise ValueError(f"The `warmup_epochs` must be an integer >= 0, got {w!r}.")
        _check_device(self.device)
        _check_seed(self.seed)
