"""``twintake batch``: rows, resume by inputs hash, report, local worker processes (tiny media)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twintake.service.batch import run_batch
from twintake.service.rows import read_jobs


def _jobs(tmp_path: Path, rows: list[dict], name: str = "jobs.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_rows_are_checked_one_by_one(tmp_path, tiny_photo, tiny_speech):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join([
        json.dumps({"source": str(tiny_photo), "audio": str(tiny_speech), "out": "a", "crf": 20}),
        json.dumps({"source": str(tiny_photo), "text": "hi", "audio": str(tiny_speech)}),
        "{not json",
        json.dumps({"source": str(tiny_photo), "text": "hi", "colour": "red"}),
        json.dumps({"source": str(tiny_photo), "text": "hi", "out": "a.mp4"}),
        json.dumps({"source": str(tiny_photo), "text": "hi", "size": "big"}),
    ]) + "\n")
    rows = read_jobs(jobs)
    assert rows[0].error is None and rows[0].out == "a.mp4" and rows[0].options == {"crf": 20}
    assert "not both" in rows[1].error
    assert "JSON" in rows[2].error
    assert "colour" in rows[3].error
    assert "row 0" in rows[4].error
    assert "WIDTHxHEIGHT" in rows[5].error


def test_csv_rows_resolve_relative_paths(tmp_path, tiny_photo):
    (tmp_path / "p.jpg").write_bytes(tiny_photo.read_bytes())
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("source,text,lang,out\np.jpg,Hello there.,en,hello\n")
    [row] = read_jobs(jobs)
    assert row.error is None and row.source == str(tmp_path / "p.jpg") and row.text == "Hello there."
    assert row.lang == "en" and row.out == "hello.mp4"


@pytest.mark.slow
def test_batch_runs_skips_and_reports(tmp_path, tiny_photo, tiny_video, tiny_speech):
    """Two good rows and a bad one on 2 local workers; a rerun skips the done rows; a changed
    input runs again; the failing row never stops the others."""
    rows = [{"source": str(tiny_photo), "audio": str(tiny_speech), "out": "photo"},
            {"source": str(tiny_video), "audio": str(tiny_speech), "out": "video"},
            {"source": str(tmp_path / "missing.jpg"), "audio": str(tiny_speech), "out": "bad"}]
    jobs = _jobs(tmp_path, rows)
    out = tmp_path / "out"
    calls = []
    rep = run_batch(jobs, out, workers=2, hook=lambda s, c, t: calls.append((s, c, t)))
    assert [r["status"] for r in rep.rows] == ["ok", "ok", "failed"]
    assert "missing.jpg" in rep.rows[2]["error"]
    assert calls[0] == ("batch", 0, 3) and calls[-1] == ("batch", 3, 3)
    lines = [json.loads(x) for x in (out / "report.jsonl").read_text().splitlines()]
    assert lines == rep.rows and set(lines[0]) == {"row", "status", "error", "seconds", "out"}
    for name in ("photo.mp4", "video.mp4"):
        assert (out / name).stat().st_size > 10_000
        assert json.loads((out / (name + ".twintake.json")).read_text())["inputs_hash"]
    assert not list(out.glob(".*tmp*"))  # nothing half-written left
    before = (out / "photo.mp4").stat().st_mtime_ns

    rows[1]["crf"] = 30  # the video row's options changed: it runs again, the photo row is skipped
    rep2 = run_batch(_jobs(tmp_path, rows), out, workers=1)
    assert [r["status"] for r in rep2.rows] == ["skipped", "ok", "failed"]
    assert (out / "photo.mp4").stat().st_mtime_ns == before


def test_batch_cli_exit_code_and_summary(tmp_path, tiny_photo):
    from typer.testing import CliRunner

    from twintake.cli import app

    jobs = _jobs(tmp_path, [{"source": str(tiny_photo), "text": "hi", "audio": "x.wav"}])
    res = CliRunner().invoke(app, ["batch", str(jobs), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1
    assert "0 ok, 1 failed, 0 skipped" in res.output and "not both" in res.output


def test_missing_jobs_file_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from twintake.cli import app

    res = CliRunner().invoke(app, ["batch", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1 and "does not exist" in res.output


def test_ray_unreachable_is_a_clear_error(tmp_path, tiny_photo, tiny_speech, monkeypatch):
    pytest.importorskip("ray")
    from twintake.errors import BackendError

    monkeypatch.setenv("RAY_ADDRESS", "")
    jobs = _jobs(tmp_path, [{"source": str(tiny_photo), "audio": str(tiny_speech)}])
    with pytest.raises(BackendError, match="Ray cluster"):
        run_batch(jobs, tmp_path / "o", ray="127.0.0.1:1")


@pytest.mark.slow
def test_sigterm_stops_the_batch_workers_too(tmp_path, media):
    """SIGTERM reaches only the parent (docker stop, systemd): it stops its worker processes,
    which remove their unfinished outputs, instead of waiting for them to finish their rows."""
    import signal
    import subprocess
    import sys
    import time

    speech = media / "speech_en/musetalk_eng.wav"  # 60 s: still rendering when the signal comes
    rows = [{"source": str(media / "video/vretalking_face2.mp4"), "audio": str(speech), "out": f"v{i}"}
            for i in range(2)]
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "batch", str(_jobs(tmp_path, rows)), "-o", str(out),
                             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and not (
            out.is_dir() and any(".tmp-" in p.name for p in out.iterdir())):
        time.sleep(0.05)  # until a worker's encoder has opened its temporary output
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert time.monotonic() - t0 < 30  # not the rest of a 60 s render
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".mp4"]
