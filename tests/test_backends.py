"""Stage backends plug in by name: face tracking, phone recognition, text to speech.

A tiny fake backend registered from the test must be what the stage's public function uses,
with no other code touched; unknown names fail with the known ones listed; importing the stage
packages loads no heavy backend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twintake.errors import BackendError, SpeechError
from twintake.face import TRACKERS, Tracker, detect_faces, track_video
from twintake.hooks import Progress, RecordingHook
from twintake.speech.phones import RECOGNIZERS, PhoneRecognizer, align_phones, recognize_phones
from twintake.speech.tts import SYNTHESIZERS, Synthesizer, TTSChunk, tts_chunks
from twintake.types import FaceTrack, Phone

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
VIDEO = MEDIA / "video/vretalking_face2.mp4"  # 125 frames at 25 fps, 844x844, one face


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"test media missing: {path}")
    return path


@pytest.fixture
def register():
    """Register fake backends for one test, removed afterwards."""
    added: list[tuple[object, str]] = []

    def add(registry, name: str, factory) -> None:
        registry.register(name, factory)
        added.append((registry, name))

    yield add
    for registry, name in added:
        registry.unregister(name)


# ------------------------------------------------------------------------------- face tracking


def _fake_face(marker: float) -> np.ndarray:
    lm = np.zeros((478, 3), np.float32)
    lm[:, 0] = np.arange(478, dtype=np.float32) * 0.5  # cheek points 234 / 454: 110 px apart
    lm[:, 1] = 100.0
    lm[:, 2] = marker
    return lm


class FakeTracker:
    """Finds one face everywhere; the frame number is written in z; odd frames are lost."""

    def __init__(self) -> None:
        self.detect_calls: list[tuple[tuple[int, ...], int]] = []
        self.track_args: dict = {}

    def detect(self, image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
        self.detect_calls.append((image.shape, max_faces))
        return [_fake_face(-1.0)]

    def track(self, frames, fps, width, height, face_index=0, max_faces=None) -> FaceTrack:
        self.track_args = dict(fps=fps, width=width, height=height, face_index=face_index,
                               max_faces=max_faces)
        shapes = [f.shape for f in frames]
        self.track_args["shapes"] = shapes
        lms = np.stack([_fake_face(float(i)) for i in range(len(shapes))])
        valid = np.arange(len(shapes)) % 2 == 0
        lms[~valid] = 0
        return FaceTrack(lms, valid, float(fps), width, height)


def test_registered_tracker_is_used_by_track_video(register):
    video = _need(VIDEO)
    fake = FakeTracker()
    register(TRACKERS, "fake", lambda: fake)
    hook = RecordingHook()
    track = track_video(video, fps=25.0, progress=Progress(hook), backend="fake")
    n = len(track)
    assert n == 125
    # the fake's own output comes back unchanged
    assert np.array_equal(track.landmarks[::2, 0, 2], np.arange(0, n, 2, dtype=np.float32))
    assert np.array_equal(track.valid, np.arange(n) % 2 == 0)
    # it saw every decoded frame, the probed size, and the face count from its own detect()
    assert fake.track_args["shapes"] == [(844, 844, 3)] * n
    assert (fake.track_args["width"], fake.track_args["height"], fake.track_args["fps"]) == (844, 844, 25.0)
    assert len(fake.detect_calls) == 3 and fake.track_args["max_faces"] == 1
    # progress is reported by the stage, whatever the backend
    assert ("track", n, n) in hook.calls


def test_registered_tracker_is_used_by_detect_faces(register):
    register(TRACKERS, "fake", FakeTracker)
    faces = detect_faces(np.zeros((48, 64, 3), np.uint8), backend="fake")
    assert len(faces) == 1 and faces[0].shape == (478, 3) and float(faces[0][0, 2]) == -1.0


def test_unknown_tracker_lists_known_names(tmp_path):
    with pytest.raises(BackendError, match="mediapipe") as err:
        track_video(tmp_path / "never_opened.mp4", fps=25.0, backend="nope")
    assert "nope" in str(err.value)
    with pytest.raises(BackendError, match="mediapipe"):
        detect_faces(np.zeros((8, 8, 3), np.uint8), backend="nope")


# -------------------------------------------------------------------------- phone recognition


class FakeRecognizer:
    """Hears "P AA" at fixed times, with overlap and an unknown unit the stage must clean up."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def recognize(self, samples, sample_rate_hz, mode):
        self.calls.append((samples.size, sample_rate_hz, mode))
        return [Phone("AA", 0.18, 0.5), Phone("P", 0.1, 0.2), Phone("+NSN+", 0.5, 0.6)]


def _tone(seconds: float, rate_hz: int) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)


def test_registered_recognizer_is_used_by_recognize_phones(register):
    fake = FakeRecognizer()
    register(RECOGNIZERS, "fake", lambda: fake)
    phones = recognize_phones(_tone(1.0, 24000), 24000, mode="fast", backend="fake")
    assert fake.calls == [(16000, 16000, "fast")]  # resampled to 16 kHz before the backend
    assert [(p.symbol, p.start_s, p.end_s) for p in phones] == [
        ("SIL", 0.0, 0.1), ("P", 0.1, 0.2), ("AA", 0.2, 0.5), ("SIL", 0.5, 1.0)]


def test_recognizer_without_align_cannot_align(register):
    register(RECOGNIZERS, "fake", FakeRecognizer)
    with pytest.raises(BackendError, match="cannot align"):
        align_phones(_tone(1.0, 16000), 16000, ["P", "AA"], backend="fake")


def test_unknown_recognizer_lists_known_names():
    with pytest.raises(BackendError, match="pocketsphinx"):
        recognize_phones(_tone(0.5, 16000), 16000, backend="nope")


def test_phones_child_passes_the_backend():
    from twintake._phones_child import main

    wav = _need(MEDIA / "speech_en/realthreed_obama_5s.wav")
    with pytest.raises(BackendError, match="pocketsphinx"):
        main(["--backend", "nope", str(wav)])


# ----------------------------------------------------------------------------- text to speech


class FakeSynthesizer:
    languages = ("en", "xx")

    def chunks(self, sentences, lang, voice=None, speed=1.0):
        for i, s in enumerate(sentences):
            yield TTSChunk(np.full(240, i, np.float32), 24000, [Phone("AA", 0.0, 0.01)], s, lang)


def test_registered_synthesizer_is_used_by_tts_chunks(register):
    register(SYNTHESIZERS, "fake", FakeSynthesizer)
    assert isinstance(SYNTHESIZERS.create("fake"), Synthesizer)
    chunks = list(tts_chunks(["one.", "two."], "xx", backend="fake"))
    assert [c.text for c in chunks] == ["one.", "two."]
    assert [c.language for c in chunks] == ["xx", "xx"]
    assert [float(c.samples[0]) for c in chunks] == [0.0, 1.0]


def test_unknown_synthesizer_lists_known_names():
    with pytest.raises(BackendError, match="kokoro, espeak"):
        tts_chunks(["hello."], "en", backend="nope")


def test_espeak_synthesizer_refuses_english():
    with pytest.raises(SpeechError, match="Arabic"):
        tts_chunks(["hello."], "en", backend="espeak")


# -------------------------------------------------------------------------------- the defaults


def test_default_backends_are_registered_and_fit_their_protocols():
    assert TRACKERS.names()[0] == "mediapipe"
    assert RECOGNIZERS.names()[0] == "pocketsphinx"
    assert SYNTHESIZERS.names()[:2] == ["kokoro", "espeak"]
    assert isinstance(TRACKERS.create("mediapipe"), Tracker)
    assert isinstance(RECOGNIZERS.create("pocketsphinx"), PhoneRecognizer)
    for name in ("kokoro", "espeak"):
        assert isinstance(SYNTHESIZERS.create(name), Synthesizer)


def test_stage_packages_import_no_heavy_backend():
    code = (
        "import sys\n"
        "import twintake.face, twintake.face.tracker, twintake.speech.tts, twintake.speech.phones\n"
        "heavy = ('mediapipe', 'onnxruntime', 'pocketsphinx', 'twintake.face.mediapipe',\n"
        "         'twintake.speech.phones.pocketsphinx')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_voice_converter_registry_plugs_in_a_second_backend():
    """Voice conversion is a registered stage: the default backend matches the protocol, and a
    fake backend registered from here is what the synthesizer's conversion step calls."""
    import importlib

    import numpy as np

    from twintake.speech.voice import CONVERTERS, VoiceConverter

    S = importlib.import_module("twintake.speech.synthesize")  # the module (the package exports the function)

    assert isinstance(CONVERTERS.create("world"), VoiceConverter)

    class Halve:
        name = "halve"

        def convert(self, chunks, rate, profile, **options):
            return [np.asarray(c, np.float32) * 0.5 for c in chunks]

    CONVERTERS.register("halve", Halve)
    try:
        plan = S._VoicePlan(tts_voice="jf_gongitsune", profile=object(), conversion="mvn", converter="halve")
        x = np.ones(100, np.float32)
        assert np.allclose(S._convert_piece(x, "espeak", plan), 0.5)
    finally:
        CONVERTERS.unregister("halve")
    with pytest.raises(BackendError, match="world"):
        CONVERTERS.create("nope")
