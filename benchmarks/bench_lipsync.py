"""Speed and memory of `twintake say VIDEO --audio SPEECH` (lip-sync only, no TTS).

Thin wrapper over :func:`twintake.evaluate.commands.bench_command` (the logic lives there and
behind `twintake bench lipsync`). Each measurement runs in a spawned child process so peak
resident memory (ru_maxrss) is the render's own. Prints one table row per run: output fps
(frames / render seconds), real-time factor of the whole job, time to first frame, peak RSS.

    python benchmarks/bench_lipsync.py --video ../shared/media/video/wav2lipgfpgan_kim_7s.mp4 \
        --audio ../shared/media/speech_en/musetalk_eng.wav --minutes 1 10
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from twintake.evaluate.commands import bench_command, bench_table, looped_speech


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--minutes", type=float, nargs="*", default=[],
                    help="also loop the speech to these lengths (memory flatness)")
    ap.add_argument("--json", type=Path, help="append results to this JSON-lines file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audios = [Path(args.audio)] + [looped_speech(args.audio, m, Path(tmp)) for m in args.minutes]
        for a in audios:
            rows += bench_command("lipsync", args.video, a, speech_s=None, json_path=args.json)
            print(bench_table(rows[-1:]).splitlines()[-1], flush=True)
    print(bench_table(rows))


if __name__ == "__main__":
    main()
