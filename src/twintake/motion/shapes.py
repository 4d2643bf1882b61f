"""The mouth-shape space: PCA of face-aligned lip and jaw landmarks.

A frame's mouth shape is the 57 mouth points (:data:`twintake.face.landmarks.MOUTH_POINTS`:
outer lips, inner lips, jaw) in the face-aligned frame (eye midpoint at 0, eye line horizontal,
inter-ocular distance 1), flattened to a 114-vector. :class:`MouthModel` fits a per-person PCA
(Cootes et al., "Active Shape Models", 1995) on the tracked frames; the coefficients of its first
K components are the mouth-shape coefficients used everywhere else. It also learns a linear map
from two interpretable features, opening and width, to coefficients, so generic viseme targets
can be expressed in the person's own shape space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face import landmarks as L
from ..face.align import apply_affine

N_POINTS = len(L.MOUTH_POINTS)
_UPPER = int(np.flatnonzero(L.MOUTH_POINTS == L.UPPER_INNER_LIP)[0])
_LOWER = int(np.flatnonzero(L.MOUTH_POINTS == L.LOWER_INNER_LIP)[0])
_CORNERS = [int(np.flatnonzero(L.MOUTH_POINTS == c)[0]) for c in L.MOUTH_CORNERS]


def mouth_descriptors(landmarks: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Face-aligned mouth points of every frame.

    Args:
        landmarks: (N, 478, 2+) pixels.
        transforms: (N, 2, 3) pixel -> face-aligned similarity per frame.
    Returns:
        (N, 114) float32: the 57 mouth points' (x, y) in inter-ocular units.
    """
    pts = landmarks[:, L.MOUTH_POINTS, :2].astype(np.float64)
    out = np.einsum("nij,npj->npi", transforms[:, :, :2], pts) + transforms[:, None, :, 2]
    return out.reshape(len(landmarks), -1).astype(np.float32)


def opening(desc: np.ndarray) -> np.ndarray:
    """Inner-lip opening (lower minus upper inner lip centre, y) in IOD units; shape desc[..., 0]."""
    p = desc.reshape(*desc.shape[:-1], N_POINTS, 2)
    return p[..., _LOWER, 1] - p[..., _UPPER, 1]


def open_range_of(op: np.ndarray) -> tuple[float, float]:
    """(closed, widest) opening of a person: the 2nd and 98th percentile of their (N,) openings
    (IOD units, :func:`opening`), floored at 0 and at least 0.02 apart
    (:attr:`MouthModel.open_range`)."""
    lo, hi = np.percentile(op, [2, 98])
    return float(max(lo, 0.0)), float(max(hi, lo + 0.02))


def width(desc: np.ndarray) -> np.ndarray:
    """Mouth-corner distance in IOD units."""
    p = desc.reshape(*desc.shape[:-1], N_POINTS, 2)
    return np.linalg.norm(p[..., _CORNERS[1], :] - p[..., _CORNERS[0], :], axis=-1)


@dataclass
class MouthModel:
    """A person's mouth-shape space.

    Attributes:
        mean: (114,) float32 mean face-aligned mouth points.
        components: (K, 114) float32 orthonormal PCA basis.
        feature_map: (3, K) float32: coefficients ≈ [1, opening, width] @ feature_map.
        open_range: (closed, widest) opening in IOD units (2nd and 98th percentile).
        width_range: (narrowest, widest) mouth width in IOD units.
        rest: (K,) float32 coefficients of the person's closed, relaxed mouth.
    """

    mean: np.ndarray
    components: np.ndarray
    feature_map: np.ndarray
    open_range: tuple[float, float]
    width_range: tuple[float, float]
    rest: np.ndarray

    @property
    def n_coeffs(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, descriptors: np.ndarray, n_coeffs: int = 10) -> "MouthModel":
        """Fit on (N, 114) descriptors of valid frames (N >= 2)."""
        x = np.asarray(descriptors, np.float64)
        mean = x.mean(0)
        xc = x - mean
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        k = int(min(n_coeffs, vt.shape[0]))
        comps = vt[:k]
        coeffs = xc @ comps.T
        op, wd = opening(x), width(x)
        feats = np.stack([np.ones_like(op), op, wd], 1)
        fmap, *_ = np.linalg.lstsq(feats, coeffs, rcond=None)
        wlo, whi = np.percentile(wd, [2, 98])
        closed = op <= np.percentile(op, 10) + 1e-9
        rest = coeffs[closed].mean(0)
        return cls(mean=mean.astype(np.float32), components=comps.astype(np.float32),
                   feature_map=fmap.astype(np.float32),
                   open_range=open_range_of(op),
                   width_range=(float(wlo), float(max(whi, wlo + 0.02))),
                   rest=rest.astype(np.float32))

    def encode(self, descriptors: np.ndarray) -> np.ndarray:
        """(…, 114) face-aligned points -> (…, K) float32 coefficients."""
        return ((np.asarray(descriptors, np.float32) - self.mean) @ self.components.T).astype(np.float32)

    def decode(self, coeffs: np.ndarray) -> np.ndarray:
        """(…, K) coefficients -> (…, 114) face-aligned points."""
        return (np.asarray(coeffs, np.float32) @ self.components + self.mean).astype(np.float32)

    def from_features(self, open_frac: float, width_frac: float) -> np.ndarray:
        """Coefficients for a mouth opened ``open_frac`` (0 closed .. 1 widest this person opens)
        and spread ``width_frac`` (0 most rounded .. 1 widest) of the person's own range."""
        op = self.open_range[0] + open_frac * (self.open_range[1] - self.open_range[0])
        wd = self.width_range[0] + width_frac * (self.width_range[1] - self.width_range[0])
        return (np.array([1.0, op, wd], np.float32) @ self.feature_map).astype(np.float32)

    def opening_gradient(self) -> np.ndarray:
        """(K,) float64: change of the inner-lip opening (IOD units) per unit of each coefficient
        (the opening is linear in the mouth points, hence in the coefficients)."""
        comps = np.asarray(self.components, np.float64)
        mean = np.asarray(self.mean, np.float64)
        return opening(comps + mean) - opening(mean[None])

    def opening_direction(self) -> tuple[np.ndarray, float]:
        """The person's own way of opening the mouth, scaled to +1 IOD of inner-lip opening.

        Returns:
            ((K,) float64 direction: the opening row of ``feature_map`` — how this person's
            mouth changes on average as it opens at constant width — divided by its opening
            gradient so that adding ``d * direction`` opens the inner lips by exactly ``d`` IOD;
            float opening of the rest shape, IOD).
        """
        grad = self.opening_gradient()
        v = np.asarray(self.feature_map, np.float64)[1]
        gain = float(v @ grad)
        if abs(gain) < 1e-9:  # degenerate model (no opening variation): use the gradient itself
            v, gain = grad, float(grad @ grad) + 1e-12
        rest_open = float(opening(self.decode(self.rest)[None].astype(np.float64))[0])
        return v / gain, rest_open

    def to_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "components": self.components, "feature_map": self.feature_map,
                "open_range": np.array(self.open_range), "width_range": np.array(self.width_range),
                "rest": self.rest}

    @classmethod
    def from_dict(cls, d) -> "MouthModel":
        return cls(mean=np.asarray(d["mean"]), components=np.asarray(d["components"]),
                   feature_map=np.asarray(d["feature_map"]),
                   open_range=tuple(float(v) for v in d["open_range"]),
                   width_range=tuple(float(v) for v in d["width_range"]),
                   rest=np.asarray(d["rest"]))


def descriptor_points(desc: np.ndarray) -> np.ndarray:
    """(…, 114) -> (…, 57, 2)."""
    return desc.reshape(*desc.shape[:-1], N_POINTS, 2)


def to_pixels(desc: np.ndarray, pixel_to_aligned: np.ndarray) -> np.ndarray:
    """Face-aligned mouth points (114,) -> (57, 2) pixels of a frame with the given transform."""
    from ..face.align import invert_affine

    return apply_affine(invert_affine(pixel_to_aligned), descriptor_points(desc))
