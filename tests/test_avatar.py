"""Avatars: prepare once, reuse; clear errors for damaged or incompatible folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

import twintake
from twintake.avatar import Avatar
from twintake.cli import app
from twintake.hooks import RecordingHook
from twintake.media import iter_frames

VIDEO = "video/vretalking_face3.mp4"
SPEECH = "speech_en/realthreed_obama_5s.wav"


@pytest.fixture(scope="module")
def avatar_dir(media, tmp_path_factory):
    out = tmp_path_factory.mktemp("avatars") / "face3"
    Avatar.prepare(media / VIDEO, out, voice="none")
    return out


def test_round_trip_gives_the_same_frames_as_one_shot(media, avatar_dir, tmp_path):
    hook = RecordingHook()
    # provenance off: each job's frame mark carries its own job id
    res = Avatar.load(avatar_dir).say(audio=media / SPEECH, out=tmp_path / "avatar.mp4", hook=hook, provenance=False)
    assert "track" not in hook.stages and "bank" not in hook.stages  # no preparation again
    assert "track" in res.cache_hits
    one_shot = twintake.lipsync(media / VIDEO, media / SPEECH, tmp_path / "oneshot.mp4", provenance=False)
    assert res.frames == one_shot.frames
    a = [f.image for f in iter_frames(tmp_path / "avatar.mp4", stop=40)]
    b = [f.image for f in iter_frames(tmp_path / "oneshot.mp4", stop=40)]
    assert len(a) == len(b) == 40
    # identical composited frames; only the H.264 encoder (multi-threaded x264 is not bit-exact
    # between runs) adds differences of a few levels
    for x, y in zip(a, b):
        mse = float(((x.astype(np.float64) - y) ** 2).mean())
        assert 10 * np.log10(255**2 / max(mse, 1e-10)) > 45


def test_manifest_and_listing(avatar_dir):
    m = json.loads((avatar_dir / "avatar.json").read_text())
    for key in ("format_version", "kind", "source", "source_hash", "fps", "width", "height", "created_by"):
        assert key in m
    assert m["kind"] == "video" and m["voice"] is None
    r = CliRunner().invoke(app, ["avatars", "list", str(avatar_dir.parent)])
    assert r.exit_code == 0 and "face3" in r.output and "video" in r.output


def _copy(avatar_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(avatar_dir, dst)
    return dst


def test_old_format_is_refused_with_a_fix(avatar_dir, tmp_path):
    d = _copy(avatar_dir, tmp_path)
    m = json.loads((d / "avatar.json").read_text())
    m["format_version"] = 0
    (d / "avatar.json").write_text(json.dumps(m))
    with pytest.raises(twintake.AvatarError, match="older version.*--force"):
        Avatar.load(d)


def test_corrupt_manifest_and_half_written_folder(avatar_dir, tmp_path):
    d = _copy(avatar_dir, tmp_path)
    (d / "avatar.json").write_text("{not json")
    with pytest.raises(twintake.AvatarError, match="corrupt"):
        Avatar.load(d)
    (d / "avatar.json").unlink()
    with pytest.raises(twintake.AvatarError, match="not completely written"):
        Avatar.load(d)
    d2 = _copy(avatar_dir, tmp_path / "b")
    (d2 / "bank.npy").unlink()
    with pytest.raises(twintake.AvatarError, match="incomplete.*bank.npy"):
        Avatar.load(d2)


def test_changed_source_is_detected(avatar_dir, tmp_path):
    d = _copy(avatar_dir, tmp_path)
    src = d / json.loads((d / "avatar.json").read_text())["source_file"]
    data = bytearray(src.read_bytes())
    data[-100] ^= 0xFF
    src.write_bytes(bytes(data))
    with pytest.raises(twintake.AvatarError, match="changed"):
        Avatar.load(d)


def test_existing_folder_needs_force(media, avatar_dir):
    with pytest.raises(twintake.AvatarError, match="--force"):
        Avatar.prepare(media / VIDEO, avatar_dir)


def test_photo_avatar_prepare_and_say(media, tmp_path):
    av = Avatar.prepare(media / "portrait/realthreed_macron.png", tmp_path / "macron")
    assert av.kind == "photo" and av.voice is None
    again = Avatar.load(tmp_path / "macron")
    res = again.say(audio=media / SPEECH, out=tmp_path / "m.mp4")
    assert res.fps == 25.0 and abs(res.duration_s - 5.013) <= 0.04
    r = CliRunner().invoke(app, ["avatars", "list", str(tmp_path)])
    assert "photo" in r.output


def test_photo_without_face_is_refused(tmp_path):
    import cv2

    img = np.full((300, 400, 3), 120, np.uint8)
    cv2.putText(img, "no face", (50, 150), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    p = tmp_path / "sign.png"
    cv2.imwrite(str(p), img)
    with pytest.raises(twintake.NoFaceError, match="sign.png"):
        Avatar.prepare(p, tmp_path / "sign")
    assert not (tmp_path / "sign").exists()


def test_source_phones_come_from_a_child_process(media, tmp_path):
    """The child (``python -m twintake._phones_child``) gives the in-process result, and a
    child still running when preparation fails is stopped."""
    from twintake.media import probe
    from twintake.prepare import _SourcePhones, recognize_source_phones

    video = media / "video" / "realthreed_may_5s.mp4"
    info = probe(video)
    job = _SourcePhones(video, info)
    proc = job._proc
    assert proc is not None  # really started a child
    phones = job.result()
    assert proc.returncode == 0
    assert phones == recognize_source_phones(video)
    assert sum(p.symbol != "SIL" for p in phones) >= 20

    job = _SourcePhones(video, info)
    proc = job._proc
    job.close()
    assert proc.poll() is not None and job._proc is None

    # silent audio: no phones (the child exits cleanly with an empty list)
    silent = tmp_path / "x.wav"
    import soundfile

    soundfile.write(silent, np.zeros(16000, np.float32), 16000)
    job = _SourcePhones(silent, probe(silent))
    assert job.result() == []


def test_prepare_creates_missing_parent_folders(media, tmp_path):
    out = tmp_path / "avatars" / "people" / "macron"
    av = Avatar.prepare(media / "portrait/realthreed_macron.png", out)
    assert (out / "avatar.json").is_file() and av.kind == "photo"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(twintake.AvatarError, match="cannot create"):
        Avatar.prepare(media / "portrait/realthreed_macron.png", blocker / "x" / "macron")
