"""``eval`` and ``bench``: the evaluation and the speed benchmarks (heavy imports inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import run


def eval_cli(
    suite: Optional[Path] = typer.Option(None, "--suite", help="MANIFEST.tsv, folder of videos or one video "
                                         "(default: ../shared/media/MANIFEST.tsv talking videos)"),
    out: Path = typer.Option(Path("eval_out"), "--out", "-o", help="folder for results.json, results.md, plots"),
    max_seconds: float = typer.Option(8.0, "--max-seconds", help="evaluate the first N seconds of each video"),
    exclude: float = typer.Option(2.0, "--exclude", help="leave-segment-out half-window, seconds"),
    enhance: Optional[str] = typer.Option(None, "--enhance", help="enhancement of twintake's output: none, "
                                          "mouth or face (default: the product's default)"),
    methods: str = typer.Option("twintake,shifted,loudness,random", "--methods",
                                help="comma-separated methods to render and compare"),
    opening_models: Optional[Path] = typer.Option(
        None, "--opening-models", help="folder of held-out spectral opening models, one <video>.npz per video "
        "(scripts/train_opening.py --lovo-dir): honest figures on the videos the shipped model was trained on"),
    placement_models: Optional[Path] = typer.Option(
        None, "--placement-models", help="folder of held-out mouth offset models, one <video>.npz per video "
        "(scripts/train_placement.py --lovo-dir), used by every method's compositor"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="checkpoint of a neural method in "
                                              "--methods (wav2lip: wav2lip.pth or wav2lip_gan.pth)"),
    device: Optional[str] = typer.Option(None, "--device", help="where a neural method runs: cpu or cuda"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Self-reenactment lip-sync evaluation: twintake vs baselines, side by side."""
    from ..evaluate.commands import eval_command

    from ..evaluate.protocol import METHODS, NEURAL_METHODS

    chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
    bad = [m for m in chosen if m not in METHODS + NEURAL_METHODS]
    if bad or not chosen:
        typer.echo(f"error: unknown method(s) {', '.join(bad) or '(none)'} in --methods: choose from "
                   f"{', '.join(METHODS + NEURAL_METHODS)}", err=True)
        raise typer.Exit(2)
    md, written, _ = run(lambda hook: eval_command(suite, out, max_seconds=max_seconds, exclude_s=exclude,
                                                     methods=chosen, enhance=enhance,
                                                     opening_models=opening_models,
                                                     placement_models=placement_models, checkpoint=checkpoint,
                                                     device=device, hook=hook), quiet)
    typer.echo(md)
    typer.echo(f"wrote {written['json']}, {written['markdown']} and {len(written) - 2} plots")


def bench_cli(
    what: str = typer.Argument("lipsync", help="lipsync, prepare, tts, vc or all"),
    video: Optional[Path] = typer.Option(None, "--video", help="talking video (default: shared 1080p clip)"),
    audio: Optional[Path] = typer.Option(None, "--audio", help="speech (default: shared 60 s speech)"),
    seconds: float = typer.Option(60.0, "--seconds", help="cut the speech to this many seconds (0 = whole)"),
    long: bool = typer.Option(False, "--long", help="also loop the speech to 10 minutes (memory flatness)"),
    runs: int = typer.Option(1, "--runs", help="repeat each measurement"),
    json_path: Path = typer.Option(Path("benchmarks/results.jsonl"), "--json", help="append rows here"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Speed and memory: output fps, real-time factor, time to first frame, peak RSS."""
    from ..evaluate.commands import bench_command, bench_table

    if what not in ("lipsync", "prepare", "tts", "vc", "all"):
        typer.echo(f"error: unknown benchmark {what!r}: choose lipsync, prepare, tts, vc or all", err=True)
        raise typer.Exit(2)
    rows = run(lambda hook: bench_command(what, video, audio, long=long, speech_s=seconds or None, runs=runs,
                                           json_path=json_path, hook=hook), quiet)
    typer.echo(bench_table(rows))
    typer.echo(f"appended {len(rows)} row(s) to {json_path}")
