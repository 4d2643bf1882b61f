"""Face tracking of video files and photos, through the registered tracker backends.

The stage's protocol and registry are in :mod:`twintake.face.base` (:class:`Tracker`,
:data:`TRACKERS`); the default backend is MediaPipe Face Mesh with One-Euro smoothing
(:mod:`twintake.face.mediapipe`). Streaming: frames are decoded, tracked and dropped one at a
time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..errors import NoFaceError
from ..hooks import Progress
from ..types import FaceTrack
from . import landmarks as L
from .base import DEFAULT_TRACKER, TRACKERS, Tracker

__all__ = ["track_video", "detect_faces", "check_track", "invalid_ranges", "face_box", "FaceBox",
           "MIN_FACE_PX", "TRACKERS", "Tracker", "MediaPipeTracker"]  # noqa: F822 - lazy, __getattr__ below

log = logging.getLogger(__name__)

#: Minimum usable face width (cheek to cheek) in pixels.
MIN_FACE_PX = 64


@dataclass(frozen=True)
class FaceBox:
    """A face found in one image: bounding box of its landmarks, in pixels."""

    x: float
    y: float
    width: float
    height: float


def __getattr__(name: str):
    # MediaPipeTracker lived here before the backends were registered; import it on demand so
    # that importing this module does not load the backend's module.
    if name == "MediaPipeTracker":
        from .mediapipe import MediaPipeTracker

        return MediaPipeTracker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def detect_faces(image: np.ndarray, max_faces: int = 5, *,
                 backend: str = DEFAULT_TRACKER) -> list[np.ndarray]:
    """Find faces in one RGB image.

    Args:
        image: (H, W, 3) uint8 RGB.
        max_faces: upper bound on faces returned.
        backend: name of a registered tracker (see :data:`TRACKERS`).
    Returns:
        Landmarks (478, 3) float32 in pixels of each face, largest face first.
    Raises:
        BackendError: unknown backend, or its package is missing.
    """
    return TRACKERS.create(backend).detect(image, max_faces=max_faces)


def face_box(landmarks: np.ndarray) -> FaceBox:
    """Bounding box of a face's landmarks."""
    x0, y0 = landmarks[:, :2].min(0)
    x1, y1 = landmarks[:, :2].max(0)
    return FaceBox(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def track_video(path, fps: float, face_index: int = 0, progress: Progress | None = None,
                frame_count: int | None = None, *, backend: str = DEFAULT_TRACKER) -> FaceTrack:
    """Track the face of a video file on its constant-fps timeline.

    The faces visible on three sampled frames (first, middle, last) are counted first so the
    tracker looks for enough of them to tell the wanted one apart; then every frame is decoded
    and handed to the tracker one at a time.

    Args:
        path: video file.
        fps: timeline rate (see :func:`twintake.media.probe`).
        face_index: 0 = largest face, 1 = next...
        progress: hook wrapper; reports stage ``"track"``.
        frame_count: expected number of frames (for progress only).
        backend: name of a registered tracker (see :data:`TRACKERS`); default ``"mediapipe"``.
    Returns:
        :class:`FaceTrack` with (N, 478, 3) float32 landmarks.
    Raises:
        NoFaceError: no face in any frame, the face is under 64 px wide, or ``face_index``
            exceeds the faces visible.
        BackendError: unknown backend, or its package is missing.
        MediaError: the file cannot be decoded.
    """
    from ..media import iter_frames, probe, sample_frames

    tracker = TRACKERS.create(backend)
    progress = progress or Progress()
    # Count faces on a few sampled frames to decide how many the tracker must look for.
    info = probe(path)
    n_expected = frame_count or (info.video.frame_count if info.video else 0)
    max_faces = face_index + 1
    sample_at = set(np.linspace(0, max(n_expected - 1, 0), num=3).astype(int).tolist())
    for fr in sample_frames(path, sample_at, fps=fps):
        max_faces = max(max_faces, len(tracker.detect(fr.image, max_faces=4)))
    size = (info.video.width, info.video.height) if info.video else (0, 0)

    def frames():
        for fr in iter_frames(path, fps=fps):
            progress("track", fr.index + 1, n_expected or None)
            yield fr.image

    track = tracker.track(frames(), fps=fps, width=size[0], height=size[1], face_index=face_index,
                          max_faces=max_faces)
    check_track(track, path, face_index)
    return track


def check_track(track: FaceTrack, path, face_index: int = 0) -> None:
    """Raise :class:`NoFaceError` when a track has no usable face: no valid frame, or a median
    face width (cheek to cheek) under :data:`MIN_FACE_PX` pixels. ``path`` and ``face_index``
    only word the message."""
    if not track.valid.any():
        which = "a face" if face_index == 0 else f"face number {face_index} (0 = largest)"
        raise NoFaceError(
            f"no face found in any of the {len(track)} frames of {path}: twintake needs {which} "
            "seen from the front; try another video or a different --face-index"
        )
    width = float(np.median(L.face_width_px(track.landmarks[track.valid])))
    if width < MIN_FACE_PX:
        raise NoFaceError(
            f"the face in {path} is too small (~{width:.0f} px wide, at least {MIN_FACE_PX} px "
            "needed): use a higher-resolution video or one where the face fills more of the frame"
        )


def invalid_ranges(valid: np.ndarray, fps: float) -> list[tuple[int, int]]:
    """Runs of False in ``valid`` ((N,) bool, one entry per frame) as (first, last) frame index
    pairs, both inclusive, in order; ``fps`` is not used."""
    out: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(valid):
        if not v and start is None:
            start = i
        elif v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(valid) - 1))
    return out
