"""XTTS-v2 voice backend (``--voice-backend xtts``) through the loading code users hit, on a tiny
randomly initialised XTTS built by the test in the published folder layout (no downloads).

A random model cannot speak: these tests check the plumbing (the checkpoint loads, the reference
clip conditions it, a WAV of plausible length comes out, errors name the file), not the voice."""

from __future__ import annotations

import json
import shutil
import wave

import pytest

pytest.importorskip("TTS")
from typer.testing import CliRunner  # noqa: E402

from twintake.cli import app  # noqa: E402

from .conftest import MEDIA  # noqa: E402
from .neural_models import build_tiny_xtts  # noqa: E402

REF = MEDIA / "speech_en" / "realthreed_obama_5s.wav"


pytestmark = pytest.mark.usefixtures("config_home")  # a fresh XDG_CONFIG_HOME per test


def _tts(*args) -> object:
    return CliRunner().invoke(app, ["tts", *map(str, args), "-q"])


@pytest.mark.skipif(not REF.is_file(), reason="needs ../shared/media")
def test_tts_writes_a_wav_of_plausible_length_and_notes_the_licence_once(xtts_dir, tmp_path):
    out = tmp_path / "out.wav"
    text = "Hello there. How are you today?"
    r = _tts(text, "--voice-backend", "xtts", "--checkpoint", xtts_dir, "--voice", REF, "-o", out)
    assert r.exit_code == 0, r.output
    assert "Coqui Public Model License" in r.output  # first use: the CPML notice
    with wave.open(str(out)) as w:
        rate, n = w.getframerate(), w.getnframes()
    assert rate == 24000
    duration = n / rate
    # two sentences, each capped at 1 s + 0.12 s per character of generated codes, + pauses
    assert 0.5 < duration < (2 * 1.0 + 0.12 * len(text)) + 1.0, duration
    r2 = _tts("Hi.", "--voice-backend", "xtts", "--checkpoint", xtts_dir, "--voice", REF, "-o", tmp_path / "b.wav")
    assert r2.exit_code == 0, r2.output
    assert "License" not in r2.output  # shown once per user


def _one_line_error(r, *words):
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.output
    for w in words:
        assert w in lines[0], lines[0]


def test_errors_name_the_file_before_any_work(xtts_dir, tmp_path):
    out = tmp_path / "out.wav"
    ref = REF if REF.is_file() else xtts_dir / "config.json"
    base = ["--voice-backend", "xtts", "--voice", ref, "-o", out]
    _one_line_error(_tts("Hi.", "--checkpoint", tmp_path / "nope", *base), "nope", "not found")
    _one_line_error(_tts("Hi.", *base), "--checkpoint")
    other = tmp_path / "other"
    shutil.copytree(xtts_dir, other)
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**cfg, "model": "vits"}))
    _one_line_error(_tts("Hi.", "--checkpoint", other, *base), "config.json", "vits", "not XTTS-v2")
    trunc = tmp_path / "trunc"
    shutil.copytree(xtts_dir, trunc)
    data = (trunc / "model.pth").read_bytes()
    (trunc / "model.pth").write_bytes(data[: len(data) // 2])
    _one_line_error(_tts("Hi.", "--checkpoint", trunc, *base), "model.pth", "cannot be read")
    _one_line_error(_tts("Hi.", "--checkpoint", xtts_dir, "--device", "cuda", *base), "cuda", "no CUDA GPU")
    assert not out.exists()


def test_wrong_shaped_checkpoint_names_the_tensor(xtts_dir, tmp_path):
    wide = build_tiny_xtts(tmp_path / "wide", dim=96, heads=2)
    mixed = tmp_path / "mixed"
    shutil.copytree(xtts_dir, mixed)
    shutil.copyfile(wide / "model.pth", mixed / "model.pth")  # a 96-wide model under a 64-wide config
    out = tmp_path / "out.wav"
    r = _tts("Hi.", "--voice-backend", "xtts", "--checkpoint", mixed, "-o", out)
    _one_line_error(r, "model.pth", "shape")
    assert not out.exists()
