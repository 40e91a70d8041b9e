"""``EntAugmentEstimator``: per-sample strengths from the entropy of the latest prediction (EntAugment)."""

from __future__ import annotations

from ._base import EstimatorBase
from ._entaugment_numpy import EntNumpyBackend
from ._state import ENT_STATE_ARRAYS, ENT_STATE_FORMAT, check_entaugment_state
from .config import EntAugmentConfig

__all__ = ["EntAugmentEstimator"]


def _cuda_backend():
    from ._entaugment_cuda import EntCudaBackend

    return EntCudaBackend


class EntAugmentEstimator(EstimatorBase):
    """EntAugment's rule (Yang et al., ECCV 2024): confident samples get strong augmentation.

    Each :meth:`update` sets, for every sample in the batch, ``s = 1 - H(softmax(z)) / ln K``
    from its logits z (H: the entropy in nats), as the authors' ``train_EntAugment.py`` does
    after every step. :meth:`end_epoch` returns, for the next epoch, each sample's latest s;
    during the first ``warmup_epochs`` epochs, and for samples never seen, the warm-up draw of
    :class:`SADAEstimator` (uniform per sample and epoch). The interface is ``SADAEstimator``'s,
    so it works in :class:`~sada_dali.distributed.DistributedEstimator` and ``SADALoader``.

    Parameters
    ----------
    num_samples : int
        Dataset size N.
    num_classes : int
        Number of logits per sample K (at least 2).
    warmup_epochs : int
        Epochs 0 .. ``warmup_epochs - 1`` use the warm-up draw everywhere. The authors' code
        warms up with TrivialAugment (the same uniform draw) for 11 epochs (its
        ``warmup_epoch = 10`` switches after epoch index 10): ``warmup_epochs=11`` here.
    device : str
        ``"cpu"`` (NumPy), ``"cuda"`` or ``"cuda:<index>"`` (one CuPy kernel per update).
    seed : int
        Seed of the warm-up draws.

    Notes
    -----
    The state is one float32 per sample (``latest``: the strength of its latest finite logits,
    -1 before the first), plus the current strengths: 8 bytes per sample, 10 MB for ImageNet.
    Bad input is handled as by ``SADAEstimator``: wrong shapes or dtypes raise before any state
    changes; NaN/Inf rows are skipped and counted; on the GPU, out-of-range indices are skipped
    and the next synchronising call raises.
    """

    _STATE_FORMAT, _STATE_ARRAYS = ENT_STATE_FORMAT, ENT_STATE_ARRAYS
    _check_state = staticmethod(check_entaugment_state)

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        *,
        warmup_epochs: int = 0,
        device: str = "cpu",
        seed: int = 0,
    ):
        self.config = EntAugmentConfig(
            num_samples, num_classes, warmup_epochs=warmup_epochs, device=device, seed=seed
        )
        self._start(EntNumpyBackend, _cuda_backend)

    @property
    def valid(self):
        """(N,) bool: which samples have a stored strength (their logits were seen)."""
        return self._backend.read("latest", lambda latest: latest >= 0)

    @property
    def latest(self):
        """(N,) float32 copy of each sample's latest entropy strength (-1 where not seen yet)."""
        return self._backend.read("latest")
