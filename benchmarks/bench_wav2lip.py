"""Wav2Lip backend vs the default engine: output fps and peak memory of the render.

Run (from the repo root):

  PYTHONPATH=src nice python benchmarks/bench_wav2lip.py [--video V] [--audio A] [--seconds 10]
        [--device cpu] [--json out.json]

Each backend renders the same video + speech in a fresh child process: the source is prepared
first (face track and bank, cached; not timed), then ``engine.render_video`` is timed (speech
analysis, planning, compositing, enhancement ``mouth``, H.264 encoding; no provenance marks).
Output fps = frames / render seconds; peak RSS = the child's maximum resident set. The Wav2Lip
generator has the published size (36.3 M parameters) with random weights saved like the
published checkpoints: the compute is the real one (no real checkpoint is available offline).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"
VIDEO = SHARED / "video" / "digisay_avatar1.mp4"  # 1280x854, 25 fps
AUDIO = SHARED / "speech_en" / "realthreed_obama_5s.wav"

CHILD = r"""
import json, resource, sys, time
from twintake.engine import render_video
from twintake.options import LipsyncOptions
from twintake.prepare import prepare_video
from twintake.speech.input import load_speech
from twintake.types import Speech
import numpy as np
video, audio, seconds, backend, ckpt, device, out = sys.argv[1:8]
prep = prepare_video(video)
sp = load_speech(audio, 1800.0)
n = int(float(seconds) * sp.sample_rate_hz)
x = np.tile(sp.samples, int(np.ceil(n / len(sp.samples))))[:n]
speech = Speech(samples=x, sample_rate_hz=sp.sample_rate_hz, phones=[], text="", language="en")
o = LipsyncOptions() if backend == "twintake" else LipsyncOptions(
    lipsync_backend=backend, lipsync_checkpoint=ckpt, device=device)
t0 = time.perf_counter()
res = render_video(prep, speech, out, o)
dt = time.perf_counter() - t0
print(json.dumps({"backend": backend, "frames": res.frames, "width": res.width, "height": res.height,
                  "render_s": round(dt, 2), "fps": round(res.frames / dt, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "timings_s": {k: round(v, 2) for k, v in res.timings_s.items()}}))
"""


def real_size_checkpoint(path: Path) -> Path:
    """Random weights of the published generator, saved as the published files are."""
    import torch

    from twintake.render.neural.wav2lip_arch import Wav2Lip

    torch.manual_seed(0)
    net = Wav2Lip()
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "global_step": 0}, path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--audio", type=Path, default=AUDIO)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backends", default="twintake,wav2lip")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    import os

    import torch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = real_size_checkpoint(Path(tmp) / "wav2lip_random_real_size.pth")
        for backend in a.backends.split(","):
            r = subprocess.run([sys.executable, "-c", CHILD, str(a.video), str(a.audio), str(a.seconds), backend,
                                str(ckpt), a.device, str(Path(tmp) / f"{backend}.mp4")],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{backend} failed:\n{r.stderr[-2000:]}")
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()[0]
    print(f"{a.video.name}, {a.seconds:g} s of speech, torch {torch.__version__}, CUDA: "
          f"{torch.cuda.is_available()}, {os.cpu_count()} cores, load average {load:.1f}")
    print("| backend | size | frames | render s | output fps | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['width']}x{r['height']} | {r['frames']} | {r['render_s']} | {r['fps']} | "
              f"{r['peak_rss_mb']} |")
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "load_average": load}, indent=1))


if __name__ == "__main__":
    main()
