"""Generic mouth-interior appearance model: teeth, tongue and the dark oral cavity for a photo
whose mouth is closed.

A photo shows no mouth interior, so when a photo avatar opens its mouth the inside is
synthesized from a person-independent model trained by ``scripts/train_mouth_model.py`` on
aligned inner-mouth crops of real talking videos (see ``docs/photo.md``):

* canonical frame: a similarity transform puts the inner-lip corners (mesh points 78 and 308)
  at :data:`CANON_CORNERS` in a :data:`CANON_SIZE` crop (normalized by mouth width and roll);
* appearance is divided by the lip-ring luminance (lighting normalization) and averaged inside
  the inner-lip polygon per opening-ratio bin (``gap / inner width``), plus a small PCA of the
  residuals (Turk & Pentland 1991 style eigen-appearance; only the means are used by default).

At render time the mean of the target's opening bin (linear between neighbouring bins) is
mapped onto the target inner-lip polygon by an affine fitted from the bin's mean polygon, and
colour-matched to the photo's lips (per-channel gain of the lip-ring colour, half-way to a pure
luminance gain so the teeth are not tinted red).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import BackendError

__all__ = ["CANON_SIZE", "CANON_CORNERS", "MouthInteriorModel", "canonical_transform", "warp_to_canonical",
           "polygon_mask", "lip_ring_mean", "load_model", "MODEL_PATH"]

#: Canonical crop size (width, height) in pixels.
CANON_SIZE = (96, 84)
#: Canonical positions of the inner-lip corners (78, 308), pixels.
CANON_CORNERS = np.array([[12.0, 42.0], [84.0, 42.0]])
#: Where the packaged model lives.
MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "mouth_interior.npz"
_LUMA = np.array([0.299, 0.587, 0.114])


def canonical_transform(corner_a: np.ndarray, corner_b: np.ndarray) -> np.ndarray:
    """Similarity (2, 3) float64 mapping image pixels to canonical pixels so that the inner-lip
    corners ``corner_a`` (point 78) and ``corner_b`` (point 308), each (2,) pixels, land on
    :data:`CANON_CORNERS`."""
    src = np.asarray(corner_b, np.float64) - np.asarray(corner_a, np.float64)
    dst = CANON_CORNERS[1] - CANON_CORNERS[0]
    zs = complex(src[0], src[1])
    zd = complex(dst[0], dst[1])
    if abs(zs) < 1e-9:
        raise ValueError("mouth corners coincide")
    r = zd / zs
    a = np.array([[r.real, -r.imag], [r.imag, r.real]])
    t = CANON_CORNERS[0] - a @ np.asarray(corner_a, np.float64)
    return np.hstack([a, t[:, None]])


def warp_to_canonical(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image -> (CANON_H, CANON_W, 3) float32 canonical crop under ``m``."""
    return cv2.warpAffine(image, m, CANON_SIZE, flags=cv2.INTER_AREA if m[0, 0] ** 2 + m[1, 0] ** 2 < 1
                          else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


def polygon_mask(poly: np.ndarray, feather: float = 0.0, size: tuple[int, int] = CANON_SIZE) -> np.ndarray:
    """Filled polygon ((N, 2) pixels) as a (h, w) float32 mask in [0, 1], optionally feathered by
    a Gaussian of sigma ``feather`` pixels."""
    w, h = size
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    if feather > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return mask


def lip_ring_mean(image: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray | None:
    """Mean RGB (3,) float64 of ``image`` between the outer and inner lip polygons ((20, 2)
    pixels in ``image``), or None when that ring has under 10 pixels."""
    h, w = image.shape[:2]
    ring = polygon_mask(outer, size=(w, h)) - polygon_mask(inner, size=(w, h))
    sel = ring > 0.5
    if int(sel.sum()) < 10:
        return None
    return image[sel].reshape(-1, 3).astype(np.float64).mean(0)


@dataclass
class MouthInteriorModel:
    """The trained interior model (see the module docstring and ``docs/photo.md``).

    Attributes:
        bin_edges: (B + 1,) float32 opening-ratio bin edges (gap / inner mouth width).
        means: (B, H, W, 3) float32 mean appearance per bin, lighting-normalized (lip ring
            luminance = 128).
        polygons: (B, 20, 2) float32 mean inner-lip polygon per bin, canonical pixels.
        counts: (B,) training frames per bin.
        components: (K, H, W, 3) float32 PCA components of the residuals; ``stddev`` (K,).
        ring_mean: (3,) float32 mean normalized lip-ring colour of the training data.
        sources: training videos and their frame counts.
    """

    bin_edges: np.ndarray
    means: np.ndarray
    polygons: np.ndarray
    counts: np.ndarray
    components: np.ndarray
    stddev: np.ndarray
    ring_mean: np.ndarray
    sources: list[str]

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> "MouthInteriorModel":
        """Read the model file.

        Raises:
            BackendError: the file is missing or unreadable (retrain with
                ``scripts/train_mouth_model.py``).
        """
        try:
            with np.load(path) as z:
                return cls(bin_edges=z["bin_edges"].astype(np.float32), means=z["means"].astype(np.float32),
                           polygons=z["polygons"].astype(np.float32), counts=z["counts"],
                           components=z["components"].astype(np.float32), stddev=z["stddev"],
                           ring_mean=z["ring_mean"].astype(np.float32), sources=[str(s) for s in z["sources"]])
        except (OSError, KeyError, ValueError) as e:
            raise BackendError(f"the mouth-interior model {path} is missing or damaged ({e}); reinstall "
                               "twintake or run scripts/train_mouth_model.py") from e

    def appearance(self, ratio: float, variation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Appearance and mean polygon for an opening ratio.

        Args:
            ratio: gap / inner mouth width (dimensionless).
            variation: optional (K,) PCA coefficients in standard deviations.
        Returns:
            ((H, W, 3) float32 normalized appearance, (20, 2) float32 canonical polygon),
            linearly interpolated between the two nearest bin centres.
        """
        centres = 0.5 * (self.bin_edges[:-1] + self.bin_edges[1:])
        r = float(np.clip(ratio, centres[0], centres[-1]))
        j = int(np.clip(np.searchsorted(centres, r) - 1, 0, len(centres) - 2))
        t = (r - centres[j]) / max(float(centres[j + 1] - centres[j]), 1e-6)
        app = (1 - t) * self.means[j] + t * self.means[j + 1]
        poly = (1 - t) * self.polygons[j] + t * self.polygons[j + 1]
        if variation is not None and len(variation):
            k = min(len(variation), len(self.components))
            app = app + np.tensordot(np.asarray(variation[:k]) * self.stddev[:k], self.components[:k], 1)
        return app.astype(np.float32), poly.astype(np.float32)

    def paint(self, image: np.ndarray, inner: np.ndarray, lip_colour: np.ndarray,
              strength: float = 1.0) -> np.ndarray:
        """Paint the synthesized interior into the target inner-lip polygon of ``image``.

        Args:
            image: (H, W, 3) uint8 RGB, modified in place and returned.
            inner: (20, 2) target inner-lip polygon in ``image`` pixels (mesh order of
                :data:`twintake.face.landmarks.LIPS_INNER`).
            lip_colour: (3,) mean RGB of the photo's lip ring (for colour matching).
            strength: 0..1 opacity.
        Returns:
            ``image``.
        """
        inner = np.asarray(inner, np.float64)
        width = float(np.linalg.norm(inner[10] - inner[0]))
        gap = float(np.linalg.norm(inner[15] - inner[5]))
        if width < 4 or gap < 0.6 or strength <= 0:
            return image
        app, bpoly = self.appearance(gap / width)
        m = canonical_transform(inner[0], inner[10])
        tpoly = inner @ m[:, :2].T + m[:, 2]
        # affine bin polygon -> target polygon (canonical), then canonical -> image
        a = np.hstack([bpoly.astype(np.float64), np.ones((20, 1))])
        sol, *_ = np.linalg.lstsq(a, tpoly, rcond=None)
        fit = np.vstack([sol.T, [0, 0, 1]])
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
        total = (inv @ fit)[:2]
        # colour: per-channel gain half-way to a luminance gain
        lip = np.asarray(lip_colour, np.float64)
        g_ch = lip / np.maximum(self.ring_mean, 1.0)
        g_l = float(lip @ _LUMA) / max(float(self.ring_mean @ _LUMA), 1.0)
        gain = np.clip(0.4 * g_ch + 0.6 * g_l, 0.3, 1.8).astype(np.float32)
        h, w = image.shape[:2]
        x0, y0 = np.floor(inner.min(0) - 3).astype(int)
        x1, y1 = np.ceil(inner.max(0) + 4).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return image
        total[:, 2] -= [x0, y0]
        roi_size = (x1 - x0, y1 - y0)
        tex = cv2.warpAffine(app * gain, total, roi_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        feather = max(0.5, 0.025 * width)
        shrink = inner.copy()
        c = inner.mean(0)
        # pull the polygon slightly inwards so the lip edge of the photo stays crisp
        shrink = c + (shrink - c) * np.array([1.0, max(0.0, 1.0 - 1.2 * feather / max(gap, 1e-6))])
        mask = polygon_mask(shrink - [x0, y0], feather=feather, size=roi_size) * float(strength)
        roi = image[y0:y1, x0:x1].astype(np.float32)
        out = roi + mask[..., None] * (tex - roi)
        image[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return image


@lru_cache(maxsize=1)
def load_model() -> MouthInteriorModel:
    """The packaged model (cached)."""
    return MouthInteriorModel.load(MODEL_PATH)
