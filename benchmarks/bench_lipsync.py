"""Speed and memory of `twintake say VIDEO --audio SPEECH` (lip-sync only, no TTS).

Each measurement runs in a child process so peak resident memory (ru_maxrss) is the render's own.
Prints one table row per run: output fps (frames / render seconds), real-time factor of the whole
job, time to first encoded frame, peak RSS.

    python benchmarks/bench_lipsync.py --video ../shared/media/video/wav2lipgfpgan_kim_7s.mp4 \
        --audio ../shared/media/speech_en/musetalk_eng.wav --minutes 1 10
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path


def _child(video: str, audio: str, out: str, q) -> None:
    import twintake

    t_start = time.perf_counter()
    first = {}

    def hook(stage, done, total):
        if stage == "render" and done == 1 and "t" not in first:
            first["t"] = time.perf_counter() - t_start

    res = twintake.lipsync(video, audio, out, hook=hook)
    wall = time.perf_counter() - t_start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put({"frames": res.frames, "duration_s": res.duration_s, "wall_s": wall, "timings_s": res.timings_s,
           "first_frame_s": first.get("t"), "peak_rss_mb": rss_mb, "cache_hits": res.cache_hits,
           "size": f"{res.width}x{res.height}", "fps": res.fps})


def measure(video: str, audio: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        q = mp.get_context("spawn").Queue()
        p = mp.get_context("spawn").Process(target=_child, args=(video, audio, str(Path(tmp) / "out.mp4"), q))
        p.start()
        r = q.get()
        p.join()
    return r


def looped_speech(audio: str, minutes: float, folder: Path) -> str:
    """Write ``audio`` looped to ``minutes`` long (with 0.4 s pauses) as a wav in ``folder``."""
    import numpy as np

    from twintake.media import load_audio, write_wav

    sr = 16000
    x = load_audio(audio, sr)
    unit = np.concatenate([x, np.zeros(int(0.4 * sr), np.float32)])
    n = int(minutes * 60 * sr)
    reps = int(np.ceil(n / len(unit)))
    out = folder / f"speech_{minutes:g}min.wav"
    write_wav(out, np.tile(unit, reps)[:n], sr)
    return str(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--minutes", type=float, nargs="*", default=[],
                    help="loop the speech to these lengths (memory flatness)")
    ap.add_argument("--json", type=Path, help="append results to this JSON-lines file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audios = [args.audio] + [looped_speech(args.audio, m, Path(tmp)) for m in args.minutes]
        for i, a in enumerate(audios):
            r = measure(args.video, a)
            r.update(video=args.video, audio=a if i == 0 else f"{args.audio} looped to {args.minutes[i-1]:g} min")
            rows.append(r)
            render_fps = r["frames"] / max(r["timings_s"].get("render", 1e-9), 1e-9)
            print(f"{Path(args.video).name:32s} {r['size']:>10s} speech {r['duration_s']:7.1f} s | "
                  f"render {render_fps:6.1f} fps | RTF {r['wall_s'] / r['duration_s']:.3f} | "
                  f"first frame {r['first_frame_s']:.2f} s | peak RSS {r['peak_rss_mb']:.0f} MB | "
                  f"cached: {','.join(r['cache_hits']) or 'none'}", flush=True)
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
