"""Opening the mouth of a source that never talks, beyond anything its own frames show.

A source whose opening span is under :data:`.silent.MIN_SPEAKING_SPAN_IOD` (a smiling or still
face) has no open mouths in its bank, and its targets stay within its own tiny range. Here the
photo path's machinery is reused on the video's own frames (:mod:`twintake.render.photo`):

1. **Target**: each frame's target mouth keeps its shape and gets an extra opening of
   ``f x (SPEAKING_SPAN_IOD - span)`` inter-ocular units, ``f`` its opening as a fraction of
   the person's range above the rest (0 in pauses and closures, 1 at the widest). The extra
   opening moves the lips and jaw as a photo's mouth opens
   (:meth:`twintake.render.photo.animator.PhotoAnimator.targets` on a reference frame of the
   source: the upper lip rises 0.28 of the gap, the lower lip and the chin drop 0.72), turned
   into face-aligned units.
2. **Warp**: the compositor's base and fine warps move the lips and jaw to the wider target
   (their displacement limits are raised by the extra span for such a source).
3. **Interior**: past 0.03 IOD of extra opening (full at 0.08) the interior is painted into
   the target inner-lip polygon at the photo path's working scale (small faces upscaled):
   when the person shows teeth at rest, the *base frame's own* teeth hang from the upper lip and
   rise with the lower lip over the model's tongue
   (:class:`~twintake.render.photo.mouth_interior.PhotoMouth`), else the generic interior
   (:class:`~twintake.render.photo.mouth_interior.MouthInteriorModel`), lit, coloured and
   sharpened like the reference frame (:class:`~twintake.render.photo.look.PhotoLook`).
4. **Closures**: a person who rests with parted lips closes them on bilabials
   (:attr:`.plan.MouthPlan.closure`, the photo path's closure track) by 0.6 of the gap.

Nothing here runs for a talking source (:meth:`OpenMouth.for_source` returns None).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from ...face import landmarks as L
from ...face.align import apply_affine, invert_affine
from ...media import iter_frames_at
from ...motion.shapes import open_range_of, opening
from ...motion.visemes import VISEMES
from ..photo.animator import PhotoAnimator
from ..photo.face import prepare_face
from ..photo.mouth_interior import PhotoMouth, load_model
from .composite import CompositeOptions
from .silent import SPEAKING_SPAN_IOD, is_silent_source

__all__ = ["OpenMouth", "source_open_range"]

_N_OUT, _N_IN, _N_JAW = len(L.LIPS_OUTER), len(L.LIPS_INNER), len(L.JAW)
#: A rest opening (inter-ocular units) above which closures shut the resting gap.
_OPEN_REST_IOD = 0.04
#: Share of the resting gap a full closure shuts (the photo path shuts 0.9 on its upscaled
#: crop; the bank's crops are ~50 px per IOD, and past 0.6 the fine warp's backward field folds
#: the few pixels between the lips and the lower lip smears pale).
_CLOSE = 0.6
#: The painted interior fades in from this extra opening (inter-ocular units) ...
_FADE_FROM_IOD = 0.03
#: ... over this much more.
_FADE_IOD = 0.05


def source_open_range(descriptors: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """(closed, widest) inner-lip opening of a source, inter-ocular units: the 2nd and 98th
    percentile over its valid frames, as :meth:`twintake.motion.shapes.MouthModel.fit` computes
    ``open_range``.

    Args:
        descriptors: (N, 114) face-aligned mouth points; valid: (N,) bool.
    Raises:
        ValueError: no valid frame.
    """
    op = opening(np.asarray(descriptors, np.float64)[np.asarray(valid, bool)])
    if len(op) == 0:
        raise ValueError("no valid frame")
    return open_range_of(op)


class OpenMouth:
    """The silent-source extension of the video compositor (module docstring).

    Args:
        image: (H, W, 3) uint8 RGB reference frame of the source (a rest mouth).
        landmarks: (478, 2+) its landmarks, pixels; transform: (2, 3) its pixel -> face-aligned
            similarity.
        open_range: the source's (closed, widest) opening, inter-ocular units.
        rest_open: the opening of its rest mouth (mean of its 10 % most closed frames), IOD.
    """

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, transform: np.ndarray,
                 open_range: tuple[float, float], rest_open: float) -> None:
        # the photo path's working crop of the reference frame (small faces upscaled; landmarks
        # refined on it): the interior is painted at this scale
        face = prepare_face(np.ascontiguousarray(image), np.asarray(landmarks, np.float64)[:, :2])
        #: working scale (working pixels per frame pixel)
        self.scale = float(face.scale)
        self.animator = PhotoAnimator(face.crop, face.landmarks, load_model())
        lo, hi = open_range
        self.open_range = (float(lo), float(hi))
        self.rest_open = float(rest_open)
        self.extra_span = max(SPEAKING_SPAN_IOD - (hi - lo), 0.0)
        # the photo path's jaw drop for one unit of its opening, in face-aligned units
        sil = VISEMES["sil"].width
        d_px = self.animator.targets(1.0, sil)[0] - self.animator.targets(0.0, sil)[0]
        d = (d_px[:_N_IN + _N_OUT + _N_JAW] / self.scale) @ np.asarray(transform, np.float64)[:, :2].T
        # moving points are (inner, outer, jaw, ...); descriptors are (outer, inner, jaw)
        direction = np.concatenate([d[_N_IN:_N_IN + _N_OUT], d[:_N_IN], d[_N_IN + _N_OUT:]]).reshape(-1)
        gain = float(opening(direction[None])[0] - opening(np.zeros((1, direction.size)))[0])
        #: (114,) float64 displacement of the mouth points opening the inner lips by 1 IOD
        self.direction = direction / max(gain, 1e-6)

    @classmethod
    def for_source(cls, source: str | Path, fps: float, landmarks: np.ndarray, valid: np.ndarray,
                   transforms: np.ndarray, descriptors: np.ndarray) -> "OpenMouth | None":
        """The extension for a source that never talks, or None (a talking source, or no valid
        frame). Decodes one reference frame: the valid frame whose mouth is nearest the mean of
        its 10 % most closed mouths (the person's rest).

        Args:
            source: the source video; fps: its timeline rate.
            landmarks: (N, 478, 3) float32 pixels; valid: (N,) bool; transforms: (N, 2, 3);
            descriptors: (N, 114) face-aligned mouth points.
        """
        valid = np.asarray(valid, bool)
        if not valid.any():
            return None
        rng = source_open_range(descriptors, valid)
        if not is_silent_source(rng):
            return None
        ok = np.flatnonzero(valid)
        desc = np.asarray(descriptors, np.float64)[ok]
        op = opening(desc)
        closed = op <= np.percentile(op, 10) + 1e-9
        rest = desc[closed].mean(0)
        ref = int(ok[int(np.argmin(np.linalg.norm(desc - rest, axis=1)))])
        image = next(iter(iter_frames_at(source, [ref], fps=fps))).image
        return cls(image, landmarks[ref], transforms[ref], rng, float(op[closed].mean()))

    def composite_options(self, options: CompositeOptions | None) -> CompositeOptions:
        """``options`` with the fine and base warps' displacement limits raised by the extra span
        (the lips and the chin must travel that much further)."""
        o = options or CompositeOptions()
        return dataclasses.replace(o, max_warp_iod=o.max_warp_iod + self.extra_span,
                                   max_base_warp_iod=o.max_base_warp_iod + self.extra_span)

    def widen(self, target: np.ndarray, closure: float = 0.0) -> tuple[np.ndarray, float]:
        """The target opened into a speaking range (and, on a closure, shut).

        Args:
            target: (114,) face-aligned target mouth points.
            closure: 0..1, how firmly the lips must meet (:attr:`.plan.MouthPlan.closure`): a
                person who rests with parted lips (a smile showing teeth) closes them by
                ``0.6 x closure`` of the target's own gap, as an open photo does on P, B, M.
        Returns:
            ((114,) float32 widened target, the extra inner-lip opening in IOD units: >= 0, or
            < 0 where a closure shuts the resting gap).
        """
        target = np.asarray(target, np.float64)
        hi = self.open_range[1]
        op = float(opening(target[None])[0])
        f = (op - self.rest_open) / max(hi - self.rest_open, 1e-6)
        extra = float(np.clip(f, 0.0, 1.25)) * self.extra_span
        c = float(np.clip(closure, 0.0, 1.0))
        if c > 0 and self.rest_open > _OPEN_REST_IOD:
            extra = (1.0 - c) * extra - c * _CLOSE * max(op, 0.0)
        return (target + extra * self.direction).astype(np.float32), extra

    def paint(self, image: np.ndarray, base: np.ndarray, target: np.ndarray, transform: np.ndarray,
              landmarks: np.ndarray, extra: float) -> np.ndarray:
        """Paint the mouth interior into the target's inner lips.

        Args:
            image: (H, W, 3) uint8 RGB composited frame, modified in place and returned.
            base: (H, W, 3) uint8 RGB the base frame under it (its own teeth are re-laid when the
                person shows teeth at rest).
            target: (114,) the widened target in the base frame's face-aligned frame (where the
                compositor put the lips).
            transform: (2, 3) the base frame's pixel -> face-aligned similarity.
            landmarks: (478, 2+) the base frame's landmarks, pixels.
            extra: the extra opening of :meth:`widen`, IOD units.
        Returns:
            ``image``.
        """
        pts = apply_affine(invert_affine(transform), np.asarray(target, np.float64).reshape(-1, 2))
        lm = np.asarray(landmarks, np.float64)[:, :2]
        iod_px = float(L.interocular_px(lm[None])[0])
        # fades in between 0.03 and 0.08 IOD of extra opening: below, the stretched own mouth
        # looks right; above, stretched teeth would look too long. A closure (extra < 0) of a
        # mouth showing its teeth at rest: its own teeth squeezed, then the seam of closed lips
        anim = self.animator
        if extra >= 0:
            strength = float(np.clip((extra - _FADE_FROM_IOD) / _FADE_IOD, 0.0, 1.0))
        else:
            strength = float(np.clip(-extra / _FADE_FROM_IOD, 0.0, 1.0)) if anim.own is not None else 0.0
        if strength <= 0:
            return image
        # the box around the old and new inner lips, painted at the working scale
        inner = pts[_N_OUT:_N_OUT + _N_IN]
        both = np.concatenate([inner, lm[L.LIPS_INNER]])
        pad = 0.25 * iod_px
        h, w = image.shape[:2]
        x0, y0 = (int(max(0, np.floor(v - pad))) for v in both.min(0))
        x1, y1 = int(min(w, np.ceil(both[:, 0].max() + pad))), int(min(h, np.ceil(both[:, 1].max() + pad)))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return image
        s = self.scale
        size = (int(round((x1 - x0) * s)), int(round((y1 - y0) * s)))
        s_xy = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)])

        def work(p: np.ndarray) -> np.ndarray:  # frame pixels -> working pixels (pixel centres)
            return (p - (x0, y0) + 0.5) * s_xy - 0.5

        roi = image[y0:y1, x0:x1]
        up = cv2.resize(roi, size, interpolation=cv2.INTER_CUBIC) if s > 1.0 else roi.copy()
        painted = up.copy()
        if anim.own is not None:
            # the base frame's own teeth: upper ones hanging from the upper lip, lower ones rising
            # with the lower lip, the model's tongue between (the photo path's open smile)
            b_roi = base[y0:y1, x0:x1]
            b_up = cv2.resize(b_roi, size, interpolation=cv2.INTER_CUBIC) if s > 1.0 else b_roi
            try:
                own = PhotoMouth(np.ascontiguousarray(b_up), work(lm[L.LIPS_INNER]), anim.interior, anim.look)
            except ValueError:
                return image
            own.paint(painted, work(inner), strength=strength)
        else:
            anim.interior.paint(painted, work(inner), anim.look, strength=strength, iod_px=iod_px * s)
        changed = np.abs(painted.astype(np.int16) - up.astype(np.int16)).max(axis=2) > 0
        if not changed.any():
            return image
        alpha = cv2.resize(changed.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        down = cv2.resize(painted, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA) if s > 1.0 else painted
        out = roi.astype(np.float32) + alpha[..., None] * (down.astype(np.float32) - roi)
        image[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return image
