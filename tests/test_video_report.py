"""`twintake say --report`: the render result as JSON, written atomically."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from twintake.cli import app


def test_say_report_lists_base_and_mouth_frames(tiny_video, tiny_speech, tmp_path):
    out, report = tmp_path / "out.mp4", tmp_path / "render.json"
    r = CliRunner().invoke(app, ["say", str(tiny_video), "--audio", str(tiny_speech), "--out", str(out),
                                 "--report", str(report), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(report.read_text())
    assert data["path"] == str(out) and data["frames"] == len(data["base_frames"]) == len(data["mouth_frames"])
    assert all(isinstance(i, int) and 0 <= i < 60 for i in data["base_frames"] + data["mouth_frames"])
    assert {"duration_s", "fps", "width", "height", "timings_s", "notes"} <= set(data)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_say_report_in_a_missing_folder_is_a_one_line_error(tiny_video, tiny_speech, tmp_path):
    r = CliRunner().invoke(app, ["say", str(tiny_video), "--audio", str(tiny_speech), "--out",
                                 str(tmp_path / "o.mp4"), "--report", str(tmp_path / "nope" / "r.json")])
    assert r.exit_code == 2
    assert "error: cannot write the report" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o.mp4").exists()
