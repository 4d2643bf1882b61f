"""``twintake.Avatar``: a person prepared once, then made to say any number of texts.

    avatar = twintake.Avatar.prepare("person.mp4", "avatars/anna")   # once
    twintake.Avatar.load("avatars/anna").say("Good morning!", out="morning.mp4")

The folder format lives in :mod:`twintake.avatar_folder`; ``say`` is the one job entry,
:func:`twintake.job.make_video`, with this avatar as the source.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .avatar_folder import AvatarFolder, check_defaults, is_avatar, list_avatars
from .hooks import ProgressHook
from .options import LipsyncOptions
from .types import RenderResult, Speech

__all__ = ["Avatar", "check_defaults", "is_avatar", "list_avatars"]


class Avatar(AvatarFolder):
    """A prepared person (see :class:`~twintake.avatar_folder.AvatarFolder` for ``prepare``,
    ``load``, the attributes and the errors)."""

    def say(self, text: str | None = None, *, audio: str | Path | Speech | None = None,
            out: str | Path = "out.mp4", lang: str = "auto", voice: str | Path | None = None,
            tts_voice: str | None = None, options: LipsyncOptions | None = None,
            hook: ProgressHook | None = None, cancel: threading.Event | None = None,
            provenance: bool = True) -> RenderResult:
        """Render this avatar saying ``text`` (in its voice) or lip-syncing ``audio``.

        Args:
            text: what to say (English, Arabic or mixed); or
            audio: a speech file / :class:`Speech` to lip-sync to.
            out: the MP4 to write.
            lang: language of ``text``.
            voice: override the avatar's voice (path), or ``"none"`` for the built-in voice.
            tts_voice: built-in TTS voice.
            options, hook, cancel, provenance: as for :func:`twintake.lipsync`; unset options
                take the avatar's stored defaults.
        Returns:
            :class:`RenderResult`.
        Raises:
            SpeechError (neither or both of text and audio, bad text), OutputError, Cancelled,
            and what :func:`twintake.synthesize` raises.
        """
        from .job import make_video

        return make_video(self, text, audio=audio, out=out, voice=voice, lang=lang, tts_voice=tts_voice,
                          options=options, hook=hook, cancel=cancel, provenance=provenance).render
