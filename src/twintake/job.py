"""One job of the main command, shared by the CLI (``twintake say``) and the web app.

    make_video(SOURCE, text=... | audio=..., out=...)

SOURCE is a talking video, a portrait photo or a prepared avatar folder; the speech is a text
(spoken in the person's voice first) or a speech file. The CLI and the web page are thin layers
over this function, so both behave the same.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AvatarError, MediaError, SpeechError, VoiceError
from .hooks import Progress, ProgressHook
from .options import LipsyncOptions
from .types import RenderResult, Speech

__all__ = ["VideoJobResult", "make_video", "resolve_voice"]


@dataclass
class VideoJobResult:
    """What :func:`make_video` produced.

    Attributes:
        render: the written video (:class:`RenderResult`).
        speech: the speech the video says (float32 mono samples, rate, phone timings).
        notes: remarks for the user (e.g. "the built-in voice was used because ...").
    """

    render: RenderResult
    speech: Speech
    notes: list[str] = field(default_factory=list)


def resolve_voice(voice: str | Path | None, source: str | Path | None):
    """The voice to clone for a job.

    Args:
        voice: a reference clip (audio or video path), ``"none"`` for the built-in voice, or None
            for the default: the source video's own audio when it has enough usable speech.
        source: the job's source (video or photo), used when ``voice`` is None.
    Returns:
        ``(reference, note)``: a path, a :class:`~twintake.speech.voice.VoiceProfile` or None
        (built-in voice); and a note for the user (str) or None.
    """
    if voice is not None:
        return (None if str(voice).lower() == "none" else voice), None
    if source is None:
        return None, None
    from .media import probe

    if probe(source).is_image:
        return None, "a photo has no voice; the built-in voice was used (give a voice reference to clone one)"
    from .speech.voice import load_voice_profile

    try:
        return load_voice_profile(source), None
    except (VoiceError, MediaError) as e:
        return None, (f"the built-in voice was used: the video's own audio cannot be cloned ({e}); "
                      "give a clip of the person as the voice reference")


def make_video(source: str | Path, text: str | None = None, *, audio: str | Path | Speech | None = None,
               out: str | Path = "out.mp4", voice: str | Path | None = None, lang: str = "auto",
               tts_voice: str | None = None, max_chars: int = 20000, options: LipsyncOptions | None = None,
               hook: ProgressHook | None = None, cancel: threading.Event | None = None) -> VideoJobResult:
    """Make ``source`` say ``text`` (in the person's voice) or lip-sync ``audio``; write an MP4.

    Args:
        source: talking video, portrait photo, or prepared avatar folder.
        text: what to say (English, Arabic or mixed), or
        audio: a speech file (wav/mp3/m4a/flac or a video's audio track) or a :class:`Speech`.
        out: the MP4 to write (temp file renamed when complete).
        voice: see :func:`resolve_voice`; for an avatar, None = the avatar's own voice profile.
        lang: ``"en"``, ``"ar"`` or ``"auto"`` (by script).
        tts_voice: built-in Kokoro voice for English (e.g. ``"jf_gongitsune"``, ``"jm_kumo"``).
        max_chars: longest text accepted.
        options: :class:`LipsyncOptions`.
        hook: progress hook ``hook(stage, completed, total)``; stages ``tts``, ``voice``,
            ``track``, ``bank``, ``speech``, ``motion``, ``render``.
        cancel: set to stop the job (raises :class:`Cancelled`; no file left behind).
    Returns:
        :class:`VideoJobResult`.
    Raises:
        SpeechError: neither or both of ``text`` and ``audio``; empty/too long text; silent audio.
        MediaError, NoFaceError, AvatarError, VoiceError, OutputError, Cancelled.
    """
    from .avatar import Avatar, is_avatar
    from .pipeline import check_output_path, lipsync

    o = options or LipsyncOptions()
    if (text is None) == (audio is None):
        raise SpeechError("give the speech: either a text to speak or an audio file, not both")
    check_output_path(out)
    progress = Progress(hook, cancel)
    notes: list[str] = []
    if is_avatar(source):
        avatar = Avatar.load(source)
        if text is not None and avatar.voice is None and voice is None:
            notes.append("this avatar has no voice profile; the built-in voice was used")
        speech = _speech(text, audio, voice if voice is not None else avatar.voice, lang, tts_voice, max_chars,
                         o, progress)
        return VideoJobResult(avatar.say(audio=speech, out=out, options=o, hook=hook, cancel=cancel), speech, notes)
    if not Path(source).exists():
        raise MediaError(f"{source} does not exist: give a talking video, a portrait photo or an avatar folder")
    if Path(source).is_dir():
        raise AvatarError(f"{source} is a folder but not an avatar (no avatar.json); prepare one with "
                          f"twintake prepare VIDEO -o {source}")
    ref = None
    if text is not None:
        ref, note = resolve_voice(voice, source)
        if note:
            notes.append(note)
    speech = _speech(text, audio, ref, lang, tts_voice, max_chars, o, progress)
    return VideoJobResult(lipsync(source, speech, out, o, hook=hook, cancel=cancel), speech, notes)


def _speech(text, audio, ref, lang, tts_voice, max_chars, o: LipsyncOptions, progress: Progress) -> Speech:
    from .pipeline import load_speech

    if audio is not None:
        return audio if isinstance(audio, Speech) else load_speech(audio, o.max_duration_s)
    from .speech import synthesize

    return synthesize(text, lang=lang, voice=ref, tts_voice=tts_voice, max_chars=max_chars, hook=progress)
