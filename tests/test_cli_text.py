"""The text path through the CLI: `twintake tts` and `twintake say VIDEO "TEXT"`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from twintake.cli import app
from twintake.media import probe

TEXT = "Hello there. This is a short test of the talking video."


def test_tts_writes_wav(tmp_path):
    out = tmp_path / "hello.wav"
    r = CliRunner().invoke(app, ["tts", TEXT, "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    info = probe(out)
    assert info.audio is not None
    assert 0.5 * 0.06 * len(TEXT) <= info.audio.duration_s <= 2 * 0.06 * len(TEXT)


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_tts_empty_text_is_one_line_error(tmp_path, text):
    out = tmp_path / "x.wav"
    r = CliRunner().invoke(app, ["tts", text, "-o", str(out), "-q"])
    assert r.exit_code == 1
    assert r.output.strip().startswith("error:") and len(r.output.strip().splitlines()) == 1
    assert not out.exists()


def test_say_text_makes_video_as_long_as_speech(media, tmp_path):
    out = tmp_path / "said.mp4"
    r = CliRunner().invoke(app, ["say", str(media / "video/vretalking_face2.mp4"), TEXT, "--voice", "none",
                                 "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    info = probe(out)
    assert info.audio is not None and info.video is not None
    assert abs(info.video.duration_s - info.audio.duration_s) <= 1 / 25 + 0.03
    assert 0.5 * 0.06 * len(TEXT) <= info.audio.duration_s <= 2 * 0.06 * len(TEXT)


def test_say_arabic_text_with_lang_en_is_refused(media, tmp_path):
    out = tmp_path / "x.mp4"
    r = CliRunner().invoke(app, ["say", str(media / "video/vretalking_face2.mp4"), "مرحبا بكم", "--lang", "en",
                                 "--voice", "none", "-o", str(out), "-q"])
    assert r.exit_code == 1
    assert "error:" in r.output and "Arabic" in r.output
    assert not out.exists()
