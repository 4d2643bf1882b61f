"""The service's worker processes: each slot runs one job at a time in its own (spawned) process.

A slot thread claims the oldest runnable job from the store, sends it to its process and reads
progress messages back. Cancel: the process's cancel event is set (the job stops at its next
progress call); a process that has not stopped after :data:`CANCEL_GRACE_S` is killed and
replaced. A process that dies in the middle of a job (not cancelled) gets the job queued again,
up to :data:`MAX_ATTEMPTS` starts. Worker processes die with the server (``PR_SET_PDEATHSIG``,
and a parent check in the progress hook), so a ``kill -9`` of the server leaves no renders behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from pathlib import Path

from ..errors import Cancelled, TwintakeError
from .store import JobStore

__all__ = ["WorkerPool", "execute", "CANCEL_GRACE_S", "MAX_ATTEMPTS", "OUTPUT", "SPEECH"]

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 0.7
MAX_ATTEMPTS = 3
OUTPUT = "out.mp4"
SPEECH = "speech.wav"


def execute(task: dict, hook, cancel) -> dict:
    """Run one store job (in a worker process): a video or an avatar preparation."""
    folder = Path(task["dir"])
    p = task["params"]
    if task["kind"] == "avatar":
        from ..avatar import Avatar

        target = folder / "avatar"
        a = Avatar.prepare(p["source"], target, force=True, hook=hook, cancel=cancel)
        return {"kind": a.kind, "notes": list(a.notes)}
    from .rows import JobRow, run_row

    row = JobRow(index=0, source=p["source"], text=p.get("text"), audio=p.get("audio"), voice=p.get("voice"),
                 lang=p.get("lang") or "auto", tts_voice=p.get("tts_voice"), out=OUTPUT,
                 options=dict(p.get("options") or {}))
    return run_row(row, folder / OUTPUT, hook=hook, cancel=cancel,
                   speech_wav=folder / SPEECH if p.get("speech_wav") else None)


def _worker_main(conn, cancel) -> None:
    try:  # die with the server, even on kill -9 (Linux)
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    parent = os.getppid()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        last = [0.0, None]

        def hook(stage, completed, total=None):
            if os.getppid() != parent:
                raise Cancelled("the server stopped")
            now = time.monotonic()
            if stage != last[1] or now - last[0] > 0.25 or (total and completed >= total):
                last[0], last[1] = now, stage
                conn.send(("progress", stage, completed, total))

        try:
            msg = ("done", execute(task, hook, cancel))
        except Cancelled:
            msg = ("cancelled",)
        except TwintakeError as e:
            msg = ("failed", str(e))
        except Exception as e:
            msg = ("failed", f"internal error: {type(e).__name__}: {e}")
        try:
            conn.send(msg)
        except (BrokenPipeError, OSError):
            return


class _Slot:
    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.conn = None
        self.cancel = ctx.Event()

    def ensure(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            return
        self.close()
        parent, child = self.ctx.Pipe()
        self.cancel = self.ctx.Event()
        self.proc = self.ctx.Process(target=_worker_main, args=(child, self.cancel), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None


class WorkerPool:
    """``n`` worker slots over ``store``; job folders are ``jobs_dir/<id>``.

    Attributes:
        live: running job id -> ``{"progress", "stage", "eta_s", "raw"}`` (in memory only; ``raw``
            is the last hook call ``(stage, completed, total)``).
    """

    def __init__(self, store: JobStore, jobs_dir: Path, n: int):
        from ..web.session import StageTracker

        self.store, self.jobs_dir = store, Path(jobs_dir)
        self._tracker = StageTracker
        self.live: dict[str, dict] = {}
        self._cancel: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        ctx = multiprocessing.get_context("spawn")
        self._slots = [_Slot(ctx) for _ in range(max(1, n))]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for s in self._slots:
            s.ensure()  # start the processes now: their imports overlap the server's start
            t = threading.Thread(target=self._loop, args=(s,), daemon=True, name="twintake-slot")
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for s in self._slots:
            s.close()
        for t in self._threads:
            t.join(5)

    def notify(self) -> None:
        """A job was queued: wake an idle slot."""
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """Stop a running job (its slot sees this within 0.1 s)."""
        self._cancel.add(job_id)

    def _loop(self, slot: _Slot) -> None:
        while not self._stop.is_set():
            try:
                job = self.store.claim_next()
            except Exception:  # a locked/closed store at shutdown: try again
                log.exception("cannot claim a job")
                job = None
            if job is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._run(slot, job)
            except Exception:
                log.exception("job %s", job["id"])
                self.store.finish(job["id"], "failed", error="internal error in the job runner")

    def _run(self, slot: _Slot, job: dict) -> None:
        job_id = job["id"]
        folder = self.jobs_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        slot.ensure()
        slot.cancel.clear()
        tracker = self._tracker()
        self.live[job_id] = {"progress": 0.0, "stage": "starting", "eta_s": None}
        slot.conn.send({"id": job_id, "kind": job["kind"], "params": job["params"], "dir": str(folder)})
        cancel_at = None
        msg = None
        while msg is None and not self._stop.is_set():
            if job_id in self._cancel and cancel_at is None:
                slot.cancel.set()
                cancel_at = time.monotonic()
            if slot.conn.poll(0.1):
                try:
                    msg = slot.conn.recv()
                except (EOFError, OSError):
                    msg = ("died",)
            elif not slot.proc.is_alive():
                msg = ("died",)
            elif cancel_at is not None and time.monotonic() - cancel_at > CANCEL_GRACE_S:
                slot.close()  # did not stop in time: kill it; the next job starts a new process
                msg = ("cancelled",)
            if msg is not None and msg[0] == "progress":
                fraction, _ = tracker.update(msg[1], msg[2], msg[3])
                self.live[job_id] = {"progress": round(fraction, 3), "stage": msg[1],
                                     "eta_s": None if tracker.eta_s is None else round(tracker.eta_s, 1),
                                     "raw": msg[1:]}
                msg = None
        self.live.pop(job_id, None)
        if msg is None:  # the pool is stopping: the job stays running and is recovered at restart
            return
        cancelled = job_id in self._cancel
        self._cancel.discard(job_id)
        if msg[0] == "done" and not cancelled:
            self.store.finish(job_id, "done", progress=1.0, stage="done", result=msg[1])
        elif msg[0] == "failed" and not cancelled:
            self.store.finish(job_id, "failed", stage="failed", error=msg[1])
        elif msg[0] == "died" and not cancelled:
            slot.close()
            if job["attempts"] >= MAX_ATTEMPTS:
                self.store.finish(job_id, "failed", error=f"the worker process died {MAX_ATTEMPTS} times on this job")
            else:
                self.store.requeue(job_id)
                self._wake.set()
        else:
            if msg[0] == "died":
                slot.close()
            self.store.finish(job_id, "cancelled", stage="cancelled", error="cancelled")
            shutil.rmtree(folder, ignore_errors=True)
