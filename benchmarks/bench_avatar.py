"""Avatar speed: preparation time vs the video's length, load time, and time to the first
rendered frame of ``avatar.say`` (with a speech file, and with a short text).

    python benchmarks/bench_avatar.py [--videos NAME ...] [--audio FILE] [--text TEXT]

Preparation runs with an empty cache (a temp TWINTAKE_CACHE), so it measures the real work.
Targets (issue "Avatars"): preparation <= 0.5x the video's duration, load < 1 s, first frame
< 2 s. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent.parent / "shared" / "media"
DEFAULT_VIDEOS = ["sadtalker_wda_aoc", "vretalking_face4", "digisay_avatar1"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", nargs="+", default=DEFAULT_VIDEOS, help="shared video names (media/video/NAME.mp4)")
    ap.add_argument("--audio", default=str(MEDIA / "speech_en" / "realthreed_obama_5s.wav"))
    ap.add_argument("--text", default="Good morning. This is a prepared avatar speaking.")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-avatar-"))
    os.environ["TWINTAKE_CACHE"] = str(work / "cache")  # before importing twintake: no cached tracks
    import twintake

    rows = []
    for name in a.videos:
        video = MEDIA / "video" / f"{name}.mp4"
        t0 = time.perf_counter()
        avatar = twintake.Avatar.prepare(video, work / name, voice="none")
        prep_s = time.perf_counter() - t0
        duration = avatar.manifest["duration_s"]
        t0 = time.perf_counter()
        avatar = twintake.Avatar.load(work / name)
        load_s = time.perf_counter() - t0
        firsts = []
        for kind in ("audio", "text"):
            first: list[float] = []
            start = time.perf_counter()

            def hook(stage, done, total, first=first, start=start):
                if stage == "render" and done == 1 and not first:
                    first.append(time.perf_counter() - start)

            kwargs = {"audio": a.audio} if kind == "audio" else {"text": a.text}
            avatar.say(out=work / f"{name}-{kind}.mp4", hook=hook, **kwargs)
            firsts.append(first[0])
        w, h = avatar.manifest["width"], avatar.manifest["height"]
        rows.append((name, f"{w}x{h}", duration, prep_s, load_s, *firsts))
    print("| video | size | duration | prepare | prepare / duration | load | first frame (audio) | "
          "first frame (text) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, size, dur, prep, load, fa, ft in rows:
        print(f"| {name} | {size} | {dur:.1f} s | {prep:.1f} s | {prep / dur:.2f}x | {load:.2f} s | {fa:.2f} s | "
              f"{ft:.2f} s |")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
