"""What both per-sample estimators share: one backend per device, epochs, strengths and state."""

from __future__ import annotations

__all__ = ["EstimatorBase"]


class EstimatorBase:
    """The interface of :class:`SADAEstimator` and :class:`EntAugmentEstimator` over a backend.

    A subclass sets ``config``, then calls :meth:`_start` with its NumPy and CUDA backend
    classes; it defines ``_STATE_FORMAT``, ``_STATE_ARRAYS`` and ``_check_state``.
    """

    _STATE_FORMAT: str
    _STATE_ARRAYS: tuple

    @staticmethod
    def _check_state(state, config) -> dict:
        raise NotImplementedError

    def _start(self, numpy_backend, cuda_backend) -> None:
        """Create the backend (``cuda_backend`` is a function returning the class: CuPy loads late)."""
        backend = numpy_backend if self.config.device == "cpu" else cuda_backend()
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
            Keys ``format``, ``config``, ``epoch``, ``num_skipped`` and the state arrays (copies;
            ``seen``, ``ring``, ``variance``, ``log_prev``, ``strengths`` for SADA, ``latest``
            and ``strengths`` for EntAugment).
        """
        self._backend.raise_pending()
        state = {
            "format": self._STATE_FORMAT,
            "config": self.config.to_dict(),
            "epoch": self._epoch,
            "num_skipped": self.num_skipped,
        }
        state.update({name: self._backend.to_host(name) for name in self._STATE_ARRAYS})
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Replace the state with one from :meth:`state_dict` (of any device).

        Parameters
        ----------
        state_dict : dict
            Saved by an estimator of the same class with the same settings (``device`` may differ).

        Raises
        ------
        TypeError, ValueError
            If it is not such a state; the live state is then left unchanged.
        """
        checked = self._check_state(state_dict, self.config)
        for name in self._STATE_ARRAYS:
            self._backend.from_host(name, checked[name])
        self._backend.skipped = checked["num_skipped"]
        self._epoch = checked["epoch"]
