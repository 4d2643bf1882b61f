"""``say``, ``tts``, ``prepare``, ``avatars list``, ``probe`` and ``web``: flags -> options ->
one library call each (:func:`twintake.job.make_video` for ``say``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import TwintakeError
from ._common import parse_size, read_text, run, run_server

def say(
    source: Path = typer.Argument(..., help="talking video or portrait photo of the person, or a prepared "
                                  "avatar folder"),
    text: Optional[str] = typer.Argument(None, help="text to speak (English, Arabic or both)"),
    audio: Optional[Path] = typer.Option(None, "--audio", "-a", help="speech file (wav/mp3/m4a/flac or a video)"),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="read the text from this UTF-8 file"),
    voice: Optional[str] = typer.Option(None, "--voice", help="voice reference clip; 'none' = built-in voice; "
                                        "default: the source video's own audio"),
    lang: str = typer.Option("auto", "--lang", help="language of the text: en, ar or auto"),
    tts_voice: Optional[str] = typer.Option(None, "--tts-voice", help="built-in TTS voice (jf_gongitsune, jm_kumo...)"),
    out: Path = typer.Option(Path("out.mp4"), "--out", "-o", help="the MP4 to write"),
    face_index: int = typer.Option(0, "--face-index", help="which face when several: 0 = largest"),
    fps: Optional[float] = typer.Option(None, "--fps", help="output frame rate: the source's (default), "
                                        "or 2x / 4x it (e.g. 50, 100) with interpolated frames"),
    size: Optional[str] = typer.Option(None, "--size", help="photo avatars: output WIDTHxHEIGHT cropped around "
                                       "the face (e.g. 512x512, 720x1280); default: the photo's own size, at most 1920 px "
                                       "on the longer side"),
    crf: int = typer.Option(18, "--crf", min=0, max=51, help="H.264 quality (lower = better, bigger)"),
    preset: str = typer.Option("veryfast", "--preset", help="x264 speed preset"),
    max_duration: float = typer.Option(30.0, "--max-duration", help="longest speech accepted, minutes"),
    max_chars: int = typer.Option(20000, "--max-chars", help="longest text accepted, characters"),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the track cache"),
    enhance: Optional[str] = typer.Option(None, "--enhance", help="restore mouth detail lost in warping: none, "
                                          "mouth or face (default: the avatar's setting, else mouth)"),
    enhancer_model: Optional[Path] = typer.Option(None, "--enhancer-model", help="restore with this local GFPGAN "
                                                  "checkpoint (.pth) instead; needs twintake[neural]"),
    lipsync_backend: Optional[str] = typer.Option(None, "--lipsync-backend", help="twintake (the person's own "
                                                  "mouths; default) or wav2lip (a local Wav2Lip checkpoint, "
                                                  "--checkpoint; needs twintake[neural])"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="the neural backend's local checkpoint "
                                              "(--lipsync-backend wav2lip: wav2lip.pth or wav2lip_gan.pth)"),
    device: Optional[str] = typer.Option(None, "--device", help="where a neural backend runs: cpu (default) or cuda"),
    voice_backend: Optional[str] = typer.Option(None, "--voice-backend", help="kokoro (default) or xtts (XTTS-v2 "
                                                "from --voice-checkpoint, cloning the voice zero-shot)"),
    voice_checkpoint: Optional[Path] = typer.Option(None, "--voice-checkpoint", help="the local XTTS-v2 folder "
                                                    "(config.json, model.pth, vocab.json); needs twintake[neural]"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
    no_provenance: bool = typer.Option(False, "--no-provenance", help="do not label the video (no C2PA manifest, "
                                       "no invisible marks); twintake labels its output by default"),
    sign_cert: Optional[Path] = typer.Option(None, "--sign-cert", help="sign the C2PA manifest with this PEM "
                                             "certificate chain (with --sign-key; default: a local key)"),
    sign_key: Optional[Path] = typer.Option(None, "--sign-key", help="the PEM private key of --sign-cert"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write the render result as JSON here "
                                          "(incl. base_frames and mouth_frames: source frame under / mouth of "
                                          "each output frame)"),
):
    """Make SOURCE say the speech in --audio, or TEXT in the person's voice, and write an MP4."""
    from ..job import make_video
    from ..options import LipsyncOptions

    text = read_text(text, text_file)
    if audio is None and text is None:
        typer.echo("error: give the speech: --audio FILE, or a TEXT to speak", err=True)
        raise typer.Exit(2)
    if audio is not None and text is not None:
        typer.echo("error: give either --audio or TEXT, not both", err=True)
        raise typer.Exit(2)
    if report is not None and not report.absolute().parent.is_dir():
        typer.echo(f"error: cannot write the report {report}: folder {report.absolute().parent} does not exist",
                   err=True)
        raise typer.Exit(2)
    try:
        opts = LipsyncOptions(face_index=face_index, fps=fps, size=parse_size(size), crf=crf, preset=preset,
                              max_duration_s=max_duration * 60, use_cache=not no_cache, enhance=enhance,
                              enhancer_model=None if enhancer_model is None else str(enhancer_model),
                              lipsync_backend=lipsync_backend, device=device,
                              lipsync_checkpoint=None if checkpoint is None else str(checkpoint))
    except TwintakeError as e:  # a bad --size / --enhance / --enhancer-model / --lipsync-backend
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if no_provenance:
        typer.echo("warning: --no-provenance: the video will carry no C2PA manifest and no invisible marks; "
                   "label it as AI-generated yourself wherever you publish it", err=True)
    job = run(lambda hook: make_video(source, text, audio=audio, out=out, voice=voice, lang=lang,
                                       tts_voice=tts_voice, max_chars=max_chars, options=opts, hook=hook,
                                       provenance=not no_provenance, sign_cert=sign_cert, sign_key=sign_key,
                                       voice_backend=voice_backend, voice_checkpoint=voice_checkpoint), quiet)
    for note in job.notes:
        typer.echo(f"note: {note}", err=True)
    res = job.render
    if report is not None:
        _write_json_atomic(report, {**_jsonable(res), "notes": list(job.notes)})
    if not quiet:
        typer.echo(f"wrote {res.path} ({res.duration_s:.2f} s, {res.frames} frames at {res.fps:g} fps, "
                   f"{res.width}x{res.height})")
        for r in res.frames_without_face:
            typer.echo(f"  no face from {r.start_s:.2f} s to {r.end_s:.2f} s: those frames are unchanged")


def _jsonable(obj):
    """A dataclass / path / numpy value -> plain JSON types (for ``say --report``)."""
    import dataclasses

    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _write_json_atomic(path: Path, data) -> None:
    """Write ``data`` as JSON to a temp file beside ``path`` and rename it into place."""
    import json
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.absolute().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tts(
    text: Optional[str] = typer.Argument(None, help="text to speak"),
    out: Path = typer.Option(Path("out.wav"), "--out", "-o", help="the WAV to write"),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="read the text from this UTF-8 file"),
    voice: Optional[str] = typer.Option(None, "--voice", help="voice reference clip (audio or video); "
                                        "'none' or unset = built-in voice"),
    lang: str = typer.Option("auto", "--lang", help="en, ar or auto"),
    tts_voice: Optional[str] = typer.Option(None, "--tts-voice", help="built-in TTS voice"),
    ar_engine: Optional[str] = typer.Option(None, "--ar-engine", help="Arabic engine: kokoro (default) or espeak"),
    speed: float = typer.Option(1.0, "--speed", help="speaking rate, 0.5-2.0"),
    max_chars: int = typer.Option(20000, "--max-chars", help="longest text accepted, characters"),
    voice_backend: Optional[str] = typer.Option(None, "--voice-backend", help="kokoro (default) or xtts (XTTS-v2 "
                                                "from --checkpoint, cloning --voice zero-shot)"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="--voice-backend xtts: the local XTTS-v2 "
                                              "folder (config.json, model.pth, vocab.json); needs twintake[neural]"),
    device: str = typer.Option("cpu", "--device", help="where a neural backend runs: cpu or cuda"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Speak TEXT (English, Arabic or both) in a cloned or built-in voice and write a WAV."""
    from ..errors import OutputError
    from ..job import check_not_an_input, make_speech
    from ..media import write_wav

    text = read_text(text, text_file)
    if text is None:
        typer.echo("error: give the TEXT to speak (or --text-file)", err=True)
        raise typer.Exit(2)

    def job(hook):
        if out.suffix.lower() != ".wav":
            raise OutputError(f"cannot write {out}: the output must be a .wav file")
        if not out.parent.is_dir():
            raise OutputError(f"cannot write {out}: folder {out.parent} does not exist")
        check_not_an_input(out, voice)
        speech, notes = make_speech(text, voice=voice, lang=lang, tts_voice=tts_voice, speed=speed,
                                    max_chars=max_chars, ar_engine=ar_engine, hook=hook, voice_backend=voice_backend,
                                    voice_checkpoint=checkpoint, device=device)
        write_wav(out, speech.samples, speech.sample_rate_hz)
        return speech, notes

    speech, notes = run(job, quiet)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if not quiet:
        typer.echo(f"wrote {out} ({speech.duration_s:.2f} s, {speech.sample_rate_hz} Hz, "
                   f"{len([p for p in speech.phones if p.symbol != 'SIL'])} phones, language {speech.language})")


def prepare(
    source: Path = typer.Argument(..., help="talking video of the person"),
    out: Path = typer.Option(..., "--out", "-o", help="the avatar folder to create, e.g. avatars/anna"),
    voice: Optional[str] = typer.Option(None, "--voice", help="voice reference clip; 'none' = no voice "
                                        "profile; default: the video's own audio when usable"),
    face_index: int = typer.Option(0, "--face-index", help="which face when several: 0 = largest"),
    force: bool = typer.Option(False, "--force", help="replace an existing avatar folder"),
    enhance: Optional[str] = typer.Option(None, "--enhance", help="default --enhance of `say` on this avatar"),
    enhancer_model: Optional[Path] = typer.Option(None, "--enhancer-model", help="default --enhancer-model"),
    fps: Optional[float] = typer.Option(None, "--fps", help="default --fps of `say` on this avatar"),
    lipsync_backend: Optional[str] = typer.Option(None, "--lipsync-backend", help="default --lipsync-backend of "
                                                  "`say` on this avatar: twintake or wav2lip"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="default --checkpoint (wav2lip .pth)"),
    device: Optional[str] = typer.Option(None, "--device", help="default --device: cpu or cuda"),
    voice_backend: Optional[str] = typer.Option(None, "--voice-backend", help="default --voice-backend of `say` "
                                                "on this avatar: kokoro or xtts (XTTS-v2 cloning --voice, else the "
                                                "video's own audio)"),
    voice_checkpoint: Optional[Path] = typer.Option(None, "--voice-checkpoint", help="default --voice-checkpoint: "
                                                    "the local XTTS-v2 folder; needs twintake[neural]"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Prepare SOURCE once into an avatar folder; `twintake say FOLDER ...` then skips all preparation."""
    from ..avatar import Avatar

    defaults = {"enhance": enhance, "enhancer_model": enhancer_model, "fps": fps, "lipsync_backend": lipsync_backend,
                "lipsync_checkpoint": checkpoint, "device": device}
    avatar = run(lambda hook: Avatar.prepare(source, out, voice=voice, face_index=face_index, force=force,
                                              defaults=defaults, voice_backend=voice_backend,
                                              voice_checkpoint=voice_checkpoint, hook=hook), quiet)
    for note in avatar.notes:
        typer.echo(f"note: {note}", err=True)
    if not quiet:
        m = avatar.manifest
        typer.echo(f"prepared {avatar.path}: {m['width']}x{m['height']}, {m['duration_s']:.1f} s at "
                   f"{m['fps']:g} fps, voice: {_voice_word(avatar)}, "
                   f"{m['prepare_time_s']:.1f} s")


def _voice_word(avatar) -> str:
    if avatar.manifest.get("voice_backend"):
        return f"{avatar.manifest['voice_backend']} cloning {avatar.manifest.get('voice_clip')}"
    return "yes" if avatar.voice is not None else "built-in"


def avatars_list(folder: Path = typer.Argument(Path("avatars"), help="folder holding avatar folders")):
    """List the avatars in FOLDER: name, kind, duration, size, voice."""
    from ..avatar import list_avatars

    rows = list_avatars(folder)
    if not rows:
        typer.echo(f"no avatars in {folder}")
        return
    typer.echo(f"{'name':24s} {'kind':7s} {'duration':>9s} {'size':>11s}  voice")
    for r in rows:
        typer.echo(f"{r['name']:24s} {r['kind']:7s} {r['duration_s']:8.1f}s {r['size']:>11s}  "
                   f"{'own' if r['voice'] else 'built-in'}")


def probe(file: Path = typer.Argument(..., help="a video, audio or image file")):
    """Print what twintake sees in FILE: streams, fps, rotation, duration, faces."""
    from ..media import iter_frames
    from ..media import probe as probe_media

    def job(_hook):
        info = probe_media(file)
        lines = [f"file: {info.path}", f"container: {info.format_name}, {info.duration_s:.3f} s"]
        if info.video:
            v = info.video
            kind = "image" if info.is_image else "video"
            lines.append(f"{kind}: {v.width}x{v.height}, {v.codec}" + (
                "" if info.is_image else f", {v.fps:g} fps ({'variable' if v.variable_frame_rate else 'constant'}"
                f" frame rate), {v.frame_count} frames, rotation {v.rotation_deg}°"))
        else:
            lines.append("video: none")
        if info.audio:
            a = info.audio
            lines.append(f"audio: {a.codec}, {a.sample_rate_hz} Hz, {a.channels} ch, {a.duration_s:.3f} s")
        else:
            lines.append("audio: none")
        if info.video:
            from ..face.landmarks import face_width_px
            from ..face.tracker import detect_faces

            def faces_line(fr) -> str:
                faces = detect_faces(fr.image)
                widths = ", ".join(f"{face_width_px(f):.0f}" for f in faces)
                return f"frame {fr.index} ({fr.time_s:.2f} s): {len(faces)} face(s)" + (
                    f", widths {widths} px" if faces else "")

            n = info.video.frame_count
            picks = sorted(set(int(i) for i in (0, n // 2, max(n - 1, 0))))
            last = None
            for fr in iter_frames(file):
                last = fr
                if fr.index in picks:
                    lines.append(faces_line(fr))
                if fr.index >= picks[-1]:
                    break
            # the container's frame count can overstate the decodable frames (audio longer than
            # the video, edit lists): then the last frame actually decoded stands for the last
            if last is not None and last.index < picks[-1] and last.index not in picks:
                lines.append(faces_line(last))
        return lines

    for line in run(job, quiet=True):
        typer.echo(line)


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (default: this machine only)"),
    port: int = typer.Option(7860, "--port", help="port to listen on"),
    avatars: Path = typer.Option(Path("avatars"), "--avatars", help="folder of prepared avatars for the gallery"),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="videos made at the same time (others queue)"),
    max_upload_mb: float = typer.Option(500.0, "--max-upload-mb", min=1, help="largest upload accepted, MB"),
    max_chars: int = typer.Option(1500, "--max-chars", min=1, help="longest text of one video, characters"),
    max_speech_min: float = typer.Option(2.0, "--max-speech-min", min=0.05,
                                         help="longest speech of one video, minutes (a text counts 15 characters "
                                              "a second); the defaults keep a job under ~5 min on 2 cores"),
    keep_files_min: float = typer.Option(60.0, "--keep-files-min", min=1, help="delete a visitor's uploads and "
                                         "results this many minutes after they were stored (or when the visit ends)"),
    auth_file: Optional[Path] = typer.Option(None, "--auth-file", help="require a login: a file of user:password "
                                             "lines (or set TWINTAKE_WEB_AUTH)"),
    auth: Optional[str] = typer.Option(None, "--auth", help="user:password (visible in the process list: prefer "
                                       "--auth-file or TWINTAKE_WEB_AUTH)"),
    allow_host: list[str] = typer.Option([], "--allow-host", help="a host name the browser may use to reach the "
                                         "server (besides IP addresses and localhost); repeatable; * = any"),
    operator_token_file: Optional[Path] = typer.Option(None, "--operator-token-file", help="enable /operator (list "
                                                       "and cancel jobs) with the token in this file (or set "
                                                       "TWINTAKE_WEB_OPERATOR_TOKEN)"),
    enhancer_model: Optional[Path] = typer.Option(None, "--enhancer-model", help="a local GFPGAN checkpoint the "
                                                  "page's enhancement uses (set here, never from the browser)"),
    sd_model: Optional[Path] = typer.Option(None, "--sd-model", help="a local Stable Diffusion / SD-Turbo / SDXL "
                                            "checkpoint: the page gets 'Create an avatar from a prompt' (needs "
                                            "twintake[neural])"),
    sd_count: int = typer.Option(4, "--sd-count", min=1, max=16, help="images drawn per created avatar (the best "
                                 "with one frontal face is kept)"),
    sd_size: int = typer.Option(512, "--sd-size", min=256, max=1024, help="side of the drawn images, pixels "
                                "(a multiple of 64: 512 for SD 1.x/SD-Turbo, 768 for SD 2.x, 1024 for SDXL)"),
    sd_device: str = typer.Option("cpu", "--sd-device", help="where --sd-model runs: cpu or cuda"),
):
    """Start the web app: pick or upload an avatar, choose a voice, type text, get the video."""
    import os

    from ..web import WebOptions, serve
    from ..web.server import AUTH_ENV, read_credentials, read_token

    credentials = None
    try:
        if auth is not None:
            user, sep, password = auth.partition(":")
            if not sep or not user or not password:
                typer.echo("error: --auth must be user:password", err=True)
                raise typer.Exit(2)
            typer.echo("warning: --auth puts the password in the process list; use --auth-file or "
                       f"{AUTH_ENV} instead", err=True)
            credentials = [(user, password)]
        elif auth_file is not None:
            try:
                text = auth_file.read_text(encoding="utf-8")
            except OSError as e:
                raise TwintakeError(f"cannot read --auth-file {auth_file}: {e.strerror or e}") from None
            credentials = read_credentials(text, str(auth_file))
        elif os.environ.get(AUTH_ENV):
            credentials = read_credentials(os.environ[AUTH_ENV], AUTH_ENV)
        token = read_token(operator_token_file)
    except TwintakeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    opts = WebOptions(avatars_dir=avatars, concurrency=concurrency, max_upload_mb=max_upload_mb, max_chars=max_chars,
                      max_speech_min=max_speech_min, keep_files_min=keep_files_min, host=host, port=port,
                      auth=credentials, allow_hosts=tuple(allow_host), operator_token=token,
                      enhancer_model=None if enhancer_model is None else str(enhancer_model),
                      sd_model=None if sd_model is None else str(sd_model), sd_count=sd_count, sd_size=sd_size,
                      sd_device=sd_device)
    login = "login required" if credentials else "no login"
    typer.echo(f"twintake web: http://{host}:{port}  ({login}; Ctrl-C to stop)", err=True)
    run_server(lambda: serve(opts), host, port)
