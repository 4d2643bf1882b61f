"""The web page's queue, file registry and guard as units (no browser): one job per visitor,
queue position and wait, cancelling, the Host check, login throttling, visitor-private files."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from twintake.errors import Cancelled


def _wait(pred, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_queue_one_job_per_visitor_positions_and_cancel():
    from twintake.web.jobs import BusyError, WebJobs

    jobs = WebJobs(concurrency=1)
    release = threading.Event()

    def slow(job):
        while not release.is_set():
            job.hook("render", 1, 10)  # raises Cancelled once cancelled
            time.sleep(0.01)
        return "ok"

    try:
        a = jobs.submit("alice", slow, speech_s=10)
        _wait(lambda: a.state == "running")
        with pytest.raises(BusyError):
            jobs.submit("alice", slow, speech_s=10)
        b = jobs.submit("bob", slow, speech_s=10)
        c = jobs.submit("carol", slow, speech_s=10)
        assert (jobs.position(a), jobs.position(b), jobs.position(c)) == (0, 1, 2)
        # bob waits for alice's time left; carol also for bob's whole run
        assert 0 < jobs.expected_wait_s(b) < jobs.expected_wait_s(c)
        assert jobs.cancel(b.id)  # a queued job leaves the queue at once
        assert b.state == "cancelled" and jobs.position(c) == 1
        assert jobs.cancel(a.id, by="operator")
        _wait(lambda: a.finished)
        assert a.state == "cancelled" and isinstance(a.exc, Cancelled)
        _wait(lambda: c.state == "running")  # the slot went to the next in line
        release.set()
        _wait(lambda: c.finished)
        assert c.state == "done" and c.result == "ok" and c.queue_s() > 0 and c.run_s() > 0
        rows = {r["id"]: r for r in jobs.snapshot()}
        assert rows[a.id]["cancel_by"] == "operator" and rows[a.id]["cancel_latency_s"] is not None
        assert rows[c.id]["state"] == "done"
        jobs.submit("alice", lambda job: "again", speech_s=1)  # a finished visitor may start another
    finally:
        release.set()
        jobs.close()


def test_failed_job_keeps_one_line_error():
    from twintake.errors import SpeechError
    from twintake.web.jobs import WebJobs

    jobs = WebJobs()
    try:
        def bad(job):
            raise SpeechError("the text is too long")

        j = jobs.submit("v", bad, speech_s=1)
        _wait(lambda: j.finished)
        assert j.state == "failed" and j.error == "the text is too long"
    finally:
        jobs.close()


def test_host_check_accepts_ip_literals_localhost_and_allowed_names_only():
    from twintake.web.guard import host_allowed

    none = frozenset()
    assert host_allowed("127.0.0.1:7860", none)
    assert host_allowed("[::1]:7860", none)
    assert host_allowed("localhost:7860", none)
    assert not host_allowed("evil.example:7860", none)  # DNS rebinding: a name that points here
    assert not host_allowed("", none)
    assert host_allowed("studio.lan", frozenset({"studio.lan"}))
    assert host_allowed("anything", None)


def test_login_delay_doubles_after_three_failures():
    from twintake.web.guard import login_delay_s

    assert [login_delay_s(n) for n in range(7)] == [0, 0, 0, 1, 2, 4, 8]
    assert login_delay_s(40) == 300


def test_files_are_private_and_deleted_with_the_visit(tmp_path):
    from twintake.web.files import FileRegistry

    cache = tmp_path / "cache"
    (cache / "h1").mkdir(parents=True)
    a_file = cache / "h1" / "photo.jpg"
    a_file.write_bytes(b"x")
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(b"x")
    reg = FileRegistry(cache, ttl_s=3600)
    reg.session_started("alice", "s1")
    reg.session_started("bob", "s2")
    assert reg.add(a_file, "alice", "s1") and not reg.add(outside, "alice", "s1")
    assert reg.may_read(a_file, "alice") == 200
    assert reg.may_read(a_file, "bob") == 403 and not reg.owns(a_file, "bob")
    assert reg.may_read(cache / "h1" / "other.jpg", "alice") == 404
    assert reg.may_read(outside, "alice") == 404
    # bob uploads the same content (same cache path): alice leaving must not delete his copy
    reg.add(a_file, "bob", "s2")
    assert reg.session_ended("alice", "s1") == 0 and a_file.is_file()
    assert reg.may_read(a_file, "alice") == 403
    assert reg.session_ended("bob", "s2") == 1
    assert not a_file.exists() and not (cache / "h1").exists()
    assert reg.may_read(a_file, "bob") == 404


def test_files_past_their_time_are_swept(tmp_path):
    from twintake.web.files import FileRegistry

    cache = tmp_path / "cache"
    cache.mkdir()
    f = cache / "a.wav"
    f.write_bytes(b"x")
    reg = FileRegistry(cache, ttl_s=0.0)
    reg.add(f, "v", "s")
    time.sleep(0.01)
    assert reg.sweep() == 1 and not f.exists()


def _call(guard, method, path, headers=(), body=b"", client=("10.0.0.1", 5)):
    """Run one HTTP request through the ASGI guard; returns (status, headers dict, body)."""
    sent = []
    chunks = [body]

    async def receive():
        return {"type": "http.request", "body": chunks.pop() if chunks else b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "client": client,
             "headers": [(k.encode(), v.encode()) for k, v in (("host", "127.0.0.1:7860"), *headers)]}
    asyncio.run(guard(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, out


def _guard(tmp_path, **kw):
    from twintake.web.files import FileRegistry
    from twintake.web.guard import Guard

    async def app(scope, receive, send):  # the page behind: answers 200 to everything
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    return Guard(app, files=FileRegistry(tmp_path), **kw)


def test_login_throttles_per_client_and_guards_every_endpoint(tmp_path):
    now = [100.0]
    g = _guard(tmp_path, credentials=[("ann", "s3cret")], clock=lambda: now[0])
    form = [("content-type", "application/x-www-form-urlencoded")]
    assert _call(g, "POST", "/gradio_api/cancel")[0] == 401  # nothing but the login answers
    assert _call(g, "GET", "/", [("accept", "text/html")])[1]["location"] == "/login"
    for _ in range(3):
        assert _call(g, "POST", "/login", form, b"username=ann&password=guess")[0] == 401
    status, headers, body = _call(g, "POST", "/login", form, b"username=ann&password=s3cret")
    assert status == 429 and b"Too many failed logins" in body  # even the right password waits
    assert _call(g, "POST", "/login", form, b"username=ann&password=s3cret", client=("10.0.0.2", 5))[0] == 303
    now[0] += 1.1
    status, headers, _ = _call(g, "POST", "/login", form, b"username=ann&password=s3cret")
    assert status == 303 and "HttpOnly" in headers["set-cookie"]
    cookie = headers["set-cookie"].split(";")[0]
    assert _call(g, "POST", "/gradio_api/cancel", [("cookie", cookie)])[0] == 200


def test_operator_endpoints_need_the_token(tmp_path):
    from twintake.web.jobs import WebJobs

    jobs = WebJobs()
    try:
        g = _guard(tmp_path, jobs=jobs, operator_token="t" * 20)
        assert _call(g, "GET", "/operator/jobs")[0] == 401
        status, _, body = _call(g, "GET", "/operator/jobs", [("authorization", "Bearer " + "t" * 20)])
        assert status == 200 and b'"jobs"' in body
        assert _call(_guard(tmp_path), "GET", "/operator/jobs")[0] == 404  # no token set: no endpoint
    finally:
        jobs.close()


def test_file_urls_are_checked_against_the_owner(tmp_path):
    g = _guard(tmp_path)
    f = tmp_path / "h" / "a.jpg"
    f.parent.mkdir()
    f.write_bytes(b"x")
    g.files.add(f, "v" * 32)
    mine = [("cookie", "twintake_visitor=" + "v" * 32)]
    assert _call(g, "GET", f"/gradio_api/file={f}", mine)[0] == 200
    assert _call(g, "GET", f"/gradio_api/file={f}", [("cookie", "twintake_visitor=" + "w" * 32)])[0] == 403
    assert _call(g, "GET", f"/gradio_api/file={tmp_path / 'nope.jpg'}", mine)[0] == 404
    assert _call(g, "GET", "/gradio_api/file=/etc/passwd", mine)[0] == 404
    status, headers, _ = _call(g, "GET", "/")
    assert status == 200 and "SameSite=Strict" in headers["set-cookie"]  # a new visitor gets an id


def test_voice_labels_name_language_and_gender():
    from twintake.speech.tts import VOICES
    from twintake.web.status import voice_label

    assert voice_label("jf_gongitsune") == "Gongitsune - Japanese-trained voice, female, speaks English (clearest)"
    assert voice_label("jm_kumo").startswith("Kumo - Japanese-trained voice, male")
    assert voice_label("af_heart") == "Heart - American English-trained voice, female"
    assert all(re.search(r"-trained voice, (fe)?male\b", voice_label(v)) for v in VOICES)
