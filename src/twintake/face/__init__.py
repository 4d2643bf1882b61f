"""Faces: tracking through registered backends, landmark topology, alignment, smoothing.

    from twintake.face import track_video
    track = track_video("talk.mp4", fps=25.0)          # FaceTrack, (N, 478, 3) float32 pixels

Tracker backends implement :class:`Tracker` and are registered in :data:`TRACKERS`
(default ``"mediapipe"``, imported on first use); see :mod:`twintake.face.base`.
"""

from __future__ import annotations

from .base import TRACKERS, Tracker
from .tracker import check_track, detect_faces, invalid_ranges, track_video

__all__ = ["track_video", "detect_faces", "check_track", "invalid_ranges", "TRACKERS", "Tracker"]
