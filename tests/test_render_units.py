"""Unit tests of the renderer's pieces on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from twintake.cli import app
from twintake.face.smoothing import OneEuroFilter
from twintake.render.video.select import SelectOptions, select_frames
from twintake.render.video.timeline import pingpong_indices


def test_pingpong_cut_when_speech_is_shorter():
    assert list(pingpong_indices(5, np.zeros(10), 25)) == [0, 1, 2, 3, 4]


def test_pingpong_turns_at_closed_mouth_frames():
    n, fps = 100, 25
    openness = np.full(n, 0.3)
    openness[90] = 0.01  # the most closed frame near the end
    openness[7] = 0.02   # ... and near the start
    seq = pingpong_indices(300, openness, fps)
    assert len(seq) == 300
    assert np.all(np.abs(np.diff(seq)) == 1)  # continuous motion, no jumps
    turns = [int(seq[i]) for i in range(1, len(seq) - 1) if (seq[i] - seq[i - 1]) * (seq[i + 1] - seq[i]) < 0]
    assert set(turns) == {90, 7}


def test_pingpong_skips_frames_without_face_as_turn_points():
    openness = np.full(50, 0.3)
    openness[45] = np.inf  # no face: never a turn point
    openness[44] = 0.1
    seq = pingpong_indices(120, openness, 25)
    assert 44 in seq and seq[list(seq).index(44) + 1] == 43


def test_selection_follows_consecutive_runs_and_respects_allowed():
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(200, 6)).astype(np.float32)
    target = bank[50:90] + rng.normal(scale=0.05, size=(40, 6)).astype(np.float32)
    allowed = np.ones(200, bool)
    sel = select_frames(target, bank, allowed)
    assert np.mean(sel == np.arange(50, 90)) > 0.9
    allowed[60:70] = False
    sel = select_frames(target, bank, allowed)
    assert allowed[sel].all()


def test_selection_leave_segment_out():
    rng = np.random.default_rng(1)
    bank = rng.normal(size=(120, 4)).astype(np.float32)
    base = np.arange(120)
    sel = select_frames(bank.copy(), bank, np.ones(120, bool), exclude_radius=10, base_index=base)
    assert np.all(np.abs(sel - base) > 10)


def test_jump_cost_trades_fit_for_continuity():
    rng = np.random.default_rng(2)
    bank = rng.normal(size=(300, 5)).astype(np.float32)
    target = rng.normal(size=(60, 5)).astype(np.float32)
    cheap = select_frames(target, bank, np.ones(300, bool), options=SelectOptions(jump_cost=0.0, hold_cost=0.0,
                                                                                     min_dwell=1))
    dear = select_frames(target, bank, np.ones(300, bool), options=SelectOptions(jump_cost=50.0, hold_cost=50.0,
                                                                                     min_dwell=1))
    assert np.sum(np.diff(dear) != 1) < np.sum(np.diff(cheap) != 1)


def test_one_euro_smooths_jitter_but_follows_motion():
    rng = np.random.default_rng(3)
    f = OneEuroFilter(25.0, min_cutoff_hz=1.0, beta=0.5)
    # units: inter-ocular distances; landmark noise ~1 % of the IOD
    still = [f(np.array([1.0]) + rng.normal(scale=0.01, size=1))[0] for _ in range(100)]
    assert np.std(still[20:]) < 0.005
    f.reset()
    ramp = [f(np.array([i * 0.08]))[0] for i in range(50)]  # a 2 IOD/s head move
    assert abs(ramp[-1] - 49 * 0.08) < 0.1 * 49 * 0.08  # lags only a little on fast motion


def test_probe_command_reports_streams_and_faces(media):
    r = CliRunner().invoke(app, ["probe", str(media / "video/vretalking_face2.mp4")])
    assert r.exit_code == 0, r.output
    assert "844x844" in r.output and "25 fps" in r.output and "audio: aac" in r.output
    assert "1 face(s)" in r.output
