"""The service under load, and a batch locally vs on a local Ray cluster (tiny test media).

    python benchmarks/bench_service.py serve [--jobs 20] [--workers 2] [--serial 4]
    python benchmarks/bench_service.py batch [--rows 10] [--workers 2]

``serve``: starts ``twintake serve --workers N`` (a subprocess, 127.0.0.1), submits ``--jobs``
videos at once (tiny_portrait.jpg + tiny_speech.wav, 3 s of speech, multipart uploads), polls
until all are done and prints the wait (submit -> done) p50/p95, the wall time and the
throughput; then ``--serial`` jobs one after the other (submit, wait, next) on the same server for
the one-by-one throughput.

``batch``: the same ``--rows`` rows (alternating tiny photo / tiny video, 3 s speech) with
``--workers`` local processes and then as Ray tasks on a Ray started for the run with
``--workers`` CPUs (``--ray local``); prints the wall time and the overhead per row (wall time x
workers / rows - the mean render time of a row, as measured inside the worker).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PHOTO, VIDEO, SPEECH = DATA / "tiny_portrait.jpg", DATA / "tiny_talk.mp4", DATA / "tiny_speech.wav"
KEY = "bench-key"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def bench_serve(jobs: int, workers: int, serial: int) -> dict:
    import httpx

    port = _port()
    data = Path(tempfile.mkdtemp(prefix="twintake-bench-"))
    env = {**os.environ, "TWINTAKE_API_KEYS": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "serve", "--port", str(port), "--data", str(data),
                             "--workers", str(workers), "--max-queued", str(jobs + 5)],
                            env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers={"Authorization": f"Bearer {KEY}"})
    try:
        for _ in range(300):
            try:
                c.get("/openapi.json")
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(3)  # let the worker processes finish importing

        def submit() -> str:
            r = c.post("/v1/videos", files={"source": PHOTO.open("rb"), "audio": SPEECH.open("rb")})
            r.raise_for_status()
            return r.json()["id"]

        def wait_all(ids: dict[str, float]) -> dict[str, float]:
            done: dict[str, float] = {}
            while len(done) < len(ids):
                for vid in ids:
                    if vid not in done:
                        st = c.get(f"/v1/videos/{vid}").json()
                        if st["status"] in ("done", "failed", "cancelled"):
                            assert st["status"] == "done", st
                            done[vid] = time.monotonic() - ids[vid]
                time.sleep(0.25)
            return done

        t0 = time.monotonic()
        ids = {}
        for _ in range(jobs):
            ids[submit()] = time.monotonic()
        submit_s = time.monotonic() - t0
        waits = wait_all(ids)
        wall = time.monotonic() - t0
        res = {"jobs": jobs, "workers": workers, "submit_s": round(submit_s, 2), "wall_s": round(wall, 1),
               "wait_p50_s": round(_pct(list(waits.values()), 0.5), 1),
               "wait_p95_s": round(_pct(list(waits.values()), 0.95), 1),
               "jobs_per_min": round(jobs / wall * 60, 2)}
        t1 = time.monotonic()
        per = []
        for _ in range(serial):
            s = time.monotonic()
            wait_all({submit(): s})
            per.append(time.monotonic() - s)
        res.update(serial_jobs=serial, serial_wall_s=round(time.monotonic() - t1, 1),
                   serial_job_s=round(statistics.mean(per), 1),
                   serial_jobs_per_min=round(serial / (time.monotonic() - t1) * 60, 2))
        return res
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def bench_batch(rows: int, workers: int) -> dict:
    from twintake.service.batch import run_batch

    tmp = Path(tempfile.mkdtemp(prefix="twintake-bench-batch-"))
    jobs = tmp / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"source": str(PHOTO if i % 2 == 0 else VIDEO), "audio": str(SPEECH),
                                        "out": f"r{i:02d}", "seed": i}) + "\n" for i in range(rows)))
    out = {}
    for mode, ray in (("local", None), ("ray", "local")):
        t0 = time.monotonic()
        rep = run_batch(jobs, tmp / mode, workers=workers, ray=ray)
        wall = time.monotonic() - t0
        assert rep.count("ok") == rows, rep.rows
        job_s = statistics.mean(r["seconds"] for r in rep.rows)
        out[mode] = {"wall_s": round(wall, 1), "row_render_s": round(job_s, 1),
                     "overhead_per_row_s": round(wall * workers / rows - job_s, 2)}
    return {"rows": rows, "workers": workers, **out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["serve", "batch"])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--serial", type=int, default=4)
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    os.environ.setdefault("TWINTAKE_CACHE", tempfile.mkdtemp(prefix="twintake-bench-cache-"))
    res = bench_serve(a.jobs, a.workers, a.serial) if a.what == "serve" else bench_batch(a.rows, a.workers)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
