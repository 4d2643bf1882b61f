"""Sources that never talk (``twintake.render.video.silent``): a video whose mouth never opens is
detected, and the job says so in its notes."""

from __future__ import annotations

import pytest

from twintake.render.video.silent import MIN_SPEAKING_SPAN_IOD, is_silent_source, opening_span, silent_source_note


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
    assert silent_source_note((0.0, 0.21)) is None


@pytest.fixture(scope="module")
def sun_clip(media, tmp_path_factory):
    """The first 2 s of musetalk_sun (a smiling woman who never speaks)."""
    from twintake.media.clip import write_clip

    return write_clip(media / "video" / "musetalk_sun.mp4", tmp_path_factory.mktemp("sun") / "sun2s.mp4", 2.0)


def test_job_notes_a_source_that_never_talks(sun_clip, tiny_speech, tmp_path):
    from twintake.job import make_video

    res = make_video(sun_clip, audio=tiny_speech, out=tmp_path / "out.mp4", provenance=False)
    notes = [n for n in res.notes if "never opens its mouth" in n]
    assert len(notes) == 1, res.notes
    assert res.render.path.is_file()


def test_job_has_no_such_note_for_a_talking_source(tiny_video, tiny_speech, tmp_path):
    from twintake.job import make_video

    res = make_video(tiny_video, audio=tiny_speech, out=tmp_path / "out.mp4", provenance=False)
    assert not any("never opens its mouth" in n for n in res.notes)
