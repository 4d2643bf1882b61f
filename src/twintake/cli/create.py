"""``twintake avatar create``: a photo avatar from a text prompt and a local Stable Diffusion
checkpoint (:func:`twintake.avatar_create.create_avatar`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import run


def avatar_create(
    prompt: str = typer.Option(..., "--prompt", help="who to draw, e.g. 'portrait of a smiling woman, 40, studio light'"),
    model: Path = typer.Option(..., "--model", help="local Stable Diffusion / SD-Turbo / SDXL diffusers folder or "
                               ".safetensors file; needs twintake[neural]"),
    out: Path = typer.Option(..., "--out", "-o", help="the avatar folder to create, e.g. avatars/ada"),
    seed: int = typer.Option(0, "--seed", help="seed of the first image (the next ones use seed+1, ...)"),
    steps: Optional[int] = typer.Option(None, "--steps", help="denoising steps (default: 1 for turbo models, 25 else)"),
    count: int = typer.Option(4, "--count", help="images to generate; the best with one frontal face is kept"),
    size: int = typer.Option(512, "--size", help="image side, pixels (multiple of 64, 256-1024)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    voice: Optional[str] = typer.Option(None, "--voice", help="voice reference clip for the avatar (optional)"),
    force: bool = typer.Option(False, "--force", help="replace an existing avatar folder"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
):
    """Generate portraits from PROMPT with a local Stable Diffusion checkpoint and prepare the best
    (one usable frontal face) as a photo avatar."""
    from ..avatar_create import create_avatar

    res = run(lambda hook: create_avatar(prompt, model, out, count=count, steps=steps, seed=seed, size=size,
                                         device=device, voice=voice, force=force, hook=hook), quiet)
    for note in res.notes:
        typer.echo(f"note: {note}", err=True)
    if not quiet:
        typer.echo(f"created {res.avatar.path}: image of seed {res.seed} ({res.kept} of {res.generated} images "
                   "had one usable frontal face)")
