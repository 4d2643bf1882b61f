"""``twintake web``: make a talking video in the browser (Gradio).

The page is a thin layer over :func:`twintake.job.make_video` and :class:`twintake.Avatar`:

1. Avatar: pick one from the gallery of prepared avatars, or upload a video or a photo
   (optionally saved to the gallery under a name). Choosing one replaces the other.
2. Voice: the avatar's own voice, a reference clip (uploaded or recorded), or a built-in voice.
3. Speech: text (auto/English/Arabic; the box follows the text's direction) or an audio file
   (uploaded or recorded).
4. Options (collapsed): enhancement, output fps, output size (photos).
5. Generate: one render at a time (``--concurrency``), progress per stage with time left, a
   Cancel button that stops the job, then the video (with download) and the speech audio.

Errors are shown as one message on the page; uploads are limited in type and size and kept in
a per-session temp folder that is deleted when the session ends.
"""

import logging
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Cancelled, TwintakeError
from .session import (
    AUDIO_TYPES,
    IMAGE_TYPES,
    VIDEO_TYPES,
    CancelRegistry,
    JobFolders,
    StageTracker,
    avatar_name,
    check_upload,
    gallery_items,
)

__all__ = ["WebOptions", "build_app", "serve"]

log = logging.getLogger(__name__)

VOICE_OWN = "The person's own voice"
VOICE_CLIP = "A reference clip (upload or record)"
VOICE_BUILTIN = "A built-in voice"
SPEECH_TEXT = "Type text"
SPEECH_AUDIO = "Use audio (upload or record)"
FPS_CHOICES = {"source": 1, "2x (e.g. 50 fps)": 2, "4x (e.g. 100 fps)": 4}
SIZE_CHOICES = {"source": None, "512x512": (512, 512), "720x1280 (portrait)": (720, 1280),
                "1280x720 (landscape)": (1280, 720)}

CSS = """
#speech-text textarea { unicode-bidi: plaintext; text-align: start; }
#status { min-height: 2.5em; }
#status .error { color: #b91c1c; font-weight: 600; }
"""


@dataclass
class WebOptions:
    """Settings of the web app (from ``twintake web`` flags).

    Attributes:
        avatars_dir: folder of prepared avatars shown in the gallery (created if missing).
        concurrency: renders run at the same time; more jobs wait in the queue.
        max_upload_mb: largest upload accepted, MiB.
        host, port: where to listen; the default host only accepts this machine.
        auth: optional ``(user, password)``.
        enhancer_model: a local GFPGAN checkpoint used by the page's enhancement (a server
            setting: the browser never names a file).
        run_job: runs each video job, called like :func:`twintake.job.make_video`; None = that
            function in this process (``twintake serve --web`` passes its job queue).
    """

    avatars_dir: Path = Path("avatars")
    concurrency: int = 1
    max_upload_mb: float = 500.0
    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[str, str] | None = None
    enhancer_model: str | None = None
    run_job: object | None = None


ENHANCE_DEFAULT = "default"


def _enhance_choices() -> list[str]:
    """``default`` (the avatar's own setting, else the library default) and every mode."""
    from ..render.enhance import ENHANCE_MODES

    return [ENHANCE_DEFAULT, *ENHANCE_MODES]


def build_app(options: WebOptions | None = None):
    """Build the Gradio app (not started).

    Returns:
        ``(blocks, folders)``: the ``gradio.Blocks`` and the :class:`JobFolders` holding every
        temp file (call ``folders.close()`` after the app stops).
    Raises:
        BackendError: Gradio is not installed (``pip install "twintake[web]"``).
    """
    o = options or WebOptions()
    if o.enhancer_model is not None:
        from ..render.enhance import check_enhance

        check_enhance(None, o.enhancer_model)  # a missing checkpoint fails at start, not per job
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    folders = JobFolders()
    upload_root = folders.root / "uploads"
    upload_root.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(upload_root)
    try:
        import gradio as gr
    except ImportError:
        from ..errors import BackendError

        raise BackendError('the web app needs Gradio: pip install "twintake[web]"') from None

    from ..job import make_video
    from ..media import probe, write_wav
    from ..options import LipsyncOptions
    from ..render.enhance import DEFAULT_ENHANCE
    from ..speech.tts import VOICES
    from ..types import BUILTIN_VOICE

    avatars_dir = Path(o.avatars_dir)
    avatars_dir.mkdir(parents=True, exist_ok=True)
    thumbs = folders.root / "thumbs"
    cancels = CancelRegistry()
    enhance_modes = _enhance_choices()

    def gallery_value():
        items = gallery_items(avatars_dir, thumbs)
        return [(str(i.thumbnail), i.caption) for i in items], [i.name for i in items]

    def describe(choice) -> str:
        if not choice:
            return "No avatar chosen yet: pick one from the gallery or upload a video or a photo."
        if choice["kind"] == "avatar":
            return f"Using avatar **{choice['name']}**."
        return f"Using the uploaded file **{Path(choice['path']).name}**."

    def on_gallery_select(names, evt: gr.SelectData):
        name = names[evt.index] if evt.index is not None and evt.index < len(names) else None
        choice = {"kind": "avatar", "name": name} if name else None
        return choice, describe(choice)

    def on_upload(path):
        # the upload box is only a drop zone: it is emptied at once (the file is remembered in the
        # page's state), so another file can be dropped without removing this one first
        if not path:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        choice = {"kind": "upload", "path": str(path)}
        return choice, gr.update(selected_index=None), describe(choice), "", None

    def on_refresh():
        value, names = gallery_value()
        return gr.update(value=value), names

    def on_cancel(request: gr.Request):
        running = cancels.cancel(request.session_hash)
        return "Cancelling…" if running else "Nothing is running."

    def on_unload(request: gr.Request):
        cancels.cancel(request.session_hash)
        folders.end_session(request.session_hash)

    def error(message: str) -> str:
        # the page names files, never the server's folders
        message = re.sub(re.escape(str(folders.root)) + r"\S*/([^/\s]+)", r"\1", message)
        message = message.replace(str(avatars_dir.resolve()) + os.sep, "").replace(str(avatars_dir) + os.sep, "")
        return f'<span class="error">Error: {_escape(message)}</span>'

    def generate(choice, save_name, voice_mode, voice_clip, builtin_voice, speech_mode, text, lang,
                 speech_audio, enhance, fps_choice, size_choice, request: gr.Request,
                 progress=gr.Progress()):
        started = time.monotonic()
        session = request.session_hash
        event = cancels.start(session)
        tracker = StageTracker()

        def hook(stage, completed, total):
            fraction, label = tracker.update(stage, completed, total)
            progress(fraction, desc=label)

        def chosen_after():
            """(choice, save name, choice text) updates: switch to an avatar saved by this job."""
            if saved is None:
                return gr.update(), gr.update(), gr.update()
            return saved, "", describe(saved)

        no_result = gr.update(value=None)
        saved = None
        try:
            job_dir = folders.new_job(session)
            if not choice:
                raise _UserError("choose an avatar: pick one from the gallery, or upload a video or a photo")
            if choice["kind"] == "avatar":
                source = avatars_dir / avatar_name(choice["name"])
            else:
                source = check_upload(choice["path"], VIDEO_TYPES + IMAGE_TYPES, "a video or a photo", upload_root,
                                      o.max_upload_mb)
                if save_name and save_name.strip():
                    from ..avatar import Avatar

                    target = avatars_dir / avatar_name(save_name)
                    if target.exists():
                        raise _UserError(f"an avatar named {target.name} already exists: pick it in the gallery, "
                                         "or choose another name")
                    Avatar.prepare(source, target, hook=hook, cancel=event)
                    source = target
                    # from now on the page uses the saved avatar; generating again does not re-save
                    saved = {"kind": "avatar", "name": target.name}
            voice, tts_voice = None, None
            if voice_mode == VOICE_CLIP:
                voice = check_upload(voice_clip, AUDIO_TYPES, "an audio clip", upload_root, o.max_upload_mb)
                if voice is None:
                    raise _UserError("upload or record a voice clip, or choose another voice option")
            elif voice_mode == VOICE_BUILTIN:
                voice, tts_voice = BUILTIN_VOICE, builtin_voice
            text_arg, audio_arg = None, None
            if speech_mode == SPEECH_AUDIO:
                audio_arg = check_upload(speech_audio, AUDIO_TYPES, "an audio file", upload_root, o.max_upload_mb)
                if audio_arg is None:
                    raise _UserError("upload or record the speech audio, or choose 'Type text'")
            else:
                if not text or not text.strip():
                    raise _UserError("the text is empty: type what the avatar should say")
                text_arg = text
            lo = LipsyncOptions(fps=_fps(source, FPS_CHOICES.get(fps_choice, 1), probe),
                                size=SIZE_CHOICES.get(size_choice),
                                enhance=None if enhance in (None, ENHANCE_DEFAULT) else enhance,
                                enhancer_model=o.enhancer_model)
            out = job_dir / "twintake.mp4"
            run_job = o.run_job or make_video
            job = run_job(source, text_arg, audio=audio_arg, out=out, voice=voice, lang=lang,
                          tts_voice=tts_voice, options=lo, hook=hook, cancel=event)
            wav = job_dir / "speech.wav"
            write_wav(wav, job.speech.samples, job.speech.sample_rate_hz)
            r = job.render
            lines = [f"Done in {time.monotonic() - started:.0f} s: {r.duration_s:.2f} s of video, {r.frames} frames "
                     f"at {r.fps:g} fps, {r.width}x{r.height}.",
                     "<b id=\"ai-label\">AI-generated</b> - this video is labelled as such (C2PA manifest and "
                     "invisible marks; check it with <code>twintake verify</code>)."]
            if r.frames_without_face:
                lines.append(f"No face in {len(r.frames_without_face)} stretch(es); those frames are unchanged.")
            lines += [f"Note: {_escape(n)}" for n in job.notes]
            return ("<br>".join(lines), str(out), str(wav)) + chosen_after()
        except Cancelled:
            return ("Cancelled: no video was written.", no_result, no_result) + chosen_after()
        except (TwintakeError, _UserError) as e:
            return (error(str(e)), no_result, no_result) + chosen_after()
        except Exception as e:  # noqa: BLE001 - the page shows one line, the log keeps the traceback
            log.exception("web job failed")
            return (error(f"something went wrong inside twintake ({type(e).__name__}: {e})"), no_result,
                    no_result) + chosen_after()
        finally:
            cancels.finish(session, event)

    theme = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"],
                           font_mono=["ui-monospace", "monospace"])
    with gr.Blocks(title="twintake", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# twintake\nMake a video of a person saying new speech, on this computer.")
        choice = gr.State(None)
        names = gr.State([])
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("### 1 · Avatar")
                gallery = gr.Gallery(label="Prepared avatars (save an upload under a name to add one here)", columns=4, fit_columns=False, height=220,
                                     allow_preview=False, object_fit="contain", buttons=[], elem_id="gallery",
                                     interactive=False)
                upload = gr.File(label="…or upload a video or a photo (replaces the choice above)", file_types=list(VIDEO_TYPES + IMAGE_TYPES),
                                 elem_id="source-upload")
                save_name = gr.Textbox(label="Save the upload as an avatar named (optional)", max_lines=1,
                                       elem_id="save-name")
                chosen = gr.Markdown(describe(None), elem_id="avatar-choice")
                gr.Markdown("### 2 · Voice")
                voice_mode = gr.Radio([VOICE_OWN, VOICE_CLIP, VOICE_BUILTIN], value=VOICE_OWN, label="Voice",
                                      elem_id="voice-mode")
                voice_clip = gr.Audio(label="Reference clip (5 s or more of speech; 30 s is best)",
                                      sources=["upload", "microphone"], type="filepath", elem_id="voice-clip",
                                      visible=False)
                builtin_voice = gr.Dropdown(list(VOICES), value=VOICES[0], label="Built-in voice (English)",
                                            elem_id="builtin-voice", visible=False)
                gr.Markdown("### 3 · Speech")
                speech_mode = gr.Radio([SPEECH_TEXT, SPEECH_AUDIO], value=SPEECH_TEXT, label="Speech",
                                       elem_id="speech-mode")
                text = gr.Textbox(label="Text (English, Arabic or both)", lines=4, elem_id="speech-text",
                                  placeholder="Hello! … or … مرحبا")
                lang = gr.Radio(["auto", "en", "ar"], value="auto", label="Language", elem_id="lang")
                speech_audio = gr.Audio(label="Speech audio", sources=["upload", "microphone"], type="filepath",
                                        elem_id="speech-audio", visible=False)
                with gr.Accordion("Options", open=False):
                    enhance = gr.Radio(enhance_modes, value=ENHANCE_DEFAULT, elem_id="enhance",
                                       label="Enhancement (restores mouth/face detail; default: the avatar's "
                                             f"setting, else {DEFAULT_ENHANCE})")
                    fps = gr.Radio(list(FPS_CHOICES), value="source", label="Output frame rate "
                                   "(in-between frames by optical flow)", elem_id="fps")
                    size = gr.Radio(list(SIZE_CHOICES), value="source", label="Output size (photos: cropped "
                                    "around the face)", elem_id="size")
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="generate")
                    stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
            with gr.Column(scale=1):
                status = gr.HTML("", elem_id="status")
                video = gr.Video(label="Result - AI-generated (signed C2PA manifest, invisible marks)",
                                 interactive=False, buttons=["download"], elem_id="result-video")
                speech_out = gr.Audio(label="The speech on its own", interactive=False, type="filepath",
                                      buttons=["download"], elem_id="result-audio")

        demo.load(on_refresh, None, [gallery, names])
        gallery.select(on_gallery_select, [names], [choice, chosen])
        upload.upload(on_upload, [upload], [choice, gallery, chosen, save_name, upload])
        # each mode shows only its own inputs, so picking a mode is all it takes to switch
        voice_mode.change(lambda m: (gr.update(visible=m == VOICE_CLIP), gr.update(visible=m == VOICE_BUILTIN)),
                          [voice_mode], [voice_clip, builtin_voice], queue=False)
        speech_mode.change(lambda m: (gr.update(visible=m == SPEECH_TEXT), gr.update(visible=m == SPEECH_TEXT),
                                      gr.update(visible=m == SPEECH_AUDIO)),
                           [speech_mode], [text, lang, speech_audio], queue=False)
        # the status line says at once that the job started (the bar itself sits on the result)
        started = go.click(lambda: "Working… progress is shown on the result.", None, status, queue=False)
        job = started.then(generate, [choice, save_name, voice_mode, voice_clip, builtin_voice, speech_mode, text, lang,
                                  speech_audio, enhance, fps, size],
                       [status, video, speech_out, choice, save_name, chosen],
                       concurrency_limit=o.concurrency, concurrency_id="render", show_progress_on=[video])
        job.then(on_refresh, None, [gallery, names])
        stop.click(on_cancel, None, [status], queue=False)
        demo.unload(on_unload)
    demo.queue(default_concurrency_limit=o.concurrency)
    demo._twintake_theme = theme  # launch() takes theme/css in Gradio 6
    return demo, folders


class _UserError(Exception):
    """Something the user must fix on the page (not a twintake library error)."""


def _fps(source: Path, factor: int, probe) -> float | None:
    if factor == 1:
        return None
    from ..avatar import Avatar, is_avatar

    if is_avatar(source):  # Avatar.load: a damaged folder gives its readable AvatarError
        rate = float(Avatar.load(source, check_source=False).manifest["fps"])
    else:
        info = probe(source)
        rate = 25.0 if info.is_image else float(info.video.fps)
    return rate * factor


def _interrupt(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the clean-up short
    raise KeyboardInterrupt


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serve(options: WebOptions | None = None, *, block: bool = True):
    """Start the web app at ``http://host:port`` (blocks until Ctrl-C when ``block``).

    Raises:
        BackendError: Gradio is not installed.
        OSError: the port is taken.
    """
    o = options or WebOptions()
    demo, folders = build_app(o)
    if block and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a service stop cleans up like Ctrl-C
    try:
        demo.launch(server_name=o.host, server_port=o.port, auth=o.auth, max_file_size=f"{o.max_upload_mb:g}mb",
                    show_error=False, quiet=True, prevent_thread_lock=not block, theme=demo._twintake_theme,
                    css=CSS, footer_links=[], pwa=False, ssr_mode=False, enable_monitoring=False)
    finally:
        if block:
            folders.close()
    return demo, folders
