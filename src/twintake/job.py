"""The one job entry: what the CLI (``twintake say``), the web page, :func:`twintake.lipsync` and
:meth:`twintake.Avatar.say` all go through.

    make_video(SOURCE, text=... | audio=..., out=...)

Two decisions are made here and nowhere else:

* **the source**: a talking video, a portrait photo, or a prepared avatar (folder or object)
  (:func:`source_kind`);
* **the speech and its voice**: a speech file or :class:`Speech` as given; a text spoken by the
  TTS in the voice :func:`resolve_voice` picks - the person's own (the video's audio, or the
  avatar's profile), a reference clip, or the built-in voice (``"none"``).

Then :mod:`twintake.engine` renders: a video through its (cached) preparation, a photo directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .avatar_folder import AvatarFolder, is_avatar
from .errors import AvatarError, BackendError, MediaError, OutputError, SpeechError, VoiceError
from .hooks import Progress, ProgressHook
from .media import check_output_path, probe
from .options import LipsyncOptions
from .types import RenderResult, Speech, is_builtin_voice

__all__ = ["VideoJobResult", "make_video", "lipsync", "make_speech", "resolve_voice", "neural_voice", "source_kind"]

#: Kinds of source :func:`source_kind` tells apart.
SOURCE_KINDS = ("video", "photo", "avatar")


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


def source_kind(source: str | Path | AvatarFolder) -> str:
    """``"avatar"``, ``"photo"`` or ``"video"``.

    Raises:
        MediaError: the path does not exist, or is neither a photo nor a video.
        AvatarError: a folder that is not an avatar.
    """
    if isinstance(source, AvatarFolder) or is_avatar(source):
        return "avatar"
    p = Path(source)
    if not p.exists():
        raise MediaError(f"{p} does not exist: give a talking video, a portrait photo or an avatar folder")
    if p.is_dir():
        raise AvatarError(f"{p} is a folder but not an avatar (no avatar.json); prepare one with "
                          f"twintake prepare VIDEO -o {p}")
    info = probe(p)
    if info.is_image:
        return "photo"
    if info.video is None:
        raise MediaError(f"{p} has no video stream: give a talking video, a portrait photo or an avatar folder")
    return "video"


def resolve_voice(voice: str | Path | object | None, source: str | Path | AvatarFolder | None,
                  hook: ProgressHook | None = None):
    """The voice to speak a job's text in.

    Args:
        voice: a reference clip (audio or video path) or a voice profile; ``"none"`` for the
            built-in voice; None for the default: an avatar's own profile, or the source video's
            own audio when it has enough usable speech (a photo has none). With too little of
            the video's speech to clone, the built-in voice nearest to it (by pitch: male or
            female) is chosen and a note says so (:func:`twintake.speech.voice.choose_voice`).
        source: the job's source (video, photo or avatar), used when ``voice`` is None.
        hook: progress of a first-time voice search (``voice_search``).
    Returns:
        ``(reference, note, tts_voice)``: a path, a
        :class:`~twintake.speech.voice.VoiceProfile` or None (built-in voice); a note for the
        user (str) or None; the built-in TTS voice to use (None = the default or the one the
        reference implies).
    Raises:
        MediaError: ``source`` cannot be read.
    """
    if voice is not None:
        return (None if is_builtin_voice(voice) else voice), None, None
    if source is None:
        return None, None, None
    if isinstance(source, AvatarFolder):
        if source.voice is None:
            return None, "this avatar has no voice profile; the built-in voice was used", None
        return source.voice, None, None
    if probe(source).is_image:
        return None, "a photo has no voice; the built-in voice was used (give a voice reference to clone one)", None
    from .speech.voice import choose_voice

    try:
        choice = choose_voice(source, hook=hook)
    except (VoiceError, MediaError) as e:
        return None, (f"the built-in voice was used: the video's own audio cannot be cloned ({e}); "
                      "give a clip of the person as the voice reference"), None
    if choice.profile is not None:
        return choice.profile, None, None
    return None, choice.note, choice.tts_voice


def neural_voice(voice, source, voice_backend: str | None, voice_checkpoint,
                 device: str = "cpu") -> tuple[object, list[str]]:
    """``(reference clip, notes)`` for a zero-shot voice backend (``"xtts"``): ``voice`` when
    given (``"none"``: None, a built-in speaker), else the avatar's stored clip or its source
    video, or the source video itself (a photo has no voice: None); the notes hold the
    checkpoint family's licence notice on first use. Nothing is searched or converted."""
    from .licences import first_use_notice

    if voice_backend == "xtts":  # a bad folder or checkpoint fails here, before any work (the load is cached)
        from .speech.tts.xtts import load_xtts

        if voice_checkpoint is None:
            raise BackendError("--voice-backend xtts needs --checkpoint DIR: the XTTS-v2 folder (config.json, "
                               "model.pth, vocab.json); twintake downloads no weights")
        load_xtts(str(Path(voice_checkpoint).resolve()), device)
    notice = first_use_notice(voice_backend)
    notes = [notice] if notice else []
    if voice is not None:
        return (None if is_builtin_voice(voice) else voice), notes
    if isinstance(source, AvatarFolder):
        clip = source.manifest.get("voice_clip") or (source.manifest["source_file"] if source.kind == "video" else None)
        return (source.path / clip if clip else None), notes
    if source is not None and not probe(source).is_image:
        return source, notes
    return None, notes


def _voice_defaults(source, voice_backend, voice_checkpoint):
    """An avatar's stored voice backend and checkpoint when the call sets none."""
    stored = source.manifest if isinstance(source, AvatarFolder) else {}
    if voice_backend is None and stored.get("voice_backend"):
        return stored["voice_backend"], voice_checkpoint or stored.get("voice_checkpoint")
    return voice_backend, voice_checkpoint


def make_speech(text: str | None = None, *, audio: str | Path | Speech | None = None,
                voice: str | Path | object | None = None, source: str | Path | AvatarFolder | None = None,
                lang: str = "auto", tts_voice: str | None = None, speed: float = 1.0, max_chars: int = 20000,
                max_duration_s: float = 1800.0, ar_engine: str | None = None,
                hook: ProgressHook | None = None, cancel: threading.Event | None = None,
                voice_backend: str | None = None, voice_checkpoint: str | Path | None = None,
                device: str = "cpu") -> tuple[Speech, list[str]]:
    """The speech of a job: ``audio`` as given, or ``text`` spoken in the voice
    :func:`resolve_voice` picks for ``voice`` and ``source`` (with ``voice_backend="xtts"``:
    XTTS-v2 from ``voice_checkpoint`` cloning the clip :func:`neural_voice` picks).

    Returns:
        ``(speech, notes)``.
    Raises:
        SpeechError: neither or both of ``text`` and ``audio``; empty/too long text; silent or
            too long audio. MediaError, VoiceError, BackendError, Cancelled.
    """
    if (text is None) == (audio is None):
        raise SpeechError("give the speech: either a text to speak or an audio file, not both")
    if audio is not None:
        if isinstance(audio, Speech):
            speech = audio
        else:
            from .speech.input import load_speech

            speech = load_speech(audio, max_duration_s)
        if speech.duration_s > max_duration_s:
            raise SpeechError(f"the speech is {speech.duration_s / 60:.1f} min long, over the "
                              f"{max_duration_s / 60:.0f} min limit")
        return speech, []
    from .speech import synthesize

    voice_backend, voice_checkpoint = _voice_defaults(source, voice_backend, voice_checkpoint)
    if voice_backend not in (None, "kokoro"):
        (ref, notes), fallback = neural_voice(voice, source, voice_backend, voice_checkpoint, device), None
    else:
        ref, note, fallback = resolve_voice(voice, source, Progress(hook, cancel))
        notes = [note] if note else []
    speech = synthesize(text, lang=lang, voice=ref, tts_voice=tts_voice or fallback, speed=speed,
                        max_chars=max_chars, hook=Progress(hook, cancel), cancel=cancel, ar_engine=ar_engine,
                        voice_backend=voice_backend, checkpoint=voice_checkpoint, device=device)
    return speech, notes


def make_video(source: str | Path | AvatarFolder, text: str | None = None, *,
               audio: str | Path | Speech | None = None, out: str | Path = "out.mp4",
               voice: str | Path | None = None, lang: str = "auto", tts_voice: str | None = None,
               max_chars: int = 20000, options: LipsyncOptions | None = None, hook: ProgressHook | None = None,
               cancel: threading.Event | None = None, provenance: bool = True, sign_cert: str | Path | None = None,
               sign_key: str | Path | None = None, stream_speech: bool = True, voice_backend: str | None = None,
               voice_checkpoint: str | Path | None = None) -> VideoJobResult:
    """Make ``source`` say ``text`` (in the person's voice) or lip-sync ``audio``; write an MP4.

    Args:
        source: talking video, portrait photo, prepared avatar folder or :class:`~twintake.Avatar`.
        text: what to say (English, Arabic or mixed), or
        audio: a speech file (wav/mp3/m4a/flac or a video's audio track) or a :class:`Speech`.
        out: the MP4 to write (temp file renamed when complete).
        voice: see :func:`resolve_voice` (only used with ``text``).
        lang: ``"en"``, ``"ar"`` or ``"auto"`` (by script).
        tts_voice: built-in Kokoro voice for English (e.g. ``"jf_gongitsune"``, ``"jm_kumo"``).
        max_chars: longest text accepted.
        options: :class:`LipsyncOptions` (an avatar fills unset ones from its stored defaults).
        hook: progress hook ``hook(stage, completed, total)``; stages ``tts``, ``voice``,
            ``track``, ``bank`` (video), ``face`` (photo), ``speech``, ``motion``, ``render``.
        cancel: set to stop the job (raises :class:`Cancelled`; no file left behind).
        provenance: label the video (on by default): an inaudible mark in the speech, an
            invisible mark in the frames and a signed C2PA manifest (:mod:`twintake.provenance`).
        sign_cert, sign_key: PEM certificate chain and private key to sign the manifest with
            (both or neither; default: this machine's local key, made on first use).
        stream_speech: for a text on a video or video avatar, synthesize sentence by sentence and
            start rendering after the first sentence (:func:`twintake.engine.render_video_stream`);
            False waits for the whole speech first.
        voice_backend, voice_checkpoint: ``"xtts"`` and an XTTS-v2 folder: the text is spoken by
            XTTS-v2 cloning the person's clip (:func:`neural_voice`); an avatar prepared with
            them uses them by default.
    Returns:
        :class:`VideoJobResult`.
    Raises:
        SpeechError: neither or both of ``text`` and ``audio``; empty/too long text; silent audio.
        MediaError, NoFaceError, AvatarError, VoiceError, OutputError, BackendError, Cancelled.
    """
    from . import engine

    o = options or LipsyncOptions()
    if (text is None) == (audio is None):
        raise SpeechError("give the speech: either a text to speak or an audio file, not both")
    out = check_output_path(out)
    progress = Progress(hook, cancel)
    kind = source_kind(source)
    if kind == "avatar":
        source = source if isinstance(source, AvatarFolder) else AvatarFolder.load(source)
        o = source.options(options)
    photo = kind == "photo" or (kind == "avatar" and source.prepared is None)
    neural_notes = _check_lipsync_backend(o, photo, source)  # a bad checkpoint fails before any work
    prov = None
    if provenance:  # a bad certificate/key fails before any work
        from .provenance import Provenance, job_ingredients

        prov = Provenance.start(sign_cert, sign_key)
    src_file = source.path / source.manifest["source_file"] if kind == "avatar" else source
    check_not_an_input(out, src_file, audio, voice)
    size_notes = _size_notes(src_file if photo else None, o)
    if text is not None and not photo and stream_speech and not neural_notes:
        # a text on a video: synthesized sentence by sentence, rendering from the first sentence
        from .speech.synthesize import synthesize_stream

        voice_backend, voice_checkpoint = _voice_defaults(source, voice_backend, voice_checkpoint)
        if voice_backend not in (None, "kokoro"):
            (ref, notes), fallback = neural_voice(voice, source, voice_backend, voice_checkpoint), None
        else:
            ref, note, fallback = resolve_voice(voice, source, progress)
            notes = [note] if note else []
        notes += size_notes
        if prov is not None:
            prov.ingredients = job_ingredients(src_file, text=text, voice=voice)
        speech_out: list[Speech] = []

        def render(target: Path, filters: list) -> RenderResult:
            prep = _prepared(source, kind, o, progress)
            notes.extend(_source_notes(prep, o))
            pieces = synthesize_stream(text, lang=lang, voice=ref, tts_voice=tts_voice or fallback,
                                       max_chars=max_chars, hook=hook, cancel=cancel,
                                       voice_backend=voice_backend, checkpoint=voice_checkpoint)
            if prov is not None:
                pieces = _marked_pieces(pieces, prov)
            res, whole = engine.render_video_stream(prep, pieces, target, o, progress, frame_filters=filters)
            speech_out.append(whole)
            if res.cut_at_s is not None:
                notes.append(f"the text runs past the {o.max_duration_s / 60:g} min limit (max_duration_s, "
                             f"--max-duration): the video and its sound stop at {res.cut_at_s:.1f} s, "
                             "mid-text; shorten the text or raise the limit")
            return res

        res = render(out, []) if prov is None else _render_signed(render, out, prov)
        return VideoJobResult(res, speech_out[0], notes)

    speech, notes = make_speech(text, audio=audio, voice=voice, source=source, lang=lang, tts_voice=tts_voice,
                                max_chars=max_chars, max_duration_s=o.max_duration_s, hook=hook, cancel=cancel,
                                voice_backend=voice_backend, voice_checkpoint=voice_checkpoint)
    if prov is not None:
        prov.ingredients = job_ingredients(src_file, text=text, audio=audio, voice=voice, speech=speech)
        speech = prov.mark_speech(speech)

    notes = [n for n in neural_notes if n] + notes
    notes += size_notes

    def render(target: Path, filters: list) -> RenderResult:
        if photo:
            return engine.render_photo(src_file, speech, target, o, progress, frame_filters=filters)
        prep = _prepared(source, kind, o, progress)
        notes.extend(_source_notes(prep, o))
        return engine.render_video(prep, speech, target, o, progress, frame_filters=filters)

    if prov is None:
        return VideoJobResult(render(out, []), speech, notes)
    return VideoJobResult(_render_signed(render, out, prov), speech, notes)


def check_not_an_input(out: Path, *inputs) -> None:
    """Raise OutputError when ``out`` is one of the job's input files (writing it would replace
    the user's original)."""
    for f in inputs:
        if isinstance(f, (str, Path)) and Path(f).is_file() and out.exists() and out.samefile(f):
            raise OutputError(f"the output {out} is the job's own input file {f}: writing it would replace "
                              "the original; choose another output name")


def _check_lipsync_backend(o: LipsyncOptions, photo: bool, source) -> list[str | None]:
    """For a neural lip-sync backend: load its checkpoint now (cached for the render) so a
    missing extra, a wrong file or CUDA without a GPU fails before any work; ``[licence notice
    or None]``. ``[]`` for the built-in backend."""
    from .render.neural import DEFAULT_LIPSYNC, first_use_notice, make_lipsync

    name = o.lipsync_backend or DEFAULT_LIPSYNC
    if name == DEFAULT_LIPSYNC:
        return []
    if photo:
        src = source.path if isinstance(source, AvatarFolder) else source
        raise BackendError(f"--lipsync-backend {name} needs a talking video (or a video avatar); {src} is a photo: "
                           "use the default backend for photos")
    make_lipsync(name, o.lipsync_checkpoint, o.device)
    return [first_use_notice(name)]


def _size_notes(photo_file, o: LipsyncOptions) -> list[str]:
    """Notes on the output size: a large photo scaled down by default, ``size`` given for a video."""
    if photo_file is None:
        return ["the output size (--size) applies to photos; a video keeps its own size"] if o.size else []
    if o.size is not None or not isinstance(photo_file, (str, Path)):
        return []
    from PIL import Image

    from .render.photo import default_photo_size

    try:
        with Image.open(photo_file) as im:
            w, h = im.size
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientation turns it 90 degrees
                w, h = h, w
    except (OSError, Image.DecompressionBombError):
        return []  # the render reports an unreadable or oversized photo
    size = default_photo_size(w, h)
    if size == (w, h):
        return []
    return [f"the photo is {w}x{h}: the video is {size[0]}x{size[1]} (--size gives another size)"]


def _source_notes(prep, o: LipsyncOptions) -> list[str]:
    """Notes about the prepared source video itself: ``[]``, or one saying that it never opens
    its mouth (:func:`twintake.render.video.silent.silent_source_note`) or that it opens it far
    wider than speech (:func:`~twintake.render.video.silent.wide_source_note`) (the built-in
    lip-sync backend only: a neural one does not use the person's mouths), and one when its odd
    width or height loses a row or column."""
    from .render.neural import DEFAULT_LIPSYNC
    from .render.video.silent import silent_source_note, wide_source_note

    w, h = prep.track.width, prep.track.height
    even = [f"H.264 needs even sizes: the {w}x{h} video is written as {w // 2 * 2}x{h // 2 * 2} "
            "(the last row or column dropped)"] if w % 2 or h % 2 else []
    if (o.lipsync_backend or DEFAULT_LIPSYNC) != DEFAULT_LIPSYNC:
        return even
    rng = prep.model.open_range
    # render.video.open_mouth opens a silent source's mouth
    return [n for n in (silent_source_note(rng, opened=True), wide_source_note(rng)) if n] + even


def _prepared(source, kind: str, o: LipsyncOptions, progress: Progress):
    """The prepared video of a video or avatar source (tracked and banked now, or cached)."""
    if kind == "avatar":
        return source.prepared
    if o.enhancer_model is not None:  # a wrong checkpoint fails before the face tracking (load is cached)
        from .render.enhance import make_enhancer

        make_enhancer(o.enhance, 25.0, o.enhancer_model, o.detail)
    from .prepare import prepare_video

    return prepare_video(source, face_index=o.face_index, progress=progress, use_cache=o.use_cache)


def _marked_pieces(pieces, prov):
    """Speech pieces with the audio mark, its carrier continuous across pieces (each piece is
    marked at its place in the whole utterance)."""
    offset = 0
    for piece in pieces:
        yield prov.mark_speech(piece, offset=offset)
        offset += len(piece.samples)


def _render_signed(render, out: Path, prov) -> RenderResult:
    """Render with the frame mark to a temp file beside ``out``, sign it, then rename it onto
    ``out`` (the output path only ever holds a finished, signed file)."""
    import dataclasses
    import os
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f".{out.name}.signing-", suffix=out.suffix, dir=out.absolute().parent)
    os.close(fd)
    tmp = Path(name)
    try:
        res = render(tmp, [prov.frame_marker])
        prov.sign(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return dataclasses.replace(res, path=out)


def lipsync(video: str | Path, audio: str | Path | Speech, out: str | Path,
            options: LipsyncOptions | None = None, *, hook: ProgressHook | None = None,
            cancel: threading.Event | None = None, provenance: bool = True) -> RenderResult:
    """Lip-sync the face in ``video`` to ``audio`` and write an MP4 (:func:`make_video` with a
    speech file).

    Args:
        video: a talking video (any container PyAV reads; rotation and VFR handled), a portrait
            photo (jpg/png/webp..., animated at 25 fps or ``options.fps``), or an avatar.
        audio: speech file (wav/mp3/m4a/flac, or a video whose audio track is used), or a
            :class:`Speech` (e.g. from :func:`twintake.synthesize`).
        out: the .mp4 to write (written to a temp file and renamed when complete).
        options: :class:`LipsyncOptions`.
        hook: progress hook ``hook(stage, completed, total)``; stages ``track``, ``bank``,
            ``speech``, ``motion``, ``render``.
        cancel: set this event to stop the job (raises :class:`Cancelled`, no file left).
        provenance: label the video (C2PA manifest, frame and audio marks; see :func:`make_video`).
    Returns:
        :class:`RenderResult` (path, duration_s, fps, frames, frames_without_face, timings_s).
    Raises:
        MediaError, NoFaceError, SpeechError, OutputError, Cancelled.
    """
    return make_video(video, audio=audio, out=out, options=options, hook=hook, cancel=cancel,
                      provenance=provenance).render
