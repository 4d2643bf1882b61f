"""Where a renderer changed a frame: the blend region handed from a compositor to an enhancer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BlendRegion"]


@dataclass
class BlendRegion:
    """Where a mouth was blended into a frame.

    Attributes:
        y0, x0: top-left pixel of the region's box in the frame.
        alpha: (h, w) float32 blend weight in [0, 1] over the box; 0 = the base frame's pixel,
            unchanged.
        crop_mask: (Hc, Wc) float32 the same mask in bank-crop coordinates (``alpha`` is it
            warped into the frame), or None.
    """

    y0: int
    x0: int
    alpha: np.ndarray
    crop_mask: np.ndarray | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) pixels, x1/y1 exclusive."""
        h, w = self.alpha.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h
