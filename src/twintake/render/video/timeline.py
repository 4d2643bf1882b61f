"""Which source frame is the base of each output frame.

When the speech is longer than the video, the video is looped **forward only**, with seamless
jumps back to an earlier, similar frame (video textures: Schödl, Szeliski, Salesin and Essa,
"Video Textures", SIGGRAPH 2000): a jump from frame ``i`` to frame ``j < i`` is chosen where the
face is in almost the same place and pose in ``i + 1`` and ``j`` and both mouths are closed,
and it is cross-faded over a few frames (:class:`BaseTimeline`). Gestures never play backwards.
Only a source too short for a loop (under :data:`MIN_LOOP_S` seconds) falls back to running back
and forth (ping-pong), turning at the most closed mouth near each end (:func:`pingpong_indices`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BaseTimeline", "MIN_LOOP_S", "base_timeline", "loop_features", "loop_indices", "pingpong_indices"]

#: Face-mesh points whose pixel positions describe where the head is (forehead, eye corners,
#: nose tip, cheeks, chin).
_LOOP_POINTS = np.array([10, 33, 133, 263, 362, 1, 234, 454, 152])

#: Shortest source, seconds, that is looped forward; shorter ones run back and forth.
MIN_LOOP_S = 2.5


@dataclass
class BaseTimeline:
    """The base frame under every output frame, with cross-fades at loop jumps.

    Attributes:
        base: (T,) int64 source frame under each output frame (the one whose landmarks are
            used).
        fade_from: (T,) int64 source frame cross-faded into it, -1 where none.
        fade_alpha: (T,) float32 weight of ``fade_from`` (0 where none).
        mode: ``"identity"`` (T <= N), ``"loop"`` (forward with jumps) or ``"pingpong"``.
        jumps: [(output frame, from source frame, to source frame), ...].
    """

    base: np.ndarray
    fade_from: np.ndarray
    fade_alpha: np.ndarray
    mode: str
    jumps: list[tuple[int, int, int]]


def pingpong_indices(n_out: int, openness: np.ndarray, fps: float, window_s: float = 1.0) -> np.ndarray:
    """Base source-frame index of each output frame, running back and forth.

    Args:
        n_out: T, number of output frames.
        openness: (N,) mouth opening of each source frame (inf where no face).
        fps: frame rate.
        window_s: how far from each end a turn point may be.
    Returns:
        (T,) int64 indices into the source. ``arange(T)`` when T <= N.
    Raises:
        ValueError: empty source.
    """
    n = len(openness)
    if n == 0:
        raise ValueError("empty source")
    if n_out <= n:
        return np.arange(n_out)
    if n == 1:
        return np.zeros(n_out, np.int64)
    w = int(max(1, min(round(window_s * fps), (n - 1) // 3)))
    cost = _closed_cost(openness)
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


def _closed_cost(openness: np.ndarray) -> np.ndarray:
    ok = np.isfinite(openness)
    top = float(np.max(np.where(ok, openness, 0))) if ok.any() else 0.0
    return np.where(ok, openness, top + 1).astype(np.float64)


def loop_indices(n_out: int, openness: np.ndarray, face: np.ndarray, fps: float, min_span_s: float = 2.0,
                 fade_s: float = 0.24) -> BaseTimeline:
    """Loop the source forward with video-texture jumps (Schödl et al. 2000).

    The jump ``i -> j`` (played: ..., i, j, j + 1, ...) minimizes
    ``|face[i + 1] - face[j]|^2 + |face[i] - face[j - 1]|^2`` (the frames that should follow each
    other look alike, position and velocity) plus a closed-mouth term, among ``i`` in the last
    third and ``j`` in the first third of the source with ``i - j`` at least ``min_span_s``. The
    same jump is taken every time the loop comes round. Around each jump, ``fade_s`` seconds are
    cross-faded between the frames the source would have shown (``i + 1, i + 2, ...``) and the
    frames after the jump.

    Args:
        n_out: T, output frames.
        openness: (N,) mouth opening per source frame (inf where no face).
        face: (N, D) float face-position features per source frame (e.g. a few landmarks in
            pixels, divided by the face size; NaN where no face).
        fps: frame rate.
    Returns:
        :class:`BaseTimeline` (mode ``"loop"``).
    Raises:
        ValueError: empty source.
    """
    n = len(openness)
    if n == 0:
        raise ValueError("empty source")
    feat = np.asarray(face, np.float64).reshape(n, -1)
    bad = ~np.isfinite(feat).all(1) | ~np.isfinite(openness)
    feat = np.where(np.isfinite(feat), feat, 0.0)
    cost_open = _closed_cost(openness)
    span = max(2, int(round(min_span_s * fps)))
    lo_i, hi_j = max(span, (2 * n) // 3), max(1, n // 3)
    ii = np.arange(lo_i, n - 1)
    jj = np.arange(1, hi_j + 1)
    if len(ii) == 0 or len(jj) == 0:
        i_best, j_best = n - 1, 0
    else:
        d = (((feat[ii + 1][:, None] - feat[jj][None]) ** 2).sum(-1)
             + ((feat[ii][:, None] - feat[jj - 1][None]) ** 2).sum(-1))
        scale = float(np.median(d)) + 1e-9
        rng = float(np.nanpercentile(np.where(bad, np.nan, cost_open), 95) - np.nanmin(np.where(bad, np.nan, cost_open)))
        c = d / scale + 2.0 * (cost_open[ii][:, None] + cost_open[jj][None] - 2 * np.nanmin(cost_open)) / (rng + 1e-9)
        c = c + np.where(bad[ii][:, None] | bad[jj][None] | bad[ii + 1][:, None], 1e6, 0.0)
        c = np.where((ii[:, None] - jj[None]) >= span, c, np.inf)
        k = int(np.argmin(c))
        i_best, j_best = int(ii[k // len(jj)]), int(jj[k % len(jj)])
        if not np.isfinite(c.flat[k]):
            i_best, j_best = n - 1, 0
    base = np.zeros(n_out, np.int64)
    fade_from = np.full(n_out, -1, np.int64)
    alpha = np.zeros(n_out, np.float32)
    jumps: list[tuple[int, int, int]] = []
    half = max(1, int(round(fade_s * fps / 2)))
    cur = 0
    for t in range(n_out):
        base[t] = cur
        if cur == i_best and t + 1 < n_out:
            jumps.append((t + 1, i_best, j_best))
            cur = j_best
        else:
            cur = min(cur + 1, n - 1)
    for t_jump, i, j in jumps:
        # before the jump fade towards the frames before j; after it, fade out the frames after i
        for m in range(-half, half):
            t = t_jump + m
            if not 0 <= t < n_out:
                continue
            other = (j + m) if m < 0 else (i + 1 + m)
            if not 0 <= other < n or bad[other]:
                continue
            a = 0.5 + (m + 0.5) / (2 * half)  # weight of the post-jump side, 0 .. 1
            w_other = a if m < 0 else 1.0 - a
            fade_from[t], alpha[t] = other, float(w_other)
    return BaseTimeline(base=base, fade_from=fade_from, fade_alpha=alpha, mode="loop", jumps=jumps)


def loop_features(landmarks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N, 478, 2+) pixel landmarks -> (N, 18) float64 head-position features for
    :func:`loop_indices`: nine face points in pixels divided by the median inter-ocular
    distance, NaN where ``valid`` is False."""
    lm = np.asarray(landmarks, np.float64)[:, _LOOP_POINTS, :2]
    ok = np.asarray(valid, bool)
    iod = np.linalg.norm(lm[:, 3] - lm[:, 1], axis=1)
    scale = float(np.median(iod[ok])) if ok.any() else 1.0
    out = lm.reshape(len(lm), -1) / max(scale, 1e-6)
    out[~ok] = np.nan
    return out


def base_timeline(n_out: int, openness: np.ndarray, face: np.ndarray, fps: float) -> BaseTimeline:
    """The base frames of a render: the source itself when it is long enough, a forward loop
    (:func:`loop_indices`) when the speech is longer, ping-pong for sources under
    :data:`MIN_LOOP_S` seconds.

    Args:
        n_out: T output frames; openness: (N,); face: (N, D) (see :func:`loop_indices`); fps.
    Returns:
        :class:`BaseTimeline`.
    """
    n = len(openness)
    none = np.full(n_out, -1, np.int64), np.zeros(n_out, np.float32)
    if n_out <= n:
        return BaseTimeline(np.arange(n_out, dtype=np.int64), *none, mode="identity", jumps=[])
    if n < MIN_LOOP_S * fps:
        return BaseTimeline(pingpong_indices(n_out, openness, fps), *none, mode="pingpong", jumps=[])
    return loop_indices(n_out, openness, face, fps)
