#!/usr/bin/env python
"""Measures of a photo that comes alive (issue 15): blinks, head motion, mouth-interior colour
and render speed, on rendered photo videos against the real talking videos.

Usage::

    # 1. render (the current code; run again with PYTHONPATH=<old tree>/src for "before")
    .venv/bin/python benchmarks/bench_photo_life.py render --out /tmp/life/after
    # 2. measure a folder of renders (always with the current code)
    .venv/bin/python benchmarks/bench_photo_life.py measure /tmp/life/after [/tmp/life/before]
    # 3. the blink time course: the real videos' and the measured renders'
    .venv/bin/python benchmarks/bench_photo_life.py curve /tmp/life/after

Renders: four shared portraits (avg_woman1: colour, open smile; sadtalker_art_0: a painting;
realthreed_macron in greyscale and avg_man4 in sepia, both made here from the colour files)
plus avg_man3 (a ~80 px face), each with two English clips, at 512 x 512 (``size``), seed 0.

Measures (the same face mesh, MediaPipe without smoothing, on the outputs and the real videos):

* blinks: lid aperture below half its median with hysteresis
  (:func:`twintake.motion.head.blink_events`): lengths (frames at 25 fps) and intervals;
* head motion: pose proxies (:func:`twintake.motion.head.pose_from_landmarks`): amplitude (std,
  degrees), median angular speed, angular-speed spectrum, correlation of angular speed with
  loudness (:func:`twintake.motion.head.loudness_correlation`);
* interior colour: HSV saturation (0-1) of the pixels inside the inner-lip polygon on frames
  opened >= 0.1 inter-ocular distances: p99 against the photo's own p99 (whole photo), and
  median hue/saturation against the real mouths' (the 9 real videos, frames opened >= 0.25 W);
* unison: blink onsets of two photos with the same seed (from their planners);
* speed: frames / render seconds at 512 x 512.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
PHOTOS = {"woman1": "portrait/avg_woman1.jpg", "art0": "portrait/sadtalker_art_0.png",
          "bw_macron": "portrait/realthreed_macron.png", "sepia_man4": "portrait/avg_man4.jpg",
          "man3": "portrait/avg_man3.jpg"}
SPEECH = {"rtvc1320": "speech_en/rtvc_1320.mp3", "radio31": "speech_en/sadtalker_rd_radio31.wav"}


def make_photo(name: str, folder: Path) -> Path:
    """The portrait of ``name``; greyscale / sepia versions are written to ``folder``."""
    from PIL import Image

    src = MEDIA / PHOTOS[name]
    if not name.startswith(("bw_", "sepia_")):
        return src
    im = np.asarray(Image.open(src).convert("RGB")).astype(np.float64)
    g = im @ [0.299, 0.587, 0.114]
    out = np.stack([g] * 3, -1) if name.startswith("bw_") else np.stack([g * 1.07 + 10, g * 0.89 + 5, g * 0.66], -1)
    path = folder / f"{name}.png"
    Image.fromarray(np.uint8(np.clip(out, 0, 255))).save(path)
    return path


def render(out: Path) -> None:
    from twintake.engine import render_photo
    from twintake.options import LipsyncOptions
    from twintake.speech.input import load_speech

    out.mkdir(parents=True, exist_ok=True)
    speed = {}
    for sname, srel in SPEECH.items():
        sp = load_speech(MEDIA / srel)
        for pname in PHOTOS:
            photo = make_photo(pname, out)
            dst = out / f"{pname}__{sname}.mp4"
            t0 = time.perf_counter()
            res = render_photo(photo, sp, dst, LipsyncOptions(size=(512, 512), seed=0))
            speed[dst.name] = dict(frames=res.frames, render_s=res.timings_s.get("render"),
                                   total_s=time.perf_counter() - t0)
            print(dst.name, speed[dst.name], flush=True)
    (out / "speed.json").write_text(json.dumps(speed, indent=1))


def _track(path: Path):
    from twintake.face.tracker import MediaPipeTracker
    from twintake.media import iter_frames

    frames = [f.image for f in iter_frames(path, fps=25.0)]
    pts = list(MediaPipeTracker(25.0, smooth=False).track_frames(iter(frames)))
    return frames, pts


def _interior_hs(frames, pts, min_open_iod: float = 0.1) -> np.ndarray:
    """(N, 2) hue (degrees) and saturation (0-1) of inner-mouth pixels of open frames."""
    import cv2

    from twintake.face import landmarks as L
    from twintake.render.photo.look import polygon_mask

    out = []
    for img, lm in zip(frames, pts):
        if lm is None:
            continue
        iod = float(L.interocular_px(lm[None])[0])
        if np.linalg.norm(lm[14, :2] - lm[13, :2]) < min_open_iod * iod:
            continue
        h, w = img.shape[:2]
        sel = polygon_mask(lm[L.LIPS_INNER, :2], (w, h)) > 0.99
        sel = cv2.erode(sel.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV_FULL)[sel].astype(np.float64)
        out.append(np.stack([hsv[:, 0] * 360 / 256, hsv[:, 1] / 255], 1))
    return np.concatenate(out) if out else np.zeros((0, 2))


def _circ_median_deg(h: np.ndarray, s: np.ndarray) -> float:
    a = np.radians(h)
    return float(np.degrees(np.arctan2((s * np.sin(a)).sum(), (s * np.cos(a)).sum())) % 360)


def real_reference() -> dict:
    """Blink, head-motion and mouth-colour statistics of the real videos (cached next to the
    head-motion training tracks)."""
    from twintake.motion.head import load_head_model

    model = load_head_model()
    ref = dict(blink_frames=model.blink_frames.tolist(), blink_intervals_s=model.blink_intervals_s.tolist(),
               **{k: model.real[k] for k in ("amp_median", "corr_median", "speed_median")})
    cache = Path("/tmp/twintake_real_mouth_hs.npy")
    if cache.is_file():
        hs = np.load(cache)
    else:
        sys.path.insert(0, str(ROOT / "scripts"))
        from train_head_motion import VIDEOS

        hs = np.concatenate([_interior_hs(*_track(MEDIA / v), min_open_iod=0.25) for v in VIDEOS])
        np.save(cache, hs)
    ref["mouth_sat_pct"] = np.percentile(hs[:, 1], [5, 25, 50, 75, 95]).tolist()
    ref["mouth_hue_median"] = _circ_median_deg(hs[:, 0], hs[:, 1])
    return ref


def measure_folder(folder: Path) -> dict:
    import cv2
    from PIL import Image

    from twintake.motion import head as H
    from twintake.speech.input import load_speech

    res = {}
    speed = json.loads((folder / "speed.json").read_text()) if (folder / "speed.json").is_file() else {}
    for mp4 in sorted(folder.glob("*.mp4")):
        pname, sname = mp4.stem.split("__")
        frames, pts = _track(mp4)
        ok = np.array([p is not None for p in pts])
        lm = np.stack([p[:, :2] if p is not None else pts[int(np.argmax(ok))][:, :2] for p in pts])
        ev = H.blink_events(H.eyelid_aperture(lm), ok)
        pose = H.pose_from_landmarks(lm)
        sp = load_speech(MEDIA / SPEECH[sname])
        feat = H.speech_features(sp.samples, sp.sample_rate_hz, 25.0, len(frames))
        hs = _interior_hs(frames, pts)
        photo = folder / f"{pname}.png" if (folder / f"{pname}.png").is_file() else MEDIA / PHOTOS[pname]
        ph = np.asarray(Image.open(photo).convert("RGB"))
        photo_sat99 = float(np.percentile(cv2.cvtColor(ph, cv2.COLOR_RGB2HSV_FULL)[..., 1], 99) / 255)
        sp_info = speed.get(mp4.name, {})
        res[mp4.name] = dict(
            blink_frames=[e[1] for e in ev], blink_starts=[e[0] for e in ev],
            aperture=np.where(ok, H.eyelid_aperture(lm), np.nan).round(4).tolist(),
            amp=pose[ok, :3].std(0).round(2).tolist(), speed=float(np.median(H.angular_speed(pose, 25.0))),
            corr=H.loudness_correlation(pose, feat[:, 0], 25.0),
            mouth_sat99=float(np.percentile(hs[:, 1], 99)) if len(hs) else None,
            mouth_sat50=float(np.median(hs[:, 1])) if len(hs) else None,
            mouth_hue=_circ_median_deg(hs[:, 0], hs[:, 1]) if len(hs) else None,
            photo_sat99=photo_sat99,
            render_fps=(sp_info["frames"] / sp_info["render_s"]) if sp_info.get("render_s") else None)
        r = res[mp4.name]
        print(f"{mp4.name}: blinks {r['blink_frames']} at {r['blink_starts']}; amp {r['amp']} deg, speed "
              f"{r['speed']:.1f} deg/s, corr {r['corr']:.2f}; mouth sat p99 {r['mouth_sat99']} (photo "
              f"{photo_sat99:.3f}), median sat {r['mouth_sat50']}, hue {r['mouth_hue']}; fps {r['render_fps']}",
              flush=True)
    return res


def blink_summary(res: dict) -> str:
    """One line: blink lengths by face mesh (frames at 25 fps) over all renders of a folder
    (count, median, IQR, range) and per portrait."""
    def stats(x):
        if not x:
            return "none"
        q = np.percentile(x, [25, 50, 75])
        return f"n={len(x)} median {q[1]:g} IQR {q[0]:g}-{q[2]:g} range {min(x)}-{max(x)}"

    per = {}
    for name, r in res.items():
        per.setdefault(name.split("__")[0], []).extend(r["blink_frames"])
    allb = [n for v in per.values() for n in v]
    return "blink length by face mesh: " + stats(allb) + "; " + "; ".join(f"{k}: {v}" for k, v in per.items())


#: Frames of the blink time course, relative to a blink's first frame below half the median
#: aperture (real) or to its first fully shut frame (generated).
CURVE_OFFSETS = range(-2, 7)


def real_blink_curve(tracks: Path = Path("/tmp/twintake_head_tracks.npz")) -> dict:
    """The real talking videos' blink time course by Face Mesh: per offset of
    :data:`CURVE_OFFSETS` (25 fps frames from each blink's first frame below half the median
    aperture), the median and quartiles of the aperture over its median, over all blinks of
    :func:`twintake.motion.head.blink_events`; and the same per blink length."""
    from twintake.motion import head as H

    sys.path.insert(0, str(ROOT / "scripts"))
    from train_head_motion import track

    rows, by_len = [], {}
    for d in track(MEDIA, 25.0, tracks).values():
        lm, ok = d["landmarks"], d["valid"]
        a = H.eyelid_aperture(lm)
        a = np.where(ok, a / np.median(a[ok]), np.nan)
        for s0, n in H.blink_events(a, ok):
            r = [a[s0 + o] if 0 <= s0 + o < len(a) else np.nan for o in CURVE_OFFSETS]
            rows.append(r)
            by_len.setdefault(n, []).append(r)
    rows = np.array(rows)
    q = np.nanpercentile(rows, [25, 50, 75], axis=0)
    return dict(offsets=list(CURVE_OFFSETS), n=len(rows), q25=q[0].round(2).tolist(), median=q[1].round(2).tolist(),
                q75=q[2].round(2).tolist(),
                by_length={int(k): dict(n=len(v), median=np.nanmedian(np.array(v), 0).round(2).tolist())
                           for k, v in sorted(by_len.items())})


def rendered_blink_curve(folder: Path, res: dict) -> dict:
    """Our blinks' time course by Face Mesh on the renders of ``folder`` (``res``: its
    :func:`measure_folder` result): per offset of :data:`CURVE_OFFSETS` from each generated
    blink's first fully shut frame (the planner's closure >= 0.99, same photo and seed as the
    render), the median aperture over its median, next to the closure the planner asked for."""
    from twintake.render.photo import PhotoCompositor, PhotoPlanner
    from twintake.speech.input import load_speech

    rows, asked = [], []
    for name, r in res.items():
        pname, sname = name[:-4].split("__")
        photo = folder / f"{pname}.png" if (folder / f"{pname}.png").is_file() else MEDIA / PHOTOS[pname]
        comp = PhotoCompositor(photo, size=(512, 512))
        blinks = PhotoPlanner(load_speech(MEDIA / SPEECH[sname]), comp.animator, 25.0, seed=0).blinks
        a = np.array(r["aperture"], np.float64)
        a = a / np.nanmedian(a)
        shut = blinks >= 0.99
        starts = [i for i in range(len(shut)) if shut[i] and (i == 0 or not shut[i - 1])]
        for s0 in starts:
            rows.append([a[s0 + o] if 0 <= s0 + o < min(len(a), len(blinks)) else np.nan for o in CURVE_OFFSETS])
            asked.append([blinks[s0 + o] if 0 <= s0 + o < len(blinks) else np.nan for o in CURVE_OFFSETS])
    rows, asked = np.array(rows), np.array(asked)
    q = np.nanpercentile(rows, [25, 50, 75], axis=0)
    return dict(offsets=list(CURVE_OFFSETS), n=len(rows), q25=q[0].round(2).tolist(), median=q[1].round(2).tolist(),
                q75=q[2].round(2).tolist(), closure_median=np.nanmedian(asked, 0).round(2).tolist())


def unison() -> dict:
    """Blink onsets of woman1 and art0 with the same seed (planners of the current code)."""
    from twintake.motion.head import blink_events
    from twintake.render.photo import PhotoCompositor, PhotoPlanner
    from twintake.speech.input import load_speech

    sp = load_speech(MEDIA / SPEECH["radio31"])
    starts = {}
    for name in ("woman1", "art0"):
        comp = PhotoCompositor(MEDIA / PHOTOS[name], size=(512, 512))
        plan = PhotoPlanner(sp, comp.animator, 25.0, seed=0)
        starts[name] = [s for s, _ in blink_events(1.0 - plan.blinks + 1e-3)]
    a, b = starts["woman1"], starts["art0"]
    together = sum(1 for s in a if any(abs(s - t) <= 2 for t in b))
    return dict(starts=starts, coincident=together, of=min(len(a), len(b)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("measure")
    m.add_argument("folders", type=Path, nargs="+")
    c = sub.add_parser("curve", help="blink time course: the real videos', and a measured folder's")
    c.add_argument("folder", type=Path, nargs="?")
    a = ap.parse_args(argv)
    if a.cmd == "render":
        render(a.out)
        return 0
    if a.cmd == "curve":
        return curve(a.folder)
    ref = real_reference()
    fr = np.array(ref["blink_frames"])
    print(f"real: blink length median {np.median(fr):.1f} IQR {np.percentile(fr, 25):.1f}-{np.percentile(fr, 75):.1f} "
          f"frames; amp median {np.round(ref['amp_median'], 2)} deg; speed median {ref['speed_median']:.1f} deg/s; "
          f"speed-loudness corr median {ref['corr_median']:.3f}; mouth sat p5-p95 "
          f"{np.round(ref['mouth_sat_pct'], 3)}, hue median {ref['mouth_hue_median']:.0f}")
    out = {"real": ref}
    for folder in a.folders:
        print(f"== {folder}")
        out[str(folder)] = measure_folder(folder)
        print(blink_summary(out[str(folder)]))
    try:
        out["unison"] = unison()
        print("unison (same seed, two photos):", out["unison"])
    except Exception as e:  # noqa: BLE001 - the old code has no per-photo seeding API to compare
        print("unison: not measured:", e)
    (a.folders[0] / "measures.json").write_text(json.dumps(out, indent=1, default=float))
    return 0


def curve(folder: Path | None) -> int:
    """Print the real blink time course and, with ``folder`` (already measured), ours."""
    real = real_blink_curve()
    print(f"real blinks (n={real['n']}), aperture / median at frames {real['offsets']} from the first frame "
          f"below 0.5:\n  median {real['median']}\n  q25    {real['q25']}\n  q75    {real['q75']}")
    for k, v in real["by_length"].items():
        print(f"  length {k} (n={v['n']}): {v['median']}")
    out = {"real": real}
    if folder is not None:
        res = json.loads((folder / "measures.json").read_text())[str(folder)]
        ours = rendered_blink_curve(folder, res)
        print(f"ours (n={ours['n']}), aperture / median at frames {ours['offsets']} from the first shut frame:\n"
              f"  median {ours['median']}\n  q25    {ours['q25']}\n  q75    {ours['q75']}\n"
              f"  closure asked {ours['closure_median']}\n"
              f"  real eye at that closure (1 - 0.84 c) {np.round(1 - 0.84 * np.array(ours['closure_median']), 2).tolist()}")
        out["ours"] = ours
        (folder / "blink_curve.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
