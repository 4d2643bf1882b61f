"""Enhancement: restore the mouth detail lost in warping and blending, without flicker.

Every rendered mouth is resampled three times (source frame -> face-aligned bank crop -> fine
TPS warp -> base pose), each time with a cubic kernel at sub-pixel offsets, so its finest texture
(lip creases, teeth edges, skin grain) comes out softer than the base frame around it. The
built-in ``detail`` enhancer puts that texture back:

1. **Detail layer.** An edge-preserving smooth of the frame's luma, the self-guided *guided
   filter* (He, Sun and Tang, "Guided Image Filtering", ECCV 2010 / TPAMI 2013), is subtracted
   from the luma; the difference is the fine detail. Because the guided filter keeps strong
   edges, the detail layer is small across them and boosting it sharpens texture without the
   halos of an unsharp mask (the "detail enhancement" use in the same paper).
2. **Gain from the selected source mouth.** The gain ``k`` is chosen so that the energy of
   the Laplacian (the focus measure of Pech-Pacheco et al., ICPR 2000, also used by ``twintake
   eval``) of the enhanced mouth equals the energy the *selected source mouth* had before it was
   warped, brought to the frame's native resolution:

       target = E(chosen bank crop) * E(base frame) / E(base frame's own bank crop)

   each E a mean squared Laplacian under the blend mask (crop coordinates for the crops, frame
   pixels for the frame). The first factor is the chosen mouth's own detail (same content as
   the output, so no content bias); the ratio is the loss of the bank's resampling and the
   crop-to-frame scale, measured on the base frame against its own crop (again the same
   content). The target is capped at the base frame's own detail under the mask (both summed
   over the window), so a mouth taken from a sharper moment is not made sharper than the face
   around it, and a mouth that is already as sharp gets ``k = 0``. Without crops (a plain
   :class:`EnhanceFrame`), the base frame's own pixels under the mask are the target.
3. **Temporally consistent.** ``k`` is solved from Laplacian statistics summed over a window of
   frames, never per frame: the last 4 s and the next 0.5 s by default, weights falling linearly
   to 0 at both ends, and it may change by at most 0.5 per second. Only the look-ahead frames
   are held back (streaming, bounded memory); the past costs six numbers per frame.
4. **Only inside the region.** The luma change ``k * weight * detail`` (bounded to
   ``max_change`` grey levels) is added to R, G and B alike (chroma untouched), weighted by the compositor's blend
   mask (``mouth``) or a feathered face mask (``face``). Pixels of weight 0 are the input's, bit
   for bit.

Modes: ``none`` (off), ``mouth`` (the blended region only), ``face`` (the same gain over the
whole face). Backends are registered by name: ``detail`` (default, above) and ``gfpgan``
(:mod:`twintake.backends.gfpgan`, a user-supplied GFPGAN checkpoint; needs the ``neural`` extra).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import BackendError
from ..face import landmarks as L
from .composite import BlendRegion

__all__ = ["ENHANCE_MODES", "DEFAULT_ENHANCE", "DetailOptions", "EnhanceFrame", "Enhancer", "DetailEnhancer",
           "check_enhance", "enhance_frame", "face_region", "guided_filter", "make_enhancer", "register_enhancer"]

#: Values of ``--enhance``.
ENHANCE_MODES = ("none", "mouth", "face")
#: The default mode (chosen from the measurements in docs/benchmarks.md).
DEFAULT_ENHANCE = "mouth"
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class DetailOptions:
    """Options of the ``detail`` enhancer.

    Attributes:
        window_s: look-ahead of the window over which the gain is estimated, seconds (the
            frames held back).
        history_s: look-back of that window, seconds.
        radius_px: guided-filter radius, pixels (the detail layer holds structures up to about
            this size).
        eps: guided-filter regularisation, squared grey levels: texture whose local standard
            deviation is well under ``sqrt(eps)`` is boosted fully, edges well over it hardly.
        max_gain: largest gain ``k`` (0 = off).
        max_rate_per_s: fastest change of ``k``, per second (a slew-rate limit on top of the
            window; the first frame starts at its window's estimate).
        cap_to_base: never aim above the detail of the base frame's own pixels under the mask
            (over the window): a mouth taken from a sharper moment is not made sharper than the
            face around it.
        max_change: largest change of a pixel, grey levels (guards against ringing on
            highlights).
    """

    window_s: float = 0.5
    history_s: float = 4.0
    radius_px: int = 1
    eps: float = 400.0
    max_gain: float = 2.0
    max_rate_per_s: float = 0.5
    cap_to_base: bool = True
    max_change: float = 24.0


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


# ------------------------------------------------------------------------------ regions


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


# ---------------------------------------------------------------------------- detail


def guided_filter(guide: np.ndarray, radius_px: int, eps: float) -> np.ndarray:
    """Self-guided filter of a grayscale image (He, Sun and Tang, ECCV 2010, Algorithm 1 with
    p = I): an edge-preserving smooth, O(1) per pixel (box filters).

    Args:
        guide: (h, w) float32 image (grey levels).
        radius_px: box radius r (window (2r+1)^2).
        eps: regularisation in squared grey levels.
    Returns:
        (h, w) float32 filtered image.
    """
    k = (2 * radius_px + 1, 2 * radius_px + 1)
    box = lambda x: cv2.boxFilter(x, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean = box(guide)
    var = box(guide * guide) - mean * mean
    a = var / (var + np.float32(eps))
    b = mean - a * mean
    return box(a) * guide + box(b)


def _lap(x: np.ndarray) -> np.ndarray:
    return cv2.Laplacian(x, cv2.CV_32F, ksize=1)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h, w) float32 luma (Rec. 601 weights), not rounded."""
    return cv2.transform(np.asarray(rgb, np.float32), _LUMA[None])


def _wsum(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """sum(w * a * b) accumulated in float64."""
    return float(np.einsum("ij,ij,ij->", w, a, b, dtype=np.float64))


def _energy(rgb: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean squared Laplacian of the luma of a (h, w, 3) uint8 image."""
    lap = _lap(_luma(rgb))
    return _wsum(weights, lap, lap) / max(float(weights.sum()), 1e-6)


@dataclass
class _Pending:
    image: np.ndarray
    region: BlendRegion | None
    detail: np.ndarray | None  # (h, w) float32 luma detail over the region box
    stats: np.ndarray | None  # (6,) float64: sum w, w*LI^2, w*LI*LD, w*LD^2, source target, base target


class DetailEnhancer:
    """The built-in ``detail`` enhancer (see the module docstring).

    Args:
        fps: frame rate of the stream (sets the window length in frames).
        options: :class:`DetailOptions`.

    Attributes:
        gains: the gain ``k`` applied to each frame so far (0 for frames left as they are).
        seconds: time spent enhancing, seconds.
    """

    name = "detail"

    def __init__(self, fps: float, options: DetailOptions | None = None) -> None:
        self.o = options or DetailOptions()
        self.window = max(1, int(round(self.o.window_s * float(fps))))
        self.history = max(1, int(round(self.o.history_s * float(fps))))
        self.fps = float(fps)
        self.gains: list[float] = []
        self.seconds = 0.0

    def _measure(self, f: EnhanceFrame) -> _Pending:
        if f.region is None or f.reference is None:
            return _Pending(f.image, None, None, None)
        x0, y0, x1, y1 = f.region.box
        luma = _luma(f.image[y0:y1, x0:x1])
        detail = luma - guided_filter(luma, self.o.radius_px, self.o.eps)
        stats = None
        # the gain is measured under the blend mask (where the new mouth is)
        b = f.blend
        if b is not None and float(b.alpha.sum()) >= 64:
            bx0, by0, bx1, by1 = b.box
            sl = (slice(by0 - y0, by1 - y0), slice(bx0 - x0, bx1 - x0))
            wt = b.alpha
            li, ld, lr = (np.ascontiguousarray(_lap(a)[sl]) for a in (luma, detail, _luma(f.reference)))
            n = float(wt.sum())
            base = _wsum(wt, lr, lr)  # the base frame's own pixels under the mask
            target = base
            if f.source_crop is not None and f.base_crop is not None and b.crop_mask is not None:
                e_base_crop = _energy(f.base_crop, b.crop_mask)
                if e_base_crop > 1e-3:  # the chosen mouth's own detail, brought to frame scale
                    target = base * _energy(f.source_crop, b.crop_mask) / e_base_crop
            stats = np.array([n, _wsum(wt, li, li), _wsum(wt, li, ld), _wsum(wt, ld, ld), target, base])
        return _Pending(f.image, f.region, detail, stats)

    def gain(self, stats: np.ndarray) -> float:
        """The gain that makes the Laplacian energy of the enhanced mouth equal to the target:
        the root ``k >= 0`` of ``m_II + 2 k m_ID + k^2 m_DD = m_T`` (m = summed second moments of
        the Laplacians of the image and of its detail layer, and the target energy), clipped to
        ``[0, max_gain]``; 0 when the image is already as sharp.

        Args:
            stats: (6,) window sums ``(n, m_II, m_ID, m_DD, m_source, m_base)``; the target
                ``m_T`` is ``m_source``, or ``min(m_source, m_base)`` with ``cap_to_base``.
        """
        _, m_ii, m_id, m_dd, m_src, m_base = (float(v) for v in stats)
        m_rr = min(m_src, m_base) if self.o.cap_to_base else m_src
        if m_dd <= 0 or m_ii >= m_rr:
            return 0.0
        k = (-m_id + np.sqrt(max(0.0, m_id * m_id - m_dd * (m_ii - m_rr)))) / m_dd
        return float(np.clip(k, 0.0, self.o.max_gain))

    def _apply(self, p: _Pending, k: float) -> np.ndarray:
        if p.region is None or k <= 0:
            return p.image
        x0, y0, x1, y1 = p.region.box
        alpha = p.region.alpha
        delta = np.clip(k * alpha * p.detail, -self.o.max_change, self.o.max_change)
        roi = p.image[y0:y1, x0:x1]
        new = np.clip(roi.astype(np.float32) + delta[..., None] + 0.5, 0, 255).astype(np.uint8)
        keep = alpha == 0
        new[keep] = roi[keep]  # bit-exact outside the region
        roi[...] = new  # in place: a full-frame copy would cost more than the enhancement
        return p.image

    def enhance(self, frames: Iterable[EnhanceFrame]) -> Iterator[np.ndarray]:
        """Enhance a stream of frames (held back by the look-ahead, ``window_s`` seconds).

        Args:
            frames: :class:`EnhanceFrame` items, in order.
        Yields:
            (H, W, 3) uint8 RGB frames, one per input, in order.
        """
        w, hist = self.window, self.history
        w_past = 1.0 - np.arange(hist, 0, -1) / (hist + 1.0)  # oldest .. newest
        w_ahead = 1.0 - np.arange(0, w + 1) / (w + 1.0)  # current .. furthest
        max_step = self.o.max_rate_per_s / self.fps
        state: dict[str, float | None] = {"k": None}  # the last gain applied
        past: deque[np.ndarray | None] = deque(maxlen=hist)  # stats of frames already emitted
        ahead: deque[_Pending] = deque()  # the current frame and up to w after it

        def emit() -> np.ndarray:
            p = ahead.popleft()
            t0 = time.perf_counter()
            total = np.zeros(6)
            for wt, s in zip(w_past[hist - len(past):], past):
                if s is not None:
                    total += wt * s
            for wt, s in zip(w_ahead, [p.stats] + [q.stats for q in ahead]):
                if s is not None:
                    total += wt * s
            k = 0.0
            if p.region is not None and total[0] > 0:
                k = self.gain(total)
                if state["k"] is not None:  # slew-rate limit: never a visible step
                    k = float(np.clip(k, state["k"] - max_step, state["k"] + max_step))
                state["k"] = k
            out = self._apply(p, k)
            past.append(p.stats)
            self.gains.append(k)
            self.seconds += time.perf_counter() - t0
            return out

        for f in frames:
            t0 = time.perf_counter()
            ahead.append(self._measure(f if isinstance(f, EnhanceFrame) else EnhanceFrame(image=f)))
            self.seconds += time.perf_counter() - t0
            if len(ahead) > w:
                yield emit()
        while ahead:
            yield emit()


# ---------------------------------------------------------------------------- registry

_BACKENDS: dict[str, Callable[..., Enhancer]] = {}


def register_enhancer(name: str, factory: Callable[..., Enhancer]) -> None:
    """Register an enhancer backend: ``factory(mode=, fps=, model=, options=) -> Enhancer``."""
    _BACKENDS[name] = factory


def _detail_factory(*, mode: str, fps: float, model: str | Path | None = None,
                    options: DetailOptions | None = None) -> Enhancer:
    return DetailEnhancer(fps, options)


def _gfpgan_factory(*, mode: str, fps: float, model: str | Path | None = None,
                    options: DetailOptions | None = None) -> Enhancer:
    from ..backends.gfpgan import GFPGANEnhancer

    if model is None:
        raise BackendError("the gfpgan enhancer needs a checkpoint: give --enhancer-model PATH")
    return GFPGANEnhancer(model)


register_enhancer("detail", _detail_factory)
register_enhancer("gfpgan", _gfpgan_factory)


def check_enhance(mode: str | None, model: str | Path | None = None) -> None:
    """Validate an ``--enhance`` mode and an ``--enhancer-model`` path (cheap: no loading).

    Raises:
        BackendError: unknown mode (the message lists the valid ones), a model with mode
            ``none``, or a model path that is not an existing file.
    """
    if mode is not None and mode not in ENHANCE_MODES:
        raise BackendError(f"unknown --enhance {mode!r}: choose one of {', '.join(ENHANCE_MODES)}")
    if model is not None:
        if mode == "none":
            raise BackendError("--enhancer-model needs --enhance mouth or face (it was none)")
        p = Path(model)
        if not p.is_file():
            raise BackendError(f"enhancer checkpoint {p} not found" + (" (it is a folder)" if p.is_dir() else "")
                               + ": give the path of a GFPGAN .pth file")


def make_enhancer(mode: str | None, fps: float, model: str | Path | None = None,
                  options: DetailOptions | None = None) -> Enhancer | None:
    """The enhancer for a mode: None for ``none``; the ``gfpgan`` backend when ``model`` (a
    local checkpoint) is given, else ``detail``.

    Args:
        mode: one of :data:`ENHANCE_MODES`; None = :data:`DEFAULT_ENHANCE`.
        fps: frame rate of the stream, frames per second.
        model: path of a neural restorer checkpoint, or None.
        options: :class:`DetailOptions` of the ``detail`` backend.
    Raises:
        BackendError: see :func:`check_enhance`; and, for a model, torch missing (names the
            ``neural`` extra) or a checkpoint of the wrong architecture.
    """
    mode = DEFAULT_ENHANCE if mode is None else mode
    check_enhance(mode, model)
    if mode == "none":
        return None
    return _BACKENDS["gfpgan" if model is not None else "detail"](mode=mode, fps=fps, model=model, options=options)
