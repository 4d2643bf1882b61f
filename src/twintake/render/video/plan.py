"""The speech side of a video render, block by block: phones, target mouth shapes and the chosen
source mouth of every output frame.

The output timeline is cut into blocks (the first 2 s, then about 8 s each, every cut at the
quietest frame near its nominal place, :func:`speech_blocks`). For each block in turn the phones
are recognized (unless the TTS gave them), the mouth trajectory is computed by the motion
driver, and the Viterbi selection (:func:`twintake.render.video.select.select_frames`) runs,
starting from the last source frame chosen for the previous block. Loudness and voice activity
are computed once over the whole speech (cheap), so gains do not jump between blocks.

Planners (the :class:`twintake.render.stream.Planner` protocol):

* :class:`VideoPlanner` - the product: phones -> visemes -> trajectory -> selection;
* :class:`FixedPlanner` - given source frames and targets (the evaluation's baselines), so a
  baseline differs from the product only in its mouth selection.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...motion.driver import DriverOptions, VisemeDriver
from ...motion.photo import closure_track
from ...motion.shapes import MouthModel, opening
from ...speech.input import recognize_block, recognizer_mode
from ...types import Speech
from .select import SelectOptions, select_frames
from .silent import is_silent_source

__all__ = ["MouthPlan", "VideoPlanner", "FixedPlanner", "speech_blocks", "selection_features"]


def speech_blocks(amount: np.ndarray, fps: float, n_out: int, first_s: float = 2.0,
                  block_s: float = 8.0) -> list[tuple[int, int]]:
    """Cut the output timeline into blocks planned one after another (streaming).

    The first block is short so the first frame comes out quickly; every cut is put at the
    quietest frame (smallest articulation) within a second of its nominal place, so phone
    recognition and coarticulation are rarely cut mid-word.

    Args:
        amount: (T,) articulation per frame (0 in silence).
        fps: frame rate, frames per second.
        n_out: T, number of output frames.
    Returns:
        [(start, stop), ...] covering 0 .. n_out.
    """
    cuts = [0]
    length = first_s
    while cuts[-1] + int(length * fps) < n_out - int(fps):
        nominal = cuts[-1] + int(length * fps)
        lo, hi = max(cuts[-1] + 1, nominal - int(fps)), min(n_out - 1, nominal + int(fps))
        cuts.append(lo + int(np.argmin(amount[lo:hi])) if hi > lo else nominal)
        length = block_s
    cuts.append(n_out)
    return list(zip(cuts[:-1], cuts[1:]))


def selection_features(descriptors: np.ndarray, opening_weight: float) -> np.ndarray:
    """(N, 114) mouth points -> (N, 115) float32 selection features: the points plus the
    weighted inner-lip opening."""
    return np.concatenate([descriptors, opening_weight * opening(descriptors)[:, None]], 1).astype(np.float32)


@dataclass
class MouthPlan:
    """What the compositor needs for one block of output frames.

    Attributes:
        target: (B, 114) float32 face-aligned target mouth points per frame.
        source: (B,) int64 source frame whose mouth is used per frame.
        closure: (B,) float32 in [0, 1], how firmly the lips must meet (bilabials), for a source
            that never talks (:mod:`.open_mouth` closes its resting gap); None otherwise.
    """

    target: np.ndarray
    source: np.ndarray
    closure: np.ndarray | None = None


class VideoPlanner:
    """The product's planner (see the module docstring).

    Args:
        speech: the speech (its ``phones`` are filled block by block when empty; a copy of the
            list is kept, the caller's object is not changed).
        model, shapes: the person's mouth model and viseme shapes.
        descriptors: (N, 114) mouth points of the source frames (the bank).
        valid: (N,) bool, frames with a face.
        pose: (N, 3) head-pose descriptors of the source frames.
        base: (T,) int64 base frame of every output frame.
        fps: frame rate of the plan (the source's).
        driver, select: options of the motion driver and of the selection.
        exclude_radius: never take a mouth within this many frames of the output frame's base
            frame (evaluation's leave-segment-out; None = no limit).
        previous: the source frame chosen just before this plan's first frame (a plan that
            continues another, e.g. the next sentence of streamed speech), or None.

    Attributes:
        previous: the last source frame chosen so far (None before the first block).
    """

    def __init__(self, speech: Speech, model: MouthModel, shapes, descriptors: np.ndarray, valid: np.ndarray,
                 pose: np.ndarray, base: np.ndarray, fps: float, driver: DriverOptions | None = None,
                 select: SelectOptions | None = None, exclude_radius: int | None = None,
                 previous: int | None = None) -> None:
        self.speech = dataclasses.replace(speech, phones=list(speech.phones))
        self.model, self.shapes = model, shapes
        self.valid, self.pose, self.base = valid, pose, base
        self.fps = float(fps)
        self.n_frames = len(base)
        self.select = select or SelectOptions()
        self.exclude_radius = exclude_radius
        self.driver = VisemeDriver(driver)
        self.scale = self.driver.articulation_scale(self.speech, self.fps, self.n_frames)
        self._known_phones = bool(self.speech.phones)
        # the triphone ("accurate") recognizer costs ~0.3-0.5x real time, as much as rendering;
        # past 30 s of speech the context-independent one (~0.05x) keeps the job near real time
        self._mode = recognizer_mode(self.speech.duration_s)
        self._bank_features = selection_features(descriptors, self.select.opening_weight)
        self.previous = previous
        # a source that never talks rests with its own gap (a smile): closures are planned too
        self._closures = is_silent_source(model.open_range)

    def blocks(self) -> list[tuple[int, int]]:
        return speech_blocks(self.scale[0], self.fps, self.n_frames)

    def speech_block(self, start: int, stop: int) -> None:
        """Recognize the phones of output frames ``start .. stop - 1`` (when not known)."""
        if not self._known_phones:
            self.speech.phones.extend(recognize_block(self.speech, start / self.fps, stop / self.fps, self._mode))

    def motion_block(self, start: int, stop: int) -> MouthPlan:
        """Target shapes and chosen source frames of output frames ``start .. stop - 1``."""
        # the bilabials' closure evidence, measured once for the shapes and the closures
        w = self.driver.closure_weights(self.speech, self.fps, start, stop)
        traj = self.driver.drive(self.speech, self.model, self.shapes, self.fps, self.n_frames, start=start,
                                 stop=stop, scale=self.scale, closures=w)
        target = self.model.decode(traj.coeffs)
        k = self.select.opening_weight
        sel = select_frames(selection_features(target, k), self._bank_features, self.valid,
                            base_pose=self.pose[self.base[start:stop]], bank_pose=self.pose, options=self.select,
                            exclude_radius=self.exclude_radius, base_index=self.base[start:stop],
                            previous=self.previous)
        self.previous = int(sel[-1])
        closure = None
        if self._closures:
            closure = closure_track(self.speech, self.fps, self.n_frames, start=start, stop=stop,
                                    options=self.driver.options, closures=w)
        return MouthPlan(target=target, source=sel, closure=closure)


class FixedPlanner:
    """A plan given in advance: source frame ``source[t]`` warped to ``target[t]``.

    Args:
        source: (T,) int64 source frames.
        target: (T, 114) float32 target mouth points.
        blocks: the timeline's blocks (default one block).
    """

    def __init__(self, source: np.ndarray, target: np.ndarray, blocks: list[tuple[int, int]] | None = None) -> None:
        self.source = np.asarray(source, np.int64)
        self.target = np.asarray(target, np.float32)
        self.n_frames = len(self.source)
        self._blocks = blocks or [(0, self.n_frames)]

    def blocks(self) -> list[tuple[int, int]]:
        return list(self._blocks)

    def speech_block(self, start: int, stop: int) -> None:
        """Nothing to recognize: the plan is given."""

    def motion_block(self, start: int, stop: int) -> MouthPlan:
        return MouthPlan(target=self.target[start:stop], source=self.source[start:stop])
