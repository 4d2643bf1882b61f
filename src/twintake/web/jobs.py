"""The web page's own job queue: fair to every visitor, and visible to the operator.

:class:`WebJobs` runs video jobs in ``concurrency`` worker threads, first come first served,
with at most one job (queued or running) per visitor. Each :class:`WebJob` records when it was
queued, started and finished (so the page reports queue time apart from run time), its stage,
progress and cancel event. The page asks for the queue position and the expected wait; the
operator lists and cancels jobs (:meth:`WebJobs.snapshot`, :meth:`WebJobs.cancel`).

Cancelling a queued job removes it at once; a running job stops at the library's next hook call
(:class:`twintake.hooks.Progress`), which comes at least every 0.1 s in the speech stage
(:func:`twintake.speech.synthesize.synthesize_stream`) and every frame when rendering.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import Cancelled, TwintakeError
from .session import StageTracker

__all__ = ["WebJob", "WebJobs", "BusyError", "DEFAULT_S_PER_SPEECH_S"]

log = logging.getLogger(__name__)

#: Starting guess of a job's run time per second of speech (2 shared cores: speech synthesis
#: ~0.2, photo rendering ~1.5-2.5, video ~1-1.5, plus set-up); replaced by measured jobs.
DEFAULT_S_PER_SPEECH_S = 3.0
_SETUP_S = 10.0

_ids = itertools.count(1)


class BusyError(TwintakeError):
    """The visitor already has a job queued or running."""


@dataclass
class WebJob:
    """One job of one visitor: a video, or an avatar made from a prompt.

    Attributes:
        id: short id shown to the operator.
        kind: ``"video"`` or ``"avatar"`` (what the page says it is making; only video jobs
            update the run-time estimate per speech second).
        visitor: the visitor's cookie id (never shown in full).
        speech_s: expected speech length, s (for the wait estimate).
        state: ``queued`` / ``running`` / ``done`` / ``failed`` / ``cancelled``.
        queued_at, started_at, finished_at, cancel_at: ``time.monotonic()`` seconds (None until then).
        result: what the job function returned; error: one line when it failed.
    """

    id: str
    visitor: str
    fn: Callable
    speech_s: float
    summary: str = ""
    session: str = ""
    kind: str = "video"
    state: str = "queued"
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    cancel_at: float | None = None
    cancel_by: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    tracker: StageTracker = field(default_factory=StageTracker)
    result: object = None
    error: str | None = None
    exc: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def hook(self, stage: str, completed: int, total: int | None = None) -> None:
        """The library's progress hook for this job (raises Cancelled once cancelled)."""
        if self.cancel.is_set():
            raise Cancelled("cancelled; no output was written")
        self.tracker.update(stage, completed, total)

    def queue_s(self, now: float | None = None) -> float:
        """Seconds spent waiting in the queue (so far)."""
        end = self.started_at if self.started_at is not None else (self.finished_at or now or time.monotonic())
        return max(0.0, end - self.queued_at)

    def run_s(self, now: float | None = None) -> float:
        """Seconds spent running (so far); 0 while queued."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.finished_at or now or time.monotonic()) - self.started_at)


class WebJobs:
    """FIFO queue of web jobs run by ``concurrency`` threads; one job per visitor.

    Args:
        concurrency: jobs running at the same time.
        keep_finished_s: finished jobs stay listed this long (for the operator and the page).
    """

    def __init__(self, concurrency: int = 1, keep_finished_s: float = 600.0) -> None:
        self.concurrency = max(1, int(concurrency))
        self.keep_finished_s = keep_finished_s
        self._jobs: dict[str, WebJob] = {}
        self._queue: deque[WebJob] = deque()
        self._cond = threading.Condition()
        self._rate = DEFAULT_S_PER_SPEECH_S  # run seconds per speech second, averaged
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, name=f"twintake-web-job-{i}", daemon=True)
                         for i in range(self.concurrency)]
        for t in self._threads:
            t.start()

    # ---------------------------------------------------------------- visitors

    def submit(self, visitor: str, fn: Callable[[WebJob], object], speech_s: float, summary: str = "",
               session: str = "", kind: str = "video", tracker: StageTracker | None = None) -> WebJob:
        """Queue ``fn(job)`` for ``visitor``. ``kind``: ``"video"`` or ``"avatar"``; ``tracker``:
        the job's own stage table (default: a video job's).

        Raises:
            BusyError: the visitor already has a job queued or running.
        """
        with self._cond:
            self._forget_old()
            for j in self._jobs.values():
                if j.visitor == visitor and not j.finished:
                    what = "an avatar" if j.kind == "avatar" else "a video"
                    raise BusyError(f"you already have {what} in the making: wait for it or cancel it first")
            job = WebJob(id=f"{next(_ids):04d}", visitor=visitor, fn=fn, speech_s=max(1.0, speech_s),
                         summary=summary, session=session, kind=kind, tracker=tracker or StageTracker())
            self._jobs[job.id] = job
            self._queue.append(job)
            self._cond.notify()
            return job

    def get(self, job_id: str) -> WebJob | None:
        with self._cond:
            return self._jobs.get(job_id)

    def active_for(self, visitor: str) -> WebJob | None:
        """The visitor's queued or running job, if any."""
        with self._cond:
            for j in self._jobs.values():
                if j.visitor == visitor and not j.finished:
                    return j
        return None

    def position(self, job: WebJob) -> int:
        """1 = next to start; 0 = not queued (running or finished)."""
        with self._cond:
            for i, j in enumerate(self._queue):
                if j is job:
                    return i + 1
        return 0

    def expected_wait_s(self, job: WebJob) -> float:
        """Expected seconds until ``job`` starts: the time left of the running jobs and the run
        time of the queued jobs ahead, shared over the worker threads."""
        now = time.monotonic()
        with self._cond:
            ahead = []
            for j in self._queue:
                if j is job:
                    break
                ahead.append(self._estimate_s(j))
            running = [max(1.0, self._estimate_s(j) - j.run_s(now)) for j in self._jobs.values()
                       if j.state == "running"]
        free = self.concurrency - len(running)
        if free > len(ahead):
            return 0.0
        # simulate: each slot takes the next job when it becomes free
        slots = sorted(running + [0.0] * max(0, free))
        for est in ahead:
            slots[0] += est
            slots.sort()
        return slots[0]

    def estimate_run_s(self, speech_s: float) -> float:
        """Expected run time of a job with ``speech_s`` seconds of speech, s."""
        return _SETUP_S + self._rate * max(1.0, speech_s)

    def _estimate_s(self, job: WebJob) -> float:
        return self.estimate_run_s(job.speech_s)

    def cancel(self, job_id: str, by: str = "visitor") -> bool:
        """Cancel a queued job (removed at once) or a running one (stops at the next hook call).

        Returns:
            True when the job was queued or running.
        """
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return False
            job.cancel_at = time.monotonic()
            job.cancel_by = by
            job.cancel.set()
            if job.state == "queued":
                self._queue.remove(job)
                job.state, job.finished_at = "cancelled", time.monotonic()
            self._cond.notify_all()
            return True

    def cancel_visitor(self, visitor: str, by: str = "visitor") -> bool:
        job = self.active_for(visitor)
        return job is not None and self.cancel(job.id, by)

    # ---------------------------------------------------------------- operator

    def snapshot(self) -> list[dict]:
        """Every listed job as a dict (for the operator's page): id, state, visitor (first 6
        characters), summary, queue position, queue_s, run_s, stage, progress, error."""
        now = time.monotonic()
        with self._cond:
            self._forget_old()
            queue = list(self._queue)
            rows = []
            for j in self._jobs.values():
                rows.append({"id": j.id, "kind": j.kind, "state": j.state, "visitor": j.visitor[:6], "summary": j.summary,
                             "position": queue.index(j) + 1 if j in queue else 0,
                             "queue_s": round(j.queue_s(now), 2), "run_s": round(j.run_s(now), 2),
                             "stage": j.tracker.label if j.state == "running" else j.state,
                             "progress": round(j.tracker.fraction, 3), "error": j.error, "cancel_by": j.cancel_by,
                             "cancel_latency_s": (round(j.finished_at - j.cancel_at, 3)
                                                  if j.cancel_at is not None and j.finished_at is not None
                                                  else None)})
        return rows

    def close(self) -> None:
        """Cancel everything and stop the worker threads."""
        with self._cond:
            self._stopped = True
            for j in list(self._jobs.values()):
                if not j.finished:
                    j.cancel.set()
            self._queue.clear()
            self._cond.notify_all()

    # ---------------------------------------------------------------- workers

    def _forget_old(self) -> None:
        now = time.monotonic()
        for k in [k for k, j in self._jobs.items()
                  if j.finished and j.finished_at is not None and now - j.finished_at > self.keep_finished_s]:
            del self._jobs[k]

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                job = self._queue.popleft()
                job.state, job.started_at = "running", time.monotonic()
            try:
                result, state, error = job.fn(job), "done", None
            except Cancelled as e:
                result, state, error = None, "cancelled", None
                job.exc = e
            except TwintakeError as e:
                result, state, error = None, "failed", str(e)
                job.exc = e
            except Exception as e:  # noqa: BLE001 - shown as one line; the log keeps the traceback
                log.exception("web job %s failed", job.id)
                result, state, error = None, "failed", f"something went wrong inside twintake ({type(e).__name__}: {e})"
                job.exc = e
            with self._cond:
                if job.cancel.is_set() and state != "done":
                    state = "cancelled"
                job.result, job.error = result, error
                job.finished_at = time.monotonic()
                job.state = state
                if state == "done" and job.kind == "video" and job.run_s() > 0:
                    self._rate = 0.7 * self._rate + 0.3 * max(0.2, (job.run_s() - _SETUP_S) / job.speech_s)
                self._cond.notify_all()

    def wait_change(self, timeout_s: float) -> None:
        """Block until any job changes state or ``timeout_s`` passes."""
        with self._cond:
            self._cond.wait(timeout_s)
