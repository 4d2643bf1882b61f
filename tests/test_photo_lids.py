"""Blinks of a photo: the closed lid is supersampled (render/photo/lids.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def animator(tiny_photo):
    from twintake.render.photo import PhotoCompositor

    return PhotoCompositor(tiny_photo).animator


def _jag(img: np.ndarray, boxes) -> float:
    """Mean absolute luma step between neighbouring columns inside the eye boxes."""
    luma = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return float(np.mean([np.abs(np.diff(luma[y0:y1, x0:x1], axis=1)).mean() for x0, y0, x1, y1 in boxes]))


def test_a_closed_lid_is_smoother_with_supersampling(animator, monkeypatch) -> None:
    import twintake.render.photo.lids as lids

    boxes = [e["box"] for e in animator.eyes]
    smooth, _ = animator.frame(0.0, 0.45, 1.0)
    monkeypatch.setattr(lids, "_SUPERSAMPLE_FROM", 2.0)  # off
    jagged, _ = animator.frame(0.0, 0.45, 1.0)
    assert _jag(smooth, boxes) < 0.9 * _jag(jagged, boxes)
    # outside the eyes nothing differs
    mask = np.ones(smooth.shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = False
    assert np.array_equal(smooth[mask], jagged[mask])


def test_an_open_eye_is_untouched_by_the_supersampling(animator, monkeypatch) -> None:
    import twintake.render.photo.lids as lids

    a, _ = animator.frame(0.0, 0.45, 0.2)
    monkeypatch.setattr(lids, "_SUPERSAMPLE_FROM", 2.0)
    b, _ = animator.frame(0.0, 0.45, 0.2)
    assert np.array_equal(a, b)
