"""Issue 14's video-quality targets from two `twintake eval` runs, and before/after mouth strips.

    python benchmarks/bench_video_quality.py BEFORE/results.json AFTER/results.json
    python benchmarks/bench_video_quality.py --strips BEFORE/renders AFTER/renders VIDEO_NAME... --out docs/img

The first form prints the target table (opening correlation, LMD margin over the loudness-only jaw,
lmd_p95, pops per minute, jitter, outside change, ghost). The second writes
``video_strip_<name>.png`` per video: rows real | before | after, columns the widest-smile
frame, the widest-open frame and four loud frames, each a mouth crop (needs the cached eval clips,
i.e. the same ``TWINTAKE_CACHE`` as the eval runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def targets(before: dict, after: dict) -> str:
    b, a = before["summary"], after["summary"]

    def margin(s):
        return 100 * (1 - s["twintake"]["lmd"] / s["loudness"]["lmd"])

    rows = [
        ("opening corr vs real", f"{b['twintake']['open_corr']:.3f}", f"{a['twintake']['open_corr']:.3f}", ">= 0.50",
         a["twintake"]["open_corr"] >= 0.5),
        ("LMD better than loudness jaw", f"{margin(b):.1f} %", f"{margin(a):.1f} %", ">= 20 %", margin(a) >= 20),
        ("lmd_p95 (% IOD)", f"{b['twintake']['lmd_p95']:.2f}", f"{a['twintake']['lmd_p95']:.2f}",
         f"<= {0.85 * b['twintake']['lmd_p95']:.2f}", a["twintake"]["lmd_p95"] <= 0.85 * b["twintake"]["lmd_p95"]),
        ("pops per min (real)", f"{b['twintake']['pops_per_min']:.1f} ({b['real']['pops_per_min']:.1f})",
         f"{a['twintake']['pops_per_min']:.1f} ({a['real']['pops_per_min']:.1f})", "<= real",
         a["twintake"]["pops_per_min"] <= a["real"]["pops_per_min"]),
        ("jitter (x real)", f"{b['twintake']['jitter']:.2f}", f"{a['twintake']['jitter']:.2f}", "<= 1.10",
         a["twintake"]["jitter"] <= 1.10),
        ("outside_change (% frame)", f"{b['twintake']['outside_change']:.3f}", f"{a['twintake']['outside_change']:.3f}",
         "<= 0.2", a["twintake"]["outside_change"] <= 0.2),
        ("ghost", f"{b['twintake']['ghost']:.3f}", f"{a['twintake']['ghost']:.3f}", "lower", None),
    ]
    lines = ["| measure | before | after | target | met |", "|---|---:|---:|---|---|"]
    for name, vb, va, tgt, ok in rows:
        lines.append(f"| {name} | {vb} | {va} | {tgt} | {'–' if ok is None else ('yes' if ok else 'no')} |")
    return "\n".join(lines)


def strips(before_dir: Path, after_dir: Path, names: list[str], out_dir: Path, media: Path) -> list[Path]:
    import cv2

    from twintake.evaluate import metrics as M
    from twintake.evaluate.protocol import clip_video
    from twintake.media import iter_frames
    from twintake.motion.shapes import opening, width
    from twintake.prepare import prepare_video
    from twintake.speech.analysis import loudness_envelope
    from twintake.speech.input import load_speech

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        clip = clip_video(media / f"{name}.mp4", 8.0)
        prep = prepare_video(clip)
        n, ok = len(prep.track), prep.track.valid
        d = prep.descriptors
        wid = np.where(ok, width(d), -np.inf)
        op = np.where(ok, opening(d), -np.inf)
        sp = load_speech(clip)
        loud = loudness_envelope(sp.samples, sp.sample_rate_hz, prep.fps)[:n]
        loud = np.concatenate([loud, np.full(max(0, n - len(loud)), -100.0)])
        loud_frames = [int(i) for i in np.argsort(-np.where(ok, loud, -np.inf))[:40:10]]
        picks = [int(np.argmax(wid)), int(np.argmax(op))] + loud_frames
        labels = ["widest smile", "widest open"] + ["loud"] * len(loud_frames)
        rows = []
        for path in (clip, before_dir / name / "twintake.mp4", after_dir / name / "twintake.mp4"):
            got = {}
            for fr in iter_frames(path, fps=prep.fps, stop=n):
                if fr.index in picks:
                    x0, y0, x1, y1 = M.mouth_box(prep.track.landmarks[fr.index], fr.image.shape[:2], margin=0.45)
                    got[fr.index] = cv2.resize(fr.image[y0:y1, x0:x1], (200, 150), interpolation=cv2.INTER_AREA)
            rows.append(np.hstack([got.get(i, np.zeros((150, 200, 3), np.uint8)) for i in picks]))
        sheet = np.vstack(rows)
        sheet = cv2.copyMakeBorder(sheet, 22, 0, 70, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        for k, (i, lab) in enumerate(zip(picks, labels)):
            cv2.putText(sheet, f"#{i} {lab}", (72 + 200 * k, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        for r, lab in enumerate(("real", "before", "after")):
            cv2.putText(sheet, lab, (4, 22 + 150 * r + 80), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        path = out_dir / f"video_strip_{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--strips", action="store_true", help="write before/after mouth strips instead")
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    ap.add_argument("--media", type=Path, default=Path("../shared/media/video"))
    a = ap.parse_args()
    if a.strips:
        for p in strips(Path(a.before), Path(a.after), a.videos, a.out, a.media):
            print("wrote", p)
    else:
        print(targets(json.loads(Path(a.before).read_text()), json.loads(Path(a.after).read_text())))


if __name__ == "__main__":
    main()
