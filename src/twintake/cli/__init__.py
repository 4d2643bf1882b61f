"""The ``twintake`` command line: thin, flags -> options -> library calls.

Commands live in :mod:`.commands` (say, tts, prepare, avatars, probe, web) and :mod:`.eval`
(eval, bench); this module only assembles them into one Typer app.
"""

from __future__ import annotations

from typing import Optional

import typer

from .._version import __version__
from . import commands, create
from . import service
from .eval import bench_cli, eval_cli
from .provenance import verify as verify_cli

__all__ = ["app", "main"]

# rich_markup_mode=None: help texts are shown as written ("twintake[neural]" is not markup)
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="twintake: make a video of a person saying new speech, on the CPU.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"twintake {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="print the version and exit")) -> None:
    """twintake: make a video of a person saying new speech, on the CPU."""


app.command("say")(commands.say)
app.command("tts")(commands.tts)
app.command("prepare")(commands.prepare)
app.command("probe")(commands.probe)
app.command("verify")(verify_cli)
app.command("web")(commands.web)
app.command("eval")(eval_cli)
app.command("bench")(bench_cli)
app.command("batch")(service.batch)
app.command("serve")(service.serve)
avatars_app = typer.Typer(help="Manage prepared avatars.", no_args_is_help=True, rich_markup_mode=None)
avatars_app.command("list")(commands.avatars_list)
app.add_typer(avatars_app, name="avatars")
avatar_app = typer.Typer(help="Make an avatar from a text prompt.", no_args_is_help=True, rich_markup_mode=None)
avatar_app.command("create")(create.avatar_create)
app.add_typer(avatar_app, name="avatar")


def main() -> None:
    """Console-script entry point (``twintake``)."""
    app()
