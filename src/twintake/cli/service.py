"""``batch`` and ``serve``: flags -> :func:`twintake.service.batch.run_batch` /
:func:`twintake.service.api.serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer



def batch(
    jobs: Path = typer.Argument(..., help="jobs file: .jsonl or .csv, one job a row (source, text or audio, "
                                "voice, lang, tts_voice, out, and any say option)"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder (outputs, their input hashes, report.jsonl)"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="local worker processes (with --ray local: "
                                "the CPUs of the Ray started for the run)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="run the rows as Ray tasks: auto (the running "
                                      "cluster), HOST:PORT (its head), or local (start Ray here)"),
    lipsync_backend: Optional[str] = typer.Option(None, "--lipsync-backend", help="lip-sync backend of the rows "
                                                  "that set none: twintake or wav2lip (with --checkpoint)"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="the neural backend's checkpoint for the "
                                              "rows that set none (wav2lip .pth)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda, for the rows that set none"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Make one video per row of JOBS into --out; rows already done (same inputs) are skipped."""
    from ..service.batch import run_batch
    from ._common import run

    given = {"lipsync_backend": lipsync_backend, "checkpoint": None if checkpoint is None else str(checkpoint.resolve()),
             "device": device}
    given = {k: v for k, v in given.items() if v is not None}
    if given:  # the flags fill every row's unset fields (and are part of its input hash)
        from ..errors import TwintakeError
        from ..service.rows import options_from, read_jobs

        def with_flags(hook):
            if given.get("checkpoint") is not None:  # a wrong checkpoint fails before any row runs
                from ..render.neural import make_lipsync

                make_lipsync(given.get("lipsync_backend", "wav2lip"), given["checkpoint"], given.get("device"))
            rows = read_jobs(jobs)
            for r in rows:
                if r.error is None:
                    r.options = {**{k: v for k, v in given.items() if k not in r.options}, **r.options}
                    try:
                        options_from(r.options)
                    except TwintakeError as e:
                        r.error = str(e)
            return rows
    else:
        def with_flags(hook):
            return jobs

    def job(hook):
        def counted(stage, completed, total=None):  # the bar shows "3/10 videos" and the time left
            hook(stage, completed, total)
            hook.progress.update(hook.tasks[stage], description=f"{completed}/{total} videos")

        return run_batch(with_flags(hook), out, workers=workers, ray=ray, hook=None if hook is None else counted)

    report = run(job, quiet)
    typer.echo(f"{report.count('ok')} ok, {report.count('failed')} failed, {report.count('skipped')} skipped "
               f"in {report.seconds:.1f} s; report: {report.path}")
    for r in report.rows:
        if r["status"] == "failed":
            typer.echo(f"  row {r['row']}: {r['error']}", err=True)
    if report.count("failed"):
        raise typer.Exit(1)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (default: this machine only)"),
    port: int = typer.Option(8000, "--port", help="port to listen on"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="videos rendered at once (one process each)"),
    api_keys: Optional[Path] = typer.Option(None, "--api-keys", help="file of sha256:HEX lines (see --hash-key); "
                                            "keys are also read from TWINTAKE_API_KEYS (comma-separated)"),
    data: Path = typer.Option(Path("twintake-data"), "--data", help="folder of the job store, uploads and outputs"),
    web: bool = typer.Option(False, "--web", help="also serve the web page at /web (needs twintake[web])"),
    max_chars: int = typer.Option(5000, "--max-chars", min=1, help="per key: longest text of one job"),
    max_queued: int = typer.Option(20, "--max-queued", min=1, help="per key: jobs queued or running at once"),
    max_speech_min: float = typer.Option(120.0, "--max-speech-min", help="per key: speech minutes in 24 h"),
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", min=0.01, help="largest upload, MB"),
    hash_key: Optional[str] = typer.Option(None, "--hash-key", help="print the line for an --api-keys file "
                                           "for this key, and exit"),
):
    """Start the REST API (OpenAPI docs at /docs); jobs survive a crash in --data."""
    from ..service.auth import Limits, load_keys
    from ..service.auth import hash_key as hash_one

    if hash_key is not None:
        typer.echo(hash_one(hash_key))
        return
    from ..service.api import ServeOptions
    from ..service.api import serve as run_server

    from ._common import run_server as serve_until_stopped

    opts = ServeOptions(data=data, workers=workers, api_keys=api_keys, web=web, host=host, port=port,
                        limits=Limits(max_chars=max_chars, max_queued=max_queued, max_speech_min=max_speech_min,
                                      max_upload_mb=max_upload_mb))
    def start() -> None:
        load_keys(api_keys)  # no key, or a bad keys file: say so before announcing the address
        typer.echo(f"twintake serve: http://{host}:{port}  (docs: /docs; Ctrl-C to stop)", err=True)
        run_server(opts)

    serve_until_stopped(start, host, port)
