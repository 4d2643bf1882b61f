"""Evaluation metrics on constructed cases with known answers (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from twintake.evaluate import metrics as M
from twintake.motion.shapes import N_POINTS, opening
from twintake.speech.analysis import loudness_envelope, voice_activity

FPS = 25.0
SR = 16000


def _speech(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """Syllable-like noise bursts (3-6 Hz) with pauses: (S,) float32 at 16 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    env = np.zeros(n)
    t = 0.3
    while t < seconds - 0.3:
        d = rng.uniform(0.12, 0.3)
        i0, i1 = int(t * SR), int((t + d) * SR)
        env[i0:i1] = np.sin(np.linspace(0, np.pi, i1 - i0)) * rng.uniform(0.3, 1.0)
        t += d + (rng.uniform(0.5, 0.9) if rng.random() < 0.15 else rng.uniform(0.03, 0.12))
    return (env * rng.standard_normal(n) * 0.3).astype(np.float32)


def _mouth_from_audio(x: np.ndarray, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A "ground-truth" talking mouth whose opening follows the audio's loudness.

    Returns ((n, 114) face-aligned descriptors, (n,) opening)."""
    rng = np.random.default_rng(seed)
    loud = loudness_envelope(x, SR, FPS)[:n].astype(np.float64)
    op = np.clip((loud - (loud.max() - 30)) / 30, 0, 1) * 0.25  # 0 .. 0.25 IOD
    base = np.stack([np.linspace(-0.4, 0.4, N_POINTS), np.full(N_POINTS, 1.0)], 1) + rng.normal(0, 0.05, (N_POINTS, 2))
    pts = np.repeat(base[None], n, 0)
    lower = np.zeros(N_POINTS, bool)
    lower[13:18] = True      # lower outer lip
    lower[33:38] = True      # lower inner lip (incl. point 14)
    lower[40:] = True        # jaw
    pts[:, lower, 1] += op[:, None]
    # make the descriptor's own opening (points 13/14 of the inner lip) exactly track `op`
    desc = pts.reshape(n, -1).astype(np.float32)
    return desc, opening(desc).astype(np.float64)


@pytest.fixture(scope="module")
def case():
    x = _speech()
    n = int(len(x) / SR * FPS)
    desc, op = _mouth_from_audio(x, n)
    return x, n, desc, op


def test_truth_vs_itself(case):
    x, n, desc, op = case
    assert M.lmd(desc, desc) == 0.0
    assert M.temporal_jitter(desc, desc) == pytest.approx(1.0)
    sync = M.av_offset(op, loudness_envelope(x, SR, FPS))
    assert sync.offset_frames == 0
    assert sync.confidence > 0.9
    assert len(sync.correlations) == 31


def test_audio_delayed_three_frames(case):
    x, n, desc, op = case
    delayed = np.concatenate([np.zeros(int(3 * SR / FPS), np.float32), x])[: len(x)]
    sync = M.av_offset(op, loudness_envelope(delayed, SR, FPS))
    assert abs(sync.offset_frames - 3) <= 1
    assert sync.confidence > 0.8
    # and the other way round: the mouth late by 3 frames
    late_mouth = np.concatenate([np.full(3, op[0]), op])[:n]
    assert abs(M.av_offset(late_mouth, loudness_envelope(x, SR, FPS)).offset_frames + 3) <= 1


def test_frozen_mouth(case):
    x, n, desc, op = case
    rng = np.random.default_rng(3)
    frozen = np.repeat(desc[:1], n, 0) + rng.normal(0, 1e-4, (n, desc.shape[1])).astype(np.float32)
    fop = opening(frozen).astype(np.float64)
    sync = M.av_offset(fop, loudness_envelope(x, SR, FPS))
    assert abs(sync.confidence) < 0.35  # noise only: max of 31 lags of uncorrelated series
    exact = M.av_offset(np.full(n, 0.01), loudness_envelope(x, SR, FPS))
    assert exact.confidence == 0.0 and exact.offset_frames == 0
    silent = ~voice_activity(x, SR, FPS)[:n]
    assert silent.any()
    closed, wide = float(np.percentile(op, 2)), float(np.percentile(op, 98))
    # the frozen mouth is closed: fine in silence; the real mouth is also closed there
    assert abs(M.silent_mouth(fop, silent, closed, wide - closed)) < 0.05
    assert abs(M.silent_mouth(op, silent, closed, wide - closed)) < 0.1
    # but far from the ground truth while speaking
    # 10 of the 40 lip points move with the opening: LMD = 10/40 * mean |op - op[0]|
    assert M.lmd(frozen, desc) == pytest.approx(0.25 * float(np.mean(np.abs(op - op[0]))), rel=0.05)
    assert M.lmd(frozen, desc) > 10 * M.lmd(desc + np.float32(1e-4), desc)


def test_open_in_silence_is_flagged(case):
    x, n, desc, op = case
    silent = ~voice_activity(x, SR, FPS)[:n]
    closed, wide = float(np.percentile(op, 2)), float(np.percentile(op, 98))
    assert M.silent_mouth(np.full(n, wide), silent, closed, wide - closed) == pytest.approx(1.0)


def test_lmd_and_jitter_units():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.1, (50, 114)).astype(np.float32)
    b = a.copy()
    pts = b.reshape(50, N_POINTS, 2)
    pts[:, M.LIP_POINTS, 0] += 0.03  # every lip point moved by 3 % of the IOD
    assert M.lmd(b, a) == pytest.approx(0.03, abs=1e-6)
    assert M.temporal_jitter(b, a) == pytest.approx(1.0, abs=1e-5)  # constant offset: no jitter
    c = a + rng.normal(0, 0.05, a.shape).astype(np.float32)
    assert M.temporal_jitter(c, a) > 1.0
    nan = a.copy()
    nan[5] = np.nan
    assert np.isfinite(M.lmd(nan, a))


def test_ssim_psnr_sharpness():
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (64, 80)).astype(np.uint8), (0, 0), 1.0)
    assert M.ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert M.psnr(img, img) == float("inf")
    noisy = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    assert 0.2 < M.ssim(img, noisy) < 0.95
    assert 25 < M.psnr(img, noisy) < 30  # sigma 10 -> about 28 dB
    mask = np.zeros(img.shape, bool)
    mask[:, :40] = True
    half = img.copy()
    half[:, 45:] = 0
    assert M.psnr(half, img, mask) == float("inf")
    blur = cv2.GaussianBlur(img, (0, 0), 2.0)
    assert M.laplacian_variance(blur) < 0.5 * M.laplacian_variance(img)
    assert M.mouth_sharpness(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == pytest.approx(1.0)


def test_word_error_rate():
    assert M.word_error_rate("The cat sat.", "the cat sat") == 0.0
    assert M.word_error_rate("the cat sat on the mat", "the cat sat on mat") == pytest.approx(1 / 6)
    assert M.word_error_rate("a b", "c d e") == pytest.approx(1.5)
    assert np.isnan(M.word_error_rate("", "x"))


def test_regions():
    lm = np.zeros((478, 3), np.float32)
    rng = np.random.default_rng(0)
    lm[:, :2] = rng.uniform(100, 300, (478, 2))
    from twintake.face import landmarks as L

    lm[L.RIGHT_EYE_CORNERS, :2] = [[150, 150], [170, 150]]
    lm[L.LEFT_EYE_CORNERS, :2] = [[230, 150], [250, 150]]
    box, mask = M.identity_region(lm, (400, 400))
    assert mask.shape == (box[3] - box[1], box[2] - box[0]) and mask.any() and (~mask).any()
    x0, y0, x1, y1 = M.mouth_box(lm, (400, 400))
    assert 0 <= x0 < x1 <= 400 and 0 <= y0 < y1 <= 400


def test_speaker_similarity_same_voice_is_high(case):
    pytest.importorskip("resemblyzer")
    x, *_ = case
    t = np.arange(3 * SR) / SR
    voiced = (0.3 * np.sign(np.sin(2 * np.pi * 120 * t)) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    assert M.speaker_similarity(voiced, SR, voiced, SR) == pytest.approx(1.0, abs=1e-3)


def test_opening_correlation(case):
    x, n, desc, op = case
    same = M.opening_correlation(op, op)
    assert same.offset_frames == 0 and same.confidence == pytest.approx(1.0)
    early = np.concatenate([op[3:], np.full(3, op[-1])])  # generated mouth 3 frames early
    assert M.opening_correlation(early, op).offset_frames == 3
    withnan = op.copy()
    withnan[::7] = np.nan
    assert M.opening_correlation(withnan, op).confidence > 0.99
