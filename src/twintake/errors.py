"""Errors raised by twintake.

Every error carries a message that says what was wrong and what to do about it; the CLI prints
``str(error)`` as one line and exits non-zero.
"""

from __future__ import annotations

__all__ = [
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


class TwintakeError(Exception):
    """Base class of every error twintake raises on purpose."""


class MediaError(TwintakeError):
    """A file is missing, not a media file, corrupt, or lacks the stream twintake needs."""


class NoFaceError(TwintakeError):
    """No usable face was found (none at all, too small, or the chosen index does not exist)."""


class SpeechError(TwintakeError):
    """The speech input is unusable: silent, too long, empty text, unsupported language."""


class VoiceError(TwintakeError):
    """A voice reference is unusable: too short, silent, music only."""


class AvatarError(TwintakeError):
    """A prepared avatar folder is missing, half-written, or of an incompatible format."""


class BackendError(TwintakeError):
    """A backend name is unknown or its optional dependency / checkpoint is missing."""


class OutputError(TwintakeError):
    """The output path cannot be written (missing folder, no permission, wrong extension)."""


class Cancelled(TwintakeError):
    """The job was cancelled (Ctrl-C, a cancel event, or a progress hook that asked to stop)."""
