"""What every command shares: the progress display, one-line errors, reading a text file."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from ..errors import TwintakeError

__all__ = ["RichHook", "run", "read_text", "parse_size", "run_server"]


class RichHook:
    """Progress hook that drives a rich progress display, one bar per stage."""

    LABELS = {"track": "tracking face", "bank": "building mouth bank", "tts": "text to speech",
              "voice": "voice cloning", "speech": "speech timing", "motion": "mouth motion",
              "render": "rendering", "face": "finding the face", "voice_search": "searching the voice"}

    def __init__(self, progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, completed: int, total: Optional[int] = None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(self.LABELS.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=completed, total=total)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, ``docker stop``, systemd) arrived: handled like Ctrl-C, so
    the job stops and removes its temporary files."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not break the clean-up
    raise Terminated


def run(job, quiet: bool):
    """Run ``job(hook)`` with a progress display; errors become one line and exit code 1;
    Ctrl-C (exit 130) and SIGTERM (exit 143) stop it and leave no output or temporary file."""
    previous, installed = None, threading.current_thread() is threading.main_thread()
    if installed:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if quiet:
            return job(None)
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description:>20}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                      TimeElapsedColumn(), TimeRemainingColumn(), transient=False) as progress:
            return job(RichHook(progress))
    except TwintakeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1)
    except Terminated:
        typer.echo("terminated: the job stopped and its unfinished output was removed", err=True)
        raise typer.Exit(143)
    except KeyboardInterrupt:
        typer.echo("cancelled: no output was written", err=True)
        raise typer.Exit(130)
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def read_text(text: Optional[str], text_file: Optional[Path]) -> Optional[str]:
    if text_file is None:
        return text
    if text is not None:
        typer.echo("error: give either TEXT or --text-file, not both", err=True)
        raise typer.Exit(2)
    try:
        return text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        typer.echo(f"error: cannot read {text_file}: {e}", err=True)
        raise typer.Exit(1)


def parse_size(size: Optional[str]) -> Optional[tuple[int, int]]:
    """``"512x512"`` -> (512, 512); raises MediaError with the expected form."""
    if size is None:
        return None
    from ..errors import MediaError

    w, sep, h = size.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or not (16 <= int(w) <= 8192 and 16 <= int(h) <= 8192):
        raise MediaError(f"--size {size!r} is not WIDTHxHEIGHT in pixels (16..8192), e.g. 512x512 or 720x1280")
    return int(w), int(h)


def run_server(start, host: str, port: int) -> None:
    """Run a server until it stops: ``start()`` blocks; a twintake error or a port that cannot be
    bound becomes one line on stderr and exit code 1."""
    try:
        start()
    except TwintakeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1)
    except OSError as e:
        typer.echo(f"error: cannot listen on {host}:{port} ({e}); choose another --port", err=True)
        raise typer.Exit(1)

