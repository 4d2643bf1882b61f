"""Sources that never talk (``twintake.render.video.silent``, ``.open_mouth``): a video whose mouth
never opens is detected, the job says so in its notes, and its mouth is opened on speech; a
talking source's frames are unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from twintake.render.video.silent import (MAX_SPEAKING_SPAN_IOD, MIN_SPEAKING_SPAN_IOD, is_silent_source, opening_span,
                                          silent_source_note, wide_source_note)


def test_threshold_separates_the_measured_spans():
    # opening ranges of the shared videos (face mesh, inter-ocular units; module docstring)
    silent = {"musetalk_sun": (0.101, 0.123), "musetalk_yongen": (0.004, 0.034)}
    talking = {"vretalking_face5": (0.001, 0.180), "digisay_avatar2": (0.000, 0.165),
               "vretalking_face2": (0.040, 0.249), "sadtalker_wda_katiehill": (0.002, 0.379)}
    assert all(is_silent_source(r) for r in silent.values())
    assert not any(is_silent_source(r) for r in talking.values())
    # with a margin on both sides
    assert max(opening_span(r) for r in silent.values()) * 2.5 < MIN_SPEAKING_SPAN_IOD
    assert min(opening_span(r) for r in talking.values()) / 2 > MIN_SPEAKING_SPAN_IOD


def test_note_says_what_was_found_and_what_to_do():
    note = silent_source_note((0.101, 0.123))
    assert "never opens its mouth" in note and "0.02" in note
    assert "video of the person talking" in note and "photo" in note
    opened = silent_source_note((0.101, 0.123), opened=True)
    assert "never opens its mouth" in opened and "opened further" in opened and "video of them talking" in opened
    assert silent_source_note((0.0, 0.21)) is None


def test_a_source_that_shouts_is_noted_too():
    # liveportrait_d18 (expressions, closed or shouting) and the widest talking video
    note = wide_source_note((0.0, 0.809))
    assert "far wider than speech" in note and "0.81" in note and "video of the person talking" in note
    assert wide_source_note((0.002, 0.379)) is None and wide_source_note((0.101, 0.123)) is None
    assert 0.379 * 1.3 < MAX_SPEAKING_SPAN_IOD < 0.809


@pytest.fixture(scope="module")
def sun_clip(media, tmp_path_factory):
    """The first 2 s of musetalk_sun (a smiling woman who never speaks)."""
    from twintake.media.clip import write_clip

    return write_clip(media / "video" / "musetalk_sun.mp4", tmp_path_factory.mktemp("sun") / "sun2s.mp4", 2.0)


@pytest.fixture(scope="module")
def sun_render(sun_clip, tiny_speech, tmp_path_factory):
    """The 2 s sun clip saying 3 s of English speech (the job's result)."""
    from twintake.job import make_video

    return make_video(sun_clip, audio=tiny_speech, out=tmp_path_factory.mktemp("sun_out") / "out.mp4",
                      provenance=False)


def test_job_notes_a_source_that_never_talks(sun_render):
    notes = [n for n in sun_render.notes if "never opens its mouth" in n]
    assert len(notes) == 1, sun_render.notes
    assert "was opened further" in notes[0]
    assert sun_render.render.path.is_file()


def test_job_has_no_such_note_for_a_talking_source(tiny_video, tiny_speech, tmp_path):
    from twintake.job import make_video

    res = make_video(tiny_video, audio=tiny_speech, out=tmp_path / "out.mp4", provenance=False)
    assert not any("never opens its mouth" in n for n in res.notes)


def _openings(path) -> np.ndarray:
    """(T,) inner-lip opening of every frame of a video, inter-ocular units (face mesh)."""
    from twintake.face.tracker import detect_faces
    from twintake.media import iter_frames

    out = []
    for fr in iter_frames(path):
        lm = detect_faces(fr.image)[0]
        iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
        out.append(float(np.linalg.norm(lm[14, :2] - lm[13, :2])) / iod)
    return np.array(out)


def test_silent_source_opens_on_speech_and_rests_in_pauses(sun_clip, sun_render, tiny_speech):
    from twintake.media import load_audio

    res = sun_render
    src, out = _openings(sun_clip), _openings(res.render.path)
    # loud syllables open well past anything the source shows (its widest: ~0.13 IOD)
    assert np.percentile(out, 95) > src.max() + 0.08, (np.percentile(out, 95), src.max())
    # the quietest frames stay at the source's own rest
    sr = 16000
    audio = load_audio(tiny_speech, sr)
    hop = sr // 25
    rms = np.array([np.sqrt(np.mean(audio[i * hop:(i + 1) * hop] ** 2) + 1e-12) for i in range(len(out))])
    quiet = rms <= np.percentile(rms, 10)
    assert np.median(out[quiet]) < np.median(src) + 0.03, (np.median(out[quiet]), np.median(src))


def test_widen_keeps_the_rest_and_reaches_a_speaking_span():
    from twintake.render.video.open_mouth import OpenMouth
    from twintake.render.video.silent import SPEAKING_SPAN_IOD
    from twintake.motion.shapes import opening

    om = OpenMouth.__new__(OpenMouth)  # geometry only: no reference frame needed
    om.open_range, om.rest_open = (0.10, 0.12), 0.10
    om.extra_span = SPEAKING_SPAN_IOD - 0.02
    d = np.zeros(114)
    d[2 * 20 + 2 * 15 + 1] = 1.0  # lower inner-lip centre (point 14) down by 1 IOD
    om.direction = d
    rest = np.zeros(114)
    rest[2 * 20 + 2 * 15 + 1] = 0.10
    t, extra = om.widen(rest)
    assert extra == 0.0 and np.allclose(t, rest)
    wide = rest.copy()
    wide[2 * 20 + 2 * 15 + 1] = 0.12
    t, extra = om.widen(wide)
    assert extra == pytest.approx(SPEAKING_SPAN_IOD - 0.02)
    assert float(opening(t[None])[0]) == pytest.approx(0.10 + SPEAKING_SPAN_IOD, abs=1e-5)
    # a bilabial shuts most of a resting gap (sun rests with parted lips showing teeth)
    t, extra = om.widen(rest, closure=1.0)
    assert extra < 0 and float(opening(t[None])[0]) == pytest.approx(0.04, abs=1e-5)
    om.rest_open = 0.01  # a closed rest: nothing to shut
    assert om.widen(rest * 0.1, closure=1.0)[1] == pytest.approx(0.0, abs=1e-9)


def test_talking_source_frames_are_unchanged(tiny_video, monkeypatch):
    """A talking source never takes the silent path: the compositor makes no OpenMouth and
    renders exactly the frames it renders with the silent path switched off."""
    from twintake.prepare import prepare_video
    from twintake.render.video import MouthPlan, VideoCompositor
    from twintake.render.video import open_mouth

    prep = prepare_video(tiny_video)
    ok = np.flatnonzero(prep.track.valid)
    base = ok[:20]
    # every output frame shows another frame's mouth, warped to a third frame's shape
    plan = MouthPlan(target=prep.descriptors[np.roll(ok, 7)[:20]].astype(np.float32), source=np.roll(ok, 13)[:20])

    def frames():
        comp = VideoCompositor(prep.source, base, prep.fps, prep.track.landmarks, prep.track.valid,
                               prep.transforms, prep.descriptors, prep.bank, prep.box, prep.track.width,
                               prep.track.height)
        imgs = [comp.render(t, b, plan, t).image for t, b in enumerate(comp.base_frames())]
        return comp, imgs

    comp, a = frames()
    assert comp._open is None
    monkeypatch.setattr(open_mouth, "is_silent_source", lambda r: False)
    _, b = frames()
    assert len(a) == len(b) == 20 and all(np.array_equal(x, y) for x, y in zip(a, b))
