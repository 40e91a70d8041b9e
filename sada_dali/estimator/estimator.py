"""``SADAEstimator``: per-sample influence statistics and augmentation strengths (paper section 3)."""

from __future__ import annotations

from ._state import STATE_ARRAYS, STATE_FORMAT, check_state
from .config import EstimatorConfig

__all__ = ["SADAEstimator"]


class SADAEstimator:
    """Tracks each sample's prediction dynamics and maps them to augmentation strengths.

    At every appearance of sample i, ``d = |KL(p || p_prev)|`` between its softmax now and at its
    previous appearance (Eq. 5) enters a ring buffer of the last ``window`` values; from two
    values on, their variance (Eq. 6) updates ``V = decay * V_t + (1 - decay) * V`` (Eq. 7).
    :meth:`end_epoch` maps V to ``s = 1 - (V - min V) / (max V - min V)`` over all samples with
    a valid V; the others (all, when max V == min V) get the warm-up strength.

    Parameters
    ----------
    num_samples, num_classes : int
        Dataset size N and number of classes K.
    window, decay, variance, device, warmup_strength, seed, state_dtype
        See :class:`~sada_dali.estimator.EstimatorConfig`.

    Notes
    -----
    The previous distribution is stored as clamped log-probabilities ``max(log p, -16)`` in
    ``state_dtype``: float16 (default) halves the (N, K) state (2.6 GB instead of 5.1 GB for
    ImageNet-1k). Rounding a log-probability to float16 is relative, so it moves d by at most
    2**-11 times the cross-entropy ``-sum p log q`` (plus ~3e-8): small exactly for the confident
    samples whose d is small, unlike rounding the probabilities themselves. Prefer "float32"
    when memory allows and KL values far below 1e-4 must be resolved.

    With ``device="cuda"``, :meth:`update` does not synchronise: rows whose index is outside
    ``[0, N)`` are skipped and counted on the GPU, and the next synchronising call
    (:meth:`end_epoch`, :meth:`state_dict`, :attr:`num_skipped`) raises ``ValueError`` once.
    """

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        *,
        window: int = 10,
        decay: float = 0.9,
        variance: str = "sum",
        device: str = "cpu",
        warmup_strength: float | None = None,
        seed: int = 0,
        state_dtype: str = "float16",
    ):
        self.config = EstimatorConfig(
            num_samples,
            num_classes,
            window=window,
            decay=decay,
            variance=variance,
            device=device,
            warmup_strength=warmup_strength,
            seed=seed,
            state_dtype=state_dtype,
        )
        if self.config.device == "cpu":
            from ._numpy_backend import NumpyBackend as backend
        else:
            from ._cuda_backend import CudaBackend as backend
        self._backend = backend(self.config)
        self._epoch = 0
        self._backend.compute_strengths(0)

    def update(self, indices, logits) -> None:
        """Record one training step's predictions.

        Parameters
        ----------
        indices : array-like of int
            (B,) dataset indices (int32 or int64), torch/CuPy/NumPy/DLPack. Within one call the
            last occurrence of a repeated index wins; earlier ones are ignored.
        logits : array-like of float
            (B, K) logits (float16, bfloat16, float32 or float64). Any logit vector works,
            log-probabilities included, so a distributed caller may pass gathered rows of all ranks.
            Rows with a NaN or Inf are skipped and counted in :attr:`num_skipped`.

        Raises
        ------
        TypeError, ValueError
            On a wrong dtype or shape (before any state changes); on the CPU also for an index
            outside ``[0, N)``.
        """
        self._backend.update(indices, logits)

    def _update_padded(self, indices, logits, padding) -> None:
        """:meth:`update` where the first ``padding`` rows are ignored entirely (never applied nor counted).

        ``padding`` is a one-element int64 array on the batch's device, so a caller that pads a
        batch on the GPU need not read its size back (``DistributedEstimator``).
        """
        self._backend.update(indices, logits, padding)

    def end_epoch(self):
        """Close the epoch and return the strengths of the next one.

        Returns
        -------
        numpy.ndarray or cupy.ndarray
            (N,) float32 strengths in [0, 1] on the estimator's device; the k-th call returns
            the strengths of epoch k. The array is not modified later; do not modify it.
        """
        strengths = self._backend.compute_strengths(self._epoch + 1)
        self._epoch += 1
        return strengths

    @property
    def epoch(self) -> int:
        """The epoch whose strengths :attr:`strengths` holds (0 before the first ``end_epoch``)."""
        return self._epoch

    @property
    def strengths(self):
        """(N,) float32 strengths of the current epoch (warm-up strengths in epoch 0)."""
        return self._backend.current_strengths()

    @property
    def variance(self):
        """(N,) float32 copy of the EMA-smoothed window variance V (0 where not valid)."""
        return self._backend.read("variance")

    @property
    def valid(self):
        """(N,) bool: which samples have a valid V (seen at least three times, i.e. two d values)."""
        return self._backend.read("seen", lambda seen: seen >= 3)

    @property
    def nbytes(self) -> int:
        """Bytes of per-sample state held on the estimator's device (the (N, K) part dominates)."""
        return self._backend.nbytes

    @property
    def num_skipped(self) -> int:
        """Rows skipped so far because their logits held NaN or Inf (synchronises on CUDA)."""
        return self._backend.skipped

    def state_dict(self) -> dict:
        """Return the full state as NumPy arrays and plain scalars (loadable on any device).

        Returns
        -------
        dict
            Keys ``format``, ``config``, ``epoch``, ``num_skipped`` and the arrays ``seen``,
            ``ring``, ``variance``, ``log_prev``, ``strengths`` (copies).
        """
        self._backend.raise_pending()
        state = {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "epoch": self._epoch,
            "num_skipped": self.num_skipped,
        }
        state.update({name: self._backend.to_host(name) for name in STATE_ARRAYS})
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Replace the state with one from :meth:`state_dict` (of any device).

        Parameters
        ----------
        state_dict : dict
            Saved by an estimator with the same settings (``device`` may differ).

        Raises
        ------
        TypeError, ValueError
            If it is not such a state; the live state is then left unchanged.
        """
        checked = check_state(state_dict, self.config)
        for name in STATE_ARRAYS:
            self._backend.from_host(name, checked[name])
        self._backend.skipped = checked["num_skipped"]
        self._epoch = checked["epoch"]
