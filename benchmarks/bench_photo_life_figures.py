#!/usr/bin/env python
"""Pictures for docs/photo.md (issue 15) from the renders of ``bench_photo_life.py``.

Usage::

    .venv/bin/python benchmarks/bench_photo_life_figures.py /tmp/life/before /tmp/life/after docs/img [--only blinks,hist]

Writes ``photo_life_mouths.png`` (open frames, before / after, four portraits),
``photo_life_blinks.png`` (the 9 frames around the most closed eye, before / after: greyscale
Macron, avg_woman1, sadtalker_art_0), ``photo_life_head.png`` (head pose by face mesh and
loudness, before / after / a real video) and ``photo_life_blink_hist.png`` (blink lengths and
intervals: real videos, before, after), ``photo_life_blink_curve.png`` (the blink time course
by Face Mesh: real, before, after; run ``bench_photo_life.py curve`` on both folders first) and
``photo_lids_shut.png`` (both eyes at 4x, open / half / shut, four portraits, current code).
``--only`` makes some of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
PORTRAITS = ("woman1", "art0", "bw_macron", "sepia_man4")


def _frames_and_marks(path: Path):
    from twintake.face.tracker import MediaPipeTracker
    from twintake.media import iter_frames

    frames = [f.image for f in iter_frames(path, fps=25.0)]
    pts = list(MediaPipeTracker(25.0, smooth=False).track_frames(iter(frames)))
    return frames, pts


def _crop(img, centre, half, size):
    import cv2

    h, w = img.shape[:2]
    cx, cy = int(centre[0]), int(centre[1])
    x0, y0 = max(0, cx - half), max(0, cy - half * 2 // 3)
    c = img[y0:min(h, y0 + 4 * half // 3), x0:min(w, x0 + 2 * half)]
    return cv2.resize(c, size, interpolation=cv2.INTER_AREA)


def mouths(before: Path, after: Path, out: Path) -> None:
    import cv2

    from twintake.face import landmarks as L

    rows = []
    for name in PORTRAITS:
        row = []
        for folder in (before, after):
            frames, pts = _frames_and_marks(folder / f"{name}__rtvc1320.mp4")
            op = np.array([np.linalg.norm(p[14, :2] - p[13, :2]) / L.interocular_px(p[None])[0] if p is not None else 0
                           for p in pts])
            for t in np.argsort(-op)[:2]:
                p = pts[t]
                half = int(0.55 * np.linalg.norm(p[291, :2] - p[61, :2])) + 8
                row.append(_crop(frames[t], p[[13, 14], :2].mean(0), half, (240, 160)))
        rows.append(np.concatenate(row, 1))
    img = np.concatenate(rows, 0)
    cv2.imwrite(str(out / "photo_life_mouths.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def blinks(before: Path, after: Path, out: Path) -> None:
    from twintake.motion.head import eyelid_aperture

    rows = []
    for name in ("bw_macron", "woman1", "art0"):
        for folder in (before, after):
            frames, pts = _frames_and_marks(folder / f"{name}__radio31.mp4")
            ok = [i for i, p in enumerate(pts) if p is not None]
            ap = eyelid_aperture(np.stack([pts[i][:, :2] for i in ok]))
            t = ok[int(np.argmin(ap))]
            p = pts[t]
            iod = float(np.linalg.norm(p[263, :2] - p[33, :2]))
            row = [_crop(frames[k], p[[33, 263], :2].mean(0), int(0.8 * iod), (180, 120))
                   for k in range(max(0, t - 4), min(len(frames), t + 5))]
            rows.append(np.concatenate(row + [np.zeros((120, 180 * (9 - len(row)), 3), np.uint8)] * (len(row) < 9), 1))
    from PIL import Image

    # 256 colours: a third of the size, no visible change at this scale
    Image.fromarray(np.concatenate(rows, 0)).quantize(256, dither=Image.Dither.NONE).save(out / "photo_life_blinks.png",
                                                                                         optimize=True)


def head(before: Path, after: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from twintake.motion.head import pose_from_landmarks, speech_features
    from twintake.speech.input import load_speech

    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=False)
    clips = [("before", before / "woman1__radio31.mp4", MEDIA / "speech_en/sadtalker_rd_radio31.wav"),
             ("after", after / "woman1__radio31.mp4", MEDIA / "speech_en/sadtalker_rd_radio31.wav"),
             ("real video (sadtalker_wda_aoc)", MEDIA / "video/sadtalker_wda_aoc.mp4",
              MEDIA / "video/sadtalker_wda_aoc.mp4")]
    for ax, (label, video, audio) in zip(axes, clips):
        frames, pts = _frames_and_marks(video)
        ok = np.array([p is not None for p in pts])
        lm = np.stack([p[:, :2] if p is not None else pts[int(np.argmax(ok))][:, :2] for p in pts])
        pose = pose_from_landmarks(lm)
        sp = load_speech(audio)
        feat = speech_features(sp.samples, sp.sample_rate_hz, 25.0, len(frames))
        t = np.arange(len(frames)) / 25.0
        for c, name in enumerate(("pitch", "yaw", "roll")):
            ax.plot(t, pose[:, c] - np.median(pose[:, c]), label=name)
        ax.fill_between(t, -8, -8 + 6 * feat[:, 0], color="grey", alpha=0.3, label="loudness")
        ax.set_ylim(-9, 9)
        ax.set_ylabel("degrees")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc="upper right", ncol=4)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(out / "photo_life_head.png", dpi=80)


def hist(before: Path, after: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from twintake.motion.head import load_head_model
    from twintake.motion.photo import blink_track

    model = load_head_model()
    m_after = json.loads((after / "measures.json").read_text())[str(after)]
    before_file = before / "measures.json"
    m_before = json.loads(before_file.read_text()).get(str(before), {}) if before_file.is_file() else {}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    bins = np.arange(0.5, 10.5, 1.0)
    data = [("real videos", model.blink_frames)]
    if m_before:
        data.append(("before (face mesh)", [n for v in m_before.values() for n in v["blink_frames"]]))
    data.append(("after (face mesh)", [n for v in m_after.values() for n in v["blink_frames"]]))
    for label, d in data:
        a1.hist(d, bins=bins, histtype="step", density=True, label=f"{label}, n={len(d)}", lw=2)
    a1.set_xlabel("blink length, frames at 25 fps")
    a1.legend(fontsize=7)
    plan = blink_track(25 * 600, 25.0, np.random.default_rng(0), model.blink_frames)
    from twintake.motion.head import blink_events

    starts = np.array([s for s, _ in blink_events(1.0 - plan + 1e-3)]) / 25.0
    a2.hist(model.blink_intervals_s, bins=np.arange(0, 9, 0.5), histtype="step", density=True,
            label="real videos (clips 5-8 s long)", lw=2)
    a2.hist(np.diff(starts), bins=np.arange(0, 9, 0.5), histtype="step", density=True,
            label="after (generator, 10 min)", lw=2)
    a2.set_xlabel("interval between blinks, s")
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "photo_life_blink_hist.png", dpi=80)


def curve(before: Path, after: Path, out: Path) -> None:
    """``photo_life_blink_curve.png``: the blink time course by Face Mesh (aperture over its
    median, frames at 25 fps): the real videos' median and quartiles, before and after (the
    ``blink_curve.json`` that ``bench_photo_life.py curve FOLDER`` writes into each folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    real = json.loads((after / "blink_curve.json").read_text())["real"]
    x = np.array(real["offsets"])
    ax.fill_between(x, real["q25"], real["q75"], color="grey", alpha=0.3, label="real, quartiles")
    ax.plot(x, real["median"], "k-o", label=f"real median (n={real['n']})")
    for label, folder, style in (("before", before, "C3--s"), ("after", after, "C0-s")):
        f = folder / "blink_curve.json"
        if f.is_file():
            ours = json.loads(f.read_text())["ours"]
            ax.plot(np.array(ours["offsets"]), ours["median"], style, label=f"{label}, median (n={ours['n']})")
    ours = json.loads((after / "blink_curve.json").read_text())["ours"]
    ax.plot(x, 1 - 0.84 * np.array(ours["closure_median"]), "C0:", label="asked: 1 - 0.84 x closure")
    ax.axhline(0.5, color="grey", lw=0.5)
    ax.axhline(0.65, color="grey", lw=0.5, ls="--")
    ax.set_xlabel("frame (25 fps) from the first shut frame (real: first below 0.5)")
    ax.set_ylabel("lid aperture / median")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "photo_life_blink_curve.png", dpi=80)


def lids(before: Path, after: Path, out: Path) -> None:
    """``photo_lids_shut.png``: both eyes at 4x, open / closure 0.55 / shut, on stills rendered
    by the current code (sadtalker_people_0, sadtalker_art_0, greyscale Macron from
    ``before``'s folder, avg_woman1)."""
    import cv2
    from PIL import Image

    from twintake.render.photo import PhotoCompositor, PhotoMotion

    photos = [MEDIA / "portrait/sadtalker_people_0.png", MEDIA / "portrait/sadtalker_art_0.png",
              after / "bw_macron.png", MEDIA / "portrait/avg_woman1.jpg"]
    cols = []
    for photo in photos:
        comp = PhotoCompositor(photo, size=(512, 512))
        lm = comp.landmarks[:, :2]
        x0, x1 = lm[[33, 263], 0].min(), lm[[33, 263], 0].max()
        cy, w = lm[[33, 263], 1].mean(), x1 - x0
        box = [int(x0 - 0.15 * w), int(cy - 0.22 * w), int(x1 + 0.15 * w), int(cy + 0.18 * w)]
        rows = []
        for b in (0.0, 0.55, 1.0):
            plan = PhotoMotion(open=np.zeros(1, np.float32), width=np.full(1, 0.45, np.float32),
                               blink=np.array([b], np.float32), head=np.zeros((1, 4)))
            img = comp.render(0, comp.image, plan, 0).image[box[1]:box[3], box[0]:box[2]]
            rows.append(cv2.resize(img, (400, int(400 * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_CUBIC))
        cols.append(np.concatenate([cv2.resize(r, (400, 130)) for r in rows], 0))
    Image.fromarray(np.concatenate(cols, 1)).quantize(256, dither=Image.Dither.NONE).save(out / "photo_lids_shut.png",
                                                                                         optimize=True)


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--only", default="mouths,blinks,head,hist", help="comma-separated figures to make")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    figures = {"mouths": mouths, "blinks": blinks, "head": head, "hist": hist, "curve": curve, "lids": lids}
    for name in a.only.split(","):
        figures[name](a.before, a.after, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
