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
whole face). Backends are registered by name in :mod:`twintake.render.enhance`: ``detail`` (default, above) and ``gfpgan``
(:mod:`twintake.render.enhance.gfpgan`, a user-supplied GFPGAN checkpoint; needs the ``neural`` extra).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..region import BlendRegion
from .base import EnhanceFrame

__all__ = ["DetailOptions", "DetailEnhancer", "guided_filter"]

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
