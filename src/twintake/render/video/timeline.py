"""Which source frame is the base of each output frame.

When the speech is longer than the video, the video continues back and forth (ping-pong); the
turn points are the frames with the most closed mouth within one second of each end, so the
reversal happens at a calm moment.
"""

from __future__ import annotations

import numpy as np


def pingpong_indices(n_out: int, openness: np.ndarray, fps: float, window_s: float = 1.0) -> np.ndarray:
    """Base source-frame index of each output frame.

    Args:
        n_out: T, number of output frames.
        openness: (N,) mouth opening of each source frame (inf where no face).
        fps: frame rate.
        window_s: how far from each end a turn point may be.
    Returns:
        (T,) int64 indices into the source. ``arange(T)`` when T <= N.
    """
    n = len(openness)
    if n == 0:
        raise ValueError("empty source")
    if n_out <= n:
        return np.arange(n_out)
    if n == 1:
        return np.zeros(n_out, np.int64)
    w = int(max(1, min(round(window_s * fps), (n - 1) // 3)))
    cost = np.where(np.isfinite(openness), openness, np.nanmax(np.where(np.isfinite(openness), openness, 0)) + 1)
    end = (n - 1 - w) + int(np.argmin(cost[n - 1 - w:]))
    start = int(np.argmin(cost[: w + 1]))
    if end <= start:
        start, end = 0, n - 1
    seq = list(range(0, end + 1))
    fwd = False
    while len(seq) < n_out:
        seg = range(start + 1, end + 1) if fwd else range(end - 1, start - 1, -1)
        seq.extend(seg)
        fwd = not fwd
    return np.asarray(seq[:n_out], np.int64)
