"""Rendering a talking video: the person's own mouths, retrieved and warped onto base frames.

* :mod:`.bank` - face-aligned lower-face crops of every source frame (the mouth bank);
* :mod:`.select` - Viterbi choice of a source mouth per output frame;
* :mod:`.plan` - the speech side, block by block (:class:`VideoPlanner`, :class:`FixedPlanner`);
* :mod:`.composite` - fine warp, pose warp, feathered blend with colour correction;
* :mod:`.timeline` - which source frame is the base of each output frame;
* :mod:`.silent`, :mod:`.open_mouth` - a source that never talks: detected, and its mouth opened
  with the photo path's warp and interior;
* :class:`VideoCompositor` (here) - the picture side of :func:`twintake.render.stream.render_stream`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...face.align import apply_affine
from ...face.landmarks import MID_FACE
from ...media import iter_frames_at
from ..stream import Rendered
from .bank import CropBox
from .composite import CompositeOptions, Compositor
from .open_mouth import OpenMouth
from .place import HeadPlacement, offset_model
from .plan import FixedPlanner, MouthPlan, VideoPlanner, selection_features, speech_blocks

#: Nose points (tip, nostrils, bridge) whose face-aligned position tracks head pitch.
_NOSE = np.array([2, 98, 327, 64, 294, 1, 4, 5, 195, 197])

__all__ = ["VideoCompositor", "timeline_frames", "VideoPlanner", "FixedPlanner", "MouthPlan", "speech_blocks",
           "selection_features"]


def timeline_frames(source: str | Path, base: np.ndarray, fps: float, fade_from: np.ndarray | None = None,
                    fade_alpha: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB base frame of each output frame: source frame ``base[t]``, and at loop
    jumps of a forward timeline the two sides cross-faded (``fade_from`` / ``fade_alpha``, see
    :class:`twintake.render.video.timeline.BaseTimeline`)."""
    if fade_from is None or not (np.asarray(fade_from) >= 0).any():
        yield from (f.image for f in iter_frames_at(source, base, fps=fps))
        return
    order: list[int] = []
    for b, f in zip(base, fade_from):
        order.append(int(b))
        if f >= 0:
            order.append(int(f))
    frames = iter_frames_at(source, order, fps=fps)
    for b, f, a in zip(base, fade_from, fade_alpha):
        img = next(frames).image
        if f >= 0:
            other = next(frames).image.astype(np.float32)
            img = np.clip(img * (1.0 - float(a)) + other * float(a) + 0.5, 0, 255).astype(np.uint8)
        yield img


class VideoCompositor:
    """Composites the planned mouths onto the source video's frames.

    Args:
        source: the source video (base frames are decoded from it).
        base: (T,) int64 source frame under each output frame.
        fps: the timeline's rate.
        landmarks: (N, 478, 3) float32 pixels of the source frames; valid: (N,) bool.
        transforms: (N, 2, 3) pixel -> face-aligned similarity per source frame.
        descriptors: (N, 114) face-aligned mouth points per source frame.
        bank: (N, Hc, Wc, 3) uint8 face-aligned crops (may be memory-mapped); box: their box.
        width, height: frame size, pixels.
        options: compositing options.
        fade_from, fade_alpha: (T,) int64 / float32, a source frame cross-faded into the base
            frame and its weight (-1 / 0 where none; see
            :class:`twintake.render.video.timeline.BaseTimeline`).
    """

    def __init__(self, source: str | Path, base: np.ndarray, fps: float, landmarks: np.ndarray, valid: np.ndarray,
                 transforms: np.ndarray, descriptors: np.ndarray, bank: np.ndarray, box: CropBox, width: int,
                 height: int, options: CompositeOptions | None = None, fade_from: np.ndarray | None = None,
                 fade_alpha: np.ndarray | None = None) -> None:
        self.source, self.base, self.fps = Path(source), np.asarray(base), float(fps)
        self.fade_from = None if fade_from is None else np.asarray(fade_from, np.int64)
        self.fade_alpha = None if fade_alpha is None else np.asarray(fade_alpha, np.float32)
        self.landmarks, self.valid, self.transforms = landmarks, valid, transforms
        self.descriptors, self.bank, self.box = descriptors, bank, box
        self.width, self.height = int(width), int(height)
        # a source that never talks: its mouth is opened beyond its own frames (.open_mouth)
        self._open = OpenMouth.for_source(source, fps, landmarks, valid, transforms, descriptors)
        if self._open is not None:
            options = self._open.composite_options(options)
        self._comp = Compositor(box, options)
        ok = np.flatnonzero(valid)
        if self._comp.o.placement not in ("head", "nose"):
            raise ValueError(f"CompositeOptions.placement must be 'head' or 'nose', not {self._comp.o.placement!r}")
        self._head = (HeadPlacement(landmarks, valid, transforms, offset_model(self._comp.o.offset_model))
                      if self._comp.o.placement == "head" else None)
        self._mean_nose = np.mean([self._nose(int(i)) for i in ok], 0) if len(ok) and self._head is None else None
        self._last: tuple[int, int] | None = None  # (output frame, mouth source) rendered last
        self._fading: tuple[int, int] | None = None  # (old segment's frame, frames since the cut)

    def base_frames(self) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 RGB base frame of each output frame (:func:`timeline_frames`)."""
        return timeline_frames(self.source, self.base, self.fps, self.fade_from, self.fade_alpha)

    def _placed(self, target: np.ndarray, b: int) -> np.ndarray:
        """(114,) target mouth placed in base frame ``b``: with ``placement="head"`` moved by the
        base's 3D head pose (:class:`~twintake.render.video.place.HeadPlacement`: rigid upper
        face, then the eyelids' offset; no lip or jaw point of the base); with ``"nose"`` by
        ``nose_follow`` times the offset of its nose (face-aligned) from the person's mean nose
        position. The face-aligned frame is fitted to the upper face; head pitch and yaw move the
        mouth relative to it."""
        if self._head is not None:
            return self._head.place(target, self.landmarks[b], self.transforms[b])
        w = self._comp.o.nose_follow
        if w == 0 or self._mean_nose is None:
            return target
        off = w * (self._nose(b) - self._mean_nose)
        return (np.asarray(target, np.float32).reshape(-1, 2) + off.astype(np.float32)).reshape(-1)

    def _nose(self, i: int) -> np.ndarray:
        return apply_affine(self.transforms[i], self.landmarks[i, _NOSE, :2]).mean(0)

    def _switch_fade(self, t: int, s: int) -> tuple[int, float]:
        """(source frame to cross-fade in, its weight) for output frame ``t`` showing mouth ``s``:
        after a cut, the mouth shown last stays underneath (warped to each new target) for
        ``switch_fade_frames``, fading out."""
        n_fade = self._comp.o.switch_fade_frames
        last, self._last = self._last, (t, s)
        if n_fade <= 0 or last is None or last[0] != t - 1:
            self._fading = None
            return -1, 0.0
        prev = last[1]
        if s - prev not in (0, 1):  # a cut: fade out the mouth shown last (held: its own
            self._fading = (prev, 1)  # continuation is what the selection cut away from)
        elif self._fading is not None:
            self._fading = (self._fading[0], self._fading[1] + 1)
        if self._fading is None:
            return -1, 0.0
        src, k = self._fading
        if k > n_fade or not (0 <= src < len(self.valid)) or not self.valid[src]:
            self._fading = None
            return -1, 0.0
        return src, 1.0 - k / (n_fade + 1)

    def render(self, t: int, base: np.ndarray, plan: MouthPlan, i: int) -> Rendered:
        b = int(self.base[t])
        if not self.valid[b]:
            return Rendered(image=base, base=base, base_index=b)
        s = int(plan.source[i])
        fade, weight = self._switch_fade(t, s)
        mid = apply_affine(self.box.pixel_to_crop(self.transforms[s]), self.landmarks[s, MID_FACE, :2])
        target, extra = self._placed(plan.target[i], b), 0.0
        if self._open is not None:
            target, extra = self._open.widen(target, 0.0 if plan.closure is None else float(plan.closure[i]))
        img, blend = self._comp.composite_blend(
            base, self.transforms[b], self.landmarks[b], np.asarray(self.bank[s]), self.descriptors[s], target,
            mid, base_desc=self.descriptors[b], fade_crop=None if fade < 0 else np.asarray(self.bank[fade]),
            fade_desc=None if fade < 0 else self.descriptors[fade], fade_weight=weight)
        if extra != 0:
            img = self._open.paint(img if img is not base else img.copy(), base, target, self.transforms[b],
                                   self.landmarks[b], extra)
        return Rendered(image=img, base=base, landmarks=self.landmarks[b], blend=blend, source_crop=self.bank[s],
                        base_crop=self.bank[b], base_index=b, mouth_index=s)
