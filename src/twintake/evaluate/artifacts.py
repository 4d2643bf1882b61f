"""Measures of visible editing artifacts: pops, worst-frame LMD, smear outside the face, ghosts.

All return plain floats (NaN when undefined). Definitions and validation: ``docs/evaluation.md``.

* :func:`pops_per_min` - one-frame mouth flashes;
* :func:`lmd_p95` - the worst frames' landmark distance;
* :func:`outside_change` - pixels changed outside the face oval + a chin band (smear);
* :func:`ghost` - the source's old lip/jaw edges surviving in the output.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face import landmarks as L
from ..motion.shapes import N_POINTS

__all__ = ["pops", "pops_per_min", "lmd_per_frame", "lmd_p95", "face_region_mask", "outside_change",
           "contour_edges", "ghost_frame", "ghost"]

#: Lip and jaw contours (face-mesh indices) whose old edges :func:`ghost` looks for.
GHOST_CONTOURS = (L.LIPS_OUTER, L.JAW)


def pops(opening: np.ndarray, open_range: float, threshold: float = 0.25) -> np.ndarray:
    """(T,) bool: frames whose opening jumps away from both neighbours (same direction) by more
    than ``threshold * open_range``.

    Args:
        opening: (T,) mouth opening (IOD units; NaN where no face).
        open_range: the clip's opening range (e.g. 98th - 2nd percentile of the real opening).
    """
    op = np.asarray(opening, np.float64)
    out = np.zeros(len(op), bool)
    if len(op) < 3 or not np.isfinite(open_range) or open_range <= 0:
        return out
    a = op[1:-1] - op[:-2]
    b = op[1:-1] - op[2:]
    lim = threshold * open_range
    with np.errstate(invalid="ignore"):
        out[1:-1] = ((a > lim) & (b > lim)) | ((a < -lim) & (b < -lim))
    return out


def pops_per_min(opening: np.ndarray, open_range: float, fps: float, threshold: float = 0.25) -> float:
    """Mouth pops (:func:`pops`) per minute of video."""
    n = len(opening)
    if n < 3:
        return float("nan")
    return float(pops(opening, open_range, threshold).sum() / (n / fps / 60.0))


def lmd_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(T,) mean distance of the 40 lip points per frame (IOD units; NaN where either is missing).

    Args:
        generated, truth: (T, 114) face-aligned mouth descriptors.
    """
    g = np.asarray(generated, np.float64).reshape(len(generated), N_POINTS, 2)[:, :40]
    r = np.asarray(truth, np.float64).reshape(len(truth), N_POINTS, 2)[:, :40]
    return np.linalg.norm(g - r, axis=-1).mean(1)


def lmd_p95(generated: np.ndarray, truth: np.ndarray) -> float:
    """95th percentile over frames of the per-frame LMD (IOD units): the worst frames."""
    d = lmd_per_frame(generated, truth)
    d = d[np.isfinite(d)]
    return float(np.percentile(d, 95)) if len(d) else float("nan")


def face_region_mask(landmarks: np.ndarray, shape: tuple[int, int], chin_band_iod: float = 0.25) -> np.ndarray:
    """(H, W) bool: the face oval plus a band under the chin (where a moving jaw may
    legitimately change pixels).

    The band is the oval's lower half shifted down by ``chin_band_iod`` inter-ocular distances
    (the union of the oval and its shifted copy, so the chin may open that far).
    """
    h, w = shape
    pts = np.asarray(landmarks, np.float64)[L.FACE_OVAL, :2]
    iod = float(L.interocular_px(np.asarray(landmarks)[None])[0])
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    shifted = pts.copy()
    shifted[:, 1] += chin_band_iod * iod
    cv2.fillPoly(m, [np.round(shifted).astype(np.int32)], 1)
    return m.astype(bool)


def outside_change(output: np.ndarray, reference: np.ndarray, landmarks: np.ndarray, levels: int = 8) -> float:
    """Share of the pixels outside :func:`face_region_mask` whose grey level differs by more than
    ``levels`` between ``output`` and ``reference`` (the base frame).

    Args:
        output, reference: (H, W, 3) uint8 RGB frames of the same size.
        landmarks: (478, 2+) pixel landmarks of the reference's face.
    Returns:
        fraction of the whole frame in [0, 1].
    """
    g1 = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY).astype(np.int16)
    g0 = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY).astype(np.int16)
    changed = np.abs(g1 - g0) > levels
    inside = face_region_mask(landmarks, g0.shape)
    return float((changed & ~inside).sum() / changed.size)


def contour_edges(landmarks: np.ndarray, shape: tuple[int, int], thickness: int) -> np.ndarray:
    """(H, W) uint8 0/1: the lip outer contour and the jaw line drawn ``thickness`` px wide."""
    m = np.zeros(shape, np.uint8)
    lm = np.asarray(landmarks, np.float64)
    for idx, closed in ((L.LIPS_OUTER, True), (L.JAW, False)):
        cv2.polylines(m, [np.round(lm[idx, :2]).astype(np.int32)], closed, 1, max(1, thickness))
    return m


def _edges(gray: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))


def ghost_frame(output: np.ndarray, reference: np.ndarray, old_landmarks: np.ndarray,
                new_landmarks: np.ndarray) -> tuple[float, float]:
    """Old-edge evidence of one frame: (surviving edge energy, old edge energy).

    The region is the old (reference) lip/jaw contours (0.03 IOD wide) minus everything within
    0.08 IOD of the new (output) contours; there the output's gradient magnitude is compared
    with the reference's: ``sum(min(E_out, E_ref)) / sum(E_ref)`` is the share of the old edges
    still visible. Sum the pairs over frames and divide (see :func:`ghost`).

    Args:
        output, reference: (H, W, 3) uint8 RGB; old_landmarks: (478, 2+) of the reference's face;
        new_landmarks: (478, 2+) of the output's face (re-tracked).
    """
    iod = float(L.interocular_px(np.asarray(old_landmarks)[None])[0])
    shape = output.shape[:2]
    old = contour_edges(old_landmarks, shape, int(round(0.03 * iod)))
    near_new = contour_edges(new_landmarks, shape, int(round(0.16 * iod)))
    region = (old > 0) & (near_new == 0)
    if not region.any():
        return 0.0, 0.0
    e_out = _edges(cv2.cvtColor(output, cv2.COLOR_RGB2GRAY))[region]
    e_ref = _edges(cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY))[region]
    return float(np.minimum(e_out, e_ref).sum()), float(e_ref.sum())


def ghost(pairs: list[tuple[float, float]], min_energy: float = 1e-6) -> float:
    """Share of the old lip/jaw edge energy surviving, over all frames: sum of the first items
    of :func:`ghost_frame` pairs over the sum of the second (0 = no trace of the old shape,
    1 = the old edges are fully there). NaN when the old and new contours never differ."""
    s = float(sum(p[0] for p in pairs))
    e = float(sum(p[1] for p in pairs))
    return s / e if e > min_energy else float("nan")
