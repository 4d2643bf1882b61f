"""What every enhancer sees: the enhancement modes, the frame package (:class:`EnhanceFrame`),
the :class:`Enhancer` protocol, and the regions (the compositor's blend mask or the face)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ...face import landmarks as L
from ..region import BlendRegion

__all__ = ["ENHANCE_MODES", "DEFAULT_ENHANCE", "EnhanceFrame", "Enhancer", "enhance_frame", "face_region"]

#: Values of ``--enhance``.
ENHANCE_MODES = ("none", "mouth", "face")
#: The default mode (chosen from the measurements in docs/benchmarks.md).
DEFAULT_ENHANCE = "mouth"


@dataclass
class EnhanceFrame:
    """One rendered frame and what an enhancer needs to know about it.

    Attributes:
        image: (H, W, 3) uint8 RGB rendered frame; enhancers write into it (pass a copy to keep
            the original).
        region: where to enhance: ``alpha`` (h, w) float32 weights in [0, 1] at (y0, x0); None =
            leave the frame as it is (no face).
        blend: the compositor's blend region (the new mouth), or None; the gain is measured here.
        reference: (h, w, 3) uint8 RGB pixels of the base frame over ``region``'s box, before
            compositing.
        landmarks: (478, 2+) float pixels of the base frame's face, or None.
        source_crop: (Hc, Wc, 3) uint8 RGB bank crop of the chosen source mouth, or None.
        base_crop: (Hc, Wc, 3) uint8 RGB bank crop of the base frame, or None.
    """

    image: np.ndarray
    region: BlendRegion | None = None
    blend: BlendRegion | None = None
    reference: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    source_crop: np.ndarray | None = None
    base_crop: np.ndarray | None = None


class Enhancer(Protocol):
    """An enhancement stage: ``enhance(frames) -> frames``, streaming, in order, one out per one in."""

    name: str
    seconds: float

    def enhance(self, frames: Iterable[EnhanceFrame]) -> Iterator[np.ndarray]:
        """Yield each frame's (H, W, 3) uint8 RGB enhanced image, in input order."""
        ...


def face_region(landmarks: np.ndarray, shape: tuple[int, int], feather: float = 0.08) -> BlendRegion | None:
    """A feathered mask of the face: the convex hull of the face oval, shrunk and softened by
    ``feather`` inter-ocular distances so the hairline and the background stay untouched.

    Args:
        landmarks: (478, 2+) pixels.
        shape: (H, W) of the frame.
    Returns:
        The region (weights in [0, 1]), or None when the face is off the frame.
    """
    h, w = shape
    oval = landmarks[L.FACE_OVAL, :2].astype(np.float64)
    pad = 2
    x0, y0 = (int(max(0, np.floor(v) - pad)) for v in oval.min(0))
    x1, y1 = int(min(w, np.ceil(oval[:, 0].max()) + pad)), int(min(h, np.ceil(oval[:, 1].max()) + pad))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    hull = cv2.convexHull((oval - (x0, y0)).astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)
    sigma = max(1.0, feather * float(L.interocular_px(landmarks)) / 2)
    er = max(1, int(round(2 * sigma)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * er + 1, 2 * er + 1)))
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask[mask < 1.0 / 255] = 0.0
    return BlendRegion(y0=y0, x0=x0, alpha=mask)


def _union(a: BlendRegion, b: BlendRegion) -> BlendRegion:
    """Pixel-wise maximum of two regions, on the union of their boxes."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    x0, y0, x1, y1 = min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)
    out = np.zeros((y1 - y0, x1 - x0), np.float32)
    for r in (a, b):
        rx0, ry0, rx1, ry1 = r.box
        sub = out[ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0]
        np.maximum(sub, r.alpha, out=sub)
    return BlendRegion(y0=y0, x0=x0, alpha=out)


def enhance_frame(mode: str, base: np.ndarray, image: np.ndarray, landmarks: np.ndarray | None,
                  blend: BlendRegion | None, source_crop: np.ndarray | None = None,
                  base_crop: np.ndarray | None = None) -> EnhanceFrame:
    """Package a rendered frame for an enhancer.

    Args:
        mode: ``"mouth"`` or ``"face"`` (see :data:`ENHANCE_MODES`).
        base: (H, W, 3) uint8 RGB base frame before compositing.
        image: (H, W, 3) uint8 RGB composited frame.
        landmarks: (478, 2+) base-frame landmarks in pixels, or None (no face).
        blend: the compositor's blend region (:meth:`Compositor.composite_blend`), or None.
        source_crop, base_crop: (Hc, Wc, 3) uint8 bank crops of the chosen source frame and of
            the base frame (they set the detail target; see the module docstring).
    Returns:
        :class:`EnhanceFrame`; its region is None (frame passed through) when there is no face,
        or in ``mouth`` mode when nothing was blended.
    """
    if landmarks is None:
        return EnhanceFrame(image=image)
    region = blend
    if mode == "face":
        face = face_region(landmarks, image.shape[:2])
        region = face if blend is None else (blend if face is None else _union(face, blend))
    if region is None:
        return EnhanceFrame(image=image, landmarks=landmarks)
    x0, y0, x1, y1 = region.box
    return EnhanceFrame(image=image, region=region, blend=blend, reference=base[y0:y1, x0:x1].copy(),
                        landmarks=landmarks, source_crop=source_crop, base_crop=base_crop)
