"""Core data types shared by every stage (see docs/architecture.md).

Units are in the field names: seconds (``_s``), hertz (``_hz``), frames per second (``fps``),
pixels (``_px``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Phone", "Speech", "FaceTrack", "MouthTrajectory", "RenderResult", "TimeRange", "BUILTIN_VOICE",
           "is_builtin_voice"]

#: The voice value that keeps the built-in TTS voice (``--voice none``).
BUILTIN_VOICE = "none"


def is_builtin_voice(voice: object) -> bool:
    """True when ``voice`` asks for the built-in voice: the string ``"none"`` (any case, spaces
    around) or an empty string. None is *not* it: None means "the default" (e.g. the video's
    own voice)."""
    return isinstance(voice, str) and voice.strip().lower() in ("", BUILTIN_VOICE)


@dataclass(frozen=True)
class Phone:
    """One phoneme with its time span.

    ``symbol`` is an ARPAbet phone in upper case without stress digits (``"AA"``, ``"P"``) or
    ``"SIL"`` for silence / non-speech. Times are seconds from the start of the audio.
    """

    symbol: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Speech:
    """Mono speech audio with optional phoneme timings.

    Attributes:
        samples: shape (S,), float32 in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        phones: phoneme timings, sorted and non-overlapping; empty when unknown (the motion
            driver then recognizes them from the audio).
        text: the text spoken, when known.
        language: ISO 639-1 code (``"en"``, ``"ar"``) or ``""`` when unknown.
    """

    samples: np.ndarray
    sample_rate_hz: int
    phones: list[Phone] = field(default_factory=list)
    text: str = ""
    language: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate_hz)


@dataclass(frozen=True)
class TimeRange:
    """A span of output time in seconds, ``[start_s, end_s)``."""

    start_s: float
    end_s: float


@dataclass
class FaceTrack:
    """Face-mesh landmarks of one face through a video, on a constant-fps timeline.

    Attributes:
        landmarks: shape (N, 478, 3), float32, pixels in the (rotated, displayed) frame; z is
            MediaPipe's relative depth scaled by the frame width. Rows of invalid frames are 0.
        valid: shape (N,), bool, True where the face was found.
        fps: frame rate of the timeline.
        width, height: frame size in pixels.
    """

    landmarks: np.ndarray
    valid: np.ndarray
    fps: float
    width: int
    height: int

    def __len__(self) -> int:
        return int(self.valid.shape[0])


@dataclass
class MouthTrajectory:
    """Target mouth shape for every output frame.

    Attributes:
        coeffs: shape (T, K), float32, mouth-shape coefficients (PCA of face-aligned lip and
            jaw landmarks, see :class:`twintake.motion.shapes.MouthModel`).
        fps: output frame rate; frame i covers ``[i / fps, (i + 1) / fps)``.
        silent: shape (T,), bool, True where the speech is silent (mouth closed and relaxed).
    """

    coeffs: np.ndarray
    fps: float
    silent: np.ndarray

    def __len__(self) -> int:
        return int(self.coeffs.shape[0])


@dataclass
class RenderResult:
    """What a render produced.

    Attributes:
        path: the MP4 written.
        duration_s: its duration (equals the speech's within one frame).
        fps: its frame rate.
        frames: number of video frames written.
        width, height: frame size in pixels.
        frames_without_face: output time ranges whose frames passed through unchanged because
            no face was tracked there.
        timings_s: wall-clock seconds per stage (``"track"``, ``"speech"``, ``"motion"``,
            ``"render"``...); a stage served from the cache is absent or near 0.
        cache_hits: names of the stages served from the on-disk cache (e.g. ``"track"``).
        base_frames: (T,) source frame shown under each composited frame (-1 for a photo).
        mouth_frames: (T,) source frame whose mouth each composited frame uses (-1: none).
        first_frame_s: seconds from the start of the render until its first frame was made.
        cut_at_s: a spoken text ran past the job's duration limit and was cut here, seconds
            (picture and sound end together); None when nothing was cut.
    """

    path: Path
    duration_s: float
    fps: float
    frames: int
    width: int
    height: int
    frames_without_face: list[TimeRange] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    cache_hits: list[str] = field(default_factory=list)
    base_frames: list[int] = field(default_factory=list)
    mouth_frames: list[int] = field(default_factory=list)
    first_frame_s: float = 0.0
    cut_at_s: float | None = None
