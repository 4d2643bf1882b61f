"""How a photo looks, measured for painting inside its mouth: skin colour, eye whites, sharpness
and the photo's own teeth."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...face import landmarks as L

__all__ = ["LUMA", "SKIN_POINTS", "EYE_LOOPS", "PhotoLook", "polygon_mask", "skin_rgb", "sclera_luma",
           "blur_sigma_px", "photo_teeth_rgb", "colourfulness"]

LUMA = np.array([0.299, 0.587, 0.114])
#: Skin reference points: upper and mid cheeks (rarely covered by beards or shadows).
SKIN_POINTS = np.array([50, 280, 101, 330, 36, 266, 118, 347])
#: Eye openings (right, left): lid contours as closed loops.
EYE_LOOPS = (np.array([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7]),
             np.array([263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249]))


def polygon_mask(poly: np.ndarray, size: tuple[int, int], feather: float = 0.0) -> np.ndarray:
    """Filled polygon ((N, 2) pixels, anti-aliased) as a (h, w) float32 mask in [0, 1] for an
    image of ``size`` (w, h), optionally feathered by a Gaussian of sigma ``feather`` pixels."""
    w, h = size
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [np.round(np.asarray(poly) * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    if feather > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return mask


def skin_rgb(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Skin colour (3,) float64 RGB of a face: per-channel median of small disks (radius 3 % of
    the face width) around the cheek points :data:`SKIN_POINTS`.

    Args:
        image: (H, W, 3) uint8 RGB; landmarks: (478, >=2) pixels.
    """
    lm = np.asarray(landmarks, np.float64)[:, :2]
    h, w = image.shape[:2]
    r = max(1, int(round(0.03 * float(np.linalg.norm(lm[454] - lm[234])))))
    mask = np.zeros((h, w), np.uint8)
    for p in lm[SKIN_POINTS]:
        cv2.circle(mask, (int(round(p[0])), int(round(p[1]))), r, 1, -1)
    px = image[mask > 0]
    if len(px) == 0:
        c = np.clip(np.round(lm[SKIN_POINTS]).astype(int), 0, [w - 1, h - 1])
        px = image[c[:, 1], c[:, 0]]
    return np.median(px.reshape(-1, 3).astype(np.float64), axis=0)


def sclera_luma(image: np.ndarray, landmarks: np.ndarray) -> float | None:
    """Luminance (0-255) of the eye whites: 85th percentile inside both eye openings, or None
    when the openings have under 12 pixels (closed or tiny eyes).

    Args:
        image: (H, W, 3) uint8 RGB; landmarks: (478, >=2) pixels.
    """
    lm = np.asarray(landmarks, np.float64)[:, :2]
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for loop in EYE_LOOPS:
        mask = np.maximum(mask, polygon_mask(lm[loop], (w, h)))
    sel = mask > 0.99
    if int(sel.sum()) < 12:
        return None
    return float(np.percentile(image[sel].reshape(-1, 3).astype(np.float64) @ LUMA, 85))


def blur_sigma_px(image: np.ndarray, mask: np.ndarray | None = None, sigma0: float = 1.0) -> float:
    """Gaussian blur (sigma, pixels) of an image's edges by the re-blur gradient ratio (Zhuo &
    Sim 2011): at an edge blurred by sigma, ``R = |grad I| / |grad (I * G(sigma0))|`` equals
    ``sqrt(sigma^2 + sigma0^2) / sigma``, so ``sigma = sigma0 / sqrt(R^2 - 1)``; the median over
    the strongest Canny edge pixels.

    Args:
        image: (H, W, 3) uint8 RGB or (H, W) uint8 gray.
        mask: optional (H, W) region where edges count (nonzero = inside).
        sigma0: re-blur sigma, pixels.
    Returns:
        sigma in pixels, clipped to [0.3, 8]; 1.0 when the region has too few edges.
    """
    g = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    f = g.astype(np.float32)
    fr = cv2.GaussianBlur(f, (0, 0), sigma0)

    def grad(x):
        return np.hypot(cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=1), cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=1))

    m, mr = grad(f), grad(fr)
    med = float(np.median(g))
    edges = cv2.Canny(g, int(max(10, 0.5 * med)), int(max(20, 1.0 * med))) > 0
    if mask is not None:
        edges &= mask > 0
    if int(edges.sum()) < 20:
        return 1.0
    strong = edges & (m >= np.percentile(m[edges], 60))
    ratio = m[strong] / np.maximum(mr[strong], 1e-6)
    ratio = ratio[ratio > 1.001]
    if len(ratio) < 10:
        return 0.3
    sig = sigma0 / np.sqrt(ratio**2 - 1.0)
    return float(np.clip(np.median(sig), 0.3, 8.0))


@dataclass
class PhotoLook:
    """How a photo is lit and how sharp it is, for matching the synthesized interior.

    Attributes:
        skin: (3,) float64 RGB skin colour (:func:`skin_rgb`).
        white_luma: eye-white luminance 0-255 (:func:`sclera_luma`) or None.
        blur_px: edge blur sigma of the face, pixels of the image the interior is painted into.
        teeth: (3,) RGB of teeth the photo itself shows (:func:`photo_teeth_rgb`), or None.
        chroma_k: :func:`colourfulness` (0 greyscale or toned .. 1 colour), for :meth:`grade`.
    """

    skin: np.ndarray
    white_luma: float | None
    blur_px: float
    teeth: np.ndarray | None = None
    chroma_k: float = 1.0

    def grade(self, tex: np.ndarray, ref_rgb: np.ndarray) -> np.ndarray:
        """Colour-grade a synthesized interior to the photo (Lab space; Reinhard et al., "Color
        transfer between images", IEEE CG&A 21(5), 2001, in its chroma-offset form): the
        lightness stays, the chroma becomes the photo's skin chroma plus ``chroma_k`` times the
        texture's chroma offset from ``ref_rgb`` (the model's skin under the same gain). A
        greyscale photo (``chroma_k`` 0, grey skin) gets a grey mouth, a sepia one a sepia
        mouth, a colour photo the model's colours around its own skin tone.

        Args:
            tex: (h, w, 3) float32 RGB 0-255; ref_rgb: (3,) RGB 0-255.
        Returns:
            (h, w, 3) float32 RGB 0-255.
        """
        lab = cv2.cvtColor(np.clip(tex / 255.0, 0, 1).astype(np.float32), cv2.COLOR_RGB2LAB)
        ref = _lab(ref_rgb)
        skin = _lab(self.skin)
        if self.chroma_k < 0.05 and float(np.hypot(skin[1], skin[2])) < 1.5:
            # a greyscale photo: exactly grey (no rounding tint from the Lab round trip)
            g = cv2.cvtColor(np.stack([lab[..., 0], np.zeros_like(lab[..., 0]), np.zeros_like(lab[..., 0])], -1),
                             cv2.COLOR_LAB2RGB)[..., 1:2] * 255.0
            return np.repeat(g, 3, axis=-1)
        lab[..., 1:] = skin[1:] + float(self.chroma_k) * (lab[..., 1:] - ref[1:])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255.0

    @classmethod
    def measure(cls, image: np.ndarray, landmarks: np.ndarray) -> "PhotoLook":
        """Measure ``image`` ((H, W, 3) uint8 RGB) around its face ((478, >=2) landmarks,
        pixels); blur from the edges inside the face oval (eyes, brows, nose, lips)."""
        lm = np.asarray(landmarks, np.float64)[:, :2]
        h, w = image.shape[:2]
        face = polygon_mask(lm[L.FACE_OVAL], (w, h))
        face = cv2.erode((face > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8))
        skin = skin_rgb(image, lm)
        return cls(skin=skin, white_luma=sclera_luma(image, lm), blur_px=blur_sigma_px(image, face),
                   teeth=photo_teeth_rgb(image, lm[L.LIPS_INNER], float(skin @ LUMA)),
                   chroma_k=colourfulness(image, lm, skin))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(3,) float32 Lab (L 0-100) of one RGB colour 0-255."""
    px = np.clip(np.asarray(rgb, np.float32).reshape(1, 1, 3) / 255.0, 0, 1)
    return cv2.cvtColor(px, cv2.COLOR_RGB2LAB).reshape(3)


#: Real faces' lips-to-skin chroma distance across the skin's hue (Lab a*b*), about the median
#: over the 9 real shared videos (21.6 in full; 0.8 of it across the hue).
LIP_SKIN_CHROMA_REF = 17.0
#: Chroma-weighted hue spread (circular std, radians) of a fully colourful photo.
HUE_SPREAD_REF = 0.6


def colourfulness(image: np.ndarray, landmarks: np.ndarray, skin: np.ndarray) -> float:
    """How much colour a photo has, 0 (greyscale, or one tone: sepia) .. 1 (a colour photo).

    The larger of (a) the lips' chroma distance from the skin across the skin's hue (Lab a*b*;
    lips between the outer and inner lip contour) over :data:`LIP_SKIN_CHROMA_REF` and (b) the chroma-weighted
    circular standard deviation of hue over the image's pixels with chroma > 4 over
    :data:`HUE_SPREAD_REF` (a toned photo has one hue, a colour photo many); clipped to [0, 1].

    Args:
        image: (H, W, 3) uint8 RGB; landmarks: (478, >=2) pixels; skin: (3,) RGB.
    """
    lm = np.asarray(landmarks, np.float64)[:, :2]
    h, w = image.shape[:2]
    ring = (polygon_mask(lm[L.LIPS_OUTER], (w, h)) > 0.99) & ~(polygon_mask(lm[L.LIPS_INNER], (w, h)) > 0.01)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    ab = (lab[..., 1:] - 128.0)  # 8-bit Lab: a, b offset by 128 (scale ~1)
    k_lip = 0.0
    if int(ring.sum()) >= 10:
        sk = _lab(skin)[1:].astype(np.float64)
        d = np.median(ab[ring], 0) - sk
        # only the part across the skin's hue: a toned photo's lips differ from its skin in
        # chroma *along* its one hue (sepia chroma grows with lightness)
        u = sk / max(float(np.linalg.norm(sk)), 1e-6) if np.linalg.norm(sk) > 2.0 else None
        perp = abs(float(d[0] * u[1] - d[1] * u[0])) if u is not None else float(np.linalg.norm(d))
        k_lip = perp / LIP_SKIN_CHROMA_REF
    flat = ab[::2, ::2].reshape(-1, 2).astype(np.float64)
    c = np.linalg.norm(flat, axis=1)
    sel = c > 4.0
    k_hue = 0.0
    if int(sel.sum()) >= 50:
        ang = np.arctan2(flat[sel, 1], flat[sel, 0])
        wgt = c[sel]
        r = float(np.hypot((wgt * np.cos(ang)).sum(), (wgt * np.sin(ang)).sum()) / wgt.sum())
        k_hue = float(np.sqrt(-2.0 * np.log(max(r, 1e-9)))) / HUE_SPREAD_REF
    return float(np.clip(max(k_lip, k_hue), 0.0, 1.0))


def photo_teeth_rgb(image: np.ndarray, inner: np.ndarray, skin_luma: float) -> np.ndarray | None:
    """Colour (3,) float64 RGB of teeth the photo itself shows, or None.

    Inside the photo's inner-lip polygon ((20, 2) pixels), pixels brighter than 80 % of the
    skin luminance and not red (green over red >= 0.78; lips are 0.5-0.75) are teeth; with at
    least 15 of them and 1 % of the squared mouth width, their colour is the mean of those
    between the 70th and 90th luminance percentile."""
    h, w = image.shape[:2]
    sel = polygon_mask(inner, (w, h)) > 0.99
    need = max(15.0, 0.01 * float(np.sum((np.asarray(inner[10]) - np.asarray(inner[0])) ** 2)))
    if int(sel.sum()) < need:
        return None
    px = image[sel].reshape(-1, 3).astype(np.float64)
    luma = px @ LUMA
    ok = (luma > 0.8 * skin_luma) & (px[:, 1] >= 0.78 * px[:, 0])
    if int(ok.sum()) < need:
        return None
    lt = luma[ok]
    lo, hi = np.percentile(lt, [70, 90])
    band = (lt >= lo) & (lt <= hi)
    return px[ok][band].mean(0)
