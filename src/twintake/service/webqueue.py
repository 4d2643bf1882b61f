"""The web page's video jobs through the service's queue (``twintake serve --web``).

:class:`QueuedJobs` is called like :func:`twintake.job.make_video` (what the page calls): it
queues the job in the store under the owner ``"web"``, waits for a worker to make it while
passing the worker's progress to the page's hook, honours the page's cancel event, then copies
the video to ``out`` and returns what the page shows.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BackendError, Cancelled, TwintakeError
from .store import JobStore
from .workers import OUTPUT, SPEECH, WorkerPool

__all__ = ["QueuedJobs", "WEB_OWNER"]

#: Owner of the page's jobs in the store (no API key hashes to this).
WEB_OWNER = "web"
_POLL_S = 0.2


@dataclass
class _Render:
    duration_s: float
    fps: float
    frames: int
    width: int
    height: int
    frames_without_face: list = field(default_factory=list)


@dataclass
class _Speech:
    samples: object
    sample_rate_hz: int


@dataclass
class _Result:
    render: _Render
    speech: _Speech
    notes: list[str] = field(default_factory=list)


class QueuedJobs:
    """A ``make_video``-like callable over the store and worker pool of ``twintake serve``."""

    def __init__(self, store: JobStore, pool: WorkerPool, jobs_dir: Path):
        self.store, self.pool, self.jobs_dir = store, pool, Path(jobs_dir)

    def __call__(self, source, text=None, *, audio=None, out="out.mp4", voice=None, lang="auto", tts_voice=None,
                 options=None, hook=None, cancel: threading.Event | None = None, **_ignored) -> _Result:
        opts: dict = {}
        if options is not None:
            if options.enhancer_model is not None:
                raise BackendError("the page served by twintake serve --web has no --enhancer-model")
            if options.fps is not None:
                opts["fps"] = options.fps
            if options.size is not None:
                opts["size"] = f"{options.size[0]}x{options.size[1]}"
            if options.enhance is not None:
                opts["enhance"] = options.enhance
        params = {"source": str(source), "text": text, "audio": None if audio is None else str(audio),
                  "voice": None if voice is None else str(voice), "lang": lang, "tts_voice": tts_voice,
                  "options": opts, "speech_wav": True}
        job_id = self.store.add(WEB_OWNER, "video", params)
        self.pool.notify()
        last = None
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by the user; no output was written")
                job = self.store.get(job_id)
                if job["status"] == "done":
                    break
                if job["status"] in ("failed", "cancelled"):
                    raise TwintakeError(job["error"] or job["status"])
                raw = (self.pool.live.get(job_id) or {}).get("raw")
                if hook is not None and raw is not None and raw != last:
                    last = raw
                    hook(*raw)
                time.sleep(_POLL_S)
            folder = self.jobs_dir / job_id
            shutil.copyfile(folder / OUTPUT, out)
            from ..media import load_audio, probe

            rate = probe(folder / SPEECH).audio.sample_rate_hz
            samples = load_audio(folder / SPEECH, rate)
            r = job["result"]
            render = _Render(r["duration_s"], r["fps"], r["frames"], r["width"], r["height"],
                             [None] * int(r.get("no_face_ranges", 0)))
            return _Result(render, _Speech(samples, rate), list(r.get("notes", [])))
        finally:
            job = self.store.get(job_id)
            if job is not None and job["status"] in ("queued", "running"):
                self.pool.cancel(job_id)
                self.store.update(job_id, status="cancelled", stage="cancelled", error="cancelled")
            shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
            self.store.delete(job_id)
