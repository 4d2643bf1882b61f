"""Quality and speed of frame interpolation (:mod:`twintake.render.interpolate`).

Quality: from a real 25 fps talking video keep every ``factor``-th frame, interpolate back to
the full rate, and compare the reconstructed in-betweens with the frames that were dropped
(PSNR in dB over RGB, SSIM of the grey image; Wang et al. 2004 as in
:mod:`twintake.evaluate.metrics`). Scores are given over the whole frame and over the *moving
region* (pixels whose grey level differs by > 8 between the two kept neighbours, dilated by
7 px; mostly mouth, jaw and head edges), where interpolation errors actually show. Flow
interpolation (:class:`FlowInterpolator`) is compared with plain frame averaging
(:class:`AverageInterpolator`).

Note that the test is twice as hard as real use: at factor 2 the kept frames are 12.5 fps apart,
so the motion between them is twice that of the 25 fps frames the interpolator gets in use.

Speed: output frames per wall-clock second (and CPU seconds per output frame) of
``FlowInterpolator(2)`` on frames resized to 1280x720, frames already decoded in memory.

    python benchmarks/bench_interp.py                       # default videos, table
    python benchmarks/bench_interp.py --strip strip.png     # also a PNG strip of the
                                                            # fastest mouth motion
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

from twintake.evaluate.metrics import psnr, ssim
from twintake.face import landmarks as L
from twintake.face.tracker import detect_faces
from twintake.media import iter_frames
from twintake.render.interpolate import AverageInterpolator, FlowInterpolator

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
#: 25 fps talking videos of the shared media (real people, one 3D avatar).
DEFAULT_VIDEOS = (
    "video/vretalking_face2.mp4",
    "video/vretalking_face3.mp4",
    "video/sadtalker_wda_aoc.mp4",
    "video/realthreed_may_5s.mp4",
    "video/digisay_avatar1.mp4",
)


def _grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def moving_mask(prev: np.ndarray, nxt: np.ndarray, threshold: int = 8, grow: int = 7) -> np.ndarray:
    """(H, W) bool: pixels whose grey level differs by more than ``threshold`` between the two
    kept frames, dilated by ``grow`` px (the region where interpolation matters)."""
    d = cv2.absdiff(_grey(prev), _grey(nxt))
    d = cv2.GaussianBlur(d, (5, 5), 0) > threshold
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(d.astype(np.uint8), k) > 0


def mouth_box(image: np.ndarray, grow: float = 0.6) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) pixel box around the lips of the largest face (MediaPipe Face Mesh),
    grown by ``grow`` x the mouth width on each side; None when no face is found."""
    faces = detect_faces(image, 1)
    if not faces:
        return None
    p = faces[0][L.LIPS_OUTER, :2]
    (x0, y0), (x1, y1) = p.min(0), p.max(0)
    g = grow * (x1 - x0)
    h, w = image.shape[:2]
    return (int(max(0, y0 - g)), int(min(h, y1 + g)), int(max(0, x0 - g)), int(min(w, x1 + g)))


def _scores(out: np.ndarray, truth: np.ndarray, mask: np.ndarray,
            mouth: tuple[int, int, int, int] | None) -> dict[str, float]:
    go, gt = _grey(out), _grey(truth)
    has = bool(mask.any())
    r = {
        "psnr": psnr(out, truth),
        "ssim": ssim(go, gt),
        "psnr_moving": psnr(out, truth, mask) if has else float("nan"),
        "ssim_moving": ssim(go, gt, mask) if has else float("nan"),
        "psnr_mouth": float("nan"),
        "ssim_mouth": float("nan"),
    }
    if mouth is not None:
        y0, y1, x0, x1 = mouth
        r["psnr_mouth"] = psnr(out[y0:y1, x0:x1], truth[y0:y1, x0:x1])
        r["ssim_mouth"] = ssim(go[y0:y1, x0:x1], gt[y0:y1, x0:x1])
    return r


def load_frames(video: str | Path, max_frames: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Up to ``max_frames`` (H, W, 3) uint8 RGB frames of ``video`` at its own rate, optionally
    resized to ``size`` = (width, height)."""
    frames = []
    for f in iter_frames(video, stop=max_frames):
        img = f.image
        if size is not None and (img.shape[1], img.shape[0]) != size:
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        frames.append(img)
    return frames


def quality(frames: list[np.ndarray], factor: int = 2, **flow_kw: object) -> list[dict]:
    """Drop all but every ``factor``-th frame, interpolate back, score the dropped frames.

    Returns one dict per method (``"flow"``, ``"average"``) with mean ``psnr``/``ssim`` (whole
    frame), ``psnr_moving``/``ssim_moving`` (moving region, :func:`moving_mask`) and
    ``psnr_mouth``/``ssim_mouth`` (lip box of frame 0, :func:`mouth_box`) over all
    reconstructed frames, and ``frames`` (count).
    """
    n = (len(frames) - 1) // factor * factor + 1
    kept = frames[:n:factor]
    mouth = mouth_box(frames[0])
    rows = []
    for name, interp in (("flow", FlowInterpolator(factor, **flow_kw)), ("average", AverageInterpolator(factor))):
        acc: dict[str, list[float]] = {}
        out = interp.interpolate(kept)
        for i, img in enumerate(out):
            if i >= n - 1:
                break
            if i % factor == 0:
                continue
            j = i // factor * factor
            mask = moving_mask(frames[j], frames[j + factor])
            for k, v in _scores(img, frames[i], mask, mouth).items():
                acc.setdefault(k, []).append(v)
        out.close()
        row = {k: float(np.nanmean(v)) for k, v in acc.items()}
        row.update(method=name, frames=len(acc.get("psnr", [])), factor=factor)
        rows.append(row)
    return rows


def speed(frames: list[np.ndarray], factor: int = 2, repeats: int = 1, **flow_kw: object) -> dict:
    """Output fps (wall clock) and CPU seconds per output frame of ``FlowInterpolator``."""
    interp = FlowInterpolator(factor, **flow_kw)
    n_out = 0
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        for _img in interp.interpolate(frames):
            n_out += 1
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    h, w = frames[0].shape[:2]
    return {"size": f"{w}x{h}", "factor": factor, "out_frames": n_out, "out_fps": n_out / wall,
            "cpu_ms_per_frame": 1000 * cpu / n_out, "load_avg_1min": os.getloadavg()[0]}


def bench_interp(videos: list[str | Path] | None = None, max_frames: int = 51, factors: tuple[int, ...] = (2,),
                 speed_frames: int = 40, **flow_kw: object) -> list[dict]:
    """Quality rows (per video, factor and method) followed by one speed row at 1280x720.

    Args:
        videos: video paths (default :data:`DEFAULT_VIDEOS` under the shared media).
        max_frames: frames decoded per video for the quality test.
        factors: drop factors to test (2 = every other frame dropped; 4 = three of four).
        speed_frames: input frames of the first video, resized to 1280x720, for the speed row.
        flow_kw: passed to :class:`FlowInterpolator` (``flow_scale``, ``preset``).
    Returns:
        list of dicts; quality rows have ``video, factor, method, psnr, ssim, psnr_moving,
        ssim_moving, frames``; the speed row has ``video, size, out_fps, cpu_ms_per_frame``.
    """
    videos = list(videos) if videos else [MEDIA / v for v in DEFAULT_VIDEOS]
    rows: list[dict] = []
    for v in videos:
        frames = load_frames(v, max_frames)
        for f in factors:
            for r in quality(frames, f, **flow_kw):
                rows.append({"video": Path(v).name, **r})
    frames = load_frames(videos[0], speed_frames, size=(1280, 720))
    rows.append({"video": Path(videos[0]).name, **speed(frames, 2, **flow_kw)})
    return rows


def table(rows: list[dict]) -> str:
    """Markdown tables of :func:`bench_interp` rows."""
    q = [r for r in rows if "method" in r]
    s = [r for r in rows if "out_fps" in r]
    keys = ("psnr", "ssim", "psnr_moving", "ssim_moving", "psnr_mouth", "ssim_mouth")
    lines = ["| video | factor | method | PSNR dB | SSIM | PSNR moving dB | SSIM moving | PSNR mouth dB "
             "| SSIM mouth | frames |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def cells(vals: dict) -> str:
        return " | ".join(f"{vals[k]:.4f}" if k.startswith("ssim") else f"{vals[k]:.2f}" for k in keys)

    for r in q:
        lines.append(f"| {r['video']} | {r['factor']} | {r['method']} | {cells(r)} | {r['frames']} |")
    for f in sorted({r["factor"] for r in q}):
        for m in ("flow", "average"):
            sel = [r for r in q if r["factor"] == f and r["method"] == m]
            if sel:
                mean = {k: float(np.nanmean([r[k] for r in sel])) for k in keys}
                lines.append(f"| **mean** | {f} | {m} | {cells(mean)} | {sum(r['frames'] for r in sel)} |")
    if s:
        lines += ["", "| speed input | size | factor | output fps (wall) | CPU ms / output frame | load avg |",
                  "|---|---|---|---|---|---|"]
        for r in s:
            lines.append(f"| {r['video']} | {r['size']} | {r['factor']} | {r['out_fps']:.1f} | "
                         f"{r['cpu_ms_per_frame']:.1f} | {r['load_avg_1min']:.1f} |")
    return "\n".join(lines)


def save_strip(video: str | Path, out_png: str | Path, max_frames: int = 125, crop: int = 256,
               **flow_kw: object) -> dict:
    """Save a PNG strip at the fastest mouth motion of ``video`` (every other frame dropped).

    The dropped frame whose kept neighbours differ most in lip opening (Face Mesh landmarks 13
    and 14) is reconstructed. Columns: previous kept frame, plain average, flow interpolation,
    next kept frame, ground truth (the dropped frame), cropped to a square of 2.2 mouth widths
    around the lips (``crop`` px when no face is found), shown at 2x.
    Returns: ``{"frame": index of the dropped frame, "psnr_flow", "psnr_average"}`` on the crop.
    """
    frames = load_frames(video, max_frames)
    # the dropped frame with the largest change of lip opening between its kept neighbours
    lips = []
    for img in frames[::2]:
        faces = detect_faces(img, 1)
        lips.append(faces[0] if faces else None)
    best, best_i = -1.0, 1
    for k in range(len(lips) - 1):
        if lips[k] is None or lips[k + 1] is None:
            continue
        op = [float(np.linalg.norm(p[L.UPPER_INNER_LIP, :2] - p[L.LOWER_INNER_LIP, :2])) for p in lips[k:k + 2]]
        if abs(op[1] - op[0]) > best:
            best, best_i = abs(op[1] - op[0]), 2 * k + 1
    a, truth, b = frames[best_i - 1], frames[best_i], frames[best_i + 1]
    flow = list(FlowInterpolator(2, **flow_kw).interpolate([a, b]))[1]
    avg = list(AverageInterpolator(2).interpolate([a, b]))[1]
    h, w = a.shape[:2]
    p = lips[(best_i - 1) // 2]
    if p is not None:
        lo, hi = p[L.LIPS_OUTER, :2].min(0), p[L.LIPS_OUTER, :2].max(0)
        cx, cy = (lo + hi) / 2
        crop = int(2.2 * (hi[0] - lo[0]))
    else:
        cy, cx = h / 2, w / 2
    c = min(crop, h, w)
    y0 = int(np.clip(cy - c // 2, 0, h - c))
    x0 = int(np.clip(cx - c // 2, 0, w - c))
    tiles = [im[y0:y0 + c, x0:x0 + c] for im in (a, avg, flow, b, truth)]
    labels = ["previous", "average", "flow", "next", "truth"]
    strip = []
    for t, lab in zip(tiles, labels):
        t = t.copy()
        cv2.putText(t, lab, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
        strip.append(t)
    img = np.hstack(strip)
    img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(out_png), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return {"frame": best_i, "psnr_flow": psnr(tiles[2], tiles[4]), "psnr_average": psnr(tiles[1], tiles[4])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="*", help="videos (default: shared 25 fps talking videos)")
    ap.add_argument("--max-frames", type=int, default=51)
    ap.add_argument("--factors", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--flow-scale", type=float, default=0.5)
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--strip", type=Path, help="also save a PNG strip of the fastest mouth motion")
    args = ap.parse_args()
    kw = {"flow_scale": args.flow_scale, "preset": args.preset}
    rows = bench_interp(args.videos or None, args.max_frames, tuple(args.factors), **kw)
    print(table(rows))
    if args.strip:
        video = args.videos[0] if args.videos else MEDIA / DEFAULT_VIDEOS[0]
        print(save_strip(video, args.strip, **kw))


if __name__ == "__main__":
    main()
