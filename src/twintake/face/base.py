"""The face-tracking stage: the :class:`Tracker` protocol and the :data:`TRACKERS` registry.

A tracker backend finds the 478 MediaPipe-topology face-mesh landmarks (in pixels) in single
images and follows one face through a stream of frames. Backends register a factory under a
name; :func:`twintake.face.track_video` and :func:`twintake.face.detect_faces` look them up
with ``backend="name"``, so a second backend plugs in with one call and no pipeline change::

    from twintake.face import TRACKERS
    TRACKERS.register("mine", "my_package.tracking:MyTracker")   # or the class itself
    track = track_video("talk.mp4", fps=25.0, backend="mine")

The default backend ``"mediapipe"`` (:class:`twintake.face.mediapipe.MediaPipeTracker`) is
registered by path, so nothing of MediaPipe is imported until a face is tracked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np

from ..registry import Registry
from ..types import FaceTrack

__all__ = ["Tracker", "TRACKERS", "DEFAULT_TRACKER", "N_LANDMARKS", "collect_track"]

#: Landmarks per face (MediaPipe Face Mesh with refined lips, eyes and irises).
N_LANDMARKS = 478


@runtime_checkable
class Tracker(Protocol):
    """A face-tracking backend, built without arguments by its registry factory.

    Landmarks follow the MediaPipe Face Mesh topology (478 points, see
    :mod:`twintake.face.landmarks`): x, y in pixels of the frame, z a relative depth in the
    same scale as x.
    """

    def detect(self, image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
        """Find faces in one still image.

        Args:
            image: (H, W, 3) uint8 RGB.
            max_faces: upper bound on faces returned.
        Returns:
            (478, 3) float32 pixel landmarks of each face, largest face first (empty if none).
        """
        ...

    def track(self, frames: Iterable[np.ndarray], fps: float, width: int, height: int,
              face_index: int = 0, max_faces: int | None = None) -> FaceTrack:
        """Follow one face through consecutive frames.

        Args:
            frames: (H, W, 3) uint8 RGB images of one video, in order, consumed once (a
                generator: only one frame is held at a time).
            fps: frame rate of the timeline, in frames per second.
            width, height: frame size in pixels (recorded in the track).
            face_index: which face to follow: 0 = largest, 1 = next...
            max_faces: faces to look for per frame (a hint: at least ``face_index + 1``);
                None = ``face_index + 1``.
        Returns:
            :class:`~twintake.types.FaceTrack` with one row per frame: landmarks (N, 478, 3)
            float32 pixels, zeros where ``valid`` (N,) bool is False.
        """
        ...


#: Face-tracking backends by name; ``TRACKERS.create(name)`` builds a :class:`Tracker`.
TRACKERS: Registry[Tracker] = Registry("face tracker")
TRACKERS.register("mediapipe", "twintake.face.mediapipe:MediaPipeTracker")
DEFAULT_TRACKER = "mediapipe"


def collect_track(points: Iterable[np.ndarray | None], fps: float, width: int,
                  height: int) -> FaceTrack:
    """Stack per-frame landmarks into a :class:`~twintake.types.FaceTrack`.

    Args:
        points: per frame, (478, 3) float32 pixel landmarks or None where no face was found.
        fps: frame rate of the timeline.
        width, height: frame size in pixels.
    Returns:
        the track: landmarks (N, 478, 3) float32 (zeros where invalid), valid (N,) bool.
    """
    lms: list[np.ndarray] = []
    valid: list[bool] = []
    for pts in points:
        if pts is None:
            lms.append(np.zeros((N_LANDMARKS, 3), np.float32))
            valid.append(False)
        else:
            lms.append(pts)
            valid.append(True)
    return FaceTrack(landmarks=np.stack(lms) if lms else np.zeros((0, N_LANDMARKS, 3), np.float32),
                     valid=np.array(valid, bool), fps=float(fps), width=width, height=height)
