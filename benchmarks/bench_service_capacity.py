"""Capacity: CPU seconds and wall time of one 30 s video job (the figure behind docs/scale.md).

    python benchmarks/bench_service_capacity.py [--seconds 30] [--video ../shared/media/video/digisay_avatar1.mp4]
        [--photo ../shared/media/portrait/avg_woman1.jpg] [--speech ../shared/media/speech_en/musetalk_eng.wav]

Each job is one :func:`twintake.job.make_video` call with ``--seconds`` of the speech file, in a
fresh child process (``twintake.service.batch``'s worker entry, as a batch row runs); the CPU
seconds are the child's user + system time (all its threads), which stay meaningful on a shared
machine where wall time does not. The video is run twice: cold (face track and mouth bank built)
and warm (cached: the case of a prepared avatar or a rerun). Jobs per hour per core =
3600 / CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"

CHILD = """
import sys, time
from twintake.job import make_video
t = time.monotonic()
r = make_video(sys.argv[1], audio=sys.argv[2], out=sys.argv[3])
print(r.render.duration_s, time.monotonic() - t)
"""


def _job(source: str, speech: str, out: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-c", CHILD, source, speech, out], capture_output=True, text=True,
                         check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    duration_s = float(res.stdout.split()[-2])
    return {"source": Path(source).name, "speech_s": round(duration_s, 1), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "jobs_per_hour_per_core": round(3600 / cpu, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--video", default=str(SHARED / "video" / "digisay_avatar1.mp4"))
    ap.add_argument("--photo", default=str(SHARED / "portrait" / "avg_woman1.jpg"))
    ap.add_argument("--speech", default=str(SHARED / "speech_en" / "musetalk_eng.wav"))
    a = ap.parse_args()
    from twintake.media import load_audio, write_wav

    tmp = Path(tempfile.mkdtemp(prefix="twintake-capacity-"))
    os.environ.setdefault("TWINTAKE_CACHE", str(tmp / "cache"))
    rate = 16000
    samples = load_audio(a.speech, rate)
    speech = tmp / "speech.wav"
    write_wav(speech, samples[: int(a.seconds * rate)], rate)
    rows = [_job(a.photo, str(speech), str(tmp / "photo.mp4")),
            {**_job(a.video, str(speech), str(tmp / "video_cold.mp4")), "cache": "cold"},
            {**_job(a.video, str(speech), str(tmp / "video_warm.mp4")), "cache": "warm"}]
    print(json.dumps({"load_avg": os.getloadavg()[0], "jobs": rows}, indent=1))


if __name__ == "__main__":
    main()
