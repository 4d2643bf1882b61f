"""Does ``--enhance`` help? Self-reenactment figures for enhance none / mouth / face.

For each video, the ``twintake`` method of the evaluation protocol
(:func:`twintake.evaluate.protocol.evaluate_video`: the video re-rendered from its own audio,
mouths leave-segment-out +-2 s, compared with the real frames) is run once per enhancement
mode. Reported per mode: mouth sharpness (x source), identity-region SSIM / PSNR, LMD and sync
confidence (must not get worse), jitter, and two extra figures computed here from the outputs:

* **flicker**: mean absolute frame-to-frame change of the Laplacian (high-pass) of the mouth box,
  divided by the same on the real frames (1 = as steady as the real video; enhancement that
  boosted noise, or whose strength jumped, would raise it);
* **render s**: wall-clock seconds of the render (shared CPU: noisy).

The sharpness metric compares an *encoded* output with the decoded clip, and re-encoding alone
moves it (x264 adds or removes high frequencies, depending on the video): a ``copy`` row gives
the clip itself re-encoded with the same settings, and ``sharp/copy`` divides by it.

    PYTHONPATH=src python benchmarks/bench_enhance.py                    # 3 default videos
    PYTHONPATH=src python benchmarks/bench_enhance.py --videos video/vretalking_face3.mp4
    PYTHONPATH=src python benchmarks/bench_enhance.py --strip out.png    # mouths side by side
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from twintake.evaluate import metrics as M
from twintake.evaluate.commands import resolve_suite
from twintake.evaluate.protocol import EvalConfig, _image_pass, clip_video, evaluate_video
from twintake.media import VideoWriter, iter_frames
from twintake.prepare import prepare_video

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
DEFAULT_VIDEOS = ("video/vretalking_face2.mp4", "video/sadtalker_wda_aoc.mp4", "video/realthreed_may_5s.mp4")
MODES = ("none", "mouth", "face")


def flicker(path: Path, prep, n: int) -> float:
    """Mean |frame-to-frame change| of the Laplacian of the grey mouth box (box of the real
    frame's lips, so it is the same pixels in every video compared), grey levels."""
    prev = None
    diffs = []
    for fr in iter_frames(path, fps=prep.fps, stop=n):
        t = fr.index
        if not prep.track.valid[t]:
            prev = None
            continue
        x0, y0, x1, y1 = M.mouth_box(prep.track.landmarks[t], fr.image.shape[:2])
        g = cv2.cvtColor(fr.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
        if prev is not None:
            diffs.append(float(np.abs(lap[y0:y1, x0:x1] - prev[y0:y1, x0:x1]).mean()))
        prev = lap
    return float(np.mean(diffs)) if diffs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", nargs="*", default=list(DEFAULT_VIDEOS),
                    help="paths relative to shared media, or 'all' (every talking video of the MANIFEST)")
    ap.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/twintake_bench_enhance"))
    ap.add_argument("--strip", type=Path, default=None, help="write a PNG: real | none | mouth | face mouths")
    ap.add_argument("--json", type=Path, default=None, help="append one JSON row per video and mode")
    args = ap.parse_args()
    rows = []
    strips = []
    videos = [MEDIA / v for v in args.videos] if args.videos != ["all"] else resolve_suite(MEDIA / "MANIFEST.tsv")
    for path in videos:
        clip = clip_video(path, args.seconds)
        prep = prepare_video(clip)
        n = len(prep.track)
        real_flicker = flicker(clip, prep, n)
        cfg0 = EvalConfig(max_seconds=args.seconds)
        copy = args.out / f"{path.stem}-copy.mp4"
        args.out.mkdir(parents=True, exist_ok=True)
        with VideoWriter(copy, prep.fps, prep.track.width, prep.track.height, crf=cfg0.crf, preset="veryfast") as wr:
            for fr in iter_frames(clip, fps=prep.fps, stop=n):
                wr.write(fr.image)
        c = _image_pass(prep, {"copy": copy}, [], cfg0.image_stride)[0]["copy"]
        rows.append({"video": path.stem, "mode": "copy", "sharpness": c["sharpness"], "sharp_copy": 1.0,
                     "ssim_identity": c["ssim_identity"], "psnr_identity": c["psnr_identity"], "lmd": 0.0,
                     "sync_conf": float("nan"), "jitter": 1.0, "flicker": flicker(copy, prep, n) / real_flicker,
                     "render_s": float("nan"), "frames": n})
        per_mode = {}
        for mode in args.modes:
            cfg = EvalConfig(max_seconds=args.seconds, methods=("twintake",), enhance=mode)
            t0 = time.perf_counter()
            ev = evaluate_video(path, args.out / mode, cfg)
            r = ev.results["twintake"]
            out = args.out / mode / path.stem / "twintake.mp4"
            row = {"video": path.stem, "mode": mode, "sharpness": r.sharpness,
                   "sharp_copy": r.sharpness / c["sharpness"], "ssim_identity": r.ssim_identity,
                   "psnr_identity": r.psnr_identity, "lmd": r.lmd, "sync_conf": r.sync_conf, "jitter": r.jitter,
                   "flicker": flicker(out, prep, n) / real_flicker, "render_s": r.seconds, "frames": n,
                   "eval_s": time.perf_counter() - t0}
            rows.append(row)
            per_mode[mode] = (ev, out)
        if args.strip is not None:
            strips.append(_strip(clip, prep, {m: o for m, (_, o) in per_mode.items()}, per_mode[args.modes[0]][0]))
    _print(rows, args.modes)
    if args.json is not None:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    if args.strip is not None and strips:
        w = max(s.shape[1] for s in strips)
        img = np.vstack([np.pad(s, ((0, 4), (0, w - s.shape[1]), (0, 0))) for s in strips])
        cv2.imwrite(str(args.strip), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def _strip(clip: Path, prep, outputs: dict[str, Path], ev) -> np.ndarray:
    """Rows real / none / mouth / face of mouth crops (2x nearest-neighbour zoom) at 4 frames."""
    want = ev.strip_index[1::2][:4] or ev.strip_index[:4]
    rows = []
    for src in [clip, *outputs.values()]:
        crops = []
        for fr in iter_frames(src, fps=prep.fps, stop=max(want) + 1):
            if fr.index in want:
                x0, y0, x1, y1 = M.mouth_box(prep.track.landmarks[fr.index], fr.image.shape[:2])
                c = cv2.resize(fr.image[y0:y1, x0:x1], (200, int(200 * (y1 - y0) / max(1, x1 - x0))),
                               interpolation=cv2.INTER_CUBIC)
                crops.append(c)
        h = min(c.shape[0] for c in crops)
        rows.append(np.hstack([np.pad(c[:h], ((0, 0), (0, 2), (0, 0))) for c in crops]))
    h = min(r.shape[1] for r in rows)
    return np.vstack([np.pad(r[:, :h], ((0, 2), (0, 0), (0, 0))) for r in rows])


def _print(rows: list[dict], modes=MODES) -> None:
    cols = ["sharpness", "sharp_copy", "ssim_identity", "psnr_identity", "lmd", "sync_conf", "jitter", "flicker", "render_s"]
    print("| video | mode | " + " | ".join(cols) + " |")
    print("|---|---|" + "---:|" * len(cols))
    for r in rows:
        print(f"| {r['video']} | {r['mode']} | " + " | ".join(f"{r[c]:.3f}" for c in cols) + " |")
    print()
    print("| mode (mean) | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for m in ["copy", *modes]:
        sel = [r for r in rows if r["mode"] == m]
        print(f"| {m} | " + " | ".join(f"{np.mean([r[c] for r in sel]):.3f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
