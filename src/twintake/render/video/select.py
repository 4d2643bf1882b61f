"""Choosing a source mouth for every output frame by dynamic programming.

As in Video Rewrite (Bregler, Covell and Slaney, SIGGRAPH 1997) and "Synthesizing Obama"
(Suwajanakorn, Seitz and Kemelmacher-Shlizerman, SIGGRAPH 2017), the choice minimizes over the
whole sequence

    sum_t shape_cost(s_t, target_t) + pose_weight * pose_cost(s_t, base_t) + transition(s_{t-1}, s_t)

where the transition is 0 for consecutive source frames (s_t = s_{t-1} + 1), ``hold_cost`` for
repeating a frame and ``jump_cost`` for any other jump: the mouth then moves with the source's
own natural dynamics and cuts are rare. The Viterbi search keeps, per step, the ``beam`` best
candidates by unary cost plus the successors of the previous step's best paths, so it runs in
O(T * beam) for any source length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SelectOptions:
    """Costs of the mouth selection (shape costs are in squared inter-ocular units).

    Attributes:
        jump_cost: cost of a cut to a non-consecutive source frame, relative to the median
            unary cost of the best candidates.
        hold_cost: cost of showing the same source frame twice, same unit.
        pose_weight: weight of head-pose mismatch between the chosen and the base frame.
        beam: candidates kept per output frame.
        opening_weight: extra weight on the inner-lip opening (IOD units) on top of the
            landmark distance, so that an open mouth is never chosen where the target is closed
            (the fine warp can only correct small differences).
        min_dwell: shortest run of one source segment, frames: a shorter run between two cuts
            (a one- or two-frame flash of another mouth) is replaced by the previous run
            continuing (:func:`enforce_dwell`).
    """

    jump_cost: float = 3.0
    hold_cost: float = 3.0
    pose_weight: float = 2.0
    beam: int = 64
    opening_weight: float = 8.0
    min_dwell: int = 2


def select_frames(target: np.ndarray, bank: np.ndarray, allowed: np.ndarray,
                  base_pose: np.ndarray | None = None, bank_pose: np.ndarray | None = None,
                  options: SelectOptions | None = None, exclude_radius: int | None = None,
                  base_index: np.ndarray | None = None, previous: int | None = None) -> np.ndarray:
    """Source frame for each output frame.

    Args:
        target: (T, D) float32 target mouth descriptors (e.g. face-aligned points or PCA
            coefficients scaled to point units).
        bank: (N, D) float32 descriptors of the source frames.
        allowed: (N,) bool, frames usable as mouth sources.
        base_pose, bank_pose: (T, P) and (N, P) head-pose descriptors (optional).
        options: costs.
        exclude_radius: with ``base_index``, forbid source frames within this many frames of
            the output frame's base frame (leave-segment-out evaluation).
        base_index: (T,) base source index of each output frame.
        previous: the source frame chosen just before this block (streaming block by block):
            continuing from it costs nothing, a cut costs as usual.
    Returns:
        (T,) int64 source indices, all ``allowed``.
    Raises:
        ValueError: no allowed frame.
    """
    o = options or SelectOptions()
    t_len = len(target)
    ok = np.flatnonzero(allowed)
    if len(ok) == 0:
        raise ValueError("no usable source frame")
    if t_len == 0:
        return np.zeros(0, np.int64)
    beam = min(o.beam, len(ok))
    bank_ok = bank[ok].astype(np.float32)
    bn = (bank_ok**2).sum(1)

    def unary(t: int) -> np.ndarray:
        tg = target[t].astype(np.float32)
        c = bn - 2 * bank_ok @ tg + float(tg @ tg)
        if base_pose is not None and bank_pose is not None:
            c = c + o.pose_weight * ((bank_pose[ok] - base_pose[t]) ** 2).sum(1)
        if exclude_radius is not None and base_index is not None:
            c = np.where(np.abs(ok - base_index[t]) <= exclude_radius, np.inf, c)
        return np.maximum(c, 0.0)

    # Scale the transition costs by typical unary costs of good matches.
    probe = np.linspace(0, t_len - 1, num=min(t_len, 50)).astype(int)
    best = [np.partition(unary(t), min(4, len(ok) - 1))[: min(5, len(ok))].mean() for t in probe]
    unit = float(np.median(best)) + 1e-6
    jump, hold = o.jump_cost * unit, o.hold_cost * unit

    cand_prev: np.ndarray | None = None
    acc_prev: np.ndarray | None = None
    back: list[np.ndarray] = []
    cands: list[np.ndarray] = []
    for t in range(t_len):
        u = unary(t)
        top = np.argpartition(u, beam - 1)[:beam] if beam < len(u) else np.arange(len(u))
        if cand_prev is None and previous is not None:
            nxt = np.searchsorted(ok, [previous, previous + 1])
            top = np.unique(np.concatenate([top, nxt[nxt < len(ok)]]))
        if cand_prev is not None:
            # keep the successors of the best paths so far, so a consecutive run can go on
            k = min(16, len(cand_prev))
            nxt = cand_prev[np.argsort(acc_prev)[:k]] + 1
            top = np.unique(np.concatenate([top, nxt[nxt < len(ok)]]))
        cand = top[np.isfinite(u[top])] if np.isfinite(u[top]).any() else top
        if cand_prev is None:
            acc = u[cand].astype(np.float64)
            if previous is not None:
                src = ok[cand]
                acc += np.where(src == previous + 1, 0.0, np.where(src == previous, hold, jump))
            bp = np.full(len(cand), -1, np.int64)
        else:
            i_min = int(np.argmin(acc_prev))
            base_cost = acc_prev[i_min] + jump
            acc = np.full(len(cand), base_cost)
            bp = np.full(len(cand), i_min, np.int64)
            # consecutive: previous candidate is the frame before in source order
            src_prev = ok[cand_prev]
            order = np.argsort(src_prev)
            sp_sorted = src_prev[order]
            for delta, cost in ((1, 0.0), (0, hold)):
                want = ok[cand] - delta
                j = np.searchsorted(sp_sorted, want)
                j = np.clip(j, 0, len(sp_sorted) - 1)
                hit = sp_sorted[j] == want
                prev_i = order[j]
                c = acc_prev[prev_i] + cost
                better = hit & (c < acc)
                acc = np.where(better, c, acc)
                bp = np.where(better, prev_i, bp)
            acc = acc + u[cand]
        back.append(bp)
        cands.append(cand)
        cand_prev, acc_prev = cand, acc
    # Backtrack.
    out = np.zeros(t_len, np.int64)
    i = int(np.argmin(acc_prev))
    for t in range(t_len - 1, -1, -1):
        out[t] = ok[cands[t][i]]
        i = int(back[t][i]) if t > 0 else i
    usable = np.asarray(allowed, bool)
    radius = exclude_radius if base_index is not None else None
    return enforce_dwell(out, usable, o.min_dwell, previous, radius, base_index)


def enforce_dwell(sel: np.ndarray, allowed: np.ndarray, min_dwell: int, previous: int | None = None,
                  exclude_radius: int | None = None, base_index: np.ndarray | None = None) -> np.ndarray:
    """Remove runs shorter than ``min_dwell`` frames from a selection (hysteresis).

    A run is a stretch of consecutive (``s + 1``) or repeated source frames. A short run that
    follows another run is replaced by that run continuing (or holding its last frame where the
    continuation is not allowed), so the mouth never flashes to another source for one or two
    frames. The first run of a block continues ``previous`` the same way.

    Args:
        sel: (T,) int64 source frames; allowed: (N,) bool.
        min_dwell: shortest run kept, frames (<= 1: unchanged).
        previous: source frame shown just before ``sel[0]`` (streaming), or None.
        exclude_radius, base_index: as :func:`select_frames` (forbidden frames are not used).
    Returns:
        (T,) int64 new selection (a copy).
    """
    out = np.asarray(sel, np.int64).copy()
    t_len, n = len(out), len(allowed)
    if min_dwell <= 1 or t_len == 0:
        return out

    def usable(s: int, t: int) -> bool:
        if not 0 <= s < n or not allowed[s]:
            return False
        return exclude_radius is None or base_index is None or abs(s - int(base_index[t])) > exclude_radius

    starts = [0] + [t for t in range(1, t_len) if out[t] - out[t - 1] not in (0, 1)]
    starts.append(t_len)
    for a, b in zip(starts[:-1], starts[1:]):
        if b - a >= min_dwell or b == t_len:  # the last run may go on in the next block
            continue
        prev = out[a - 1] if a > 0 else previous
        if prev is None:
            continue
        cur = int(prev)
        for t in range(a, b):
            cur = cur + 1 if usable(cur + 1, t) else cur
            if not usable(cur, t):
                break
            out[t] = cur
    return out
