"""The service's job store: one SQLite file in the data folder (WAL, synchronous=FULL).

Every state change is committed before the API answers, so after a crash (``kill -9``) and a
restart: queued jobs run, jobs that were running are queued again (:meth:`JobStore.recover`),
finished ones are still served. Jobs are videos (``kind="video"``) and avatar preparations
(``kind="avatar"``; the avatar's id is its job's id).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

__all__ = ["JobStore", "ACTIVE", "FINAL"]

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    params TEXT NOT NULL, name TEXT, avatar TEXT, progress REAL NOT NULL DEFAULT 0, stage TEXT,
    error TEXT, attempts INTEGER NOT NULL DEFAULT 0, speech_s REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL, started REAL, finished REAL, result TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, kind);
"""


class JobStore:
    """Thread-safe access to ``DATA/jobs.sqlite3`` (one connection, one lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def add(self, owner: str, kind: str, params: dict, *, name: str | None = None, avatar: str | None = None,
            speech_s: float = 0.0, job_id: str | None = None) -> str:
        """Insert a queued job; returns its id."""
        job_id = job_id or uuid.uuid4().hex
        self._exec("INSERT INTO jobs (id, owner, kind, status, params, name, avatar, speech_s, created) "
                   "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                   (job_id, owner, kind, json.dumps(params), name, avatar, speech_s, time.time()))
        return job_id

    def get(self, job_id: str, owner: str | None = None, kind: str | None = None) -> dict | None:
        rows = self._exec("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows or (owner is not None and rows[0]["owner"] != owner) or (kind is not None and rows[0]["kind"] != kind):
            return None
        job = rows[0]
        job["params"] = json.loads(job["params"])
        job["result"] = json.loads(job["result"]) if job["result"] else None
        return job

    def list(self, owner: str, kind: str) -> list[dict]:
        rows = self._exec("SELECT id, name, status, error, created, result FROM jobs WHERE owner = ? AND kind = ? "
                          "ORDER BY created", (owner, kind))
        for r in rows:
            r["result"] = json.loads(r["result"]) if r["result"] else None
        return rows

    def count_active(self, owner: str) -> int:
        return self._exec("SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND status IN ('queued', 'running')",
                          (owner,))[0]["n"]

    def speech_seconds_since(self, owner: str, since: float) -> float:
        return self._exec("SELECT COALESCE(SUM(speech_s), 0) AS s FROM jobs WHERE owner = ? AND created >= ? "
                          "AND status != 'cancelled'", (owner, since))[0]["s"]

    def claim_next(self) -> dict | None:
        """The oldest queued job that can start now, marked running (attempts + 1); None if none.

        A video on an avatar waits for the avatar's preparation; it fails when that failed or
        the avatar was deleted.
        """
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for r in db.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created").fetchall():
                    r = dict(r)
                    if r["avatar"]:
                        a = db.execute("SELECT status FROM jobs WHERE id = ?", (r["avatar"],)).fetchone()
                        if a is None or a["status"] in ("failed", "cancelled"):
                            db.execute("UPDATE jobs SET status = 'failed', error = ?, finished = ? WHERE id = ?",
                                       ("the avatar was deleted or could not be prepared", time.time(), r["id"]))
                            continue
                        if a["status"] != "done":
                            continue
                    db.execute("UPDATE jobs SET status = 'running', attempts = attempts + 1, started = ?, "
                               "progress = 0, stage = 'starting' WHERE id = ?", (time.time(), r["id"]))
                    db.execute("COMMIT")
                    r["params"] = json.loads(r["params"])
                    r["attempts"] += 1
                    return r
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return None

    def update(self, job_id: str, **fields) -> None:
        """Set columns of a job (``result`` is stored as JSON)."""
        if "result" in fields:
            fields["result"] = json.dumps(fields["result"])
        if fields.get("status") in FINAL:
            fields.setdefault("finished", time.time())
        cols = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def finish(self, job_id: str, status: str, **fields) -> bool:
        """Move a running job to a final status; False if it is no longer running (cancelled)."""
        if "result" in fields:
            fields["result"] = json.dumps(fields["result"])
        fields.update(status=status, finished=time.time())
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._lock:
            cur = self._db.execute(f"UPDATE jobs SET {cols} WHERE id = ? AND status = 'running'",
                                   (*fields.values(), job_id))
            return cur.rowcount == 1

    def requeue(self, job_id: str) -> None:
        self._exec("UPDATE jobs SET status = 'queued', progress = 0, stage = NULL WHERE id = ? AND status = 'running'",
                   (job_id,))

    def delete(self, job_id: str) -> None:
        self._exec("DELETE FROM jobs WHERE id = ?", (job_id,))

    def recover(self) -> int:
        """After a restart: jobs left running are queued again; returns how many."""
        with self._lock:
            return self._db.execute("UPDATE jobs SET status = 'queued', progress = 0, stage = NULL "
                                    "WHERE status = 'running'").rowcount
