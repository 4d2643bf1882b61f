"""An avatar's stored XTTS-v2 voice (``twintake prepare ... --voice-backend xtts --voice-checkpoint
DIR``), used by ``twintake say AVATAR "text"`` without any voice flag; on a tiny randomly
initialised XTTS built by the test in the published folder layout (no downloads). A random
model cannot speak: the tests check that the speech comes from the XTTS synthesizer, not the voice."""

from __future__ import annotations

import json
import shutil
import wave

import pytest

pytest.importorskip("TTS")
from typer.testing import CliRunner  # noqa: E402

from twintake.cli import app  # noqa: E402

from .conftest import DATA, MEDIA  # noqa: E402

REF = MEDIA / "speech_en" / "realthreed_obama_5s.wav"
PHOTO = DATA / "tiny_portrait.jpg"


pytestmark = pytest.mark.usefixtures("config_home")  # a fresh XDG_CONFIG_HOME per test


def _cli(*args):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.mark.skipif(not REF.is_file(), reason="needs ../shared/media")
def test_prepare_stores_xtts_and_say_uses_it(xtts_dir, tmp_path, monkeypatch):
    from twintake.speech.tts import xtts

    spoken: list[tuple[list[str], str]] = []
    real_chunks = xtts.XttsSynthesizer.chunks

    def spy(self, sentences, lang, *a, **k):
        spoken.append((list(sentences), lang))
        yield from real_chunks(self, sentences, lang, *a, **k)

    monkeypatch.setattr(xtts.XttsSynthesizer, "chunks", spy)
    avatar = tmp_path / "avatars" / "ada"
    r = _cli("prepare", PHOTO, "-o", avatar, "--voice", REF, "--voice-backend", "xtts", "--voice-checkpoint", xtts_dir)
    assert r.exit_code == 0, r.output
    assert "Coqui Public Model License" in r.output  # the checkpoint was loaded by prepare: first use
    assert "voice: xtts cloning voice_clip.wav" in r.output
    m = json.loads((avatar / "avatar.json").read_text())
    assert m["voice_backend"] == "xtts"
    assert m["voice_checkpoint"] == str(xtts_dir.resolve())
    assert m["voice_clip"] == "voice_clip.wav"
    assert (avatar / "voice_clip.wav").read_bytes() == REF.read_bytes()  # the clip travels with the avatar
    assert not spoken  # prepare speaks nothing

    out = tmp_path / "hi.mp4"
    report = tmp_path / "report.json"
    r = _cli("say", avatar, "Hello there.", "-o", out, "-q", "--report", report)  # no voice flag at all
    assert r.exit_code == 0, r.output
    assert spoken and spoken[0][1] == "en" and "Hello there." in " ".join(spoken[0][0])  # XTTS spoke it
    assert out.is_file() and out.stat().st_size > 0
    duration = json.loads(report.read_text())["duration_s"]
    # the tiny model never stops: its sentence runs to the cap of 1 s + 0.12 s per character
    assert 0.5 < duration < 1.0 + 0.12 * len("Hello there.") + 1.0, duration
    assert "License" not in r.output  # the notice was given once, by prepare

    # the call's own choice wins over the avatar's default: the built-in voice speaks
    spoken.clear()
    r = _cli("say", avatar, "Hi.", "-o", tmp_path / "k.mp4", "-q", "--voice-backend", "kokoro")
    assert r.exit_code == 0, r.output
    assert not spoken


def test_prepare_errors_are_one_line_before_any_work(xtts_dir, tmp_path):
    avatar = tmp_path / "avatars" / "ada"
    clip = REF if REF.is_file() else DATA / "tiny_speech.wav"

    def one_line(r, *words):
        assert r.exit_code == 1, r.output
        lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and all(w in lines[0] for w in words), r.output
        assert not avatar.exists() and not any(avatar.parent.glob(".ada*")), "something was written"

    base = ("prepare", PHOTO, "-o", avatar, "-q")
    one_line(_cli(*base, "--voice", clip, "--voice-backend", "xtts", "--voice-checkpoint", tmp_path / "none"),
             "none", "not found")
    one_line(_cli(*base, "--voice", clip, "--voice-backend", "xtts"), "--voice-checkpoint DIR")
    one_line(_cli(*base, "--voice", clip, "--voice-checkpoint", xtts_dir), "--voice-backend xtts")
    one_line(_cli(*base, "--voice", clip, "--voice-backend", "vall-e", "--voice-checkpoint", xtts_dir), "vall-e")
    one_line(_cli(*base, "--voice-backend", "xtts", "--voice-checkpoint", xtts_dir), "photo", "--voice CLIP")
    one_line(_cli(*base, "--voice", "none", "--voice-backend", "xtts", "--voice-checkpoint", xtts_dir),
             "--voice none")
    quiet = tmp_path / "quiet.wav"  # 1 s of silence: nothing XTTS could clone
    with wave.open(str(quiet), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 16000)
    one_line(_cli(*base, "--voice", quiet, "--voice-backend", "xtts", "--voice-checkpoint", xtts_dir),
             "quiet.wav", "3 s")
    trunc = tmp_path / "trunc"
    shutil.copytree(xtts_dir, trunc)
    (trunc / "model.pth").write_bytes((xtts_dir / "model.pth").read_bytes()[:2000])
    one_line(_cli(*base, "--voice", clip, "--voice-backend", "xtts", "--voice-checkpoint", trunc),
             "model.pth", "cannot be read")
