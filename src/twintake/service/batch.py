"""``twintake batch``: many rows, local worker processes or Ray tasks, resumable.

    report = run_batch("jobs.jsonl", "out/", workers=2)          # or ray="auto" / "HOST:PORT"

- A row whose output exists with a matching inputs hash (stored beside it in
  ``NAME.mp4.twintake.json``) is skipped; outputs are written atomically (temp file + rename),
  the hash after the output, so a half-done row is never taken as done.
- A failing row never stops the others; a worker process that dies is replaced and its row run
  again (at most :data:`MAX_ATTEMPTS` times).
- ``DIR/report.jsonl``: one line per row: ``row``, ``status`` (ok/failed/skipped), ``error``,
  ``seconds``, ``out``.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MediaError, TwintakeError
from ..hooks import ProgressHook
from .rows import (MAX_ATTEMPTS, JobRow, inputs_hash, output_is_current, read_jobs, run_row, write_atomic,
                   write_sidecar)

__all__ = ["BatchReport", "run_batch", "MAX_ATTEMPTS", "REPORT"]

REPORT = "report.jsonl"


@dataclass
class BatchReport:
    """What :func:`run_batch` did: one dict per row (as in ``report.jsonl``) and totals."""

    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    path: Path | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)


class _Collector:
    """Records row results, writes outputs' sidecars, reports progress."""

    def __init__(self, n: int, out_dir: Path, hook: ProgressHook | None):
        self.results: dict[int, dict] = {}
        self.n, self.out_dir, self.hook = n, out_dir, hook

    def add(self, row: JobRow, status: str, error: str | None = None, seconds: float = 0.0,
            digest: str | None = None) -> None:
        out = self.out_dir / row.out
        if status == "ok" and digest is not None:
            write_sidecar(out, digest, row, seconds)
        self.results[row.index] = {"row": row.index, "status": status, "error": error,
                                   "seconds": round(seconds, 3), "out": str(out) if status != "failed" else None}
        if self.hook is not None:
            self.hook("batch", len(self.results), self.n)


def run_batch(jobs: str | Path | list[JobRow], out_dir: str | Path, *, workers: int = 1, ray: str | None = None,
              hook: ProgressHook | None = None) -> BatchReport:
    """Run every row of ``jobs`` into ``out_dir``; write ``out_dir/report.jsonl``.

    Args:
        jobs: a ``.jsonl``/``.csv`` jobs file, or rows from :func:`read_jobs`.
        out_dir: output folder (created).
        workers: local worker processes (with ``ray``: CPUs of a local Ray started for the run).
        ray: None (local processes), ``"auto"`` (the running cluster), ``"HOST:PORT"`` (a cluster's
            head) or ``"local"`` (start a Ray instance on this machine for the run).
        hook: progress ``hook("batch", rows_done, rows_total)``.
    Returns:
        :class:`BatchReport`.
    Raises:
        MediaError: unreadable jobs file; OutputError: ``out_dir`` cannot be created;
        BackendError: ``ray`` given and Ray is not installed / the cluster cannot be reached.
    """
    from ..errors import OutputError

    t0 = time.monotonic()
    rows = read_jobs(jobs) if not isinstance(jobs, list) else jobs
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {out_dir}: {e.strerror or e}") from e
    col = _Collector(len(rows), out_dir, hook)
    if hook is not None:
        hook("batch", 0, len(rows))
    todo: list[tuple[JobRow, str]] = []
    for row in rows:
        if row.error:
            col.add(row, "failed", row.error)
            continue
        try:
            digest = inputs_hash(row)
        except TwintakeError as e:
            col.add(row, "failed", str(e))
            continue
        if output_is_current(out_dir / row.out, digest):
            col.add(row, "skipped")
        else:
            todo.append((row, digest))
    if todo:
        if ray is not None:
            from .ray_batch import run_ray

            run_ray(todo, out_dir, ray, max(1, workers), col.add)
        else:
            _run_local(todo, out_dir, max(1, workers), col.add)
    report = BatchReport([col.results[i] for i in sorted(col.results)], time.monotonic() - t0, out_dir / REPORT)
    write_atomic(report.path, "".join(json.dumps(r) + "\n" for r in report.rows).encode())
    return report


#: Set in a worker process once it was interrupted: rows already queued to it are not started.
_stopping = False


def _local_task(row: dict, out: str) -> dict:
    """One row in a worker process -> ``{"status", "error", "seconds"}`` (never raises for a job error)."""
    t0 = time.monotonic()
    if _stopping:
        return {"status": "failed", "error": "cancelled: the batch was interrupted", "seconds": 0.0}
    try:
        run_row(JobRow.from_dict(row), Path(out))
        return {"status": "ok", "error": None, "seconds": time.monotonic() - t0}
    except TwintakeError as e:
        return {"status": "failed", "error": str(e), "seconds": time.monotonic() - t0}
    except Exception as e:  # a bug must not stop the batch; its row says what happened
        return {"status": "failed", "error": f"internal error: {type(e).__name__}: {e}",
                "seconds": time.monotonic() - t0}


def _interrupt_once(signum, frame) -> None:
    """A worker's SIGINT/SIGTERM handler: the first signal stops its job like Ctrl-C (the job
    removes its temporary files); later ones are ignored so they cannot break that clean-up,
    and the rows already queued to this worker are not started."""
    global _stopping
    _stopping = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _worker_init() -> None:
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """The batch was interrupted (Ctrl-C reaches the workers too; SIGTERM reaches only this
    process): send every worker SIGTERM, drop the rows not started and wait for the workers
    to clean up."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGTERM)
    pool.shutdown(wait=True, cancel_futures=True)


def _run_local(todo: list[tuple[JobRow, str]], out_dir: Path, workers: int, add) -> None:
    """Rows in ``workers`` spawned processes; a pool broken by a dying worker is replaced.
    Interrupted (KeyboardInterrupt, which the CLI also raises on SIGTERM), the workers are
    stopped and clean up before the interrupt goes on."""
    attempts = {row.index: 0 for row, _ in todo}
    pending = list(todo)
    ctx = multiprocessing.get_context("spawn")  # fork is unsafe with the decoder/encoder threads
    while pending:
        with ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                 initializer=_worker_init) as pool:
            try:
                pending = _run_pool(pool, pending, attempts, out_dir, add)
            except KeyboardInterrupt:
                _stop_workers(pool)
                raise


def _run_pool(pool: ProcessPoolExecutor, todo: list[tuple[JobRow, str]], attempts: dict, out_dir: Path,
              add) -> list[tuple[JobRow, str]]:
    """Run ``todo`` in ``pool``; returns the rows to retry (their worker died)."""
    futures = {}
    for row, digest in todo:
        attempts[row.index] += 1
        futures[pool.submit(_local_task, row.as_dict(), str(out_dir / row.out))] = (row, digest)
    pending: list[tuple[JobRow, str]] = []
    while futures:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for fut in done:
            row, digest = futures.pop(fut)
            try:
                r = fut.result()
            except BrokenProcessPool:
                if attempts[row.index] < MAX_ATTEMPTS:
                    pending.append((row, digest))
                else:
                    add(row, "failed", f"the worker process died {MAX_ATTEMPTS} times on this row")
                continue
            add(row, r["status"], r["error"], r["seconds"], digest if r["status"] == "ok" else None)
    return pending


def check_jobs_file(path: Path) -> None:
    """Raise MediaError unless ``path`` looks like a jobs file (used by the CLI before starting)."""
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise MediaError(f"{path}: a jobs file must be .jsonl or .csv")
