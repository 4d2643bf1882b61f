"""Rendering a talking video: the person's own mouths, retrieved and warped onto base frames.

* :mod:`.bank` - face-aligned lower-face crops of every source frame (the mouth bank);
* :mod:`.select` - Viterbi choice of a source mouth per output frame;
* :mod:`.plan` - the speech side, block by block (:class:`VideoPlanner`, :class:`FixedPlanner`);
* :mod:`.composite` - fine warp, pose warp, feathered blend with colour correction;
* :mod:`.timeline` - which source frame is the base of each output frame;
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
from .plan import FixedPlanner, MouthPlan, VideoPlanner, selection_features, speech_blocks

__all__ = ["VideoCompositor", "VideoPlanner", "FixedPlanner", "MouthPlan", "speech_blocks", "selection_features"]


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
        self._comp = Compositor(box, options)

    def base_frames(self) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 RGB base frame of each output frame; at loop jumps of a forward
        timeline the two sides are cross-faded (``fade_from`` / ``fade_alpha``)."""
        if self.fade_from is None or not (self.fade_from >= 0).any():
            yield from (f.image for f in iter_frames_at(self.source, self.base, fps=self.fps))
            return
        order: list[int] = []
        for b, f in zip(self.base, self.fade_from):
            order.append(int(b))
            if f >= 0:
                order.append(int(f))
        frames = iter_frames_at(self.source, order, fps=self.fps)
        for b, f, a in zip(self.base, self.fade_from, self.fade_alpha):
            img = next(frames).image
            if f >= 0:
                other = next(frames).image.astype(np.float32)
                img = np.clip(img * (1.0 - float(a)) + other * float(a) + 0.5, 0, 255).astype(np.uint8)
            yield img

    def render(self, t: int, base: np.ndarray, plan: MouthPlan, i: int) -> Rendered:
        b = int(self.base[t])
        if not self.valid[b]:
            return Rendered(image=base, base=base, base_index=b)
        s = int(plan.source[i])
        mid = apply_affine(self.box.pixel_to_crop(self.transforms[s]), self.landmarks[s, MID_FACE, :2])
        img, blend = self._comp.composite_blend(base, self.transforms[b], self.landmarks[b], np.asarray(self.bank[s]),
                                                self.descriptors[s], plan.target[i], mid, base_desc=self.descriptors[b])
        return Rendered(image=img, base=base, landmarks=self.landmarks[b], blend=blend, source_crop=self.bank[s],
                        base_crop=self.bank[b], base_index=b, mouth_index=s)
