"""Frame interpolation (twintake.render.interpolate): motion compensation, counts, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from twintake.errors import MediaError
from twintake.evaluate.metrics import psnr
from twintake.render.interpolate import AverageInterpolator, FlowInterpolator, interpolation_factor


def _scene(offset: int, size: int = 256, square: int = 96, seed: int = 0) -> np.ndarray:
    """(size, size, 3) uint8: smooth background plus a square of smooth random colour texture
    (blurred noise, sigma 3 px) at x = size/4 + offset (pixels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    bg = (110 + 30 * np.sin(xx / 29.0) * np.cos(yy / 37.0)).astype(np.float32)
    img = np.dstack([bg, bg * 0.9, bg * 0.8])
    tex = cv2.GaussianBlur(rng.normal(0, 1, (square, square, 3)).astype(np.float32), (0, 0), 3)
    tex = 128 + 90 * tex / tex.std()
    y0, x0 = (size - square) // 2, size // 4 + offset
    img[y0:y0 + square, x0:x0 + square] = tex
    return np.clip(img, 0, 255).astype(np.uint8)


def test_synthetic_translation_lands_in_the_middle():
    a, truth, b = _scene(0), _scene(6), _scene(12)
    flow = list(FlowInterpolator(2, flow_scale=1.0).interpolate([a, b]))
    avg = list(AverageInterpolator(2).interpolate([a, b]))
    p_flow, p_avg = psnr(flow[1], truth), psnr(avg[1], truth)
    assert p_flow > 30.0, p_flow
    assert p_flow > p_avg + 10.0, (p_flow, p_avg)
    # the default (flow on a half-size image) must still place the square
    half = list(FlowInterpolator(2).interpolate([a, b]))[1]
    assert psnr(half, truth) > p_avg + 6.0


def test_factor_four_quarter_positions():
    a, b = _scene(0), _scene(12)
    out = list(FlowInterpolator(4, flow_scale=1.0).interpolate([a, b]))
    for k in (1, 2, 3):
        assert psnr(out[k], _scene(3 * k)) > 28.0, k


@pytest.mark.parametrize("cls", [FlowInterpolator, AverageInterpolator])
@pytest.mark.parametrize("factor", [1, 2, 4])
def test_counts_dtype_shape_and_anchor_frames(cls, factor):
    frames = [_scene(2 * i, size=64, square=16) for i in range(5)]
    out = list(cls(factor).interpolate(iter(frames)))
    assert len(out) == factor * len(frames)
    assert all(o.dtype == np.uint8 and o.shape == frames[0].shape for o in out)
    for i, f in enumerate(frames):
        assert np.array_equal(out[factor * i], f)
    assert all(np.array_equal(o, frames[-1]) for o in out[-factor:])  # last frame held
    assert list(cls(factor).interpolate([])) == []
    assert len(list(cls(factor).interpolate(frames[:1]))) == factor


def test_grey_frames_and_bad_input():
    g = [_scene(0)[..., 0], _scene(4)[..., 0]]
    out = list(FlowInterpolator(2).interpolate(g))
    assert len(out) == 4 and out[1].shape == g[0].shape and out[1].dtype == np.uint8
    with pytest.raises(ValueError):
        list(FlowInterpolator(2).interpolate([_scene(0), _scene(0, size=64)]))
    with pytest.raises(ValueError):
        list(FlowInterpolator(2).interpolate([_scene(0).astype(np.float32)]))
    with pytest.raises(ValueError):
        FlowInterpolator(0)
    with pytest.raises(ValueError):
        FlowInterpolator(2, preset="slow")


def test_cut_is_held_not_blended():
    a = _scene(0)
    b = np.ascontiguousarray(255 - _scene(40, seed=1)[::-1])
    interp = FlowInterpolator(4)
    out = list(interp.interpolate([a, b]))
    assert interp.cuts == 1
    assert np.array_equal(out[1], a) and np.array_equal(out[3], b)


def test_interpolation_factor_and_message():
    assert interpolation_factor(25, None) == 1
    assert interpolation_factor(25, 25) == 1
    assert interpolation_factor(25, 50) == 2
    assert interpolation_factor(25, 100) == 4
    assert interpolation_factor(30000 / 1001, 60000 / 1001) == 2
    with pytest.raises(MediaError, match=r"--fps 60 is not a multiple of the source's 25 fps: use .*50 or 100"):
        interpolation_factor(25, 60)
    with pytest.raises(MediaError, match=r"lower than the source"):
        interpolation_factor(25, 12.5)
    with pytest.raises(MediaError, match=r"only 2x and 4x"):
        interpolation_factor(25, 75)


def test_real_video_flow_beats_averaging(media):
    from twintake.media import iter_frames

    frames = [f.image for f in iter_frames(media / "video/realthreed_may_5s.mp4", stop=21)]
    kept = frames[::2]
    results = {}
    for name, interp in (("flow", FlowInterpolator(2)), ("average", AverageInterpolator(2))):
        out = list(interp.interpolate(kept))
        assert len(out) == 2 * len(kept)
        if isinstance(interp, FlowInterpolator):
            assert interp.cuts == 0
        results[name] = np.mean([psnr(out[i], frames[i]) for i in range(1, len(frames) - 1, 2)])
    assert results["flow"] > results["average"] + 1.0, results
