"""``twintake verify``: is this file a twintake video? Its C2PA manifest and its marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import TwintakeError

__all__ = ["verify"]


def verify(
    file: Path = typer.Argument(..., help="a video (or audio) file to check"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON (keys c2pa.valid, "
                                 "watermark.video.found, watermark.video.bit_accuracy, watermark.audio.found, ...)"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="a PEM certificate whose manifests count as "
                                         "ours (default: this machine's local twintake key)"),
):
    """Check FILE for a twintake C2PA manifest and for the invisible marks in its picture and sound.

    Exit code 0 when the check ran (whether or not anything was found), 1 when the file's
    manifest is invalid (edited or damaged), 2 when the file cannot be checked (missing, not a
    media file, truncated).
    """
    from ..provenance import verify as verify_file

    try:
        report = verify_file(file, trust=trust)
    except TwintakeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=1))
    else:
        for line in report.lines():
            typer.echo(line)
    if report.c2pa.present and not report.c2pa.valid:
        typer.echo(f"error: the C2PA manifest of {file} is invalid - the file or its manifest was changed after "
                   f"signing ({', '.join(report.c2pa.errors) or report.c2pa.state or 'unreadable'})", err=True)
        raise typer.Exit(1)
