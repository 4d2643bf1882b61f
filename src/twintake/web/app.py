"""``twintake web``: make a talking video in the browser (Gradio).

The page is a thin layer over :func:`twintake.job.make_video` and :class:`twintake.Avatar`:

1. Avatar: pick one from the gallery of prepared avatars, or upload a video or a photo
   (optionally saved to the gallery under a name). Choosing one replaces the other; a preview
   shows what was chosen.
2. Voice: the avatar's own voice, a reference clip (uploaded or recorded), or a built-in voice.
3. Speech: text (auto/English/Arabic; the box follows the text's direction) or an audio file.
4. Options (collapsed): enhancement, output fps, output size (photos).
5. Generate: the job joins the page's queue (:mod:`twintake.web.jobs`: one job per visitor,
   server-side limits on text and speech length); next to the buttons the page shows the place in
   the queue and the expected wait, then the stage with a progress bar, and at the end the queue
   time apart from the run time. Cancel stops the job within a second.

Files: uploads, previews and results live in the upload cache, each registered to its visitor
(:mod:`twintake.web.files`) and served only to them by the guard (:mod:`twintake.web.guard`),
deleted when the visit ends or after ``keep_files_min``. :func:`twintake.web.server.serve` runs
the page behind that guard.
"""

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TwintakeError
from .files import FileRegistry
from .guard import VISITOR_COOKIE
from .jobs import BusyError, WebJobs
from .session import (
    AUDIO_TYPES,
    IMAGE_TYPES,
    VIDEO_TYPES,
    JobFolders,
    avatar_name,
    check_upload,
    gallery_items,
    preview_image,
)
from .status import CHARS_PER_S, done_status, error_status, job_status, voice_choices

__all__ = ["WebOptions", "WebRuntime", "build_app", "CSS"]

log = logging.getLogger(__name__)

VOICE_OWN = "The person's own voice"
VOICE_CLIP = "A reference clip (upload or record)"
VOICE_BUILTIN = "A built-in voice"
SPEECH_TEXT = "Type text"
SPEECH_AUDIO = "Use audio (upload or record)"
FPS_CHOICES = {"source": 1, "2x (e.g. 50 fps)": 2, "4x (e.g. 100 fps)": 4}
SIZE_CHOICES = {"source": None, "512x512": (512, 512), "720x1280 (portrait)": (720, 1280),
                "1280x720 (landscape)": (1280, 720)}
ENHANCE_DEFAULT = "default"
_POLL_S = 0.25

CSS = """
#speech-text textarea { unicode-bidi: plaintext; text-align: start; }
#actions { position: fixed; left: 0; right: 0; bottom: 0; z-index: 50; background: var(--background-fill-primary);
           border-top: 1px solid var(--border-color-primary); box-shadow: 0 -2px 8px rgba(0, 0, 0, .08);
           padding: 8px max(16px, calc(50vw - 600px)) 10px; max-height: 40vh; overflow-y: auto; }
.gradio-container { padding-bottom: 170px !important; }
#status { min-height: 2.6em; }
#status .error { color: #b91c1c; font-weight: 600; }
#status progress { display: block; width: 100%; height: 14px; margin-top: 4px; }
#status .pct { font-size: 0.85em; }
#gallery .caption-label { white-space: normal; max-width: 100%; overflow: visible; text-overflow: clip; }
"""


@dataclass
class WebOptions:
    """Settings of the web app (from ``twintake web`` flags).

    Attributes:
        avatars_dir: folder of prepared avatars shown in the gallery (created if missing).
        concurrency: jobs run at the same time; more wait in the page's queue.
        max_upload_mb: largest upload accepted, MiB.
        max_chars: longest text of one job, characters.
        max_speech_min: longest speech of one job (an audio file, or a text at 15 characters a
            second), minutes. The defaults keep one job under ~5 min on 2 cores.
        keep_files_min: a visitor's files are deleted this long after they were stored, at the
            latest (and when the visit ends), minutes.
        host, port: where to listen; the default host only accepts this machine.
        auth: ``[(user, password), ...]`` or one ``(user, password)``; None = no login.
        allow_hosts: host names accepted in the Host header besides IP addresses and
            ``localhost``; ``("*",)`` accepts any.
        operator_token: bearer token of the operator endpoints (``/operator``); None = none.
        enhancer_model: a local GFPGAN checkpoint used by the page's enhancement (a server
            setting: the browser never names a file).
        run_job: runs each video job, called like :func:`twintake.job.make_video`; None = that
            function in this process (``twintake serve --web`` passes its job queue).
        sd_model: a local Stable Diffusion checkpoint (folder or file): the page then shows
            "Create an avatar from a prompt" (:mod:`twintake.web.create`); None = no such control.
        sd_count, sd_size, sd_device: images drawn per creation, their side in pixels, and
            where they are drawn.
    """

    avatars_dir: Path = Path("avatars")
    concurrency: int = 1
    max_upload_mb: float = 500.0
    max_chars: int = 1500
    max_speech_min: float = 2.0
    keep_files_min: float = 60.0
    host: str = "127.0.0.1"
    port: int = 7860
    auth: object = None
    allow_hosts: tuple[str, ...] = ()
    operator_token: str | None = None
    enhancer_model: str | None = None
    run_job: object | None = None
    sd_model: str | None = None
    sd_count: int = 4
    sd_size: int = 512
    sd_device: str = "cpu"


@dataclass
class WebRuntime:
    """What the page shares with its server: temp folders, the file registry, the job queue."""

    folders: JobFolders
    files: FileRegistry
    jobs: WebJobs
    guarded: list = field(default_factory=list)  # non-empty once a Guard registers uploads

    def close(self) -> None:
        self.jobs.close()
        self.folders.close()


class _UserError(Exception):
    """Something the user must fix on the page (not a twintake library error)."""


def _enhance_choices() -> list[str]:
    from ..render.enhance import ENHANCE_MODES

    return [ENHANCE_DEFAULT, *ENHANCE_MODES]


def _ids(request) -> tuple[str, str]:
    """(visitor id, session id) of a page request; the visitor is the guard's cookie (the
    session when the page runs without the guard)."""
    session = getattr(request, "session_hash", None) or "anonymous"
    try:
        visitor = request.cookies.get(VISITOR_COOKIE) or ""
    except Exception:  # noqa: BLE001 - a request without cookies
        visitor = ""
    return visitor or f"session-{session}", session


def build_app(options: WebOptions | None = None):
    """Build the Gradio app (not started).

    Returns:
        ``(blocks, runtime)``: the ``gradio.Blocks`` and its :class:`WebRuntime` (temp folders,
        file registry, job queue; call ``runtime.close()`` after the app stops). ``blocks``
        also carries the runtime as ``blocks.twintake``.
    Raises:
        BackendError: Gradio is not installed (``pip install "twintake[web]"``).
    """
    o = options or WebOptions()
    if o.enhancer_model is not None:
        from ..render.enhance import check_enhance

        check_enhance(None, o.enhancer_model)  # a missing checkpoint fails at start, not per job
    if o.sd_model is not None:
        from ..generate import check_sd_model

        check_sd_model(o.sd_model)  # a missing or foreign checkpoint fails at start too
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

    runtime = WebRuntime(folders, FileRegistry(upload_root, ttl_s=o.keep_files_min * 60),
                         WebJobs(o.concurrency, keep_finished_s=o.keep_files_min * 60))
    files, jobs = runtime.files, runtime.jobs
    avatars_dir = Path(o.avatars_dir)
    avatars_dir.mkdir(parents=True, exist_ok=True)
    thumbs = folders.root / "thumbs"
    enhance_modes = _enhance_choices()
    max_speech_s = o.max_speech_min * 60.0

    def gallery_value():
        items = gallery_items(avatars_dir, thumbs)
        return [(files.publish_public(i.thumbnail), i.caption) for i in items], [i.name for i in items]

    def describe(choice) -> str:
        if not choice:
            return "No avatar chosen yet: pick one from the gallery or upload a video or a photo."
        if choice["kind"] == "avatar":
            return f"Using avatar **{choice['name']}**."
        return f"Using the uploaded file **{Path(choice['path']).name}**."

    def own_upload(path, visitor: str, session: str, kinds, what: str) -> Path | None:
        """An upload of this visitor (never another's), of the right type and size."""
        p = check_upload(path, kinds, what, upload_root, o.max_upload_mb)
        if p is not None and runtime.guarded and not files.owns(p, visitor):
            raise _UserError("that file was not uploaded in this visit; upload it again")
        if p is not None:
            files.add(p, visitor, session)
        return p

    def on_load(request: gr.Request):
        visitor, session = _ids(request)
        files.session_started(visitor, session)
        value, names = gallery_value()
        return gr.update(value=value), names

    def on_gallery_select(names, evt: gr.SelectData):
        name = names[evt.index] if evt.index is not None and evt.index < len(names) else None
        choice = {"kind": "avatar", "name": name} if name else None
        thumb = evt.value.get("image", {}).get("path") if isinstance(evt.value, dict) else None
        return choice, describe(choice), gr.update(value=thumb, visible=thumb is not None)

    def on_upload(path, request: gr.Request):
        # the upload box is only a drop zone: it is emptied at once (the file is remembered in the
        # page's state), so another file can be dropped without removing this one first
        if not path:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        visitor, session = _ids(request)
        try:
            p = own_upload(path, visitor, session, VIDEO_TYPES + IMAGE_TYPES, "a video or a photo")
            preview = str(p) if p.suffix.lower() in IMAGE_TYPES else files.publish(
                preview_image(p, folders.for_session(session)), visitor, session)
        except (TwintakeError, _UserError) as e:
            return (gr.update(), gr.update(), gr.update(), gr.update(), None, gr.update(visible=False),
                    error_status(_clean(str(e))))
        choice = {"kind": "upload", "path": str(p)}
        return (choice, gr.update(selected_index=None), describe(choice), "", None,
                gr.update(value=preview, visible=True), "")

    def on_cancel(request: gr.Request):
        visitor, _ = _ids(request)
        # the job's own event shows "Cancelling…" and then "Cancelled"
        return gr.update() if jobs.cancel_visitor(visitor) else "Nothing is running."

    def on_unload(request: gr.Request):
        visitor, session = _ids(request)
        job = jobs.active_for(visitor)
        if job is not None and job.session == session:
            jobs.cancel(job.id)
        files.session_ended(visitor, session)
        folders.end_session(session)

    def _clean(message: str) -> str:
        # the page names files, never the server's folders
        message = re.sub(re.escape(str(folders.root)) + r"\S*/([^/\s]+)", r"\1", message)
        return message.replace(str(avatars_dir.resolve()) + os.sep, "").replace(str(avatars_dir) + os.sep, "")

    def prepare_job(choice, save_name, voice_mode, voice_clip, builtin_voice, speech_mode, text, lang,
                    speech_audio, enhance, fps_choice, size_choice, visitor, session):
        """Check everything the visitor gave (fast, before queueing); returns ``(run, speech_s,
        summary)``, ``run(job)`` making the video in a worker thread."""
        if not choice:
            raise _UserError("choose an avatar: pick one from the gallery, or upload a video or a photo")
        save = None
        if choice["kind"] == "avatar":
            source = avatars_dir / avatar_name(choice["name"])
        else:
            source = own_upload(choice["path"], visitor, session, VIDEO_TYPES + IMAGE_TYPES, "a video or a photo")
            if save_name and save_name.strip():
                save = avatars_dir / avatar_name(save_name)
                if save.exists():
                    raise _UserError(f"an avatar named {save.name} already exists: pick it in the gallery, "
                                     "or choose another name")
        voice, tts_voice = None, None
        if voice_mode == VOICE_CLIP:
            voice = own_upload(voice_clip, visitor, session, AUDIO_TYPES, "an audio clip")
            if voice is None:
                raise _UserError("upload or record a voice clip, or choose another voice option")
        elif voice_mode == VOICE_BUILTIN:
            voice, tts_voice = BUILTIN_VOICE, builtin_voice
        text_arg, audio_arg = None, None
        if speech_mode == SPEECH_AUDIO:
            audio_arg = own_upload(speech_audio, visitor, session, AUDIO_TYPES, "an audio file")
            if audio_arg is None:
                raise _UserError("upload or record the speech audio, or choose 'Type text'")
            info = probe(audio_arg)
            speech_s = info.duration_s or 0.0
            what = f"audio, {speech_s:.0f} s"
        else:
            if not text or not text.strip():
                raise _UserError("the text is empty: type what the avatar should say")
            if len(text) > o.max_chars:
                raise _UserError(f"the text has {len(text)} characters, over this server's limit of "
                                 f"{o.max_chars} per video: shorten it or split it into several videos")
            text_arg, speech_s = text, len(text.strip()) / CHARS_PER_S
            what = f"text, {len(text)} characters"
        if speech_s > max_speech_s:
            raise _UserError(f"the speech would last about {speech_s / 60:.1f} min, over this server's limit "
                             f"of {o.max_speech_min:g} min per video: shorten it")
        lo = LipsyncOptions(fps=_fps(source, FPS_CHOICES.get(fps_choice, 1), probe),
                            size=SIZE_CHOICES.get(size_choice),
                            enhance=None if enhance in (None, ENHANCE_DEFAULT) else enhance,
                            enhancer_model=o.enhancer_model, max_duration_s=max_speech_s)
        source_name = choice["name"] if choice["kind"] == "avatar" else Path(choice["path"]).name

        def run(job):
            job_dir = folders.new_job(session)
            try:
                src, saved = source, None
                if save is not None:
                    from ..avatar import Avatar

                    Avatar.prepare(src, save, hook=job.hook, cancel=job.cancel)
                    src, saved = save, {"kind": "avatar", "name": save.name}
                out = job_dir / "twintake.mp4"
                result = (o.run_job or make_video)(src, text_arg, audio=audio_arg, out=out, voice=voice, lang=lang,
                                                   tts_voice=tts_voice, options=lo, max_chars=o.max_chars,
                                                   hook=job.hook, cancel=job.cancel)
                wav = job_dir / "speech.wav"
                write_wav(wav, result.speech.samples, result.speech.sample_rate_hz)
                return result, files.publish(out, visitor, session), files.publish(wav, visitor, session), saved
            finally:
                shutil.rmtree(job_dir, ignore_errors=True)

        return run, speech_s, f"{source_name} · {what}"

    def generate(choice, save_name, voice_mode, voice_clip, builtin_voice, speech_mode, text, lang,
                 speech_audio, enhance, fps_choice, size_choice, request: gr.Request):
        """A generator: validates, queues the job, then reports it every 0.25 s until it ends.
        Outputs: status, video, speech, choice, save name, choice text, Generate, gallery,
        gallery names, preview."""
        visitor, session = _ids(request)
        keep = gr.update()
        idle = (keep,) * 7
        try:
            run, speech_s, summary = prepare_job(choice, save_name, voice_mode, voice_clip, builtin_voice,
                                                 speech_mode, text, lang, speech_audio, enhance, fps_choice,
                                                 size_choice, visitor, session)
            job = jobs.submit(visitor, run, speech_s, summary, session)
        except (TwintakeError, _UserError, BusyError) as e:
            yield (error_status(_clean(str(e))),) + idle[:5] + (gr.update(interactive=True),) + idle[:3]
            return
        busy = gr.update(interactive=False)
        yield (job_status(job, jobs, time.monotonic()), gr.update(value=None), gr.update(value=None)) + \
            idle[:3] + (busy,) + idle[:3]
        while not job.finished:
            jobs.wait_change(_POLL_S)
            if job.finished:  # the last word comes with the button enabled again
                break
            yield (job_status(job, jobs, time.monotonic()),) + idle[:5] + (busy,) + idle[:3]
        free = gr.update(interactive=True)
        if job.state != "done":
            text_ = job_status(job, jobs, time.monotonic())
            yield (_clean(text_),) + idle[:5] + (free,) + idle[:3]
            return
        result, video_path, wav_path, saved = job.result
        if saved is None:
            yield (done_status(job, result), video_path, wav_path) + idle[:3] + (free,) + idle[:3]
            return
        value, names = gallery_value()
        index = names.index(saved["name"]) if saved["name"] in names else None
        yield (done_status(job, result), video_path, wav_path, saved, "", describe(saved), free,
               gr.update(value=value, selected_index=index), names, keep)

    theme = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"],
                           font_mono=["ui-monospace", "monospace"])
    with gr.Blocks(title="twintake", delete_cache=(600, int(o.keep_files_min * 60))) as demo:
        gr.Markdown("# twintake\nMake a video of a person saying new speech, on this computer.")
        choice = gr.State(None)
        names = gr.State([])
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("### 1 · Avatar")
                gallery = gr.Gallery(label="Prepared avatars (save an upload under a name to add one here)",
                                     columns=3, fit_columns=False, height=220, allow_preview=False,
                                     object_fit="contain", buttons=[], elem_id="gallery", interactive=False)
                upload = gr.File(label="…or upload a video or a photo (replaces the choice above)",
                                 file_types=list(VIDEO_TYPES + IMAGE_TYPES), elem_id="source-upload")
                preview = gr.Image(label="Chosen", interactive=False, visible=False, height=160,
                                   elem_id="source-preview", buttons=[])
                save_name = gr.Textbox(label="Save the upload as an avatar named (optional)", max_lines=1,
                                       elem_id="save-name")
                if o.sd_model is not None:
                    from .create import create_control

                    create_prompt, create_btn = create_control(gr)
                chosen = gr.Markdown(describe(None), elem_id="avatar-choice")
                gr.Markdown("### 2 · Voice")
                voice_mode = gr.Radio([VOICE_OWN, VOICE_CLIP, VOICE_BUILTIN], value=VOICE_OWN, label="Voice",
                                      elem_id="voice-mode")
                voice_clip = gr.Audio(label="Reference clip (5 s or more of speech; 30 s is best)",
                                      sources=["upload", "microphone"], type="filepath", elem_id="voice-clip",
                                      visible=False)
                builtin_voice = gr.Dropdown(voice_choices(VOICES), value=VOICES[0], elem_id="builtin-voice",
                                            label="Built-in voice (name - language it was trained on, gender)",
                                            visible=False)
                gr.Markdown("### 3 · Speech")
                speech_mode = gr.Radio([SPEECH_TEXT, SPEECH_AUDIO], value=SPEECH_TEXT, label="Speech",
                                       elem_id="speech-mode")
                text = gr.Textbox(label=f"Text (English, Arabic or both; up to {o.max_chars} characters, "
                                        f"{o.max_speech_min:g} min of speech)", lines=4, elem_id="speech-text",
                                  placeholder="Hello! … or … مرحبا")
                lang = gr.Radio(["auto", "en", "ar"], value="auto", label="Language", elem_id="lang")
                speech_audio = gr.Audio(label=f"Speech audio (up to {o.max_speech_min:g} min)",
                                        sources=["upload", "microphone"], type="filepath",
                                        elem_id="speech-audio", visible=False)
                with gr.Accordion("Options", open=False):
                    enhance = gr.Radio(enhance_modes, value=ENHANCE_DEFAULT, elem_id="enhance",
                                       label="Enhancement (restores mouth/face detail; default: the avatar's "
                                             f"setting, else {DEFAULT_ENHANCE})")
                    fps = gr.Radio(list(FPS_CHOICES), value="source", label="Output frame rate "
                                   "(in-between frames by optical flow)", elem_id="fps")
                    size = gr.Radio(list(SIZE_CHOICES), value="source", label="Output size (photos: cropped "
                                    "around the face)", elem_id="size")
                with gr.Column(elem_id="actions"):
                    with gr.Row():
                        go = gr.Button("Generate", variant="primary", elem_id="generate")
                        stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
                    status = gr.HTML("", elem_id="status")
            with gr.Column(scale=1):
                video = gr.Video(label="Result - AI-generated (signed C2PA manifest, invisible marks)",
                                 interactive=False, buttons=["download"], elem_id="result-video")
                speech_out = gr.Audio(label="The speech on its own", interactive=False, type="filepath",
                                      buttons=["download"], elem_id="result-audio")

        demo.load(on_load, None, [gallery, names])
        gallery.select(on_gallery_select, [names], [choice, chosen, preview])
        upload.upload(on_upload, [upload], [choice, gallery, chosen, save_name, upload, preview, status])
        # each mode shows only its own inputs, so picking a mode is all it takes to switch
        voice_mode.change(lambda m: (gr.update(visible=m == VOICE_CLIP), gr.update(visible=m == VOICE_BUILTIN)),
                          [voice_mode], [voice_clip, builtin_voice], queue=False)
        speech_mode.change(lambda m: (gr.update(visible=m == SPEECH_TEXT), gr.update(visible=m == SPEECH_TEXT),
                                      gr.update(visible=m == SPEECH_AUDIO)),
                           [speech_mode], [text, lang, speech_audio], queue=False)
        # the page's own queue (WebJobs) decides what runs; this event only watches its job
        go.click(generate, [choice, save_name, voice_mode, voice_clip, builtin_voice, speech_mode, text, lang,
                            speech_audio, enhance, fps, size],
                 [status, video, speech_out, choice, save_name, chosen, go, gallery, names, preview],
                 concurrency_limit=None, show_progress="hidden")
        stop.click(on_cancel, None, [status], queue=False, show_progress="hidden")
        if o.sd_model is not None:
            from .create import create_handler

            on_create = create_handler(gr, options=o, jobs=jobs, avatars_dir=avatars_dir, ids=_ids,
                                       gallery_value=gallery_value, describe=describe, clean=_clean)
            create_btn.click(on_create, [create_prompt],
                             [status, choice, chosen, gallery, names, preview, create_btn, go],
                             concurrency_limit=None, show_progress="hidden")
        demo.unload(on_unload)
    demo.queue(default_concurrency_limit=None)
    demo._twintake_theme = theme  # launch() takes theme/css in Gradio 6
    demo.twintake = runtime
    return demo, runtime


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

