"""``twintake batch --ray``: a real local Ray cluster (a head and one more worker node, started
here with ``ray start``, 127.0.0.1 only) runs a 3-row batch; its outputs match a local batch's;
killing the worker process in the middle of a row still gives every output, once.

The cluster's processes are found by their session folder and stopped by id at the end (never
``ray stop``, which would stop every Ray on the machine)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'twintake[ray]')")

from twintake.service.batch import run_batch  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))
pytestmark = pytest.mark.slow  # a cluster start (~10 s) and 9 renders: ~110 s on 2 shared cores
START_TIMEOUT_S = 90
BATCH_TIMEOUT_S = 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _procs_of(temp_dir: str) -> list[int]:
    """Pids of the processes of the Ray started with ``--temp-dir temp_dir``."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(p.name) == os.getpid():
            continue
        if temp_dir in cmd or _uses(p, temp_dir):  # Ray's agents rename themselves: look at their files
            pids.append(int(p.name))
    return pids


def _uses(proc: Path, temp_dir: str) -> bool:
    try:
        return any(temp_dir in os.readlink(fd) for fd in (proc / "fd").iterdir())
    except OSError:
        return False


def _task_pids(name: str = "ray::_ray_row") -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().startswith(name.encode()):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


@pytest.fixture(scope="module")
def cluster():
    """``(127.0.0.1:PORT, env)`` of a head (1 CPU) + one worker node (1 CPU); the driver runs
    as ``twintake batch --ray`` in a subprocess with ``env`` (the cluster's token)."""
    temp_dir = tempfile.mkdtemp(prefix="ttray", dir="/tmp")  # short: Ray's socket paths are limited
    port = _free_port()
    # Ray 2.60 authenticates cluster members with a token: give this cluster (head, worker node
    # and this driver) its own, whatever ~/.ray/auth_token holds
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    common = ["--num-cpus=1", "--disable-usage-stats"]
    try:
        head = subprocess.run([RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                               "--include-dashboard=false", f"--temp-dir={temp_dir}", *common],
                              env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
        if head.returncode != 0:
            pytest.skip(f"Ray cannot start a head on this machine: {head.stderr.strip().splitlines()[-1:]}")
        worker = subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1",
                                 *common], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
        assert worker.returncode == 0, worker.stderr
        yield f"127.0.0.1:{port}", env
    finally:
        for pid in _procs_of(temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rows(tiny_photo, tiny_video, tiny_speech) -> list[dict]:
    return [{"source": str(tiny_photo), "audio": str(tiny_speech), "out": "photo"},
            {"source": str(tiny_video), "audio": str(tiny_speech), "out": "video"},
            {"source": str(tiny_photo), "audio": str(tiny_speech), "out": "photo_seed", "seed": 3, "crf": 28}]


def _write(tmp: Path, rows: list[dict]) -> Path:
    p = tmp / "jobs.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def _frames(path: Path):
    import numpy as np

    from twintake.media import iter_frames

    return np.stack([f.image for f in iter_frames(path)]).astype(np.int16)


def _cli(jobs: Path, out: Path, cluster, **popen) -> subprocess.Popen:
    address, env = cluster
    return subprocess.Popen([sys.executable, "-m", "twintake.cli", "batch", str(jobs), "--out", str(out),
                             "--ray", address, "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def _report(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "report.jsonl").read_text().splitlines()]


def test_cluster_batch_matches_a_local_batch(cluster, rows, tmp_path):
    jobs = _write(tmp_path, rows)
    p = _cli(jobs, tmp_path / "ray", cluster)
    log, _ = p.communicate(timeout=BATCH_TIMEOUT_S)
    assert p.returncode == 0, log
    assert [r["status"] for r in _report(tmp_path / "ray")] == ["ok", "ok", "ok"], log
    local = run_batch(jobs, tmp_path / "local", workers=1)
    assert [r["status"] for r in local.rows] == ["ok", "ok", "ok"], local.rows
    for r in rows:
        a, b = tmp_path / "ray" / f"{r['out']}.mp4", tmp_path / "local" / f"{r['out']}.mp4"
        fa, fb = _frames(a), _frames(b)
        assert fa.shape == fb.shape and fa.shape[0] >= 70  # 3 s at 25 fps
        # the same render: two local runs of one row differ by ~1.7 grey levels on average here
        # (the renderer is not bit-reproducible run to run), a wrong row or options by far more
        assert abs(fa - fb).mean() < 4.0, r["out"]
        ha = json.loads((a.parent / (a.name + ".twintake.json")).read_text())["inputs_hash"]
        hb = json.loads((b.parent / (b.name + ".twintake.json")).read_text())["inputs_hash"]
        assert ha == hb
    p = _cli(jobs, tmp_path / "ray", cluster)  # resumable on the cluster too
    log, _ = p.communicate(timeout=BATCH_TIMEOUT_S)
    assert p.returncode == 0 and "0 ok, 0 failed, 3 skipped" in log, log


def test_a_worker_killed_mid_job_loses_nothing(cluster, rows, tmp_path):
    jobs = _write(tmp_path, rows)
    p = _cli(jobs, tmp_path / "out", cluster)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and p.poll() is None:
        pids = _task_pids()
        if pids:
            time.sleep(1.0)  # let it get into the render
            try:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    log, _ = p.communicate(timeout=BATCH_TIMEOUT_S)
    assert killed is not None, "no Ray task process was seen running"
    assert p.returncode == 0, log
    rep = _report(tmp_path / "out")
    assert [r["status"] for r in rep] == ["ok", "ok", "ok"], rep
    for r in rows:
        assert _frames(tmp_path / "out" / f"{r['out']}.mp4").shape[0] >= 70
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp4")) == ["photo.mp4", "photo_seed.mp4", "video.mp4"]
