"""Self-reenactment protects the product: twintake must beat every baseline on lip-sync
(LMD, and sync judged against the real mouth; see the note above the sync tests).

Two real talking videos, clipped to 6 s, each rendered from its own audio with the mouth bank
leave-segment-out (±2 s), then face-meshed again and compared with the real frames.
"""

from __future__ import annotations

import pytest

from twintake.evaluate.protocol import METHODS, EvalConfig, evaluate_video

VIDEOS = ["vretalking_face2", "sadtalker_wda_aoc"]
BASELINES = [m for m in METHODS if m != "twintake"]


@pytest.fixture(scope="module", params=VIDEOS)
def result(request, media, tmp_path_factory):
    path = media / "video" / f"{request.param}.mp4"
    ev = evaluate_video(path, tmp_path_factory.mktemp("eval"), EvalConfig(max_seconds=6.0))
    return ev


def test_every_method_was_measured(result):
    assert set(result.results) == {"real", *METHODS}
    for m, r in result.results.items():
        assert r.face_found > 0.95, m
    assert result.results["real"].lmd == 0.0
    # leave-segment-out: nothing copies the real mouth back
    assert result.results["twintake"].lmd > 0.005


@pytest.mark.parametrize("baseline", BASELINES)
def test_twintake_beats_baseline_on_lmd(result, baseline):
    tw, bl = result.results["twintake"], result.results[baseline]
    assert tw.lmd < bl.lmd, f"{result.name}: twintake LMD {tw.lmd:.4f} vs {baseline} {bl.lmd:.4f}"


# Sync is judged against the truth. In self-reenactment the real speaker's own mouth opening is
# known, so "follows the real mouth" (opening corr vs real, best lag within +-15 frames) is the
# sync measure every baseline must lose on. The loudness-envelope sync confidence is reported by
# `twintake eval` too, and twintake must beat the two baselines that ignore the speech on it, but
# not the loudness-only jaw: that baseline *is* loudness mapped to opening, so it maximizes this
# metric by construction and scores ~3x higher than real speakers (0.89 vs 0.31 over the 11
# shared videos). Forcing twintake to win it (DriverOptions.loudness_opening=0.65) costs a quarter
# of its correlation with the real mouth (0.41 -> 0.31); see docs/evaluation.md.
_SPEECH_BLIND = [b for b in BASELINES if b != "loudness"]


@pytest.mark.parametrize("baseline", _SPEECH_BLIND)
def test_twintake_beats_speech_blind_baseline_on_sync_confidence(result, baseline):
    tw, bl = result.results["twintake"], result.results[baseline]
    assert tw.sync_conf > bl.sync_conf, (
        f"{result.name}: twintake sync confidence {tw.sync_conf:.3f} vs {baseline} {bl.sync_conf:.3f}")


@pytest.mark.parametrize("baseline", BASELINES)
def test_twintake_follows_the_real_mouth_better_than_baseline(result, baseline):
    """Sync against the ground truth: correlation of the output's mouth opening with the real
    speaker's (best lag within +-15 frames)."""
    tw, bl = result.results["twintake"], result.results[baseline]
    assert tw.open_corr > bl.open_corr, (
        f"{result.name}: opening corr vs real {tw.open_corr:.3f} vs {baseline} {bl.open_corr:.3f}")


def test_loudness_sync_confidence_is_not_realism(result):
    """The metric check the baselines exist for: the loudness-envelope sync confidence ranks the
    loudness-only jaw above the real video itself, so it cannot stand alone as the sync test."""
    rs = result.results
    assert rs["loudness"].sync_conf > rs["real"].sync_conf


def test_identity_region_untouched(result):
    tw = result.results["twintake"]
    assert tw.ssim_identity > 0.95
    assert tw.psnr_identity > 35


def test_missing_held_out_models_fail_before_any_work(tmp_path):
    """--opening-models / --placement-models folders without a video's model: one line naming
    the videos and the script that makes them, before any clip is made."""
    from twintake.errors import MediaError
    from twintake.evaluate.commands import eval_command

    vids = tmp_path / "suite"
    vids.mkdir()
    (vids / "anna.mp4").write_bytes(b"")  # never opened: the check comes first
    models = tmp_path / "models"
    models.mkdir()
    for flag, kw, script in (("--opening-models", "opening_models", "train_opening.py"),
                             ("--placement-models", "placement_models", "train_placement.py")):
        with pytest.raises(MediaError, match=f"{flag} .* no held-out model for anna: make them with scripts/{script}"):
            eval_command(vids, tmp_path / "out", methods=("twintake",), **{kw: models})
    assert not (tmp_path / "out").exists()
