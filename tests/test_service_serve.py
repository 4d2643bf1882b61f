"""``twintake serve`` in a subprocess (127.0.0.1 only) with a real HTTP client: the whole API
flow, keys, limits and errors, cancel, and a ``kill -9`` in the middle of a job."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi", reason="twintake serve needs the serve extra")

KEY, OTHER = "test-key-1", "test-key-2"
AUTH = {"Authorization": f"Bearer {KEY}"}
START_TIMEOUT_S = 60
JOB_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``twintake serve`` subprocess (its own process group; stopped by its id)."""

    def __init__(self, data: Path, keys_file: Path, *extra: str):
        self.data, self.keys_file, self.extra = data, keys_file, extra
        self.port = _free_port()
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        env = {**os.environ, "TWINTAKE_API_KEYS": ""}
        self.proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "serve", "--port", str(self.port),
                                      "--data", str(self.data), "--api-keys", str(self.keys_file), *self.extra],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("serve did not start in time")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc is not None:
            try:  # worker processes of a killed server die with it; make sure of it
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory) -> Path:
    from twintake.service.auth import hash_key

    p = tmp_path_factory.mktemp("keys") / "keys.txt"
    p.write_text(f"# test keys\n{hash_key(KEY)}\n{hash_key(OTHER)}\n")
    assert KEY not in p.read_text()
    return p


@pytest.fixture(scope="module")
def server(tmp_path_factory, keys_file):
    s = Server(tmp_path_factory.mktemp("data"), keys_file, "--workers", "1", "--max-chars", "200",
               "--max-upload-mb", "1").start()
    yield s
    s.stop()


def _wait(client, vid: str, until=("done", "failed", "cancelled"), timeout=JOB_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get(f"/v1/videos/{vid}", headers=AUTH).json()
        if st["status"] in until:
            return st
        time.sleep(0.5)
    raise AssertionError(f"video {vid} still {st} after {timeout} s")


def test_hash_key_prints_the_file_line():
    from typer.testing import CliRunner

    from twintake.cli import app

    res = CliRunner().invoke(app, ["serve", "--hash-key", "abc"])
    assert res.exit_code == 0
    assert res.output.strip() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.slow
def test_whole_flow(server, tiny_photo, tiny_speech):
    c = httpx.Client(base_url=server.url, timeout=30)
    # an avatar from a photo, prepared in the background; a video on it queued at once
    r = c.post("/v1/avatars", headers=AUTH, files={"source": tiny_photo.open("rb")}, data={"name": "anna"})
    assert r.status_code == 202, r.text
    avatar = r.json()["id"]
    r = c.post("/v1/videos", headers=AUTH, data={"avatar": avatar}, files={"audio": tiny_speech.open("rb")})
    assert r.status_code == 202, r.text
    on_avatar = r.json()["id"]
    # a video from an uploaded photo
    r = c.post("/v1/videos", headers=AUTH, files={"source": tiny_photo.open("rb"), "audio": tiny_speech.open("rb")})
    assert r.status_code == 202, r.text
    direct = r.json()["id"]
    seen = set()
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        st = c.get(f"/v1/videos/{direct}", headers=AUTH).json()
        assert set(st) >= {"id", "status", "progress", "stage", "eta_s", "error"}
        assert 0.0 <= st["progress"] <= 1.0
        seen.add(st["status"])
        if st["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert st["status"] == "done", st
    assert "running" in seen or "queued" in seen
    assert _wait(c, on_avatar)["status"] == "done"
    avatars = c.get("/v1/avatars", headers=AUTH).json()["avatars"]
    assert [(a["id"], a["name"], a["status"]) for a in avatars] == [(avatar, "anna", "done")]
    f = c.get(f"/v1/videos/{direct}/file", headers=AUTH)
    assert f.status_code == 200 and f.headers["content-type"] == "video/mp4" and len(f.content) > 10_000
    # another key sees none of it
    other = {"Authorization": f"Bearer {OTHER}"}
    assert c.get(f"/v1/videos/{direct}", headers=other).status_code == 404
    assert c.get(f"/v1/videos/{direct}/file", headers=other).status_code == 404
    assert c.get("/v1/avatars", headers=other).json() == {"avatars": []}
    assert c.delete(f"/v1/avatars/{avatar}", headers=other).status_code == 404
    # delete
    assert c.delete(f"/v1/videos/{direct}", headers=AUTH).status_code == 200
    assert c.get(f"/v1/videos/{direct}", headers=AUTH).status_code == 404
    assert c.delete(f"/v1/avatars/{avatar}", headers=AUTH).status_code == 200
    assert c.get("/v1/avatars", headers=AUTH).json() == {"avatars": []}
    assert c.get("/docs").status_code == 200 and "/v1/videos" in c.get("/openapi.json").json()["paths"]


def test_errors_are_status_codes_and_one_line(server, tiny_photo, tiny_speech, tmp_path):
    c = httpx.Client(base_url=server.url, timeout=30)
    bad_text = tmp_path / "notes.jpg"
    bad_text.write_text("this is not an image")
    cases = [
        (c.get("/v1/avatars"), 401),
        (c.get("/v1/avatars", headers={"Authorization": "Bearer wrong"}), 401),
        (c.post("/v1/videos", headers=AUTH, json={"text": "hello"}), 422),  # no avatar or source
        (c.post("/v1/videos", headers=AUTH, json={"avatar": "nope"}), 422),  # no text or audio
        (c.post("/v1/videos", headers=AUTH, json={"avatar": "nope", "text": "hello"}), 404),
        (c.post("/v1/videos", headers=AUTH, json={"avatar": "nope", "text": "x" * 201}), 429),
        (c.post("/v1/videos", headers=AUTH, files={"source": bad_text.open("rb"), "audio": tiny_speech.open("rb")}),
         415),
        (c.post("/v1/videos", headers=AUTH, files={"source": ("a.txt", b"hello"), "audio": tiny_speech.open("rb")}),
         415),
        (c.post("/v1/videos", headers=AUTH, files={"source": ("big.jpg", b"\0" * (1 << 20) * 2),
                                                   "audio": tiny_speech.open("rb")}), 413),
        (c.post("/v1/videos", headers=AUTH, data={"options": '{"crf": 99}'},
                files={"source": tiny_photo.open("rb"), "audio": tiny_speech.open("rb")}), 422),
        (c.post("/v1/avatars", headers=AUTH, data={"name": "x"}), 422),
        (c.post("/v1/videos", headers={**AUTH, "content-type": "text/plain"}, content=b"hi"), 415),
        (c.get("/v1/videos/unknown", headers=AUTH), 404),
        (c.get("/v1/videos/unknown/file", headers=AUTH), 404),
        (c.delete("/v1/videos/unknown", headers=AUTH), 404),
        (c.delete("/v1/avatars/unknown", headers=AUTH), 404),
    ]
    for i, (r, code) in enumerate(cases):
        assert r.status_code == code, (i, r.status_code, r.text)
        body = r.json()
        assert list(body) == ["error"] and body["error"] and "\n" not in body["error"], (i, body)
    assert str(server.data) not in cases[6][0].json()["error"]  # no server paths in messages


@pytest.mark.slow
def test_cancel_stops_within_a_second(server, tiny_photo, tiny_speech):
    c = httpx.Client(base_url=server.url, timeout=30)
    r = c.post("/v1/videos", headers=AUTH, files={"source": tiny_photo.open("rb"), "audio": tiny_speech.open("rb")})
    vid = r.json()["id"]
    _wait(c, vid, until=("running",), timeout=120)
    t0 = time.monotonic()
    r = c.delete(f"/v1/videos/{vid}", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert c.get(f"/v1/videos/{vid}", headers=AUTH).json()["status"] == "cancelled"
    assert c.get(f"/v1/videos/{vid}/file", headers=AUTH).status_code == 409
    while (server.data / "jobs" / vid).exists() and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    assert time.monotonic() - t0 < 1.5  # the worker stopped and its folder is gone
    # the worker slot is free again: a job after it runs
    r = c.post("/v1/videos", headers=AUTH, files={"source": tiny_photo.open("rb"), "audio": tiny_speech.open("rb")})
    assert _wait(c, r.json()["id"])["status"] == "done"


@pytest.mark.slow
def test_kill_9_and_restart_loses_no_job(tmp_path, keys_file, tiny_photo, tiny_speech):
    """Three jobs accepted; the server is killed (-9) while the first renders; after a restart
    on the same data folder every one of them ends done, and a finished one is still served."""
    s = Server(tmp_path / "data", keys_file, "--workers", "1").start()
    try:
        c = httpx.Client(base_url=s.url, timeout=30)
        ids = []
        for _ in range(3):
            r = c.post("/v1/videos", headers=AUTH,
                       files={"source": tiny_photo.open("rb"), "audio": tiny_speech.open("rb")})
            assert r.status_code == 202
            ids.append(r.json()["id"])
        _wait(c, ids[0], until=("running",), timeout=120)
        time.sleep(1.0)
        s.kill9()
        time.sleep(0.5)
        s.port = _free_port()
        s.url = f"http://127.0.0.1:{s.port}"
        s.start()
        c = httpx.Client(base_url=s.url, timeout=30)
        for vid in ids:
            assert _wait(c, vid)["status"] == "done", vid
        assert c.get(f"/v1/videos/{ids[0]}/file", headers=AUTH).status_code == 200
    finally:
        s.stop()
