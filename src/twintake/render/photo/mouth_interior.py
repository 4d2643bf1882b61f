"""Mouth-interior appearance model: teeth, tongue and the dark oral cavity for a photo whose
mouth is closed.

A photo shows no mouth interior, so when a photo avatar opens its mouth the inside is
synthesized. The model (trained by ``scripts/train_mouth_model.py`` on the shared talking
videos, see ``docs/photo.md``) is *lip-aligned and layered*, because that is how the inside of
a mouth moves: the upper teeth hang from the upper lip (skull), the lower teeth and the tongue
rise from the lower lip (jaw), the cavity lies between.

* **Lip frame** (:class:`LipFrame`): ``u`` in [0, 1] runs along the mouth from inner corner 78
  to inner corner 308; distances across the mouth are in inner-mouth widths ``W``.
* **Upper layer** ``upper[s, u]``: the appearance at distance ``s`` *below the upper inner lip*;
  **lower layer** ``lower[s, u]``: at distance ``s`` *above the lower inner lip*; both for
  ``s`` in ``[0, S_MAX]`` (:data:`LAYER_S_MAX`) on a :data:`LAYER_SIZE` grid. A pixel of an
  open target mouth takes the upper layer down to 70 % of the gap and the lower layer below
  (smooth hand-over), so a wide opening shows the upper teeth band, the dark cavity, then a
  hint of tongue and lower lip, and a slight opening shows only the teeth edges.
* The **upper layer comes from one real, sharp, wide-open exemplar frame**, chosen
  automatically among the training frames (teeth contrast / edge blur; exemplar-based like the
  mouth-interior transfer of Averbuch-Elor et al., "Bringing portraits to life", ACM TOG
  36(6), 2017): an average of many mouths has blurry teeth with no separations. Its
  brightness is calibrated to the *median* teeth-to-skin luminance ratio of all training
  videos. The **lower layer is the mean** of many wide openings (soft by nature; a single
  exemplar's lower teeth look like dentures).

At render time (:meth:`MouthInteriorModel.paint`) the layers are mapped into the target
inner-lip polygon, lit like the photo (:class:`PhotoLook`: the photo's own teeth when it shows
some, else teeth brightness from the photo's skin and eye-white luminance through trained
ratios with half of the skin tint in log terms) and blurred or sharpened to the photo's own
sharpness (re-blur gradient-ratio blur estimate, Zhuo & Sim, "Defocus map estimation from a
single image", Pattern Recognition 44(9), 2011).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ...errors import BackendError
from .teeth import lower_teeth_layer
from .look import LUMA, PhotoLook, blur_sigma_px, photo_teeth_rgb, polygon_mask, sclera_luma, skin_rgb

__all__ = ["LAYER_SIZE", "LAYER_S_MAX", "LipFrame", "PhotoLook", "MouthInteriorModel", "polygon_mask",
           "PhotoMouth", "skin_rgb", "sclera_luma", "photo_teeth_rgb", "blur_sigma_px", "load_model", "MODEL_PATH",
           "MODEL_VERSION", "LUMA"]

#: Layer grid (width = samples along the mouth, height = rows across it).
LAYER_SIZE = (128, 48)
#: The layers' rows cover distances 0 .. LAYER_S_MAX inner-mouth widths from their lip.
LAYER_S_MAX = 0.36
#: Where the packaged model lives.
MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "mouth_interior.npz"
#: File format version written by ``scripts/train_mouth_model.py``.
MODEL_VERSION = 2
#: Where across the gap (0 = upper lip, 1 = lower lip) the upper layer hands over to the lower.
_SPLIT = 0.7
#: :class:`PhotoMouth`: brightness of the extra opening just below the photo's upper teeth
#: (their shade), relative to the model's lower layer, and the fraction of the extra opening
#: over which it reaches full brightness.
_SHADE_TOP = 0.12
_SHADE_REACH = 1.0
# inner-lip chains of LIPS_INNER order (corner 78 = 0, corner 308 = 10)
_UPPER_CHAIN = np.arange(0, 11)
_LOWER_CHAIN = np.r_[0, np.arange(19, 10, -1), 10]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class LipFrame:
    """Coordinates of a mouth: ``u`` along it (0 at inner corner 78, 1 at 308), ``y`` across
    it (down), both in inner-mouth widths from corner 78.

    Attributes:
        origin: (2,) float64 pixels of corner 78; ``right``, ``down``: (2,) unit vectors.
        width_px: inner-mouth width ``W`` (corner to corner), pixels.
        u_upper, y_upper: (11,) sorted ``u`` and ``y`` of the upper inner lip (corner to corner);
        u_lower, y_lower: the same for the lower inner lip.
    """

    origin: np.ndarray
    right: np.ndarray
    down: np.ndarray
    width_px: float
    u_upper: np.ndarray
    y_upper: np.ndarray
    u_lower: np.ndarray
    y_lower: np.ndarray

    @classmethod
    def from_inner(cls, inner: np.ndarray) -> "LipFrame":
        """From the (20, 2) inner-lip contour in pixels (:data:`twintake.face.landmarks.LIPS_INNER`
        order).

        Raises:
            ValueError: the two corners coincide.
        """
        inner = np.asarray(inner, np.float64)
        c0, c1 = inner[0], inner[10]
        w = float(np.linalg.norm(c1 - c0))
        if w < 1e-6:
            raise ValueError("mouth corners coincide")
        r = (c1 - c0) / w
        d = np.array([-r[1], r[0]])
        rel = inner - c0
        u, y = rel @ r / w, rel @ d / w
        ou, ol = np.argsort(u[_UPPER_CHAIN]), np.argsort(u[_LOWER_CHAIN])
        return cls(origin=c0, right=r, down=d, width_px=w,
                   u_upper=u[_UPPER_CHAIN][ou], y_upper=y[_UPPER_CHAIN][ou],
                   u_lower=u[_LOWER_CHAIN][ol], y_lower=y[_LOWER_CHAIN][ol])

    def lips_at(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``y`` of the upper and lower inner lip at ``u`` (any shape), inner-mouth widths."""
        return np.interp(u, self.u_upper, self.y_upper), np.interp(u, self.u_lower, self.y_lower)

    def to_pixels(self, u: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) float64 of lip-frame coordinates ``u``, ``y`` (same shape)."""
        w = self.width_px
        return self.origin + (np.asarray(u) * w)[..., None] * self.right + (np.asarray(y) * w)[..., None] * self.down

    def from_pixels(self, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``u``, ``y`` of pixels ``px`` (..., 2)."""
        rel = np.asarray(px, np.float64) - self.origin
        return rel @ self.right / self.width_px, rel @ self.down / self.width_px

    def layer_maps(self, lower: bool) -> tuple[np.ndarray, np.ndarray]:
        """Pixel maps (LAYER_SIZE[1], LAYER_SIZE[0]) float32 x and y sampling this mouth onto
        the upper (``lower=False``) or lower layer grid (for training)."""
        nu, ns = LAYER_SIZE
        us = (np.arange(nu) + 0.5) / nu
        ss = (np.arange(ns) + 0.5) / ns * LAYER_S_MAX
        yu, yl = self.lips_at(us)
        y = yl[None, :] - ss[:, None] if lower else yu[None, :] + ss[:, None]
        p = self.to_pixels(np.broadcast_to(us, y.shape), y)
        return p[..., 0].astype(np.float32), p[..., 1].astype(np.float32)


@dataclass
class MouthInteriorModel:
    """The trained interior model (see the module docstring and ``docs/photo.md``).

    Attributes:
        upper: (LAYER_SIZE[1], LAYER_SIZE[0], 3) float32 RGB below the upper inner lip, row
            ``k`` at ``s = (k + 0.5) / rows * LAYER_S_MAX`` widths; skin-normalized (the
            exemplar's skin colour is ``skin``).
        lower: the same above the lower inner lip.
        skin: (3,) float32 skin RGB of the exemplar, normalized to luminance 128.
        teeth_luma: 95th-percentile luminance of the upper teeth band in the same units
            (= 128 x the training median of teeth / skin luminance).
        teeth_per_white: training median of teeth / eye-white luminance.
        blur_w: the exemplar's edge blur sigma in inner-mouth widths.
        exemplar: "video:frame" the layers come from; ``sources``: training videos and counts.
        width_iod: the exemplar's inner-mouth width over its inter-ocular distance (0 in files
            written before it was stored: no size adaptation).
        open_pct: (4,) float32 50th, 90th, 95th, 99th percentile of the inner-lip opening
            (gap 13-14 over inner width 78-308) over every frame of the *real* training videos
            (speech), or None in older files.
        cavity_pct: (3,) float32 10th, 50th, 90th percentile over the real videos' frames
            opened >= 0.25 widths of the mean luminance of the middle of the mouth (``u``
            0.3-0.7, 0.4-0.8 of the gap) over the skin luminance, or None in older files.
    """

    upper: np.ndarray
    lower: np.ndarray
    skin: np.ndarray
    teeth_luma: float
    teeth_per_white: float
    blur_w: float
    exemplar: str
    sources: list[str]
    width_iod: float = 0.0
    open_pct: np.ndarray | None = None
    cavity_pct: np.ndarray | None = None

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> "MouthInteriorModel":
        """Read the model file.

        Raises:
            BackendError: the file is missing, damaged or of another format version (retrain
                with ``scripts/train_mouth_model.py``).
        """
        try:
            with np.load(path) as z:
                if int(z["version"]) != MODEL_VERSION:
                    raise ValueError(f"format version {int(z['version'])}, expected {MODEL_VERSION}")
                m = cls(upper=z["upper"].astype(np.float32), lower=z["lower"].astype(np.float32),
                        skin=z["skin"].astype(np.float32), teeth_luma=float(z["teeth_luma"]),
                        teeth_per_white=float(z["teeth_per_white"]),
                        blur_w=float(z["blur_w"]), exemplar=str(z["exemplar"]),
                        width_iod=float(z["width_iod"]) if "width_iod" in z.files else 0.0,
                        open_pct=z["open_pct"].astype(np.float32) if "open_pct" in z.files else None,
                        cavity_pct=z["cavity_pct"].astype(np.float32) if "cavity_pct" in z.files else None,
                        sources=[str(s) for s in z["sources"]])
        except (OSError, KeyError, ValueError) as e:
            raise BackendError(f"the mouth-interior model {path} is missing or damaged ({e}); reinstall "
                               "twintake or run scripts/train_mouth_model.py") from e
        if m.upper.shape != (LAYER_SIZE[1], LAYER_SIZE[0], 3) or m.lower.shape != m.upper.shape:
            raise BackendError(f"the mouth-interior model {path} has layers of shape {m.upper.shape}, expected "
                               f"{(LAYER_SIZE[1], LAYER_SIZE[0], 3)}: run scripts/train_mouth_model.py")
        return m

    def colour_gain(self, look: PhotoLook) -> np.ndarray:
        """(3,) float32 gain taking the normalized layers to the photo's lighting.

        When the photo shows its own teeth (``look.teeth``), the gain maps the model's teeth
        colour onto them. Otherwise the teeth band's luminance comes from the training priors:
        ``teeth_luma / 128`` times the photo's skin luminance, and, when the eye whites were
        measured, the geometric mean of that and ``teeth_per_white`` times the eye-white
        luminance (skin alone would give grey teeth on dark skin, eye whites alone are noisy
        on small eyes). The colour takes the square root of the photo's skin tint relative to
        the exemplar's, so the teeth follow the white balance without taking the skin's
        colour."""
        if look.teeth is not None:
            # the photo shows its own teeth: match them (colour and brightness)
            teeth = np.asarray(look.teeth, np.float64)
            return np.clip(teeth / np.maximum(self.teeth_rgb, 1.0), 0.1, 4.0).astype(np.float32)
        skin = np.asarray(look.skin, np.float64)
        skin_l = max(float(skin @ LUMA), 1.0)
        model_l = max(float(self.skin @ LUMA), 1.0)
        target = self.teeth_luma * skin_l / model_l
        if look.white_luma is not None and look.white_luma > 0:
            target = float(np.sqrt(target * self.teeth_per_white * look.white_luma))
        tint = (skin / skin_l) / (self.skin / model_l)
        tint = np.sqrt(np.clip(tint, 0.5, 2.0))
        gain = target / max(self.teeth_luma, 1.0) * tint / max(float(tint @ LUMA), 1e-6)
        return np.clip(gain, 0.1, 4.0).astype(np.float32)

    @property
    def teeth_rgb(self) -> np.ndarray:
        """(3,) float64 colour of the model's upper teeth band (as :func:`photo_teeth_rgb`
        measures a photo's: pixels of the band's middle between the 70th and 90th luminance
        percentile)."""
        rows = (np.arange(LAYER_SIZE[1]) + 0.5) / LAYER_SIZE[1] * LAYER_S_MAX
        band = self.upper[rows < 0.1, int(0.3 * LAYER_SIZE[0]):int(0.7 * LAYER_SIZE[0])].reshape(-1, 3)
        luma = band.astype(np.float64) @ LUMA
        lo, hi = np.percentile(luma, [70, 90])
        return band[(luma >= lo) & (luma <= hi)].astype(np.float64).mean(0)

    def paint(self, image: np.ndarray, inner: np.ndarray, look: PhotoLook, strength: float = 1.0,
              iod_px: float | None = None) -> np.ndarray:
        """Paint the interior into the target inner-lip polygon of ``image``.

        Teeth keep a face-proportional size: with ``iod_px`` (the face's inter-ocular distance,
        ``image`` pixels) the layers are scaled about the middle of the upper lip by
        ``k = W / (width_iod * iod_px)`` (clipped to 0.75-1.33), so a mouth wider than the
        exemplar's (relative to the eyes) shows more, smaller-looking teeth and a narrow one
        fewer, larger ones, instead of every mouth showing the same set stretched to its width.

        Args:
            image: (H, W, 3) uint8 RGB, modified in place and returned.
            inner: (20, 2) target inner-lip polygon in ``image`` pixels (mesh order of
                :data:`twintake.face.landmarks.LIPS_INNER`).
            look: the photo's lighting and sharpness (:meth:`PhotoLook.measure` on ``image``'s
                scale).
            strength: 0..1 opacity.
            iod_px: inter-ocular distance in ``image`` pixels, or None (no size adaptation).
        Returns:
            ``image``.
        """
        inner = np.asarray(inner, np.float64)
        region = _lip_region(image, inner, strength)
        if region is None:
            return image
        fr, (x0, y0, x1, y1), u, y = region
        w_px = fr.width_px
        k_size = 1.0
        if iod_px and self.width_iod > 0:
            k_size = float(np.clip(w_px / (self.width_iod * iod_px), 0.75, 1.33))
        yu, yl = fr.lips_at(np.clip(u, 0.0, 1.0))
        s_up, s_lo = y - yu, yl - y
        nu, ns = LAYER_SIZE
        mx = ((0.5 + (np.clip(u, 0.0, 1.0) - 0.5) * k_size) * nu - 0.5).astype(np.float32)
        k = ns / LAYER_S_MAX * k_size
        up = cv2.remap(self.upper, mx, (np.maximum(s_up, 0) * k - 0.5).astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        lo = cv2.remap(self.lower, mx, (np.maximum(s_lo, 0) * k - 0.5).astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        t = s_up / np.maximum(yl - yu, 1e-6)
        a = (1.0 - _smoothstep((t - _SPLIT + 0.12) / 0.24))[..., None].astype(np.float32)
        gain = self.colour_gain(look)
        tex = look.grade((a * up + (1 - a) * lo) * gain, self.skin * gain)
        # lower teeth standing on the lower lip, showing as the jaw opens
        teeth = look.grade((self.teeth_rgb * gain).astype(np.float32).reshape(1, 1, 3), self.skin * gain).reshape(3)
        lt, la = lower_teeth_layer(u, s_lo, yl - yu, w_px, teeth)
        tex = tex + la[..., None] * (lt - tex)
        tex = self._match_sharpness(tex, w_px / k_size, look.blur_px)
        return _blend_inside_lips(image, tex, fr, inner, w_px, (x0, y0, x1, y1), strength)

    def _match_sharpness(self, tex: np.ndarray, width_px: float, photo_blur_px: float) -> np.ndarray:
        """Blur or sharpen the rendered interior ``tex`` (h, w, 3) float32 so its edge blur
        matches ``photo_blur_px``: the texture's own blur at this size is the exemplar's
        (``blur_w * width_px``) combined with the bilinear resampling of upscaled texels
        (~0.35 texel). Too sharp: Gaussian blur by the missing sigma; too soft: unsharp mask
        of sigma ``s_tex`` with amount ``(s_tex^2 - s_photo^2) / s_tex^2`` (the first-order
        inverse of the excess Gaussian blur)."""
        texel = width_px / LAYER_SIZE[0]
        s_tex = float(np.hypot(self.blur_w * width_px, 0.35 * texel if texel > 1 else 0.0))
        s_photo = float(photo_blur_px)
        if s_photo > s_tex * 1.05:
            return cv2.GaussianBlur(tex, (0, 0), float(np.sqrt(s_photo**2 - s_tex**2)))
        if s_tex > s_photo * 1.05:
            amount = (s_tex**2 - s_photo**2) / s_tex**2
            return tex + amount * (tex - cv2.GaussianBlur(tex, (0, 0), s_tex))
        return tex


class PhotoMouth:
    """The photo's *own* mouth interior (teeth of an open smile), re-laid into a moving mouth.

    A photo that shows its teeth keeps them: the band below its upper inner lip (upper teeth)
    hangs from the target upper lip, the band above its lower inner lip (lower teeth, tongue)
    rises with the target lower lip, both at the photo's own pixel scale, and where the target
    opens wider than the photo the middle is the model's lower layer at its distance above the
    target lower lip (tongue, lower teeth), lit like the photo's skin and shaded by the upper
    teeth (:data:`_SHADE_TOP` of its brightness just below them): a dark but lit interior, as
    in real open mouths (mean 0.32-0.92 x skin on the training videos), not a black hole. The
    split between the two bands
    is the darkest line across the photo's opening (where the upper incisal edges meet the lower
    teeth or the cavity), found per column in the middle of the mouth; 0.65 of the gap when
    there is none. At the photo's own lips the result is the photo's own mouth; closed to
    under 30 % of the photo's gap it fades to the seam of closed lips (the photo's lower-lip
    colour, darkened).

    Args:
        image: (H, W, 3) uint8 RGB working crop the photo's landmarks refer to.
        inner: (20, 2) float64 the photo's inner-lip contour (pixels, LIPS_INNER order).
        model: the generic model (its lower layer fills the middle of a wider opening).
        look: the photo's lighting (:meth:`PhotoLook.measure` on ``image``).
    Raises:
        ValueError: the mouth corners coincide.
    """

    def __init__(self, image: np.ndarray, inner: np.ndarray, model: "MouthInteriorModel", look: PhotoLook) -> None:
        self.image = image
        self.frame = LipFrame.from_inner(inner)
        # the model's lower layer (tongue, lower teeth) lit like the photo's *skin* (the layers
        # are skin-normalized): its teeth-matched gain would make a tongue as bright as teeth
        skin_only = PhotoLook(skin=look.skin, white_luma=None, blur_px=look.blur_px)
        gain = model.colour_gain(skin_only)
        # graded to the photo's colours (a greyscale photo: a grey tongue)
        self.lower = look.grade(model.lower * gain, model.skin * gain).astype(np.float32)
        # the seam of closed lips: the photo's lower lip colour (between its inner and outer
        # contour, middle of the mouth), darkened
        fr = self.frame
        us = np.linspace(0.35, 0.65, 7)
        _, yl = fr.lips_at(us)
        p = fr.to_pixels(us, yl + 0.05).astype(np.float32)
        lip = cv2.remap(image, p[:, 0][None], p[:, 1][None], cv2.INTER_LINEAR)[0].astype(np.float32)
        self.seam = 0.55 * np.median(lip, 0)
        # lower teeth in the photo's own teeth colour (or the model's, graded), a bit shaded
        own = look.teeth if look.teeth is not None else model.teeth_rgb * gain
        self.teeth = (0.92 * np.asarray(own, np.float32)).astype(np.float32)
        self.split = self._find_split()

    def _find_split(self) -> float:
        fr = self.frame
        us = np.linspace(0.3, 0.7, 9)
        ts = np.linspace(0.0, 1.0, 25)
        yu, yl = fr.lips_at(us)
        y = yu[None, :] + ts[:, None] * (yl - yu)[None, :]
        p = fr.to_pixels(np.broadcast_to(us, y.shape), y).astype(np.float32)
        prof = cv2.remap(self.image, p[..., 0], p[..., 1], cv2.INTER_LINEAR).astype(np.float64) @ LUMA
        mid = (ts >= 0.3) & (ts <= 0.85)
        splits = []
        for j in range(len(us)):
            col = prof[:, j]
            k = int(np.argmin(np.where(mid, col, np.inf)))
            if col[k] < 0.8 * float(np.median(col[(ts > 0.1) & (ts < 0.9)])):
                splits.append(ts[k])
        return float(np.median(splits)) if len(splits) >= 3 else 0.65

    def paint(self, image: np.ndarray, inner: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """Paint the photo's own interior into the target inner-lip polygon of ``image``.

        Args:
            image: (H, W, 3) uint8 RGB, modified in place and returned (same pixel scale as
                the photo crop given to the constructor).
            inner: (20, 2) target inner-lip polygon in ``image`` pixels.
            strength: 0..1 opacity.
        Returns:
            ``image``.
        """
        inner = np.asarray(inner, np.float64)
        region = _lip_region(image, inner, strength)
        if region is None:
            return image
        fr, (x0, y0, x1, y1), u, y = region
        w_px, p = fr.width_px, self.frame
        uc = np.clip(u, 0.0, 1.0)
        yu, yl = fr.lips_at(uc)
        s_up, s_lo = (y - yu) * w_px, (yl - y) * w_px  # target pixels below / above the lips
        g_t = np.maximum(yl - yu, 0.0) * w_px
        pu, pl = p.lips_at(uc)
        g0 = np.maximum(pl - pu, 0.0) * p.width_px
        g = np.minimum(g_t, g0)
        bu, bl = self.split * g, (1.0 - self.split) * g
        src_up = p.to_pixels(uc, pu + s_up / p.width_px).astype(np.float32)
        src_lo = p.to_pixels(uc, pl - s_lo / p.width_px).astype(np.float32)
        up = cv2.remap(self.image, src_up[..., 0], src_up[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        lo = cv2.remap(self.image, src_lo[..., 0], src_lo[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        tw = max(1.0, 0.025 * w_px)
        a = 1.0 - _smoothstep((s_up - bu) / tw + 0.5)
        b = (1.0 - _smoothstep((s_lo - bl) / tw + 0.5)) * (1.0 - a)
        c = np.clip(1.0 - a - b, 0.0, 1.0)
        # the middle (where the target opens wider than the photo): the model's lower layer at
        # its real distance above the target lower lip (tongue and lower teeth rising with the
        # jaw, as in the generic interior), lit like the skin, in the shade of the upper teeth
        # at the top: _SHADE_TOP of its brightness just below them, full brightness
        # _SHADE_REACH of the way down (a flat black hole looked like a scream)
        nu, ns = LAYER_SIZE
        mid = cv2.remap(self.lower, (uc * nu - 0.5).astype(np.float32),
                        (np.maximum(s_lo / w_px, 0) * ns / LAYER_S_MAX - 0.5).astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        depth = (s_up - bu) / np.maximum(g_t - g, 1.0)
        shade = _SHADE_TOP + (1.0 - _SHADE_TOP) * _smoothstep(depth / _SHADE_REACH)
        mid = mid * shade[..., None].astype(np.float32)
        tex = (a[..., None] * up.astype(np.float32) + b[..., None] * lo.astype(np.float32) + c[..., None] * mid)
        # lower teeth rising with the jaw where the target opens wider than the photo
        extra = np.clip((g_t - g) / max(1.0, 0.05 * w_px), 0.0, 1.0)
        lt, la = lower_teeth_layer(uc, s_lo / w_px, g_t / w_px, w_px, self.teeth)
        la = la * extra * (1.0 - a)
        tex = tex + la[..., None] * (lt - tex)
        # nearly closed (a bilabial closure): the lips' seam, not compressed teeth
        closed = _smoothstep((0.3 - g_t / np.maximum(g0, 1e-6)) / 0.2)[..., None]
        tex = tex + closed * (self.seam - tex)
        return _blend_inside_lips(image, tex, fr, inner, w_px, (x0, y0, x1, y1), strength)


def _lip_region(image: np.ndarray, inner: np.ndarray, strength: float):
    """The pixels a mouth interior is painted on, in lip coordinates.

    Args:
        image: (H, W, 3) uint8 frame; inner: (M, 2) float64 inner-lip polygon in its pixels.
        strength: opacity; nothing is painted at 0.
    Returns:
        ``(frame, (x0, y0, x1, y1), u, y)``: the :class:`LipFrame`, the pixel box around the
        polygon (clipped to the image), and the (y1-y0, x1-x0) lip coordinates of its pixels;
        or None when there is nothing to paint (degenerate polygon, mouth under 4 px wide,
        zero strength, box under 2 px).
    """
    try:
        fr = LipFrame.from_inner(inner)
    except ValueError:
        return None
    if fr.width_px < 4 or strength <= 0:
        return None
    h, w = image.shape[:2]
    x0, y0 = np.floor(inner.min(0) - 3).astype(int)
    x1, y1 = np.ceil(inner.max(0) + 4).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    u, y = fr.from_pixels(np.stack([px, py], -1))
    return fr, (int(x0), int(y0), int(x1), int(y1)), u, y


#: The painted interior's upper edge lies this many feathers above the target upper inner lip.
_UPPER_PUSH = 1.0


def _blend_inside_lips(image: np.ndarray, tex: np.ndarray, fr: LipFrame, inner: np.ndarray, w_px: float,
                       box: tuple[int, int, int, int], strength: float) -> np.ndarray:
    """Blend ``tex`` (the box's (h, w, 3) float32 interior texture) into ``image`` in place inside
    the inner-lip polygon ``inner`` ((M, 2) pixels, :data:`twintake.face.landmarks.LIPS_INNER`
    order), feathered by 2 % of the mouth width ``w_px``; the lower edge is pulled slightly
    towards the lip midline so the photo's lower lip edge stays crisp, the upper edge reaches
    :data:`_UPPER_PUSH` feathers above the upper lip. ``box`` = (x0, y0, x1, y1) pixels of
    ``tex`` in ``image``. Returns ``image``."""
    x0, y0, x1, y1 = box
    feather = max(0.5, 0.02 * w_px)
    uu, yy = fr.from_pixels(inner)
    yu_i, yl_i = fr.lips_at(uu)
    gap_px = float(np.max(yl_i - yu_i)) * w_px
    pull = min(0.9, feather / max(gap_px, 1e-6))
    yy = yy + pull * (0.5 * (yu_i + yl_i) - yy)
    # ... but the upper edge reaches up to the target upper lip: pulled in, the strip stretched from
    # a closed photo's lip seam showed above the teeth as a second upper lip (avg_man3)
    up = (np.arange(len(yy)) >= 1) & (np.arange(len(yy)) < len(yy) // 2)
    yy[up] = yu_i[up] - _UPPER_PUSH * feather / w_px
    shrink = fr.to_pixels(uu, yy)
    mask = polygon_mask(shrink - [x0, y0], (x1 - x0, y1 - y0), feather=feather) * float(strength)
    roi = image[y0:y1, x0:x1].astype(np.float32)
    out = roi + mask[..., None] * (tex - roi)
    image[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return image


@lru_cache(maxsize=1)
def load_model() -> MouthInteriorModel:
    """The packaged model (cached); raises :class:`BackendError` like :meth:`MouthInteriorModel.load`."""
    return MouthInteriorModel.load(MODEL_PATH)
