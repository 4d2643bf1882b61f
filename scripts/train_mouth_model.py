#!/usr/bin/env python
"""Train the generic mouth-interior appearance model used by photo avatars.

Usage::

    python scripts/train_mouth_model.py [--media ../shared/media] \
        [--out src/twintake/data/mouth_interior.npz] [--fps 12.5] [--max-frames 250]

For every talking video listed in :data:`VIDEOS` (real people and one photoreal AI avatar from
the shared media folder) the face is tracked with MediaPipe Face Mesh
(:class:`twintake.face.tracker.MediaPipeTracker`, video mode) on a ``--fps`` timeline. Each
frame's mouth is warped by a similarity transform that puts the inner-lip corners (mesh points
78 and 308) at fixed canonical positions (:data:`twintake.render.mouth_interior.CANON_CORNERS`),
i.e. normalized by mouth width and roll. Inside the canonical crop the inner-lip polygon is the
mouth interior (teeth, tongue, cavity). Crops are divided by the luminance of the lip ring
(between the outer and inner lip contour) so that lighting differences between videos cancel.

The model (see :class:`twintake.render.mouth_interior.MouthInteriorModel`):

* opening ratio ``r = gap / inner width`` (gap: points 13-14) binned into :data:`BIN_EDGES`;
* per bin: the mask-weighted mean appearance (``means``, B x H x W x 3) with pixels never
  inside any polygon filled by normalized convolution, the mean inner polygon, and the count;
* a PCA (``components``, K x H x W x 3, ``stddev``) of the per-frame residuals from the bin
  mean inside the polygon, for variation (not used by default at render time).

Frames with ``r`` below the first edge (closed mouth) are skipped. Written as float16 to keep
the file small (< 1 MB).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from twintake.face import landmarks as L  # noqa: E402
from twintake.face.tracker import MediaPipeTracker  # noqa: E402
from twintake.media import iter_frames, probe  # noqa: E402
from twintake.render.mouth_interior import (  # noqa: E402
    CANON_SIZE, canonical_transform, lip_ring_mean, polygon_mask, warp_to_canonical)

#: Talking videos of the shared media folder used for training (relative to --media).
VIDEOS = [
    "video/vretalking_face1.mp4", "video/vretalking_face2.mp4", "video/vretalking_face3.mp4",
    "video/vretalking_face4.mp4", "video/vretalking_face5.mp4", "video/sadtalker_wda_aoc.mp4",
    "video/sadtalker_wda_katiehill.mp4", "video/realthreed_may_5s.mp4",
    "video/wav2lipgfpgan_kim_7s.mp4", "video/digisay_avatar2.mp4",
]
#: Opening-ratio bin edges (gap / inner mouth width); B = len(BIN_EDGES) - 1 bins.
BIN_EDGES = np.array([0.04, 0.08, 0.13, 0.19, 0.26, 0.34, 0.44, 0.60, 1.5])
N_COMPONENTS = 6


def collect(path: Path, fps: float, max_frames: int):
    """Canonical crops of one video: list of (crop (H,W,3) float32 normalized, mask (H,W)
    float32, inner polygon (20,2) canonical px, ratio)."""
    info = probe(path)
    tracker = MediaPipeTracker(fps, smooth=True)
    holder: list[np.ndarray] = []

    def frames():
        for fr in iter_frames(path, fps=fps, stop=max_frames):
            holder[:] = [fr.image]
            yield fr.image

    out = []
    for pts in tracker.track_frames(frames()):
        if pts is None:
            continue
        img = holder[0]
        inner = pts[L.LIPS_INNER, :2].astype(np.float64)
        outer = pts[L.LIPS_OUTER, :2].astype(np.float64)
        width = float(np.linalg.norm(inner[10] - inner[0]))
        if width < 25:
            continue
        gap = float(np.linalg.norm(pts[L.LOWER_INNER_LIP, :2] - pts[L.UPPER_INNER_LIP, :2]))
        ratio = gap / width
        if ratio < BIN_EDGES[0]:
            continue
        m = canonical_transform(inner[0], inner[10])
        crop = warp_to_canonical(img, m)
        poly = (m[:, :2] @ inner.T).T + m[:, 2]
        opoly = (m[:, :2] @ outer.T).T + m[:, 2]
        mask = polygon_mask(poly, feather=0.0)
        ring = lip_ring_mean(crop, opoly, poly)
        if ring is None:
            continue
        luma = float(ring @ np.array([0.299, 0.587, 0.114]))
        if luma < 20:
            continue
        out.append((crop * (128.0 / luma), mask, poly.astype(np.float32), ratio, ring * (128.0 / luma)))
    del info
    return out


def fill_holes(mean: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill pixels of ``mean`` with little ``weight`` by normalized convolution (coarse to fine)."""
    import cv2

    out = mean.copy()
    have = weight > 0.5
    for sigma in (3, 6, 12, 24):
        num = cv2.GaussianBlur(mean * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        fill = num / np.maximum(den[..., None], 1e-6)
        sel = (~have) & (den > 1e-3)
        out[sel] = fill[sel]
        have = have | sel
    out[~have] = 20.0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("--out", default=str(ROOT / "src" / "twintake" / "data" / "mouth_interior.npz"))
    ap.add_argument("--fps", type=float, default=12.5)
    ap.add_argument("--max-frames", type=int, default=250)
    a = ap.parse_args(argv)
    media = Path(a.media)
    samples = []
    used = []
    for rel in VIDEOS:
        p = media / rel
        if not p.exists():
            print(f"skip {rel}: missing", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        got = collect(p, a.fps, a.max_frames)
        print(f"{rel}: {len(got)} open-mouth frames ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        samples += got
        used.append(f"{rel}:{len(got)}")
    if not samples:
        print("no training frames found", file=sys.stderr)
        return 1
    h, w = CANON_SIZE[1], CANON_SIZE[0]
    nb = len(BIN_EDGES) - 1
    ratios = np.array([s[3] for s in samples])
    which = np.clip(np.digitize(ratios, BIN_EDGES) - 1, 0, nb - 1)
    means = np.zeros((nb, h, w, 3), np.float32)
    polys = np.zeros((nb, 20, 2), np.float32)
    counts = np.zeros(nb, np.int64)
    ring_mean = np.mean([s[4] for s in samples], axis=0).astype(np.float32)
    for b in range(nb):
        idx = np.flatnonzero(which == b)
        counts[b] = len(idx)
        if len(idx) == 0:
            continue
        num = np.zeros((h, w, 3), np.float64)
        den = np.zeros((h, w), np.float64)
        for i in idx:
            crop, mask = samples[i][0], samples[i][1]
            num += crop * mask[..., None]
            den += mask
        mean = (num / np.maximum(den[..., None], 1e-6)).astype(np.float32)
        means[b] = fill_holes(mean, (den / max(len(idx), 1) * 4).clip(0, 1).astype(np.float32))
        polys[b] = np.mean([samples[i][2] for i in idx], axis=0)
    # empty bins: copy the nearest filled bin
    filled = np.flatnonzero(counts > 0)
    for b in range(nb):
        if counts[b] == 0:
            nearest = filled[np.argmin(np.abs(filled - b))]
            means[b] = means[nearest]
            polys[b] = polys[nearest]
    # PCA of residuals inside the polygons
    rows = []
    rng = np.random.default_rng(0)
    for i in rng.permutation(len(samples))[:1500]:
        crop, mask = samples[i][0], samples[i][1]
        rows.append(((crop - means[which[i]]) * mask[..., None]).ravel())
    x = np.stack(rows).astype(np.float32)
    _, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    k = min(N_COMPONENTS, vt.shape[0])
    comps = vt[:k].reshape(k, h, w, 3)
    std = (s[:k] / np.sqrt(max(len(x) - 1, 1))).astype(np.float32)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, version=np.int64(1), canon_size=np.array(CANON_SIZE), bin_edges=BIN_EDGES.astype(np.float32),
        means=means.astype(np.float16), polygons=polys, counts=counts,
        components=comps.astype(np.float16), stddev=std, ring_mean=ring_mean,
        sources=np.array(used), fps=np.float32(a.fps))
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) from {len(samples)} frames; "
          f"bins {counts.tolist()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
