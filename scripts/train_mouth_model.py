#!/usr/bin/env python
"""Train the mouth-interior model used by photo avatars (format version 2).

Usage::

    python scripts/train_mouth_model.py [--media ../shared/media] \
        [--out src/twintake/data/mouth_interior.npz] [--fps 25] [--max-frames 1000] \
        [--exemplar video/sadtalker_wda_aoc.mp4:0]

For every talking video in :data:`VIDEOS` (real people and one photoreal AI avatar from the
shared media folder) the face is tracked with MediaPipe Face Mesh
(:class:`twintake.face.tracker.MediaPipeTracker`, video mode, One-Euro smoothed). Every frame
whose mouth is open (inner gap / inner width >= 0.04) is resampled into the two lip-aligned
layers of :mod:`twintake.render.mouth_interior` (:meth:`LipFrame.layer_maps`): the upper layer
below the upper inner lip, the lower layer above the lower inner lip, each covering its half of
the gap. Then:

1. **Teeth brightness priors**: per frame the 95th-percentile luminance of the upper layer's
   first 0.1 widths (the upper teeth band) over the skin luminance (cheeks, :func:`skin_rgb`)
   and over the eye-white luminance (:func:`sclera_luma`); median per video, then over videos.
2. **Upper layer, from one exemplar**: among frames opened at least 0.38 widths, at least
   70 px wide and frontal (nose tip within 12 % of the mouth centre), the one with the highest
   ``teeth contrast / edge blur``: teeth band 90th percentile minus cavity 15th percentile in
   skin units; blur by :func:`blur_sigma_px` on the face, in mouth widths. ``--exemplar``
   picks one by hand (``video:frame-index`` as printed).
   Its upper layer is filled beyond its half-gap coverage (each column fades from its last
   covered row to the cavity colour, the mean of the darkest 20 % beyond the teeth) and
   scaled so that the teeth band is ``128 x`` the skin prior of step 1 (skin luminance 128).
3. **Lower layer, the mean of many**: the skin-normalized (luminance 128) mean of the lower
   layers of all frames opened at least 0.3 widths (lower lip, tongue, a hint of lower teeth;
   soft by nature, and a single exemplar's lower teeth look like dentures when talking).
4. Written as float16 with the exemplar's normalized skin colour, teeth luminance, the
   eye-white prior, blur (mouth widths), inner-mouth width over inter-ocular distance (so
   the renderer can keep the teeth at a face-proportional size) and the per-video frame counts.
5. **Real speech statistics** (the 9 real videos, not :data:`SYNTHETIC`): percentiles 50, 90,
   95, 99 of the inner-lip opening (gap 13-14 over inner width 78-308) over *every* tracked
   frame (``open_pct``: photo avatars keep an open photo's total opening within them), and
   percentiles 10, 50, 90 of the middle-of-the-mouth luminance over the skin luminance on
   frames opened >= 0.25 (``cavity_pct``, :func:`cavity_luma`).

Averages of many mouths were tried first for everything (format 1: per-opening mean images):
they come out blurry with no teeth separations, which is why the teeth come from one sharp
exemplar.
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
from twintake.media import iter_frames  # noqa: E402
from twintake.render.photo.mouth_interior import (  # noqa: E402
    LAYER_S_MAX, LAYER_SIZE, LUMA, MODEL_VERSION, LipFrame, blur_sigma_px, polygon_mask, sclera_luma, skin_rgb)

#: Talking videos of the shared media folder used for training (relative to --media).
VIDEOS = [
    "video/vretalking_face1.mp4", "video/vretalking_face2.mp4", "video/vretalking_face3.mp4",
    "video/vretalking_face4.mp4", "video/vretalking_face5.mp4", "video/sadtalker_wda_aoc.mp4",
    "video/sadtalker_wda_katiehill.mp4", "video/realthreed_may_5s.mp4",
    "video/wav2lipgfpgan_kim_7s.mp4", "video/digisay_avatar2.mp4",
]
#: The synthetic ones among them (excluded from the real-speech statistics of step 5).
SYNTHETIC = {"video/digisay_avatar2.mp4"}
MIN_RATIO = 0.04
EXEMPLAR_MIN_RATIO = 0.38
EXEMPLAR_MIN_WIDTH_PX = 70
LOWER_MIN_RATIO = 0.3
TEETH_S = 0.10  # the upper teeth band: first 0.1 widths below the upper lip
CAVITY_MIN_RATIO = 0.25  # frames opened at least this much measure the cavity brightness


def _rows() -> np.ndarray:
    return (np.arange(LAYER_SIZE[1]) + 0.5) / LAYER_SIZE[1] * LAYER_S_MAX


def layers(image: np.ndarray, inner: np.ndarray) -> dict:
    """Upper/lower layers ((rows, cols, 3) float32 RGB) of one frame and their coverage
    ((rows, cols) bool: inside the own half of the gap)."""
    import cv2

    fr = LipFrame.from_inner(inner)
    us = (np.arange(LAYER_SIZE[0]) + 0.5) / LAYER_SIZE[0]
    yu, yl = fr.lips_at(us)
    half = 0.5 * np.maximum(yl - yu, 0.0)
    cover = _rows()[:, None] < half[None, :]
    out = {"cover": cover, "width": fr.width_px}
    for name, low in (("upper", False), ("lower", True)):
        mx, my = fr.layer_maps(low)
        out[name] = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    return out


def teeth_stats(up: np.ndarray, cover: np.ndarray) -> tuple[float, float] | None:
    """Statistics of the middle of a mouth (u in 0.3-0.7): teeth band 95th-percentile luminance
    and teeth contrast (band 90th percentile minus upper-layer 15th percentile); None when the
    band is not covered."""
    rows = _rows()
    cols = slice(int(0.3 * LAYER_SIZE[0]), int(0.7 * LAYER_SIZE[0]))
    luma = up @ LUMA
    band = cover[:, cols] & (rows[:, None] < TEETH_S)
    if band.sum() < 20:
        return None
    lb = luma[:, cols][band]
    lc = luma[:, cols][cover[:, cols]]
    return float(np.percentile(lb, 95)), float(np.percentile(lb, 90) - np.percentile(lc, 15))


def cavity_luma(image: np.ndarray, inner: np.ndarray) -> float | None:
    """Mean luminance (0-255) of the middle of an open mouth: ``u`` in 0.3-0.7 along it and
    0.4-0.8 of the gap from the upper to the lower inner lip (below the upper teeth band;
    tongue, lower teeth and the cavity), as ``tests/test_photo.py`` measures rendered frames;
    None with under 10 pixels."""
    fr = LipFrame.from_inner(inner)
    h, w = image.shape[:2]
    x0, y0 = np.maximum(np.floor(inner.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(inner.max(0)).astype(int) + 1, [w, h])
    px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    u, y = fr.from_pixels(np.stack([px, py], -1))
    yu, yl = fr.lips_at(u)
    rel = (y - yu) / np.maximum(yl - yu, 1e-6)
    sel = (u > 0.3) & (u < 0.7) & (rel > 0.4) & (rel < 0.8)
    if int(sel.sum()) < 10:
        return None
    return float((image[y0:y1, x0:x1][sel].astype(np.float64) @ LUMA).mean())


def collect(rel: str, path: Path, fps: float, max_frames: int, openings: list[float] | None = None) -> list[dict]:
    """Layers and statistics of every open-mouth frame of one video; the opening (inner gap
    13-14 over inner width 78-308) of *every* tracked frame is appended to ``openings``."""
    tracker = MediaPipeTracker(fps, smooth=True)
    holder: list[np.ndarray] = []

    def frames():
        for fr in iter_frames(path, fps=fps, stop=max_frames):
            holder[:] = [fr.image]
            yield fr.image

    out = []
    for i, pts in enumerate(tracker.track_frames(frames())):
        if pts is None:
            continue
        img = holder[0]
        inner = pts[L.LIPS_INNER, :2].astype(np.float64)
        width = float(np.linalg.norm(inner[10] - inner[0]))
        if width < 25:
            continue
        ratio = float(np.linalg.norm(pts[L.LOWER_INNER_LIP, :2] - pts[L.UPPER_INNER_LIP, :2])) / width
        if openings is not None:
            openings.append(ratio)
        if ratio < MIN_RATIO:
            continue
        rec = layers(img, inner)
        skin = skin_rgb(img, pts)
        cav = cavity_luma(img, inner) if ratio >= CAVITY_MIN_RATIO else None
        rec.update(name=f"{rel}:{i}", ratio=ratio, skin=skin, stats=teeth_stats(rec["upper"], rec["cover"]),
                   white=sclera_luma(img, pts), cavity=None if cav is None else cav / float(skin @ LUMA))
        # frontal: the nose tip projects near the mouth centre
        fr = LipFrame.from_inner(inner)
        rec["nose_u"] = float(fr.from_pixels(pts[L.NOSE_TIP, :2])[0])
        rec["width_iod"] = width / float(L.interocular_px(pts[None])[0])
        if ratio >= EXEMPLAR_MIN_RATIO and width >= EXEMPLAR_MIN_WIDTH_PX:
            h, w = img.shape[:2]
            face = polygon_mask(pts[L.FACE_OVAL, :2], (w, h)) > 0.5
            rec["blur_w"] = blur_sigma_px(img, face) / width
        out.append(rec)
    return out


def cavity_colour(layer: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """(3,) mean colour of the darkest 20 % of the covered pixels beyond the teeth band."""
    deep = cover & (_rows()[:, None] >= TEETH_S)
    px = layer[deep] if deep.sum() >= 20 else layer[cover]
    luma = px @ LUMA
    return px[luma <= np.percentile(luma, 20)].mean(0)


def fill_layer(layer: np.ndarray, cover: np.ndarray, cavity: np.ndarray) -> np.ndarray:
    """Continue each column past its last covered row, fading to the ``cavity`` colour
    ((3,) RGB) within 0.04 widths (uncovered columns copy the nearest covered column), then
    smooth the filled part along the mouth (no streaks)."""
    import cv2

    out = layer.copy()
    last = np.where(cover.any(0), cover.shape[0] - 1 - np.argmax(cover[::-1], 0), -1)
    ok = np.flatnonzero(last >= 0)
    if len(ok) == 0:
        raise ValueError("the exemplar has no open mouth")
    for j in range(layer.shape[1]):
        src = j if last[j] >= 0 else int(ok[np.argmin(np.abs(ok - j))])
        k = int(last[src])
        col = layer[:, src].copy()
        fade = np.clip((np.arange(len(col) - k - 1) + 1) / (0.04 / LAYER_S_MAX * len(col)), 0.0, 1.0)[:, None]
        col[k + 1:] = col[k] + fade * (cavity - col[k])
        out[:, j] = col
    rows = np.arange(layer.shape[0])[:, None]
    beyond = np.clip((rows - np.maximum(last, 0)[None, :]) / 3.0, 0.0, 1.0)[..., None].astype(np.float32)
    smooth = cv2.GaussianBlur(out, (0, 0), sigmaX=4.0, sigmaY=1.0)
    return out + beyond * (smooth - out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("--out", default=str(ROOT / "src" / "twintake" / "data" / "mouth_interior.npz"))
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--max-frames", type=int, default=1000)
    ap.add_argument("--exemplar", default=None, help="video:frame to use instead of the automatic choice")
    a = ap.parse_args(argv)
    media = Path(a.media)
    recs: list[dict] = []
    used = []
    real_open: list[float] = []
    for rel in VIDEOS:
        p = media / rel
        if not p.exists():
            print(f"skip {rel}: missing", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        got = collect(rel, p, a.fps, a.max_frames, None if rel in SYNTHETIC else real_open)
        print(f"{rel}: {len(got)} open-mouth frames ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        recs += got
        used.append(f"{rel}:{len(got)}")
    if not recs:
        print("no training frames found", file=sys.stderr)
        return 1

    # 1. teeth brightness priors relative to the skin and to the eye whites (median per video,
    #    then over videos)
    def prior_of(ref) -> float:
        per_video: dict[str, list[float]] = {}
        for r in recs:
            if r["stats"] is not None and r["ratio"] >= 0.2 and ref(r):
                per_video.setdefault(r["name"].rsplit(":", 1)[0], []).append(r["stats"][0] / ref(r))
        return float(np.median([np.median(v) for v in per_video.values()]))

    prior = prior_of(lambda r: float(r["skin"] @ LUMA))
    prior_white = prior_of(lambda r: r["white"])
    print(f"teeth luminance priors: {prior:.2f} x skin, {prior_white:.2f} x eye whites", file=sys.stderr)

    # 2. the exemplar
    def score(r):
        if "blur_w" not in r or r["stats"] is None or abs(r["nose_u"] - 0.5) > 0.12:
            return -np.inf
        return r["stats"][1] / float(r["skin"] @ LUMA) / r["blur_w"]

    if a.exemplar:
        pick = [r for r in recs if r["name"] == a.exemplar]
        if not pick:
            print(f"--exemplar {a.exemplar}: no such open-mouth frame", file=sys.stderr)
            return 1
        ex = pick[0]
    else:
        ranked = sorted(recs, key=score, reverse=True)
        for r in ranked[:5]:
            print(f"  candidate {r['name']}: score {score(r):.1f} ratio {r['ratio']:.2f} "
                  f"width {r['width']:.0f} px blur {r['blur_w'] * r['width']:.2f} px", file=sys.stderr)
        ex = ranked[0]
        if not np.isfinite(score(ex)):
            print("no frame qualifies as exemplar", file=sys.stderr)
            return 1
    if ex["stats"] is None or "blur_w" not in ex:
        print(f"exemplar {ex['name']} is not open wide enough", file=sys.stderr)
        return 1

    # 3. the upper layer from the exemplar, the lower layer the mean of the wide openings
    skin_l = float(ex["skin"] @ LUMA)
    gain = 128.0 / skin_l * prior / (ex["stats"][0] / skin_l)
    cavity = cavity_colour(ex["upper"], ex["cover"])
    upper = fill_layer(ex["upper"], ex["cover"], cavity) * gain
    num = np.zeros_like(ex["lower"], dtype=np.float64)
    den = np.zeros(ex["cover"].shape)
    wide = [r for r in recs if r["ratio"] >= LOWER_MIN_RATIO]
    for r in wide:
        c = r["cover"].astype(np.float64)
        num += r["lower"] * (128.0 / float(r["skin"] @ LUMA)) * c[..., None]
        den += c
    lower = fill_layer((num / np.maximum(den[..., None], 1e-9)).astype(np.float32), den >= 3,
                       cavity * gain)
    print(f"lower layer: mean of {len(wide)} frames opened >= {LOWER_MIN_RATIO}", file=sys.stderr)
    # 5. real speech: how far the lips open (every frame of the real videos) and how bright the
    #    middle of a wide-open mouth is relative to the skin
    open_pct = np.percentile(real_open, [50, 90, 95, 99]).astype(np.float32)
    cav = np.array([r["cavity"] for r in recs if r.get("cavity") is not None
                    and r["name"].rsplit(":", 1)[0] not in SYNTHETIC])
    cav_pct = np.percentile(cav, [10, 50, 90]).astype(np.float32)
    print(f"real speech ({len(real_open)} frames): opening / inner width p50 p90 p95 p99 = "
          f"{np.round(open_pct, 3).tolist()}; cavity / skin luminance (opened >= {CAVITY_MIN_RATIO}, "
          f"{len(cav)} frames) p10 p50 p90 = {np.round(cav_pct, 3).tolist()}", file=sys.stderr)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, version=np.int64(MODEL_VERSION), upper=upper.astype(np.float16), lower=lower.astype(np.float16),
        skin=(ex["skin"] * 128.0 / skin_l).astype(np.float32), teeth_luma=np.float32(ex["stats"][0] * gain),
        teeth_per_white=np.float32(prior_white),
        blur_w=np.float32(ex["blur_w"]), width_iod=np.float32(ex["width_iod"]), exemplar=np.array(ex["name"]), teeth_prior=np.float32(prior),
        s_max=np.float32(LAYER_S_MAX), sources=np.array(used), fps=np.float32(a.fps),
        open_pct=open_pct, cavity_pct=cav_pct)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) from exemplar {ex['name']} "
          f"(ratio {ex['ratio']:.2f}, {ex['width']:.0f} px wide); {len(recs)} open-mouth frames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
