"""How a photo looks, measured for painting inside its mouth: skin colour, eye whites, sharpness
and the photo's own teeth."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...face import landmarks as L

__all__ = ["LUMA", "SKIN_POINTS", "EYE_LOOPS", "PhotoLook", "polygon_mask", "skin_rgb", "sclera_luma",
           "blur_sigma_px", "photo_teeth_rgb"]

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
    """

    skin: np.ndarray
    white_luma: float | None
    blur_px: float
    teeth: np.ndarray | None = None

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
                   teeth=photo_teeth_rgb(image, lm[L.LIPS_INNER], float(skin @ LUMA)))


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
