"""Temporal smoothing of landmark tracks.

Implements the One-Euro filter: Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based
Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012. A first-order low-pass filter
whose cutoff rises with the signal's speed: still landmarks are smoothed strongly (no jitter),
fast lip motion passes with little lag.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff_hz: np.ndarray | float, rate_hz: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau * rate_hz)


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape (e.g. (478, 3) landmarks).

    Args:
        rate_hz: sampling rate of the signal (the video's fps).
        min_cutoff_hz: cutoff at zero speed; lower = smoother when still.
        beta: speed coefficient; higher = less lag on fast motion.
        d_cutoff_hz: cutoff of the derivative's low-pass.

    Call :meth:`reset` at a gap (a frame without a face) so the filter restarts.
    """

    def __init__(self, rate_hz: float, min_cutoff_hz: float = 1.0, beta: float = 0.5,
                 d_cutoff_hz: float = 1.0) -> None:
        self.rate_hz = float(rate_hz)
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Filter one sample.

        Args:
            x: the new sample (float array).
            scale: unit of the signal's speed (e.g. the face's inter-ocular distance in pixels),
                so the same parameters work at any resolution.
        Returns:
            The filtered sample, same shape, float32.
        """
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            return x.astype(np.float32)
        dx = (x - self._x) * self.rate_hz / max(scale, 1e-9)
        a_d = _alpha(self.d_cutoff_hz, self.rate_hz)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, self.rate_hz)
        self._x = a * x + (1.0 - a) * self._x
        return self._x.astype(np.float32)
