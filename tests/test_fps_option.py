"""`--fps 50|100`: interpolated output keeps the speech's length; other rates are refused."""

from __future__ import annotations

import pytest

import twintake
from twintake.media import probe

VIDEO = "video/vretalking_face2.mp4"  # 25 fps
SPEECH = "speech_en/realthreed_obama_5s.wav"


def test_fps_50_doubles_frames_and_keeps_duration(media, tmp_path):
    out = tmp_path / "f50.mp4"
    res = twintake.lipsync(media / VIDEO, media / SPEECH, out, twintake.LipsyncOptions(fps=50))
    info = probe(out)
    assert info.video.fps == pytest.approx(50.0)
    assert res.fps == 50.0 and abs(info.video.frame_count - res.frames) <= 1
    assert abs(info.video.duration_s - probe(media / SPEECH).audio.duration_s) <= 1 / 25 + 1e-3


def test_fps_not_a_multiple_is_refused(media, tmp_path):
    with pytest.raises(twintake.MediaError, match="use 25 .*50 or 100"):
        twintake.lipsync(media / VIDEO, media / SPEECH, tmp_path / "x.mp4", twintake.LipsyncOptions(fps=60))
    assert not (tmp_path / "x.mp4").exists()
