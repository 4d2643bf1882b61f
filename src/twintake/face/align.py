"""Face alignment: similarity transforms into a face-aligned, scale-normalized frame.

The face-aligned frame puts the midpoint of the eyes at the origin, the eye line horizontal and
the inter-ocular distance (IOD) at 1. A frame's transform is estimated from the stable upper-face
points (:data:`twintake.face.landmarks.STABLE`) by least squares (Umeyama, "Least-squares
estimation of transformation parameters between two point patterns", PAMI 1991).
"""

from __future__ import annotations

import numpy as np

from .landmarks import STABLE, eye_centres


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ≈ scale * src @ rot.T + shift`` in any dimension D
    (Umeyama 1991: the rotation from the SVD of the cross-covariance, reflections excluded).

    Args:
        src, dst: (P, D) float point sets.
    Returns:
        (scale, (D, D) float64 rotation (det +1), (D,) float64 shift).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(src.shape[1])
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s0**2).sum() / len(src)
    scale = float((sig * d).sum() / max(var_s, 1e-12))
    return scale, rot, mu_d - (scale * rot) @ mu_s


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` to ``dst``
    (:func:`umeyama`).

    Args:
        src, dst: (P, 2) float point sets.
    Returns:
        (2, 3) float64 matrix ``M`` with ``dst ≈ src @ M[:, :2].T + M[:, 2]``.
    """
    scale, rot, shift = umeyama(src, dst)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = shift
    return m


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (..., 2) points."""
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    a = np.linalg.inv(m[:, :2])
    return np.hstack([a, -a @ m[:, 2:3]])


def eye_normalizing_transform(landmarks: np.ndarray) -> np.ndarray:
    """Similarity mapping one frame's pixels to the face-aligned frame using the eyes only.

    Args:
        landmarks: (478, 2 or 3) landmarks in pixels.
    Returns:
        (2, 3) matrix: eye midpoint -> (0, 0), eye line horizontal, IOD -> 1.
    """
    right, left = eye_centres(landmarks)
    v = left - right
    iod = float(np.hypot(*v))
    c, s = v / iod
    rot = np.array([[c, s], [-s, c]]) / iod
    mid = (left + right) / 2
    return np.hstack([rot, (-rot @ mid)[:, None]])


def make_template(landmarks: np.ndarray) -> np.ndarray:
    """All 478 points of a reference frame in the face-aligned frame, (478, 2) float32."""
    m = eye_normalizing_transform(landmarks)
    return apply_affine(m, landmarks[:, :2]).astype(np.float32)


def align_transforms(landmarks: np.ndarray, valid: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Per-frame similarity from pixels to the face-aligned frame.

    Args:
        landmarks: (N, 478, 2+) pixels.
        valid: (N,) bool.
        template: (478, 2) face-aligned reference points (:func:`make_template`).
    Returns:
        (N, 2, 3) float64; rows of invalid frames are the identity.
    """
    out = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (len(landmarks), 1, 1))
    dst = template[STABLE]
    for i in np.flatnonzero(valid):
        out[i] = umeyama_similarity(landmarks[i, STABLE, :2], dst)
    return out
