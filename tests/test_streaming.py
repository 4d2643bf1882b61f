"""Text on a video is synthesized sentence by sentence and rendered from the first sentence on
(engine.render_video_stream through job.make_video); needs no ../shared."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import twintake
from twintake.hooks import RecordingHook
from twintake.media import probe

TEXT = ("Good morning. This is the first line. Here comes the second one. A third sentence follows. "
        "Then a fourth. And the last one ends it.")


pytestmark = pytest.mark.usefixtures("config_home")  # a fresh XDG_CONFIG_HOME per test


def test_rendering_starts_before_the_speech_is_finished(tiny_video, tmp_path):
    hook = RecordingHook()
    job = twintake.make_video(tiny_video, TEXT, out=tmp_path / "s.mp4", voice="none", hook=hook, provenance=False)
    calls = hook.calls
    first_render = next(i for i, c in enumerate(calls) if c[0] == "render")
    tts = [i for i, c in enumerate(calls) if c[0] == "tts"]
    assert first_render < tts[-1], "the first frame waited for the whole text"
    # the video is exactly the speech, which is the whole text (all sentences)
    info = probe(job.render.path)
    assert abs(info.video.frame_count / info.video.fps - job.speech.duration_s) <= 1.0 / info.video.fps + 1e-6
    assert job.render.frames == info.video.frame_count
    assert job.speech.duration_s > 6.0
    words = [p for p in job.speech.phones if p.symbol != "SIL"]
    assert len(words) > 40 and words[-1].end_s <= job.speech.duration_s + 1e-6
    assert all(a.end_s <= b.start_s + 1e-6 for a, b in zip(job.speech.phones, job.speech.phones[1:]))
    # every stage's bar ends full, at the frames made (its total was an estimate while streaming)
    for stage in ("speech", "motion", "render"):
        done, total = [c[1:] for c in calls if c[0] == stage][-1]
        assert done == total == job.render.frames, (stage, done, total)


def test_streamed_speech_carries_one_continuous_audio_mark(tiny_video, tmp_path):
    from twintake.media import load_audio
    from twintake.provenance.audio_mark import detect_audio

    job = twintake.make_video(tiny_video, TEXT, out=tmp_path / "m.mp4", voice="none")
    rate = 16000
    rep = detect_audio(load_audio(job.render.path, rate), rate)
    assert rep.found and rep.bit_accuracy == 1.0


def test_whole_and_streamed_speech_have_the_same_length(tiny_video, tmp_path):
    a = twintake.make_video(tiny_video, TEXT, out=tmp_path / "a.mp4", voice="none", provenance=False)
    b = twintake.make_video(tiny_video, TEXT, out=tmp_path / "b.mp4", voice="none", provenance=False,
                            stream_speech=False)
    assert abs(a.speech.duration_s - b.speech.duration_s) < 0.05
    assert abs(a.render.frames - b.render.frames) <= 1


def test_cancel_while_streaming_leaves_nothing(tiny_video, tmp_path):
    cancel = threading.Event()

    def hook(stage, done, total):
        if stage == "render" and done >= 3:
            cancel.set()

    out = tmp_path / "c.mp4"
    with pytest.raises(twintake.Cancelled):
        twintake.make_video(tiny_video, TEXT, out=out, voice="none", hook=hook, cancel=cancel, provenance=False)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".mp4" or ".tmp" in p.name]


def test_chain_planner_cuts_frames_and_phones_exactly():
    from twintake.render.chained import ChainPlanner
    from twintake.speech.synthesize import SpeechPiece
    from twintake.types import Phone

    rate, fps = 24000, 25.0
    pieces = [SpeechPiece(samples=np.full(int(1.03 * rate), 0.1, np.float32), sample_rate_hz=rate,
                          phones=[Phone("AA", 0.0, 1.03)], start_s=0.0, index=0, total=2),
              SpeechPiece(samples=np.full(int(0.51 * rate), 0.1, np.float32), sample_rate_hz=rate,
                          phones=[Phone("SIL", 1.03, 1.23), Phone("M", 1.23, 1.54)], start_s=1.03, index=1, total=2)]
    seen = []

    class Sub:
        def __init__(self, speech, f0, f1):
            self.speech, self.f0, self.f1 = speech, f0, f1
            self.n_frames = f1 - f0

        def blocks(self):
            return [(0, self.n_frames)]

        def speech_block(self, a, b):
            pass

        def motion_block(self, a, b):
            return (a, b)

    def make(speech, f0, f1, previous):
        seen.append((f0, f1, len(speech.samples), speech.phones))
        return Sub(speech, f0, f1)

    chain = ChainPlanner(pieces, fps, make)
    blocks = list(chain.blocks())
    # the first piece plans the 25 frames its 1.03 s cover completely; the last ends the timeline
    # at round(1.54 * 25) = 38 frames, as a whole render would
    assert blocks == [(0, 25), (25, 38)]
    assert chain.n_frames == 38
    assert seen[0][2] == 25 * rate // 25 and seen[1][2] == 13 * rate // 25  # exactly the frames' audio
    # the second sub-planner's phones are cut at its first frame's time (1.00 s)
    assert seen[1][3][:3] == [Phone("AA", 0.0, 0.03), Phone("SIL", 0.03, 0.23), Phone("M", 0.23, 0.52)]
    assert chain.audio.length == len(pieces[0].samples) + len(pieces[1].samples)
    assert chain.cut_at_s is None

    # a text longer than the job's limit: planning stops at max_frames and the audio is cut there
    # too, so sound and picture end together (before, 0.5 s of sound ran past the last frame)
    seen.clear()
    cut = ChainPlanner(pieces, fps, make, max_frames=30)
    assert list(cut.blocks()) == [(0, 25), (25, 30)]
    assert cut.audio.length == 30 * rate // 25
    assert cut.cut_at_s == pytest.approx(1.2)
    assert max(p.end_s for p in cut.speech().phones) <= 1.2 + 1e-9
    one_s = SpeechPiece(samples=np.full(rate, 0.1, np.float32), sample_rate_hz=rate, phones=[Phone("AA", 0.0, 1.0)],
                        start_s=0.0, index=0, total=1)
    exact = ChainPlanner([one_s], fps, make, max_frames=25)  # the speech ends exactly at the limit
    list(exact.blocks())
    assert exact.cut_at_s is None and exact.audio.length == rate
    more = ChainPlanner([one_s, pieces[1]], fps, make, max_frames=25)  # ... with a sentence still to come
    list(more.blocks())
    assert more.cut_at_s == pytest.approx(1.0) and more.audio.length == rate
    fits = ChainPlanner(pieces, fps, make, max_frames=60)
    list(fits.blocks())
    assert fits.cut_at_s is None and fits.audio.length == len(pieces[0].samples) + len(pieces[1].samples)
