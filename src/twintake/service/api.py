"""``twintake serve``: the REST API (FastAPI + uvicorn) over the job store and worker processes.

    POST   /v1/avatars            multipart: source (video or photo), name?      -> 202 {"id"}
    GET    /v1/avatars                                                           -> {"avatars": [...]}
    DELETE /v1/avatars/{id}
    POST   /v1/videos             JSON or multipart: avatar (id) | source (file), text | audio
                                  (file), voice? (file or "none"), lang?, tts_voice?, options?
                                                                                 -> 202 {"id"}
    GET    /v1/videos/{id}        {"id", "status", "progress", "stage", "eta_s", "error"}
    GET    /v1/videos/{id}/file   the MP4
    DELETE /v1/videos/{id}        cancels (within 1 s) and deletes

Every request needs ``Authorization: Bearer KEY``; a key sees only its own jobs and avatars.
Every error is ``{"error": "one line"}`` with its status code. OpenAPI docs at ``/docs``.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoints' annotations (Request,
# imported inside create_app) at definition time

import logging
import shutil
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import BackendError, TwintakeError
from .auth import Limits, check_key, load_keys
from .store import ACTIVE, JobStore
from .workers import OUTPUT, WorkerPool

__all__ = ["ServeOptions", "create_app", "serve"]

log = logging.getLogger(__name__)

SOURCE_TYPES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".jpg", ".jpeg", ".png", ".webp", ".bmp")
AUDIO_TYPES = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac", ".mp4", ".mov", ".m4v", ".mkv", ".webm")
CHARS_PER_S = 15.0  # speech estimate of a text before it is spoken


@dataclass
class ServeOptions:
    """Settings of ``twintake serve``.

    Attributes:
        data: folder of the job store (``jobs.sqlite3``), uploads and outputs (created).
        workers: jobs rendered at once (one process each).
        api_keys: a file of ``sha256:HEX`` lines; keys are also read from ``TWINTAKE_API_KEYS``.
        limits: per-key :class:`Limits`.
        web: also mount the Gradio page at ``/web`` (extra ``web``).
        host, port: where to listen.
    """

    data: Path = Path("twintake-data")
    workers: int = 1
    api_keys: Path | None = None
    limits: Limits = field(default_factory=Limits)
    web: bool = False
    host: str = "127.0.0.1"
    port: int = 8000


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _imports():
    try:
        import fastapi
        import multipart  # noqa: F401  (python-multipart: form uploads)
        import uvicorn  # noqa: F401
    except ImportError:
        raise BackendError('twintake serve needs FastAPI, uvicorn and python-multipart: '
                           'pip install "twintake[serve]"') from None
    return fastapi


def _check_media(path: Path, field_name: str, kind: str) -> float:
    """Raise ApiError(415) unless ``path`` is a ``kind`` ("source": video or photo; "audio");
    returns its duration in seconds (0 for a photo)."""
    from ..media import probe

    try:
        info = probe(path)
    except (TwintakeError, OSError) as e:
        why = str(e).splitlines()[0].replace(str(path), path.name)
        raise ApiError(415, f"{field_name}: not a readable media file ({why})") from None
    if kind == "source" and info.video is None:
        raise ApiError(415, f"{field_name}: not a video or a photo")
    if kind == "audio" and info.audio is None:
        raise ApiError(415, f"{field_name}: has no audio stream")
    return 0.0 if info.is_image else float(info.duration_s or 0.0)


def create_app(options: ServeOptions | None = None, keys: set[str] | None = None):
    """Build the FastAPI app (not started); the worker processes start with the app.

    Raises:
        BackendError: FastAPI/uvicorn missing (extra ``serve``); no API keys.
    """
    fastapi = _imports()
    from fastapi import Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse
    from starlette.exceptions import HTTPException

    o = options or ServeOptions()
    digests = keys if keys is not None else load_keys(o.api_keys)
    lim = o.limits
    data = Path(o.data)
    data.mkdir(parents=True, exist_ok=True)
    jobs_dir, uploads = data / "jobs", data / "uploads"
    jobs_dir.mkdir(exist_ok=True)
    uploads.mkdir(exist_ok=True)
    store = JobStore(data / "jobs.sqlite3")
    recovered = store.recover()
    if recovered:
        log.warning("%d interrupted job(s) queued again", recovered)
    pool = WorkerPool(store, jobs_dir, o.workers)

    @asynccontextmanager
    async def lifespan(_app):
        pool.start()
        yield
        pool.stop()
        store.close()

    app = fastapi.FastAPI(title="twintake", version=__version__, lifespan=lifespan,
                          description="Make a video of a person saying new speech. Every request needs "
                                      "`Authorization: Bearer KEY`; errors are `{\"error\": \"...\"}`.")
    app.state.store, app.state.pool = store, pool

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def _http_error(_request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    def owner_of(request: Request) -> str:
        owner = check_key(request.headers.get("authorization"), digests)
        if owner is None:
            raise ApiError(401, "missing or wrong API key: send Authorization: Bearer KEY")
        return owner

    def check_length(request: Request) -> None:
        n = request.headers.get("content-length")
        if n is not None and n.isdigit() and int(n) > lim.max_upload_mb * (1 << 20) + 65536:
            raise ApiError(413, f"the upload is over the {lim.max_upload_mb:g} MB limit")

    def check_queue(owner: str) -> None:
        if store.count_active(owner) >= lim.max_queued:
            raise ApiError(429, f"this key already has {lim.max_queued} jobs queued or running (the limit): "
                                "wait for some to finish")

    async def save(upload, field_name: str, kinds: tuple[str, ...], folder: Path, kind: str) -> tuple[str, float]:
        name = Path(getattr(upload, "filename", "") or "").name
        suffix = Path(name).suffix.lower()
        if suffix not in kinds:
            raise ApiError(415, f"{field_name}: {name or 'the upload'} is not one of {' '.join(kinds)}")
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{field_name}{suffix}"
        size, limit = 0, lim.max_upload_mb * (1 << 20)
        with open(dest, "wb") as f:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"{field_name}: over the {lim.max_upload_mb:g} MB upload limit")
                f.write(chunk)
        if size == 0:
            raise ApiError(415, f"{field_name}: the file is empty")
        return str(dest), await run_in_threadpool(_check_media, dest, field_name, kind)

    async def read_body(request: Request) -> dict:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "the JSON body must be an object")
            return body
        if ctype.startswith("multipart/form-data") or ctype.startswith("application/x-www-form-urlencoded"):
            check_length(request)
            form = await request.form(max_files=4, max_fields=32)
            return {k: v for k, v in form.multi_items()}
        raise ApiError(415, "send JSON (application/json) or a form (multipart/form-data)")

    def is_file(v) -> bool:
        return hasattr(v, "filename") and hasattr(v, "read")

    def text_field(body: dict, key: str) -> str | None:
        v = body.get(key)
        if v is None or v == "":
            return None
        if is_file(v) or not isinstance(v, (str, int, float)):
            raise ApiError(422, f"{key}: must be a string")
        return str(v)

    form_doc = {"requestBody": {"content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "avatar": {"type": "string"}, "source": {"type": "string", "format": "binary"},
            "text": {"type": "string"}, "audio": {"type": "string", "format": "binary"},
            "voice": {"type": "string", "format": "binary"}, "lang": {"type": "string"},
            "tts_voice": {"type": "string"}, "options": {"type": "string", "description": "JSON object"}}}},
        "application/json": {"schema": {"type": "object", "properties": {
            "avatar": {"type": "string"}, "text": {"type": "string"}, "voice": {"type": "string"},
            "lang": {"type": "string"}, "tts_voice": {"type": "string"}, "options": {"type": "object"}}}}}}}

    @app.post("/v1/avatars", status_code=202, openapi_extra={"requestBody": {"content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["source"], "properties": {
            "source": {"type": "string", "format": "binary"}, "name": {"type": "string"}}}}}}})
    async def add_avatar(request: Request):
        """Upload a talking video or a portrait photo; it is prepared in the background."""
        owner = owner_of(request)
        body = await read_body(request)
        if not is_file(body.get("source")):
            raise ApiError(422, "source: upload a video or a photo (multipart field 'source')")
        check_queue(owner)
        job_id = uuid.uuid4().hex
        try:
            src, _ = await save(body["source"], "source", SOURCE_TYPES, uploads / job_id, "source")
        except BaseException:
            shutil.rmtree(uploads / job_id, ignore_errors=True)
            raise
        name = (text_field(body, "name") or Path(body["source"].filename or "avatar").stem)[:100]
        store.add(owner, "avatar", {"source": src}, name=name, job_id=job_id)
        pool.notify()
        return {"id": job_id, "status": "queued"}

    @app.get("/v1/avatars")
    def list_avatars(request: Request):
        """The key's avatars: id, name, status (queued/running/done/failed), error."""
        rows = store.list(owner_of(request), "avatar")
        return {"avatars": [{"id": r["id"], "name": r["name"], "status": r["status"], "error": r["error"]}
                            for r in rows]}

    def remove(job: dict) -> dict:
        job_id = job["id"]
        if job["status"] in ACTIVE:
            pool.cancel(job_id)
            store.update(job_id, status="cancelled", stage="cancelled", error="cancelled")
        shutil.rmtree(jobs_dir / job_id, ignore_errors=True)
        shutil.rmtree(uploads / job_id, ignore_errors=True)
        if job["status"] in ACTIVE and job["kind"] == "video":
            return {"id": job_id, "status": "cancelled"}
        store.delete(job_id)
        return {"id": job_id, "status": "deleted"}

    @app.delete("/v1/avatars/{avatar_id}")
    def delete_avatar(avatar_id: str, request: Request):
        """Delete an avatar (a preparation still running is cancelled)."""
        job = store.get(avatar_id, owner_of(request), "avatar")
        if job is None:
            raise ApiError(404, f"no avatar {avatar_id}")
        return remove(job)

    @app.post("/v1/videos", status_code=202, openapi_extra=form_doc)
    async def add_video(request: Request):
        """Queue a video: avatar (id) or source (file); text or audio (file)."""
        from .rows import options_from

        owner = owner_of(request)
        body = await read_body(request)
        avatar_id, source = text_field(body, "avatar"), body.get("source")
        if (avatar_id is None) == (source in (None, "")):
            raise ApiError(422, "give avatar (an id) or source (an uploaded video or photo), not both")
        if source not in (None, "") and not is_file(source):
            raise ApiError(422, "source: upload a file (multipart), or use avatar with an id")
        text, audio = text_field(body, "text"), body.get("audio")
        if (text is None) == (audio in (None, "")):
            raise ApiError(422, "give text or audio (an uploaded file), not both")
        if audio not in (None, "") and not is_file(audio):
            raise ApiError(422, "audio: upload a file (multipart)")
        if text is not None and len(text) > lim.max_chars:
            raise ApiError(429, f"text: {len(text)} characters, over this key's limit of {lim.max_chars} per job")
        opts = body.get("options") or {}
        if isinstance(opts, str):
            import json

            try:
                opts = json.loads(opts)
            except ValueError:
                raise ApiError(422, "options: not a JSON object") from None
        if not isinstance(opts, dict):
            raise ApiError(422, "options: must be an object")
        server_only = sorted({"lipsync_backend", "checkpoint", "device"} & set(opts))
        if server_only:  # a client must never name files on the server
            raise ApiError(422, f"options: {', '.join(server_only)} cannot be set through the API (neural "
                                "checkpoints are chosen on the server, never by a client)")
        try:
            options_from(opts)
        except TwintakeError as e:
            raise ApiError(422, f"options: {e}") from None
        voice = body.get("voice")
        if voice not in (None, "") and not is_file(voice) and str(voice).lower() != "none":
            raise ApiError(422, "voice: upload a reference clip, or give 'none' for the built-in voice")
        avatar_dir = None
        if avatar_id is not None:
            a = store.get(avatar_id, owner, "avatar")
            if a is None or a["status"] in ("failed", "cancelled"):
                raise ApiError(404, f"no avatar {avatar_id}" if a is None else
                               f"avatar {avatar_id} could not be prepared: {a['error']}")
            avatar_dir = str(jobs_dir / avatar_id / "avatar")
        check_queue(owner)
        job_id = uuid.uuid4().hex
        folder = uploads / job_id
        try:
            params = {"text": text, "lang": text_field(body, "lang") or "auto",
                      "tts_voice": text_field(body, "tts_voice"), "options": opts, "source": avatar_dir}
            if source not in (None, ""):
                params["source"], _ = await save(source, "source", SOURCE_TYPES, folder, "source")
            speech_s = len(text) / CHARS_PER_S if text is not None else 0.0
            if audio not in (None, ""):
                params["audio"], speech_s = await save(audio, "audio", AUDIO_TYPES, folder, "audio")
            if is_file(voice):
                params["voice"], _ = await save(voice, "voice", AUDIO_TYPES, folder, "audio")
            elif voice not in (None, ""):
                params["voice"] = "none"
            used = store.speech_seconds_since(owner, time.time() - 86400)
            if (used + speech_s) / 60 > lim.max_speech_min:
                raise ApiError(429, f"this key has used {used / 60:.1f} of its {lim.max_speech_min:g} speech minutes "
                                    f"in 24 h; this job needs {speech_s / 60:.1f}")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        store.add(owner, "video", params, avatar=avatar_id, speech_s=speech_s, job_id=job_id)
        pool.notify()
        return {"id": job_id, "status": "queued"}

    def video_of(video_id: str, request: Request) -> dict:
        job = store.get(video_id, owner_of(request), "video")
        if job is None:
            raise ApiError(404, f"no video {video_id}")
        return job

    @app.get("/v1/videos/{video_id}")
    def get_video(video_id: str, request: Request):
        """Status, progress (0-1), stage, estimated seconds left, error."""
        job = video_of(video_id, request)
        live = pool.live.get(video_id) if job["status"] == "running" else None
        progress = 1.0 if job["status"] == "done" else (live or {}).get("progress", 0.0)
        stage = (live or {}).get("stage") or (job["status"] if job["status"] != "running" else job["stage"])
        out = {"id": video_id, "status": job["status"], "progress": progress, "stage": stage,
               "eta_s": (live or {}).get("eta_s"), "error": job["error"]}
        if job["result"]:
            out["duration_s"] = job["result"].get("duration_s")
            out["notes"] = job["result"].get("notes", [])
        return out

    @app.get("/v1/videos/{video_id}/file", response_class=FileResponse)
    def get_file(video_id: str, request: Request):
        """The finished MP4."""
        job = video_of(video_id, request)
        path = jobs_dir / video_id / OUTPUT
        if job["status"] != "done" or not path.is_file():
            raise ApiError(409, f"video {video_id} is {job['status']}, not done")
        return FileResponse(path, media_type="video/mp4", filename=f"{video_id}.mp4")

    @app.delete("/v1/videos/{video_id}")
    def delete_video(video_id: str, request: Request):
        """Cancel a queued or running video (it stops within 1 s) and delete its files."""
        return remove(video_of(video_id, request))

    if o.web:
        _mount_web(app, data, store, pool, jobs_dir)
    return app


def _mount_web(app, data: Path, store: JobStore, pool: WorkerPool, jobs_dir: Path) -> None:
    """The Gradio page at ``/web`` (its avatars in ``DATA/web-avatars``); its videos are made
    by the same worker queue as the API's."""
    from ..web.app import CSS, WebOptions, build_app
    from .webqueue import QueuedJobs

    import gradio as gr

    blocks, _folders = build_app(WebOptions(avatars_dir=data / "web-avatars",
                                            run_job=QueuedJobs(store, pool, jobs_dir)))
    gr.mount_gradio_app(app, blocks, path="/web", css=CSS, theme=getattr(blocks, "_twintake_theme", None),
                        show_error=False)


def serve(options: ServeOptions | None = None) -> None:
    """Run the API with uvicorn until stopped (Ctrl-C / SIGTERM).

    Raises:
        BackendError: missing extra, no API keys. OSError: the port is taken.
    """
    import uvicorn

    o = options or ServeOptions()
    app = create_app(o)
    uvicorn.run(app, host=o.host, port=o.port, log_level="warning", access_log=False)
