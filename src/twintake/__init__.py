"""twintake: an open digital-twin video generator that runs on the CPU.

    import twintake
    result = twintake.lipsync("person.mp4", "speech.wav", "out.mp4")
    print(result.duration_s, result.frames_without_face)
    twintake.make_video("person.mp4", "Hello!", out="hello.mp4")   # text in the person's voice
"""

from __future__ import annotations

from ._version import __version__  # noqa: E402

from .errors import (  # noqa: E402
    AvatarError,
    BackendError,
    Cancelled,
    MediaError,
    NoFaceError,
    OutputError,
    SpeechError,
    TwintakeError,
    VoiceError,
)
from .types import FaceTrack, MouthTrajectory, Phone, RenderResult, Speech, TimeRange  # noqa: E402

__all__ = [
    "__version__",
    "lipsync",
    "make_video",
    "synthesize",
    "Avatar",
    "LipsyncOptions",
    "Speech",
    "Phone",
    "FaceTrack",
    "MouthTrajectory",
    "RenderResult",
    "TimeRange",
    "TwintakeError",
    "MediaError",
    "NoFaceError",
    "SpeechError",
    "VoiceError",
    "AvatarError",
    "BackendError",
    "OutputError",
    "Cancelled",
]


_LAZY = {"lipsync": "job", "make_video": "job", "LipsyncOptions": "options", "synthesize": "speech",
         "Avatar": "avatar"}


def __getattr__(name: str):
    # The pipeline pulls in OpenCV, SciPy and MediaPipe; import it on first use so that
    # ``import twintake`` stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'twintake' has no attribute {name!r}")
